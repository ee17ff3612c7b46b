package acldiff

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/capguard/capguard/acl"
)

// Verdict sums a report up in one word.
type Verdict string

// The verdicts. Widened: something can be called (or reached with a
// wider scope) that could not before, and nothing narrowed. Narrowed: the
// converse. Changed: both. Unchanged: the effective access is the same,
// whatever the files look like.
const (
	Unchanged Verdict = "unchanged"
	Widened   Verdict = "widened"
	Narrowed  Verdict = "narrowed"
	Changed   Verdict = "changed"
)

// Kind says what a change is about.
type Kind string

// The kinds of change.
const (
	// KindCall: a command becomes callable (or not) from an execution
	// context by the windows or webviews of one label pattern.
	KindCall Kind = "call"
	// KindScope: a scope value is added to or removed from the command
	// scope of calls that stay possible.
	KindScope Kind = "scope"
	// KindGlobalScope: a scope value is added to or removed from a
	// plugin's global scope, which applies to every call of the plugin.
	KindGlobalScope Kind = "global-scope"
	// KindDeny: a command's deny entry for an execution context appears or
	// disappears (deny entries ignore window labels).
	KindDeny Kind = "deny"
	// KindRemote: a remote URL pattern from which some command can be
	// called appears or disappears.
	KindRemote Kind = "remote"
	// KindPlugin: a plugin some page can call at all appears or
	// disappears.
	KindPlugin Kind = "plugin"
	// KindLabelPlugin: a window or webview pattern gains access to a
	// plugin it had none of, or loses the last of it.
	KindLabelPlugin Kind = "label-plugin"
)

// Op is "added" (present on the new side only) or "removed".
type Op string

// The operations.
const (
	Added   Op = "added"
	Removed Op = "removed"
)

// Effect is what a change does to the access: "widened" or "narrowed".
type Effect string

// The effects.
const (
	EffectWidened  Effect = "widened"
	EffectNarrowed Effect = "narrowed"
)

// Cause is the capability permission entry behind a change, on the side
// that has it.
type Cause struct {
	// Side is "old" or "new".
	Side string
	// Capability is the capability identifier; Entry the permission entry
	// as written in it ("fs:default", "allow-ping" for an app
	// permission); Permission the permission the entry reaches that
	// grants or denies the command ("fs:allow-read-file"), or Entry
	// itself for the summaries (remote, plugin, label-plugin).
	Capability string
	Entry      string
	Permission string
	// File, Line, Column and Pointer locate the permission entry.
	File    string
	Line    int
	Column  int
	Pointer string
}

// Change is one difference in effective access. Which fields are set
// depends on Kind; docs/diff.md lists them.
type Change struct {
	Kind   Kind
	Op     Op
	Effect Effect
	// Targets are the targets the change happens on.
	Targets []acl.Target
	// Command is the command as Tauri names it ("plugin:fs|read_file").
	Command string
	// Plugin is the plugin as capabilities name it ("fs", "core:window",
	// acl.AppKey for the application's own commands).
	Plugin string
	// Context is "local" or a remote URL pattern.
	Context string
	// LabelKind is "window" or "webview"; Label the pattern.
	LabelKind string
	Label     string
	// List is "allow" or "deny" for scope changes; Value the scope value.
	List  string
	Value *acl.Value
	// Allow and Deny are the command scope a call is granted with (calls
	// only).
	Allow []acl.Value
	Deny  []acl.Value
	// Causes are the permission entries that make the change.
	Causes []Cause
}

// Report is the difference between two sides.
type Report struct {
	// Old and New name the sides as given.
	Old, New string
	// Targets are the targets compared.
	Targets []acl.Target
	Verdict Verdict
	// Widened and Narrowed count the changes of each effect.
	Widened, Narrowed int
	Changes           []Change
	// Skipped are default targets that were not compared because neither
	// side resolves on them (the manifests were built for other targets,
	// and lack plugins that only those targets use).
	Skipped []Skip
}

// Skip is a target left out of a comparison, and why.
type Skip struct {
	Target acl.Target
	Reason string
}

// Side is one version of a Tauri app: the file system holding its
// src-tauri directory (at the root) and the names used for it.
type Side struct {
	// Name is how the side was given ("main", "HEAD:src-tauri", a folder).
	Name string
	// FS holds the src-tauri directory at its root.
	FS fs.FS
	// Dir prefixes file names in positions: a folder as given, or the
	// path inside the repository for a git revision.
	Dir string
}

