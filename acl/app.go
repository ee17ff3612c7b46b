package acl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/capguard/capguard/internal/doc"
)

// App is a Tauri application directory (what Tauri calls src-tauri): its
// capability files, the capability list of its configuration for one
// target, and the manifests tauri-build last wrote.
type App struct {
	// Dir is the directory the app was read from (a display name for
	// embedded apps).
	Dir string
	// Target is the platform the configuration was read for: it picks the
	// platform overlay (tauri.linux.conf.json, ...).
	Target Target
	// Files holds every capability of the capabilities/ folder: what
	// tauri-build writes to gen/schemas/capabilities.json.
	Files CapabilitySet
	// Capabilities holds the capabilities the app runs with: every file
	// capability when the configuration's app.security.capabilities is empty
	// or absent, otherwise only the listed ones (by identifier, or inline).
	Capabilities CapabilitySet
	// ConfigFiles names the configuration files that were read, base first.
	ConfigFiles []string
	// Manifests is gen/schemas/acl-manifests.json, or nil when absent.
	Manifests Manifests
	// ManifestsFile is the path Manifests was read from.
	ManifestsFile string
}

// LoadApp reads a src-tauri directory from disk for one target.
func LoadApp(dir string, target Target) (*App, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: errors.New("not a directory")}
	}
	return LoadAppFS(os.DirFS(dir), dir, target)
}

// LoadAppFS reads a src-tauri directory from fsys (its root), for example
// an embedded one. dir is the name used in messages and positions.
func LoadAppFS(fsys fs.FS, dir string, target Target) (*App, error) {
	if fsys == nil {
		return nil, errNoFS
	}
	display := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	app := &App{Dir: dir, Target: target, Files: CapabilitySet{}}
	// Only a file that does not exist is missing: one that cannot be read
	// (no permission, an I/O error) is an error, never "nothing there",
	// because a config file read as missing would enable every capability
	// file instead of the ones it lists.
	if st, err := fs.Stat(fsys, "capabilities"); err == nil && st.IsDir() {
		files, err := LoadCapabilityFS(fsys, "capabilities", display)
		if err != nil {
			return nil, err
		}
		app.Files = files
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, atPath(err, "stat", display("capabilities"))
	}
	entries, err := app.readConfig(fsys, display)
	if err != nil {
		return nil, err
	}
	if app.Capabilities, err = app.selectCapabilities(entries); err != nil {
		return nil, err
	}
	manifests := path.Join("gen", "schemas", "acl-manifests.json")
	if _, err := fs.Stat(fsys, manifests); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, atPath(err, "stat", display(manifests))
	} else if err == nil {
		app.ManifestsFile = display(manifests)
		data, err := readFile(fsys, manifests, app.ManifestsFile)
		if err != nil {
			return nil, err
		}
		if app.Manifests, err = ParseManifests(app.ManifestsFile, data); err != nil {
			return nil, err
		}
	}
	return app, nil
}

// platformName is the word Tauri uses in platform config file names.
func platformName(t Target) string {
	if t == MacOS {
		return "macos"
	}
	if t == IOS {
		return "ios"
	}
	return t.String()
}

type configDoc struct {
	name string
	root *doc.Node
}

// readConfigDoc reads one configuration file in the first format found:
// JSON (which Tauri also reads as JSON5), JSON5, TOML.
func readConfigDoc(fsys fs.FS, display func(string) string, names ...string) (*configDoc, error) {
	for _, name := range names {
		if _, err := fs.Stat(fsys, name); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, atPath(err, "stat", display(name))
		}
		shown := display(name)
		data, err := readFile(fsys, name, shown)
		if err != nil {
			return nil, err
		}
		n, err := parseDocument(shown, data, "json", "json5", "toml")
		if err != nil && strings.HasSuffix(name, ".json") {
			// Tauri accepts valid JSON5 in a .json config file.
			if n5, err5 := doc.ParseJSON5(data); err5 == nil {
				n, err = n5, nil
			}
		}
		if err != nil {
			return nil, err
		}
		return &configDoc{name: shown, root: n}, nil
	}
	return nil, nil
}

