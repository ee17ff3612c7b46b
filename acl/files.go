package acl

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/capguard/capguard/internal/doc"
)

// MaxFileSize is the largest file capguard reads: 8 MiB. The largest file
// of the real-world corpus (a desktop-schema.json) is about 0.5 MiB; a file
// sixteen times that is far more likely a mistake than a capability.
const MaxFileSize = 8 << 20

// readFile reads a whole file, refusing anything above MaxFileSize before
// reading it.
func readFile(fsys fs.FS, name, display string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, atPath(err, "open", display)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileSize {
		return nil, tooLarge(display, st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: display, Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(display, int64(len(data)))
	}
	return data, nil
}

// atPath names the file of an fs error by its display path (the fs.FS
// knows it relative to the app's root only), keeping what errors.Is
// matches (fs.ErrNotExist, fs.ErrPermission).
func atPath(err error, op, display string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: display, Err: pe.Err}
	}
	return &fs.PathError{Op: op, Path: display, Err: err}
}

func tooLarge(file string, size int64) error {
	return errorAt(Position{File: file}, ErrTooLarge,
		fmt.Sprintf("%s is %.1f MiB; capguard reads files of at most %d MiB (acl.MaxFileSize)", file, float64(size)/(1<<20), MaxFileSize>>20))
}

// osFile splits a path into an fs.FS rooted at its directory and a name,
// so that every reader works the same on disk and on embedded files.
func osFile(p string) (fs.FS, string) {
	return os.DirFS(filepath.Dir(p)), filepath.Base(p)
}

// parseDocument parses data by the extension of name: .json (strict),
// .json5 or .toml. allowJSON5 lets .json5 through (capability and config
// files; permission files are TOML or JSON only, as in Tauri).
func parseDocument(name string, data []byte, exts ...string) (*doc.Node, error) {
	ext := strings.TrimPrefix(path.Ext(name), ".")
	if !contains(exts, ext) {
		return nil, errorAt(Position{File: name}, ErrUnknownFormat,
			fmt.Sprintf("unknown file format %q; expected one of .%s", ext, strings.Join(exts, ", .")))
	}
	var n *doc.Node
	var err error
	switch ext {
	case "json":
		n, err = doc.ParseJSON(data)
	case "json5":
		n, err = doc.ParseJSON5(data)
	case "toml":
		n, err = doc.ParseTOML(data)
	}
	if err != nil {
		var se *doc.SyntaxError
		if errors.As(err, &se) {
			return nil, errorAt(posOf(name, se.Pos, ""), ErrSyntax, fmt.Sprintf("invalid %s: %s", strings.ToUpper(ext), se.Msg))
		}
		return nil, errorAt(Position{File: name}, ErrSyntax, err.Error())
	}
	return n, nil
}

// decode checks the size of data, parses it by the extension of name (one
// of exts) and returns a decoder over the document.
func decode(name string, data []byte, exts ...string) (*decoder, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(name, int64(len(data)))
	}
	n, err := parseDocument(name, data, exts...)
	if err != nil {
		return nil, err
	}
	return &decoder{file: name, root: n}, nil
}

// ParsePermissionFile reads a permission file (TOML or JSON, chosen by the
// extension of name) from data.
func ParsePermissionFile(name string, data []byte) (*PermissionFile, error) {
	d, err := decode(name, data, "toml", "json")
	if err != nil {
		return nil, err
	}
	return d.permissionFile(d.root)
}

// ReadPermissionFile reads a permission file from disk.
func ReadPermissionFile(p string) (*PermissionFile, error) {
	fsys, name := osFile(p)
	data, err := readFile(fsys, name, p)
	if err != nil {
		return nil, err
	}
	return ParsePermissionFile(p, data)
}

// PermissionFilePaths lists the permission files of a plugin's permission
// folder the way Tauri's build does with the glob "<dir>/**/*": depth
// first, entries of each folder in byte order, keeping files that end in
// .toml or .json and whose parent folder is not named "schemas".
func PermissionFilePaths(fsys fs.FS, root string) ([]string, error) {
	if fsys == nil {
		return nil, errNoFS
	}
	return walkFiles(fsys, root, []string{"toml", "json"})
}

// errNoFS is the error of a loader given no file system.
var errNoFS = fmt.Errorf("%w: no file system (a nil fs.FS)", ErrInvalid)

// displayOrSame is display, or the identity when display is nil.
func displayOrSame(display func(string) string) func(string) string {
	if display == nil {
		return func(p string) string { return p }
	}
	return display
}