// ErrNoManifests is returned when a side has no
// gen/schemas/acl-manifests.json to resolve its capabilities with.
var ErrNoManifests = errors.New("no gen/schemas/acl-manifests.json")

// desktop are the targets a capability without platforms stands for when
// choosing the default targets.
var desktop = []acl.Target{acl.Linux, acl.MacOS, acl.Windows}

// Compare resolves both sides for each target and reports how the
// effective access changes. With no targets, it compares every target a
// capability of either side names in its platforms, and the desktop
// targets when some capability names none; of those, a target on which
// neither side resolves (an app's manifests are built for one target and
// may lack the plugins of others) is left out and listed in
// Report.Skipped. A side that fails to resolve where the other resolves
// is an error, as is any failure on a target given explicitly.
func Compare(old, new Side, targets []acl.Target) (*Report, error) {
	if old.FS == nil || new.FS == nil {
		return nil, errors.New("acldiff: Compare: a side has no file system (Side.FS)")
	}
	lo, ln := newLoader(old), newLoader(new)
	defaulted := len(targets) == 0
	if defaulted {
		var err error
		if targets, err = defaultTargets(lo, ln); err != nil {
			return nil, err
		}
	}
	rep := &Report{Old: old.Name, New: new.Name}
	merged := map[string]*Change{}
	var order []string
	for _, t := range targets {
		a, errA := lo.access(t, "old")
		b, errB := ln.access(t, "new")
		if defaulted && errA != nil && errB != nil && acl.IsInputError(errA) && acl.IsInputError(errB) {
			rep.Skipped = append(rep.Skipped, Skip{Target: t, Reason: errB.Error()})
			continue
		}
		if errA != nil {
			return nil, errA
		}
		if errB != nil {
			return nil, errB
		}
		rep.Targets = append(rep.Targets, t)
		for _, c := range compareAccess(a, b) {
			k := c.key()
			if m, ok := merged[k]; ok {
				m.Targets = append(m.Targets, t)
				for _, x := range c.Causes {
					m.Causes = appendCause(m.Causes, x)
				}
				continue
			}
			c.Targets = []acl.Target{t}
			merged[k] = &c
			order = append(order, k)
		}
	}
	if len(rep.Targets) == 0 {
		return nil, fmt.Errorf("no target to compare: neither side resolves on %s; the first error: %s", strings.Join(targetNames(targets), ", "), rep.Skipped[0].Reason)
	}
	for _, k := range order {
		c := merged[k]
		sortCauses(c.Causes)
		rep.Changes = append(rep.Changes, *c)
		if c.Effect == EffectWidened {
			rep.Widened++
		} else {
			rep.Narrowed++
		}
	}
	sortChanges(rep.Changes)
	switch {
	case rep.Widened > 0 && rep.Narrowed > 0:
		rep.Verdict = Changed
	case rep.Widened > 0:
		rep.Verdict = Widened
	case rep.Narrowed > 0:
		rep.Verdict = Narrowed
	default:
		rep.Verdict = Unchanged
	}
	return rep, nil
}

// manifestsPath is where tauri-build writes the manifests.
var manifestsPath = path.Join("gen", "schemas", "acl-manifests.json")

// loader reads a side once per target. The manifests do not depend on the
// target: they are parsed once, and hidden from later reads.
type loader struct {
	side      Side
	apps      map[acl.Target]*acl.App
	errs      map[acl.Target]error
	manifests acl.Manifests
	file      string
}

func newLoader(s Side) *loader {
	return &loader{side: s, apps: map[acl.Target]*acl.App{}, errs: map[acl.Target]error{}}
}

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

// app reads the side's app for one target and checks it has manifests.
func (l *loader) app(t acl.Target) (*acl.App, error) {
	if app, ok := l.apps[t]; ok {
		return app, l.errs[t]
	}
	fsys := l.side.FS
	if l.manifests != nil {
		fsys = hideFS{fsys, manifestsPath}
	}
	app, err := acl.LoadAppFS(fsys, l.side.Dir, t)
	switch {
	case err != nil:
		err = fmt.Errorf("%s: %w", l.side.Name, err)
	case l.manifests != nil:
		app.Manifests, app.ManifestsFile = l.manifests, l.file
	case app.Manifests == nil:
		err = fmt.Errorf("%s: %w (%s); build the app once so that tauri-build writes it", l.side.Name, ErrNoManifests,
			filepath.Join(l.side.Dir, filepath.FromSlash(manifestsPath)))
	default:
		l.manifests, l.file = app.Manifests, app.ManifestsFile
	}
	l.apps[t], l.errs[t] = app, err
	return app, err
}

