package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
)

// Options tune ValidateApp and ValidateFiles.
type Options struct {
	// Targets are the targets the manifests were built for. Nil: read
	// them from the schema files next to acl-manifests.json (the
	// <target>-schema.json that lists the same permissions), or assume a
	// desktop build.
	Targets []acl.Target
	// ManifestsFile replaces DIR/gen/schemas/acl-manifests.json (required
	// by ValidateFiles).
	ManifestsFile string
	// Validator, when set, is used instead of compiling one for the
	// manifests (it must have been compiled for the same manifests).
	Validator *Validator
}

var (
	// ErrNoManifests: the app has no gen/schemas/acl-manifests.json and
	// none was given.
	ErrNoManifests = errors.New("no acl-manifests.json")
)

// desktopTargets are assumed when nothing tells which build wrote the
// manifests.
var desktopTargets = []acl.Target{acl.Linux, acl.MacOS, acl.Windows}

// ValidateApp validates a src-tauri directory: every capability file of
// DIR/capabilities (as tauri-build reads them), the capability list of
// tauri.conf.json (references and inline capabilities), against
// DIR/gen/schemas/acl-manifests.json. Findings are returned in the
// report; the error is for what stops validation altogether (no
// manifests, unreadable files, manifests that do not parse).
func ValidateApp(dir string, opts Options) (*Report, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: errors.New("not a directory")}
	}
	return ValidateAppFS(os.DirFS(dir), dir, opts)
}

// ValidateAppFS is ValidateApp on a file system whose root is the
// src-tauri directory; dir names it in positions and messages.
func ValidateAppFS(fsys fs.FS, dir string, opts Options) (*Report, error) {
	if fsys == nil {
		return nil, errors.New("schema: ValidateAppFS: no file system (a nil fs.FS)")
	}
	display := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	manifestsFile := opts.ManifestsFile
	var ms acl.Manifests
	var schemas schemaFiles
	var err error
	if manifestsFile == "" {
		name := path.Join("gen", "schemas", "acl-manifests.json")
		manifestsFile = display(name)
		data, err := readFS(fsys, name, manifestsFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist; build the app once (tauri build or tauri dev writes it) or pass the manifests of a build", ErrNoManifests, manifestsFile)
		}
		if err != nil {
			return nil, err
		}
		if ms, err = acl.ParseManifests(manifestsFile, data); err != nil {
			return nil, err
		}
		schemas = schemaFiles{fsys: fsys, dir: path.Join("gen", "schemas"), display: display}
	} else {
		if ms, err = acl.ReadManifests(manifestsFile); err != nil {
			return nil, err
		}
		schemas = schemaFiles{fsys: os.DirFS(filepath.Dir(manifestsFile)), dir: ".", display: func(p string) string { return filepath.Join(filepath.Dir(manifestsFile), p) }}
	}
	r := &Report{}
	v, err := opts.validator(ms)
	if err != nil {
		return nil, err
	}
	targets := r.targets(opts.Targets, v, schemas, manifestsFile)

	var files []string
	if st, err := fs.Stat(fsys, "capabilities"); err == nil && st.IsDir() {
		if files, err = capabilityFiles(fsys, "capabilities"); err != nil {
			return nil, err
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Unreadable is not missing: the report would otherwise say
		// "no capability files" of a folder it could not look into.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &fs.PathError{Op: "stat", Path: display("capabilities"), Err: err}
	}
	c := &collector{v: v, r: r, targets: targets}
	for _, f := range files {
		name := display(f)
		data, err := readFS(fsys, f, name)
		if err != nil {
			return nil, err
		}
		c.file(name, data)
	}
	c.duplicates()
	c.config(fsys, dir, display)
	c.resolve()
	// Keep the text of the other files that findings point into (the
	// configuration), for excerpts.
	for _, f := range r.Findings {
		if _, ok := r.sources[f.Pos.File]; ok || f.Pos.Line == 0 {
			continue
		}
		if rel, err := filepath.Rel(dir, f.Pos.File); err == nil && !strings.HasPrefix(rel, "..") {
			if data, err := readFS(fsys, filepath.ToSlash(rel), f.Pos.File); err == nil {
				r.addSource(f.Pos.File, data)
			}
		}
	}
	r.sort()
	return r, nil
}

// ValidateFiles validates capability files (and folders of them) against
// the manifests of opts.ManifestsFile, which is required.
func ValidateFiles(paths []string, opts Options) (*Report, error) {
	if opts.ManifestsFile == "" {
		return nil, fmt.Errorf("%w: validating capability files needs the manifests of the app (acl-manifests.json)", ErrNoManifests)
	}
	ms, err := acl.ReadManifests(opts.ManifestsFile)
	if err != nil {
		return nil, err
	}
	r := &Report{}
	v, err := opts.validator(ms)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(opts.ManifestsFile)
	schemas := schemaFiles{fsys: os.DirFS(dir), dir: ".", display: func(p string) string { return filepath.Join(dir, p) }}
	c := &collector{v: v, r: r, targets: r.targets(opts.Targets, v, schemas, opts.ManifestsFile)}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			data, err := readFS(os.DirFS(filepath.Dir(p)), filepath.Base(p), p)
			if err != nil {
				return nil, err
			}
			c.file(p, data)
			continue
		}
		fsys := os.DirFS(p)
		files, err := capabilityFiles(fsys, ".")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name := filepath.Join(p, filepath.FromSlash(f))
			data, err := readFS(fsys, f, name)
			if err != nil {
				return nil, err
			}
			c.file(name, data)
		}
	}
	c.duplicates()
	c.resolve()
	r.sort()
	return r, nil
}