func walkFiles(fsys fs.FS, root string, exts []string) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		ext := strings.TrimPrefix(path.Ext(p), ".")
		if !contains(exts, ext) || path.Base(path.Dir(p)) == "schemas" {
			return nil
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// LoadPermissionFS reads every permission file below root in fsys, in
// Tauri's order. display turns an fs path into the name used in errors.
func LoadPermissionFS(fsys fs.FS, root string, display func(string) string) ([]*PermissionFile, error) {
	if fsys == nil {
		return nil, errNoFS
	}
	display = displayOrSame(display)
	paths, err := PermissionFilePaths(fsys, root)
	if err != nil {
		return nil, err
	}
	files := make([]*PermissionFile, 0, len(paths))
	for _, p := range paths {
		name := display(p)
		data, err := readFile(fsys, p, name)
		if err != nil {
			return nil, err
		}
		pf, err := ParsePermissionFile(name, data)
		if err != nil {
			return nil, err
		}
		files = append(files, pf)
	}
	return files, nil
}

// LoadPermissionDir reads a plugin's permission folder from disk.
func LoadPermissionDir(dir string) ([]*PermissionFile, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	return LoadPermissionFS(os.DirFS(dir), ".", func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) })
}

// ParseCapabilityFile reads the capabilities of one file (JSON, JSON5 or
// TOML, by the extension of name), in any of the three shapes.
func ParseCapabilityFile(name string, data []byte) ([]*Capability, error) {
	d, err := decode(name, data, "json", "json5", "toml")
	if err != nil {
		return nil, err
	}
	return d.capabilityFile(d.root)
}

// ReadCapabilityFile reads a capability file from disk.
func ReadCapabilityFile(p string) ([]*Capability, error) {
	fsys, name := osFile(p)
	data, err := readFile(fsys, name, p)
	if err != nil {
		return nil, err
	}
	return ParseCapabilityFile(p, data)
}

// CapabilitySet is a set of capabilities keyed by identifier.
type CapabilitySet map[string]*Capability

// Sorted returns the capabilities in identifier (byte) order, the order in
// which Tauri resolves them.
func (s CapabilitySet) Sorted() []*Capability {
	out := make([]*Capability, 0, len(s))
	for _, c := range s {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Identifier < out[j].Identifier })
	return out
}

// Add adds capabilities, failing on an identifier that is already there
// with an error that names both places.
func (s CapabilitySet) Add(caps ...*Capability) error {
	if s == nil && len(caps) > 0 {
		return fmt.Errorf("%w: CapabilitySet.Add on a nil set (make one with CapabilitySet{})", ErrInvalid)
	}
	for _, c := range caps {
		if c == nil {
			return fmt.Errorf("%w: CapabilitySet.Add: a nil capability", ErrInvalid)
		}
		if prev, ok := s[c.Identifier]; ok {
			return errorAt(c.Source.KeyPosition("/identifier"), ErrDuplicate,
				fmt.Sprintf("capability with identifier %q already exists (first defined at %s); capability identifiers must be unique", c.Identifier, prev.Source.KeyPosition("/identifier")))
		}
		s[c.Identifier] = c
	}
	return nil
}

// LoadCapabilityFS reads every capability file below root ("<root>/**/*":
// .json, .json5 and .toml, not directly inside a "schemas" folder).
func LoadCapabilityFS(fsys fs.FS, root string, display func(string) string) (CapabilitySet, error) {
	if fsys == nil {
		return nil, errNoFS
	}
	display = displayOrSame(display)
	paths, err := walkFiles(fsys, root, []string{"json", "json5", "toml"})
	if err != nil {
		return nil, err
	}
	set := CapabilitySet{}
	for _, p := range paths {
		name := display(p)
		data, err := readFile(fsys, p, name)
		if err != nil {
			return nil, err
		}
		caps, err := ParseCapabilityFile(name, data)
		if err != nil {
			return nil, err
		}
		if err := set.Add(caps...); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// LoadCapabilities reads capability files and folders from disk: a folder
// contributes every capability file below it.
func LoadCapabilities(paths ...string) (CapabilitySet, error) {
	set := CapabilitySet{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		var caps CapabilitySet
		if st.IsDir() {
			dir := p
			caps, err = LoadCapabilityFS(os.DirFS(dir), ".", func(q string) string { return filepath.Join(dir, filepath.FromSlash(q)) })
		} else {
			var list []*Capability
			list, err = ReadCapabilityFile(p)
			caps = CapabilitySet{}
			if err == nil {
				err = caps.Add(list...)
			}
		}
		if err != nil {
			return nil, err
		}
		for _, c := range caps.Sorted() {
			if err := set.Add(c); err != nil {
				return nil, err
			}
		}
	}
	return set, nil
}