// access resolves the side for one target.
func (l *loader) access(t acl.Target, which string) (*access, error) {
	app, err := l.app(t)
	if err != nil {
		return nil, err
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, t)
	if err != nil {
		return nil, fmt.Errorf("%s (target %s): %w", l.side.Name, t, err)
	}
	return effective(r, which), nil
}

// defaultTargets are the targets the capabilities of both sides name.
func defaultTargets(sides ...*loader) ([]acl.Target, error) {
	named := map[acl.Target]bool{}
	for _, s := range sides {
		for _, t := range acl.Targets {
			app, err := s.app(t)
			if err != nil {
				return nil, err
			}
			for _, set := range []acl.CapabilitySet{app.Files, app.Capabilities} {
				for _, c := range set {
					ts := c.Platforms
					if ts == nil {
						ts = desktop
					}
					for _, x := range ts {
						named[x] = true
					}
				}
			}
		}
	}
	var out []acl.Target
	for t := range named {
		out = append(out, t)
	}
	if len(out) == 0 {
		out = desktop
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// key identifies a change across targets.
func (c *Change) key() string {
	v := ""
	if c.Value != nil {
		v = canonical(*c.Value)
	}
	return strings.Join([]string{string(c.Kind), string(c.Op), c.Command, c.Plugin, c.Context, c.LabelKind, c.Label, c.List, v,
		valuesKey(c.Allow), valuesKey(c.Deny)}, "\x00")
}

func valuesKey(vs []acl.Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = canonical(v)
	}
	return strings.Join(parts, "\x01")
}

// effectOf is what an added or removed thing does to the access.
func effectOf(op Op, widensWhenAdded bool) Effect {
	if (op == Added) == widensWhenAdded {
		return EffectWidened
	}
	return EffectNarrowed
}

// compareAccess lists the changes from a (old) to b (new) for one target.
func compareAccess(a, b *access) []Change {
	var out []Change
	out = append(out, callChanges(a, b, Added)...)
	out = append(out, callChanges(b, a, Removed)...)
	out = append(out, denyChanges(a, b)...)
	out = append(out, globalChanges(a, b)...)
	out = append(out, reachChanges(a, b)...)
	return out
}

// byCall indexes calls by command, context and label kind, for coverage.
func byCall(x *access) map[[3]string][]callKey {
	idx := map[[3]string][]callKey{}
	for k := range x.calls {
		ik := [3]string{k.Command, k.Context, k.Label.Kind}
		idx[ik] = append(idx[ik], k)
	}
	return idx
}

func sortedCalls(m map[callKey]*grant) []callKey {
	keys := make([]callKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Command != b.Command {
			return a.Command < b.Command
		}
		if a.Context != b.Context {
			return a.Context < b.Context
		}
		if a.Label.Kind != b.Label.Kind {
			return a.Label.Kind < b.Label.Kind
		}
		return a.Label.Pattern < b.Label.Pattern
	})
	return keys
}

// callChanges lists the calls of to that from lacks (op Added when from
// is the old side, Removed when it is the new one), and, for op Added
// only, the scope changes of calls both have.
func callChanges(from, to *access, op Op) []Change {
	var out []Change
	idx := byCall(from)
	for _, k := range sortedCalls(to.calls) {
		g := to.calls[k]
		base := Change{Op: op, Command: k.Command, Plugin: pluginOf(k.Command), Context: k.Context, LabelKind: k.Label.Kind, Label: k.Label.Pattern}
		if og, ok := from.calls[k]; ok {
			if op == Removed {
				continue // both sides have it: reported once, from the Added pass
			}
			out = append(out, scopeChanges(base, og, g)...)
			continue
		}
		// A pattern covered by a pattern of the other side adds no call;
		// only scope values the covering entries lack make a difference.
		covering := valueSet{}
		covered := false
		for _, q := range idx[[3]string{k.Command, k.Context, k.Label.Kind}] {
			if covers(q.Label, k.Label) {
				covered = true
				for kk, v := range from.calls[q].allow {
					covering[kk] = v
				}
			}
		}
		if covered {
			for _, kk := range g.allow.sortedKeys() {
				if _, ok := covering[kk]; !ok {
					c := base
					c.Kind, c.List, c.Effect, c.Causes = KindScope, "allow", effectOf(op, true), g.allowBy[kk]
					v := g.allow[kk]
					c.Value = &v
					out = append(out, c)
				}
			}
			continue
		}
		c := base
		c.Kind, c.Effect, c.Causes = KindCall, effectOf(op, true), g.causes
		c.Allow, c.Deny = values(g.allow), values(g.deny)
		out = append(out, c)
	}
	return out
}