// configEntry is one item of app.security.capabilities.
type configEntry struct {
	node *doc.Node
	ptr  string
	file *configDoc
}

const capabilitiesPointer = "/app/security/capabilities"

// readConfig reads tauri.conf.json (or .json5, or Tauri.toml) and the
// platform overlay, and returns the capability list of the merged
// configuration. The overlay is a JSON merge patch (RFC 7396): a list it
// sets replaces the base list, a null removes it.
func (app *App) readConfig(fsys fs.FS, display func(string) string) ([]configEntry, error) {
	base, err := readConfigDoc(fsys, display, "tauri.conf.json", "tauri.conf.json5", "Tauri.toml")
	if err != nil {
		return nil, err
	}
	p := platformName(app.Target)
	overlay, err := readConfigDoc(fsys, display, "tauri."+p+".conf.json", "tauri."+p+".conf.json5", "Tauri."+p+".toml")
	if err != nil {
		return nil, err
	}
	var from *configDoc
	for _, c := range []*configDoc{base, overlay} {
		if c == nil {
			continue
		}
		app.ConfigFiles = append(app.ConfigFiles, c.name)
		switch patchLookup(c.root, capabilitiesPointer) {
		case patchSet:
			from = c
		case patchDeleted:
			from = nil
		}
	}
	if from == nil {
		return nil, nil
	}
	list, _ := from.root.Lookup(capabilitiesPointer)
	d := &decoder{file: from.name, root: from.root}
	if list.Kind != doc.Array {
		return nil, d.wrongType(list, capabilitiesPointer, "a list of capability identifiers or capabilities")
	}
	out := make([]configEntry, len(list.Items))
	for i, it := range list.Items {
		out[i] = configEntry{node: it, ptr: capabilitiesPointer + "/" + strconv.Itoa(i), file: from}
	}
	return out, nil
}

type patchState int

const (
	patchAbsent patchState = iota
	patchSet
	patchDeleted
)

// patchLookup follows pointer in a merge-patch document: the value is set,
// deleted (a null on the way), or not mentioned.
func patchLookup(root *doc.Node, pointer string) patchState {
	cur := root
	for _, tok := range strings.Split(pointer[1:], "/") {
		if cur.Kind != doc.Object {
			return patchDeleted // a non-object replaces the whole subtree
		}
		next := cur.Get(tok)
		if next == nil {
			return patchAbsent
		}
		if next.Kind == doc.Null {
			return patchDeleted
		}
		cur = next
	}
	return patchSet
}

// selectCapabilities applies the configuration's list to the file
// capabilities, as Tauri's get_capabilities does.
func (app *App) selectCapabilities(entries []configEntry) (CapabilitySet, error) {
	if len(entries) == 0 {
		return app.Files, nil
	}
	out := CapabilitySet{}
	used := map[string]configEntry{}
	for _, e := range entries {
		d := &decoder{file: e.file.name, root: e.file.root}
		switch e.node.Kind {
		case doc.String:
			id := e.node.Text
			c, ok := app.Files[id]
			if !ok {
				msg := fmt.Sprintf("capability with identifier %q not found in %s", id, filepath.Join(app.Dir, "capabilities"))
				if s := suggest(id, sortedKeys(app.Files)); s != "" {
					msg += "; " + s
				}
				return nil, errorAt(posOf(e.file.name, e.node.Pos, e.ptr), ErrUnknownPermission, msg)
			}
			if prev, dup := used[id]; dup {
				return nil, errorAt(posOf(e.file.name, e.node.Pos, e.ptr), ErrDuplicate,
					fmt.Sprintf("capability %q is listed twice (also at %s); Tauri fails with \"capability with identifier %s not found\" here", id, posOf(prev.file.name, prev.node.Pos, prev.ptr), id))
			}
			used[id] = e
			out[id] = c
		case doc.Object:
			c, err := d.capability(e.node, e.ptr)
			if err != nil {
				return nil, err
			}
			out[c.Identifier] = c
		default:
			return nil, d.wrongType(e.node, e.ptr, "a capability identifier or an inline capability")
		}
	}
	return out, nil
}
