package acldiff

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/acl"
)

// manifestsPath is where tauri-build writes the manifests.
var manifestsPath = path.Join("gen", "schemas", "acl-manifests.json")

// hideFS is a file system without one file.
type hideFS struct {
	fs.FS
	hidden string
}

func (h hideFS) Open(name string) (fs.File, error) {
	if name == h.hidden {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return h.FS.Open(name)
}

// Stat keeps fs.Stat from going around Open.
func (h hideFS) Stat(name string) (fs.FileInfo, error) {
	if name == h.hidden {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fs.Stat(h.FS, name)
}

// loader reads one side: its apps per target, its committed manifests
// (parsed once), and the manifests its build would make, which is what
// the side is resolved with.
type loader struct {
	side  Side
	which string // "old" or "new"
	apps  map[acl.Target]*acl.App
	errs  map[acl.Target]error
	// committed is gen/schemas/acl-manifests.json (nil when absent).
	committed     acl.Manifests
	committedFile string
	// manifests are what the side is resolved with: the committed ones,
	// with the app's own manifest rebuilt from permissions/ (and the
	// plugins of Options.Plugins from their folders), plus what was
	// borrowed from the other side or stood in for a missing plugin.
	manifests acl.Manifests
	// permDir tells whether the side has a permissions/ folder.
	permDir bool
	// borrowed are the plugins ("plugin fs") and permissions ("fs:x")
	// taken from the other side's manifests.
	borrowed []string
	// stand holds the stand-ins put in for what the manifests lack (a
	// plugin key, or key and name), with the reason: they are never
	// borrowed by the other side, and are reported on every target.
	stand map[string]string
}

func newLoader(s Side, which string) *loader {
	return &loader{side: s, which: which, apps: map[acl.Target]*acl.App{}, errs: map[acl.Target]error{}, stand: map[string]string{}}
}

func (l *loader) display(p string) string {
	return filepath.Join(l.side.Dir, filepath.FromSlash(p))
}

// app reads the side's app for one target. The manifests are read by the
// first call and hidden from the later ones (they do not depend on the
// target).
func (l *loader) app(t acl.Target) (*acl.App, error) {
	if app, ok := l.apps[t]; ok {
		return app, l.errs[t]
	}
	if l.side.Empty != "" {
		app := &acl.App{Dir: l.side.Dir, Target: t, Files: acl.CapabilitySet{}, Capabilities: acl.CapabilitySet{}}
		l.apps[t] = app
		return app, nil
	}
	fsys := l.side.FS
	first := len(l.apps) == 0
	if !first {
		fsys = hideFS{fsys, manifestsPath}
	}
	app, err := acl.LoadAppFS(fsys, l.side.Dir, t)
	if err != nil {
		err = fmt.Errorf("%s: %w", l.side.Name, err)
	} else if first {
		l.committed, l.committedFile = app.Manifests, app.ManifestsFile
	}
	l.apps[t], l.errs[t] = app, err
	return app, err
}

// readPermissions reads the permission files below dir in the side's
// tree ("permissions", or a plugin's folder), in Tauri's order, leaving
// out the folders skip holds. A folder that does not exist has no files.
func (l *loader) readPermissions(dir string, skip map[string]bool) ([]*acl.PermissionFile, bool, error) {
	if l.side.Empty != "" {
		return nil, false, nil
	}
	st, err := fs.Stat(l.side.FS, dir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !st.IsDir() {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", l.side.Name, err)
	}
	paths, err := acl.PermissionFilePaths(l.side.FS, dir)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", l.side.Name, err)
	}
	var files []*acl.PermissionFile
	for _, p := range paths {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			if top, _, nested := strings.Cut(rest, "/"); nested && skip[top] {
				continue
			}
		}
		name := l.display(p)
		data, err := readSideFile(l.side.FS, p, name)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", l.side.Name, err)
		}
		pf, err := acl.ParsePermissionFile(name, data)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", l.side.Name, err)
		}
		files = append(files, pf)
	}
	return files, true, nil
}

// readSideFile reads a whole file of at most acl.MaxFileSize bytes.
func readSideFile(fsys fs.FS, name, display string) ([]byte, error) {
	if st, err := fs.Stat(fsys, name); err == nil && st.Size() > acl.MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a permission file may have", display, st.Size(), acl.MaxFileSize)
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: display, Err: errors.Unwrap(err)}
	}
	return data, nil
}