// values returns a set's values in canonical order.
func values(s valueSet) []acl.Value {
	out := make([]acl.Value, 0, len(s))
	for _, k := range s.sortedKeys() {
		out = append(out, s[k])
	}
	return out
}

// scopeChanges compares the command scopes of a call both sides allow.
func scopeChanges(base Change, old, new *grant) []Change {
	var out []Change
	for _, l := range []struct {
		list         string
		old, new     valueSet
		oldBy, newBy map[string][]Cause
		widens       bool
	}{{"allow", old.allow, new.allow, old.allowBy, new.allowBy, true}, {"deny", old.deny, new.deny, old.denyBy, new.denyBy, false}} {
		for _, d := range []struct {
			op       Op
			from, to valueSet
			by       map[string][]Cause
		}{{Added, l.old, l.new, l.newBy}, {Removed, l.new, l.old, l.oldBy}} {
			for _, kk := range d.to.sortedKeys() {
				if _, ok := d.from[kk]; ok {
					continue
				}
				c := base
				v := d.to[kk]
				c.Kind, c.Op, c.List, c.Value, c.Effect, c.Causes = KindScope, d.op, l.list, &v, effectOf(d.op, l.widens), d.by[kk]
				out = append(out, c)
			}
		}
	}
	return out
}

func denyChanges(a, b *access) []Change {
	var out []Change
	for _, d := range []struct {
		op       Op
		from, to *access
	}{{Added, a, b}, {Removed, b, a}} {
		keys := make([]denyKey, 0, len(d.to.denies))
		for k := range d.to.denies {
			if _, ok := d.from.denies[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].Command != keys[j].Command {
				return keys[i].Command < keys[j].Command
			}
			return keys[i].Context < keys[j].Context
		})
		for _, k := range keys {
			out = append(out, Change{Kind: KindDeny, Op: d.op, Effect: effectOf(d.op, false), Command: k.Command,
				Plugin: pluginOf(k.Command), Context: k.Context, Causes: d.to.denies[k]})
		}
	}
	return out
}

func globalChanges(a, b *access) []Change {
	plugins := map[string]bool{}
	for k := range a.global {
		plugins[k] = true
	}
	for k := range b.global {
		plugins[k] = true
	}
	var out []Change
	empty := &globalScope{allow: valueSet{}, deny: valueSet{}}
	for _, p := range sortedSet(plugins) {
		og, ng := a.global[p], b.global[p]
		if og == nil {
			og = empty
		}
		if ng == nil {
			ng = empty
		}
		for _, l := range []struct {
			list     string
			old, new valueSet
			widens   bool
		}{{"allow", og.allow, ng.allow, true}, {"deny", og.deny, ng.deny, false}} {
			for _, d := range []struct {
				op       Op
				from, to valueSet
			}{{Added, l.old, l.new}, {Removed, l.new, l.old}} {
				for _, kk := range d.to.sortedKeys() {
					if _, ok := d.from[kk]; ok {
						continue
					}
					v := d.to[kk]
					out = append(out, Change{Kind: KindGlobalScope, Op: d.op, Effect: effectOf(d.op, l.widens), Plugin: p, List: l.list, Value: &v})
				}
			}
		}
	}
	return out
}