func (o Options) validator(ms acl.Manifests) (*Validator, error) {
	if o.Validator != nil {
		return o.Validator, nil
	}
	return Compile(ms, CompileOptions{})
}

// readFS reads a file of at most acl.MaxFileSize bytes.
func readFS(fsys fs.FS, name, display string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Path = display
		}
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, acl.MaxFileSize+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: display, Err: err}
	}
	return data, nil
}

// capabilityFiles lists the capability files below root as tauri-build
// finds them ("<root>/**/*"): .json, .json5 and .toml files, depth first in
// byte order, leaving out files directly inside a folder named "schemas".
func capabilityFiles(fsys fs.FS, root string) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch path.Ext(p) {
		case ".json", ".json5", ".toml":
		default:
			return nil
		}
		if path.Base(path.Dir(p)) == "schemas" {
			return nil
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// schemaFiles is the folder of the *-schema.json files that the build
// which wrote acl-manifests.json left next to it.
type schemaFiles struct {
	fsys    fs.FS
	dir     string
	display func(string) string
}

// targets decides which targets the manifests were built for: the given
// ones, or those whose <target>-schema.json (or desktop-/mobile-) lists
// exactly the manifests' permissions, or a desktop build (with a note).
func (r *Report) targets(given []acl.Target, v *Validator, s schemaFiles, manifestsFile string) []acl.Target {
	if len(given) > 0 {
		r.Targets = given
		return given
	}
	entries, _ := fs.ReadDir(s.fsys, s.dir)
	var platform, family []acl.Target
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), "-schema.json")
		if !ok || e.IsDir() {
			continue
		}
		var ts []acl.Target
		switch name {
		case "desktop":
			ts = desktopTargets
		case "mobile":
			ts = []acl.Target{acl.Android, acl.IOS}
		default:
			t, err := acl.ParseTarget(name)
			if err != nil {
				continue
			}
			ts = []acl.Target{t}
		}
		data, err := readFS(s.fsys, path.Join(s.dir, e.Name()), s.display(e.Name()))
		if err != nil || !v.listsSamePermissions(data) {
			continue
		}
		if name == "desktop" || name == "mobile" {
			family = appendTargets(family, ts...)
		} else {
			platform = appendTargets(platform, ts...)
		}
	}
	out := platform
	// A family file counts only for a family without a matching platform
	// file (desktop-schema.json is a copy of the last desktop build's).
	for _, t := range family {
		covered := false
		for _, p := range platform {
			if p.IsMobile() == t.IsMobile() {
				covered = true
			}
		}
		if !covered {
			out = appendTargets(out, t)
		}
	}
	if len(out) == 0 {
		out = desktopTargets
		r.add(Finding{Severity: Note, Rule: RuleNotChecked, Pos: acl.Position{File: manifestsFile},
			Message: "no *-schema.json next to this file lists the same permissions, so the target it was built for is unknown; assuming a desktop build (linux, macOS, windows); pass --target to say which"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	r.Targets = out
	return out
}

func appendTargets(list []acl.Target, ts ...acl.Target) []acl.Target {
	for _, t := range ts {
		found := false
		for _, x := range list {
			if x == t {
				found = true
			}
		}
		if !found {
			list = append(list, t)
		}
	}
	return list
}

// listsSamePermissions tells whether a capability schema file lists
// exactly the permission identifiers of the validator's manifests.
func (v *Validator) listsSamePermissions(data []byte) bool {
	if bytes.Equal(data, v.text) {
		return true
	}
	var s struct {
		Definitions struct {
			Identifier struct {
				OneOf []struct {
					Const *string `json:"const"`
					Enum  []any   `json:"enum"`
				} `json:"oneOf"`
				AnyOf []struct {
					Const *string `json:"const"`
					Enum  []any   `json:"enum"`
				} `json:"anyOf"`
			} `json:"Identifier"`
		} `json:"definitions"`
	}
	if json.Unmarshal(data, &s) != nil {
		return false
	}
	seen := map[string]bool{}
	add := func(x string) bool {
		if !v.known[x] {
			return false
		}
		seen[x] = true
		return true
	}
	alts := append(s.Definitions.Identifier.OneOf, s.Definitions.Identifier.AnyOf...)
	for _, a := range alts {
		if a.Const != nil && !add(*a.Const) {
			return false
		}
		for _, e := range a.Enum {
			if str, ok := e.(string); !ok || !add(str) {
				return false
			}
		}
	}
	return len(seen) == len(v.known)
}

// collector gathers the findings of the files of one validation.
type collector struct {
	v       *Validator
	r       *Report
	targets []acl.Target
	// caps are the capabilities read, in file order, with whether their
	// file has errors.
	caps      []*acl.Capability
	badFiles  map[string]bool
	anyErrors bool
	// configs holds each configuration file parsed for inline
	// capabilities (nil when it does not parse), so that n inline
	// capabilities read their file once, not n times.
	configs map[string]*doc.Node
}

func (c *collector) file(name string, data []byte) {
	c.r.addSource(name, data)
	res := c.v.CheckFile(name, data, c.targets)
	c.r.add(res.Findings...)
	for _, f := range res.Findings {
		if f.Severity == Error {
			if c.badFiles == nil {
				c.badFiles = map[string]bool{}
			}
			c.badFiles[name] = true
			c.anyErrors = true
		}
	}
	c.caps = append(c.caps, res.Capabilities...)
}

// duplicates reports capability identifiers defined twice.
func (c *collector) duplicates() {
	first := map[string]*acl.Capability{}
	for _, cap := range c.caps {
		prev, dup := first[cap.Identifier]
		if !dup {
			first[cap.Identifier] = cap
			continue
		}
		p := cap.Source.KeyPosition("/identifier")
		c.r.add(Finding{Severity: Error, Rule: RuleDuplicateCapability, Pos: p,
			Message: fmt.Sprintf("capability identifier %q is already used at %s; Tauri's build fails on a repeated identifier", cap.Identifier, prev.Source.KeyPosition("/identifier"))})
		c.anyErrors = true
		if c.badFiles == nil {
			c.badFiles = map[string]bool{}
		}
		c.badFiles[p.File] = true
	}
}

// config checks the capability list of the configuration, with acl's
// reader (which applies the platform overlay of each target), and
// validates its inline capabilities.
func (c *collector) config(fsys fs.FS, dir string, display func(string) string) {
	if c.anyErrors {
		if cfg := firstExisting(fsys, "tauri.conf.json", "tauri.conf.json5", "Tauri.toml"); cfg != "" && hasCapabilityList(fsys, cfg) {
			c.r.add(Finding{Severity: Note, Rule: RuleNotChecked, Pos: acl.Position{File: display(cfg)},
				Message: "the capability list of the configuration (app.security.capabilities) was not checked, because the capability files have errors"})
		}
		return
	}
	inline := map[string]bool{}
	used := map[string]bool{}
	var files acl.CapabilitySet
	listed := false
	for _, t := range c.targets {
		app, err := acl.LoadAppFS(fsys, dir, t)
		if err != nil {
			c.readerError(err, RuleMissingCapability)
			return
		}
		files = app.Files
		if len(app.Capabilities) != len(app.Files) {
			listed = true
		}
		for id, cap := range app.Capabilities {
			if app.Files[id] == cap {
				used[id] = true
			} else {
				listed = true
			}
		}
		for _, cap := range app.Capabilities.Sorted() {
			if app.Files[cap.Identifier] == cap {
				continue
			}
			key := cap.Source.File + "#" + cap.Source.Pointer
			if inline[key] {
				continue
			}
			inline[key] = true
			c.inline(fsys, dir, cap)
		}
	}
	if !listed {
		return
	}
	// With a capability list, a capability file it does not name is
	// never used: Tauri builds without it.
	for _, cap := range files.Sorted() {
		if !used[cap.Identifier] {
			c.r.add(Finding{Severity: Warning, Rule: RuleNoEffect, Pos: cap.Source.KeyPosition("/identifier"),
				Message: fmt.Sprintf("capability %q has no effect: the configuration's app.security.capabilities does not list it (add it there, or remove the file)", cap.Identifier)})
		}
	}
}

func firstExisting(fsys fs.FS, names ...string) string {
	for _, n := range names {
		if _, err := fs.Stat(fsys, n); err == nil {
			return n
		}
	}
	return ""
}

// hasCapabilityList tells whether a configuration file lists capabilities.
func hasCapabilityList(fsys fs.FS, name string) bool {
	data, err := readFS(fsys, name, name)
	if err != nil {
		return false
	}
	root, err := parseConfig(name, data)
	if err != nil {
		return false
	}
	list, ok := root.Lookup("/app/security/capabilities")
	return ok && list.Kind == doc.Array && len(list.Items) > 0
}

// parseConfig parses a Tauri configuration file: TOML, JSON5, or JSON
// (which Tauri also reads as JSON5).
func parseConfig(name string, data []byte) (*doc.Node, error) {
	switch path.Ext(name) {
	case ".toml":
		return doc.ParseTOML(data)
	case ".json5":
		return doc.ParseJSON5(data)
	}
	root, err := doc.ParseJSON(data)
	if err != nil {
		if r5, err5 := doc.ParseJSON5(data); err5 == nil {
			return r5, nil
		}
	}
	return root, err
}

// parseConfig reads and parses the configuration file name for inline
// capabilities; nil when it cannot.
func (c *collector) parseConfig(fsys fs.FS, dir, name string) *doc.Node {
	rel, err := filepath.Rel(dir, name)
	if err != nil {
		return nil
	}
	data, err := readFS(fsys, filepath.ToSlash(rel), name)
	if err != nil {
		return nil
	}
	c.r.addSource(name, data)
	root, err := parseConfig(name, data)
	if err != nil {
		return nil
	}
	return root
}

// inline validates a capability written in the configuration.
func (c *collector) inline(fsys fs.FS, dir string, cap *acl.Capability) {
	name := cap.Source.File
	root, seen := c.configs[name]
	if !seen {
		root = c.parseConfig(fsys, dir, name)
		if c.configs == nil {
			c.configs = map[string]*doc.Node{}
		}
		c.configs[name] = root
	}
	if root == nil {
		return
	}
	n, ok := root.Lookup(cap.Source.Pointer)
	if !ok {
		return
	}
	fc := &fileCheck{v: c.v, name: name, root: root, targets: c.targets, errorAt: map[string]bool{}}
	fc.capability(n, cap.Source.Pointer)
	c.r.add(fc.out...)
	for _, f := range fc.out {
		if f.Severity == Error {
			c.anyErrors = true
			return
		}
	}
	c.caps = append(c.caps, cap)
}

// readerError turns an error of acl into a finding.
func (c *collector) readerError(err error, rule string) {
	var ae *acl.Error
	if errors.As(err, &ae) {
		if errors.Is(err, acl.ErrUnknownPermission) && strings.Contains(ae.Msg, "permission") && rule == RuleResolve {
			rule = RuleUnknownPermission
		}
		if !errors.Is(err, acl.ErrUnknownPermission) && rule == RuleMissingCapability {
			rule = RuleInvalid
		}
		c.r.add(Finding{Severity: Error, Rule: rule, Pos: ae.Pos, Message: ae.Msg})
		return
	}
	c.r.add(Finding{Severity: Error, Rule: rule, Message: err.Error()})
}

// resolve resolves each capability that applies to the manifests' targets
// and has no errors, alone, for each target: this catches what only
// resolution finds (a set of a plugin that names a permission no manifest
// has), and lists the commands that remote pages may call.
func (c *collector) resolve() {
	for _, cap := range c.caps {
		if c.badFiles[cap.Source.File] {
			continue
		}
		warned := false
		for _, t := range c.targets {
			if !cap.ActiveOn(t) {
				continue
			}
			res, err := acl.Resolve(c.v.manifests, acl.CapabilitySet{cap.Identifier: cap}, t)
			if err != nil {
				c.readerError(err, RuleResolve)
				break
			}
			if !warned && cap.Remote != nil && len(cap.Remote.URLs) > 0 {
				warned = c.remoteCommands(cap, res)
			}
		}
	}
}

// remoteCommands warns about the commands a capability opens to remote
// pages.
func (c *collector) remoteCommands(cap *acl.Capability, res *acl.Resolved) bool {
	var cmds []string
	for name, entries := range res.Allowed {
		for _, e := range entries {
			if !e.Context.IsLocal() {
				cmds = append(cmds, name)
				break
			}
		}
	}
	if len(cmds) == 0 {
		return false
	}
	sort.Strings(cmds)
	shown := cmds
	more := ""
	if len(shown) > 12 {
		shown = shown[:12]
		more = " and " + strconv.Itoa(len(cmds)-12) + " more"
	}
	urls := make([]string, len(cap.Remote.URLs))
	for i, u := range cap.Remote.URLs {
		urls[i] = strconv.Quote(u)
	}
	noun := "commands"
	if len(cmds) == 1 {
		noun = "command"
	}
	c.r.add(Finding{Severity: Warning, Rule: RuleRemoteCommands, Pos: cap.Source.KeyPosition("/remote"),
		Message: fmt.Sprintf("capability %q lets pages from %s call %d native %s: %s%s; remote content then reaches native code, so grant it only what those pages need",
			cap.Identifier, strings.Join(urls, ", "), len(cmds), noun, strings.Join(shown, ", "), more)})
	return true
}