// sameManifest tells whether two manifests are the same, as tauri-build
// would write them.
func sameManifest(a, b *acl.Manifest) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(acl.MarshalManifests(acl.Manifests{"x": a}), acl.MarshalManifests(acl.Manifests{"x": b}))
}

// autogenerated tells whether a permission has the shape of the allow-/
// deny- permissions tauri-build writes for the commands listed in
// build.rs (permissions/autogenerated/, often not committed).
func autogenerated(p *acl.Permission) bool {
	slug, deny := strings.CutPrefix(p.Identifier, "deny-")
	if !deny {
		var ok bool
		if slug, ok = strings.CutPrefix(p.Identifier, "allow-"); !ok {
			return false
		}
	}
	list, other := p.Commands.Allow, p.Commands.Deny
	if deny {
		list, other = other, list
	}
	return len(other) == 0 && len(list) == 1 && strings.ReplaceAll(list[0], "_", "-") == slug && p.Scope.IsEmpty()
}

// build makes the manifests the side's build would make. inlined are the
// plugin names whose folders under permissions/ belong to a plugin (an
// inlined plugin of build.rs, or a plugin of Options.Plugins), not to
// the app.
func (l *loader) build(inlined map[string]bool, plugins map[string]string, rep *Report) error {
	l.manifests = acl.Manifests{}
	for k, m := range l.committed {
		l.manifests[k] = m
	}
	files, permDir, err := l.readPermissions("permissions", inlined)
	if err != nil {
		return err
	}
	l.permDir = permDir
	if permDir {
		rebuilt := acl.NewManifest(files, nil)
		committed := l.committed[acl.AppKey]
		kept := 0
		if committed != nil {
			// Without permissions/autogenerated in the tree, the allow-/deny-
			// permissions of build.rs's commands exist only in the committed
			// manifest: keep them.
			if st, err := fs.Stat(l.side.FS, "permissions/autogenerated"); err != nil || !st.IsDir() {
				for _, id := range sortedKeys(committed.Permissions) {
					if p := committed.Permissions[id]; rebuilt.Permissions[id] == nil && autogenerated(p) {
						rebuilt.Permissions[id] = p
						kept++
					}
				}
			}
		}
		empty := rebuilt.Default == nil && len(rebuilt.Sets) == 0 && len(rebuilt.Permissions) == 0
		switch {
		case empty && committed == nil:
		case empty:
			delete(l.manifests, acl.AppKey)
		default:
			l.manifests[acl.AppKey] = rebuilt
		}
		if l.committed != nil && !sameManifest(committed, l.manifests[acl.AppKey]) {
			msg := fmt.Sprintf("%s: the app's permissions in %s are stale: the app's manifest is rebuilt from %s, as Tauri's build does (rebuild gen/schemas to update the file)",
				l.side.Name, l.committedFile, l.display("permissions"))
			if kept > 0 {
				msg += fmt.Sprintf("; %d allow-/deny- permissions of commands listed in build.rs are kept from the committed file", kept)
			}
			rep.warn(l.which, msg, acl.Position{File: l.committedFile})
		}
	}
	for _, name := range sortedKeys(plugins) {
		files, ok, err := l.readPermissions(strings.Trim(path.Clean(filepath.ToSlash(plugins[name])), "/"), nil)
		if err != nil {
			return err
		}
		if !ok {
			if l.side.Empty == "" {
				rep.warn(l.which, fmt.Sprintf("%s: no folder %s for plugin %s: its committed manifest is used", l.side.Name, l.display(plugins[name]), name), acl.Position{})
			}
			continue
		}
		var schema []byte
		if c := l.committed[name]; c != nil {
			schema = c.GlobalScopeSchema
		}
		m := acl.NewManifest(files, schema)
		if c := l.committed[name]; c != nil && !sameManifest(c, m) {
			rep.warn(l.which, fmt.Sprintf("%s: plugin %s in %s is stale: its manifest is rebuilt from %s", l.side.Name, name, l.committedFile, l.display(plugins[name])), acl.Position{File: l.committedFile})
		}
		l.manifests[name] = m
	}
	return nil
}