// reachChanges are the summaries a reviewer looks for first: remote
// patterns, plugins, and plugins per window pattern, that gain or lose all
// access.
func reachChanges(a, b *access) []Change {
	type reach struct {
		remotes map[string][]Cause
		plugins map[string][]Cause
	}
	collect := func(x *access) reach {
		r := reach{remotes: map[string][]Cause{}, plugins: map[string][]Cause{}}
		for _, k := range sortedCalls(x.calls) {
			g := x.calls[k]
			if k.Context != "local" {
				for _, c := range g.causes {
					r.remotes[k.Context] = appendCause(r.remotes[k.Context], c)
				}
			}
			p := pluginOf(k.Command)
			for _, c := range g.causes {
				r.plugins[p] = appendCause(r.plugins[p], c)
			}
		}
		return r
	}
	ra, rb := collect(a), collect(b)
	for _, r := range []reach{ra, rb} {
		for k, v := range r.remotes {
			r.remotes[k] = entries(v)
		}
		for k, v := range r.plugins {
			r.plugins[k] = entries(v)
		}
	}
	var out []Change
	for _, d := range []struct {
		op       Op
		from, to reach
	}{{Added, ra, rb}, {Removed, rb, ra}} {
		for _, ctx := range sortedKeys(d.to.remotes) {
			if _, ok := d.from.remotes[ctx]; !ok {
				out = append(out, Change{Kind: KindRemote, Op: d.op, Effect: effectOf(d.op, true), Context: ctx, Causes: d.to.remotes[ctx]})
			}
		}
		for _, p := range sortedKeys(d.to.plugins) {
			if _, ok := d.from.plugins[p]; !ok {
				out = append(out, Change{Kind: KindPlugin, Op: d.op, Effect: effectOf(d.op, true), Plugin: p, Causes: d.to.plugins[p]})
			}
		}
	}
	out = append(out, labelPlugins(a, b, Added)...)
	out = append(out, labelPlugins(b, a, Removed)...)
	return out
}

// labelPlugins lists the window and webview patterns of to that reach a
// plugin no pattern of from covering them reaches.
func labelPlugins(from, to *access, op Op) []Change {
	type lp struct {
		l      label
		plugin string
	}
	reached := func(x *access) map[lp][]Cause {
		m := map[lp][]Cause{}
		for _, k := range sortedCalls(x.calls) {
			key := lp{k.Label, pluginOf(k.Command)}
			for _, c := range x.calls[k].causes {
				m[key] = appendCause(m[key], c)
			}
		}
		return m
	}
	rf, rt := reached(from), reached(to)
	keys := make([]lp, 0, len(rt))
	for k := range rt {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].l != keys[j].l {
			if keys[i].l.Kind != keys[j].l.Kind {
				return keys[i].l.Kind > keys[j].l.Kind // windows first
			}
			return keys[i].l.Pattern < keys[j].l.Pattern
		}
		return keys[i].plugin < keys[j].plugin
	})
	var out []Change
	for _, k := range keys {
		had := false
		for fk := range rf {
			if fk.plugin == k.plugin && covers(fk.l, k.l) {
				had = true
				break
			}
		}
		if !had {
			out = append(out, Change{Kind: KindLabelPlugin, Op: op, Effect: effectOf(op, true), Plugin: k.plugin,
				LabelKind: k.l.Kind, Label: k.l.Pattern, Causes: entries(rt[k])})
		}
	}
	return out
}

// entries reduces causes to the permission entries they come from.
func entries(cs []Cause) []Cause {
	var out []Cause
	for _, c := range cs {
		c.Permission = c.Entry
		out = appendCause(out, c)
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortCauses(cs []Cause) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Side != b.Side {
			return a.Side > b.Side // new first
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Capability != b.Capability {
			return a.Capability < b.Capability
		}
		return a.Permission < b.Permission
	})
}

// kindOrder puts the summaries first, then calls, scopes and denies.
var kindOrder = map[Kind]int{KindRemote: 0, KindPlugin: 1, KindLabelPlugin: 2, KindCall: 3, KindScope: 4, KindDeny: 5, KindGlobalScope: 6}

// sortChanges orders changes by label (windows first, then webviews, then
// changes that concern every label), plugin, kind, command, context, op
// and value.
func sortChanges(cs []Change) {
	labelRank := func(c Change) int {
		switch c.LabelKind {
		case "window":
			return 0
		case "webview":
			return 1
		}
		return 2
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if ra, rb := labelRank(a), labelRank(b); ra != rb {
			return ra < rb
		}
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		if a.Plugin != b.Plugin {
			return a.Plugin < b.Plugin
		}
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		if a.Command != b.Command {
			return a.Command < b.Command
		}
		if a.Context != b.Context {
			return a.Context < b.Context
		}
		if a.Op != b.Op {
			return a.Op < b.Op
		}
		if a.List != b.List {
			return a.List < b.List
		}
		return a.key() < b.key()
	})
}