// refs finds, for one target, the permission entries of the side's
// active capabilities that its manifests cannot resolve. A plugin or a
// permission the other side's manifests have is borrowed from them (the
// committed manifests of one side are missing or stale), with a warning;
// anything else is replaced by a stand-in that grants nothing, and the
// entry is listed as not compared. The manifests are changed in place
// (they are the side's own copy).
func (l *loader) refs(t acl.Target, app *acl.App, other *loader, rep *Report) {
	w := &refWalk{l: l, other: other, rep: rep, t: t}
	for _, c := range app.Capabilities.Sorted() {
		if !c.ActiveOn(t) {
			continue
		}
		for i, e := range c.Permissions {
			w.capability, w.entry, w.pos = c, e.Identifier.String(), c.Source.Position("/permissions/"+strconv.Itoa(i))
			w.seen = map[string]bool{}
			w.lookup(e.Identifier.Key(), e.Identifier.Base(), "")
		}
	}
}

type refWalk struct {
	l, other   *loader
	rep        *Report
	t          acl.Target
	capability *acl.Capability
	entry      string
	pos        acl.Position
	seen       map[string]bool
}

// cloneManifest copies a manifest so that names can be added to it.
func cloneManifest(m *acl.Manifest) *acl.Manifest {
	c := *m
	c.Permissions = make(map[string]*acl.Permission, len(m.Permissions)+1)
	for k, v := range m.Permissions {
		c.Permissions[k] = v
	}
	c.Sets = make(map[string]*acl.PermissionSet, len(m.Sets)+1)
	for k, v := range m.Sets {
		c.Sets[k] = v
	}
	return &c
}

func display(key, name string) string {
	if key == acl.AppKey {
		return name
	}
	return key + ":" + name
}

// lookup resolves key:name the way Tauri's resolver does, following sets
// depth first; via names the set it was reached through.
func (w *refWalk) lookup(key, name, via string) {
	id := display(key, name)
	if w.seen[id] {
		return
	}
	w.seen[id] = true
	ms := w.l.manifests
	if why, ok := w.l.stand[key]; ok {
		w.standIn(key, name)
		w.missing(key, id, via, why)
		return
	}
	if why, ok := w.l.stand[key+"\x00"+name]; ok {
		w.missing(key, id, via, why)
		return
	}
	m := ms[key]
	if m == nil {
		if om := w.other.manifests[key]; om != nil && w.other.stand[key] == "" {
			ms[key] = om
			m = om
			w.l.borrow("plugin " + acl.DisplayKey(key))
		} else {
			why := fmt.Sprintf("no manifest for plugin %s", acl.DisplayKey(key))
			ms[key] = &acl.Manifest{Permissions: map[string]*acl.Permission{}, Sets: map[string]*acl.PermissionSet{}}
			w.l.stand[key] = why
			w.standIn(key, name)
			w.missing(key, id, via, why)
			return
		}
	}
	_, set, ok := m.Lookup(name, key == acl.AppKey)
	if !ok {
		om := w.other.manifests[key]
		var op *acl.Permission
		var oset *acl.PermissionSet
		found := false
		if om != nil && w.other.stand[key] == "" && w.other.stand[key+"\x00"+name] == "" {
			op, oset, found = om.Lookup(name, key == acl.AppKey)
		}
		c := cloneManifest(m)
		ms[key] = c
		switch {
		case found && oset != nil:
			c.Sets[name] = oset
			set = oset
			w.l.borrow(id)
		case found && op != nil:
			c.Permissions[name] = op
			w.l.borrow(id)
		default:
			why := fmt.Sprintf("%s has no permission or set %q", manifestName(key), name)
			c.Permissions[name] = &acl.Permission{Identifier: name}
			w.l.stand[key+"\x00"+name] = why
			w.missing(key, id, via, why)
			return
		}
	}
	if set == nil {
		return
	}
	for _, entry := range set.Permissions {
		nid, err := acl.ParseIdentifier(entry)
		if err != nil {
			continue // the resolver reports it
		}
		if prefix, ok := nid.Prefix(); ok {
			if ms[prefix] != nil || w.other.manifests[prefix] != nil {
				w.lookup(prefix, nid.Base(), display(key, set.Identifier))
				continue
			}
		}
		w.lookup(key, entry, display(key, set.Identifier))
	}
}

// standIn makes name resolve to nothing in the stand-in manifest of key.
func (w *refWalk) standIn(key, name string) {
	m := w.l.manifests[key]
	if _, _, ok := m.Lookup(name, key == acl.AppKey); !ok {
		m.Permissions[name] = &acl.Permission{Identifier: name}
	}
}

func manifestName(key string) string {
	if key == acl.AppKey {
		return "the app's manifest"
	}
	return "the manifest of " + acl.DisplayKey(key)
}

// borrow records a plugin or permission taken from the other side.
func (l *loader) borrow(what string) {
	for _, x := range l.borrowed {
		if x == what {
			return
		}
	}
	l.borrowed = append(l.borrowed, what)
}

// warnBorrowed says, in one warning, what the side's committed manifests
// lacked and took from the other side's (a side without manifests at all
// has its own warning).
func (l *loader) warnBorrowed(other *loader, rep *Report) {
	if len(l.borrowed) == 0 || l.committed == nil {
		return
	}
	list := append([]string{}, l.borrowed...)
	sort.Strings(list)
	rep.warn(l.which, fmt.Sprintf("%s: %s lacks %s: taken from %s's manifests (the committed file may be stale: rebuild gen/schemas)",
		l.side.Name, l.committedFile, joinList(list), other.side.Name), acl.Position{File: l.committedFile})
}

// joinList is "a", "a and b", "a, b and c".
func joinList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func (w *refWalk) missing(key, id, via, reason string) {
	if via != "" {
		reason += " (reached through " + via + ")"
	}
	w.rep.notCompared(NotCompared{
		Side: w.l.which, Targets: []acl.Target{w.t}, Capability: w.capability.Identifier, Entry: w.entry,
		Plugin: acl.DisplayKey(key), Missing: id, Reason: reason,
		File: w.pos.File, Line: w.pos.Line, Column: w.pos.Col,
	})
}

// inlinedPlugins are the folders of permissions/ that belong to a plugin
// rather than to the app: those named like a plugin of either side's
// committed manifests (Tauri's inlined plugins keep their permissions in
// permissions/<name>/), and the plugins of Options.Plugins.
func inlinedPlugins(plugins map[string]string, ls ...*loader) map[string]bool {
	out := map[string]bool{}
	for _, l := range ls {
		for k := range l.committed {
			if k != acl.AppKey && !strings.HasPrefix(k, "core:") {
				out[k] = true
			}
		}
	}
	for k := range plugins {
		out[k] = true
	}
	return out
}

// declaredRisks collects the risks permission files declare for the
// commands their permissions allow (the highest when several do), with
// a warning for a level that is not one of the four.
func declaredRisks(ms acl.Manifests, which string, rep *Report, seen map[string]bool) map[string]declared {
	out := map[string]declared{}
	for _, key := range ms.Keys() {
		m := ms[key]
		for _, id := range sortedKeys(m.Permissions) {
			p := m.Permissions[id]
			if p.Risk == "" {
				continue
			}
			r := Risk(p.Risk)
			pos := p.Source.Position("/capguard/risk")
			if r.rank() == 0 {
				if k := pos.String() + p.Risk; !seen[k] {
					seen[k] = true
					rep.warn(which, fmt.Sprintf("permission %s declares the risk %q, which is not one of critical, high, medium and low: ignored", display(key, id), p.Risk), pos)
				}
				continue
			}
			for _, cmd := range p.Commands.Allow {
				name := acl.CommandName(key, cmd)
				if d, ok := out[name]; !ok || r.rank() > d.risk.rank() {
					reason := p.RiskReason
					if reason == "" {
						reason = "declared by " + display(key, id)
					}
					out[name] = declared{risk: r, reason: reason, at: pos}
				}
			}
		}
	}
	return out
}

// declared is a risk a permission file declares.
type declared struct {
	risk   Risk
	reason string
	at     acl.Position
}

// mergeDeclared keeps the higher declaration of each command.
func mergeDeclared(a, b map[string]declared) map[string]declared {
	out := map[string]declared{}
	for _, m := range []map[string]declared{a, b} {
		for k, v := range m {
			if d, ok := out[k]; !ok || v.risk.rank() > d.risk.rank() {
				out[k] = v
			}
		}
	}
	return out
}

// sortTargets sorts targets in acl's order.
func sortTargets(ts []acl.Target) {
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
}
