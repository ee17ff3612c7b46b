package acldiff

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"

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
	// Risk rates a widening (docs/diff.md has the table); RiskReason
	// says why. Narrowings have no risk.
	Risk       Risk
	RiskReason string
	// Note explains a comparison by coverage: an example of what the
	// change lets through or stops, or why coverage could not be decided
	// (the change is then reported as written).
	Note string
}

// Report is the difference between two sides.
type Report struct {
	// Old and New name the sides as given.
	Old, New string
	// Targets are the targets compared.
	Targets []acl.Target
	// Verdict sums up the changes: what was compared (see NotCompared).
	Verdict Verdict
	// Widened and Narrowed count the changes of each effect.
	Widened, Narrowed int
	Changes           []Change
	// Skipped is kept for the JSON format's sake: targets are no longer
	// left out (what a target's manifests lack is in NotCompared).
	Skipped []Skip
	// NotCompared are the permission entries neither side's manifests
	// can resolve: they are left out of the comparison, each named once.
	NotCompared []NotCompared
	// Warnings are remarks about the inputs: manifests taken from the
	// other side, a stale app manifest, capabilities without effect.
	Warnings []Warning
}

// Skip is a target left out of a comparison, and why.
type Skip struct {
	Target acl.Target
	Reason string
}

// NotCompared is a permission entry that was not compared on some
// targets, because the manifests (the side's and the other side's) lack
// the plugin or the permission it names: it is resolved as granting
// nothing.
type NotCompared struct {
	// Side is "old", "new" or "both".
	Side string
	// Targets are the targets on which the entry was not compared.
	Targets []acl.Target
	// Capability and Entry are the capability and its entry as written;
	// Plugin the plugin it names; Missing what the manifests lack (the
	// entry itself, or a member of a set it reaches).
	Capability, Entry, Plugin, Missing string
	// Reason says what is missing.
	Reason string
	// File, Line and Column locate the entry (on the new side for
	// "both").
	File         string
	Line, Column int
}

// Warning is a remark about one side's files.
type Warning struct {
	// Side is "old" or "new".
	Side    string
	Message string
	// File, Line and Column locate it when it concerns one place.
	File         string
	Line, Column int
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
	// Empty, when set, says why the side has no app (a revision before
	// the app existed): it compares as an app without capabilities.
	Empty string
}

// Options tune a comparison.
type Options struct {
	// Targets are the targets to compare; nil: every target a capability
	// of either side names in its platforms, and the desktop targets when
	// some capability names none.
	Targets []acl.Target
	// Plugins are plugins whose permission files are in the repository
	// (NAME → folder relative to each side's app folder, such as
	// "plugins/wingover/permissions"): their manifests are rebuilt from
	// those files on each side, as their build would, and the risks the
	// files declare are used.
	Plugins map[string]string
}

// ErrNoManifests is returned by older versions when a side had no
// gen/schemas/acl-manifests.json; a side without manifests is now
// compared with the other side's, with a warning, and this error is
// never returned.
var ErrNoManifests = errors.New("no gen/schemas/acl-manifests.json")

// ErrNoApp is returned when neither side has an app.
var ErrNoApp = errors.New("neither side has an app")

// desktop are the targets a capability without platforms stands for when
// choosing the default targets.
var desktop = []acl.Target{acl.Linux, acl.MacOS, acl.Windows}

// Compare is CompareWith with only targets given.
func Compare(old, new Side, targets []acl.Target) (*Report, error) {
	return CompareWith(old, new, Options{Targets: targets})
}

// CompareWith resolves both sides for each target and reports how the
// effective access changes. Each side is resolved with the manifests its
// build would make: the committed gen/schemas/acl-manifests.json, with
// the app's own manifest rebuilt from permissions/ (warning when the
// committed one is stale); a plugin or permission a side's manifests lack
// is taken from the other side's, with a warning, and an entry neither
// has is left out and listed in Report.NotCompared. A side whose files
// are invalid (Tauri's build would fail) is an error.
func CompareWith(old, new Side, opt Options) (*Report, error) {
	if old.Empty != "" && new.Empty != "" {
		return nil, fmt.Errorf("%w: %s; %s", ErrNoApp, old.Empty, new.Empty)
	}
	rep := &Report{Old: old.Name, New: new.Name, Skipped: []Skip{}}
	lo, ln := newLoader(old, "old"), newLoader(new, "new")
	for _, l := range []*loader{lo, ln} {
		if l.side.Empty != "" {
			rep.warn(l.which, l.side.Name+": "+l.side.Empty, acl.Position{})
		}
		if _, err := l.app(acl.Linux); err != nil {
			return nil, err
		}
	}
	inlined := inlinedPlugins(opt.Plugins, lo, ln)
	for _, l := range []*loader{lo, ln} {
		if err := l.build(inlined, opt.Plugins, rep); err != nil {
			return nil, err
		}
	}
	for _, pair := range [][2]*loader{{lo, ln}, {ln, lo}} {
		l, other := pair[0], pair[1]
		if l.committed != nil || l.side.Empty != "" {
			continue
		}
		if other.committed != nil {
			rep.warn(l.which, fmt.Sprintf("%s has no %s: the plugins its capabilities name are taken from %s's", l.side.Name, l.display(manifestsPath), other.side.Name), acl.Position{})
		} else if l.which == "new" || other.side.Empty != "" {
			rep.warn(l.which, fmt.Sprintf("neither side has %s: the permissions of plugins cannot be resolved and are not compared (build the app once so that tauri-build writes it, and commit it)", manifestsPath), acl.Position{})
		}
	}
	targets := opt.Targets
	if len(targets) == 0 {
		var err error
		if targets, err = defaultTargets(lo, ln); err != nil {
			return nil, err
		}
	}
	pc := newPatternCache()
	merged := map[string]*Change{}
	var order []string
	var decl map[string]declared
	for _, t := range targets {
		pc.target = t
		var acc [2]*access
		for i, pair := range [][2]*loader{{lo, ln}, {ln, lo}} {
			l, other := pair[0], pair[1]
			app, err := l.app(t)
			if err != nil {
				return nil, err
			}
			l.refs(t, app, other, rep)
			r, err := acl.Resolve(l.manifests, app.Capabilities, t)
			if err != nil {
				return nil, fmt.Errorf("%s (target %s): %w", l.side.Name, t, err)
			}
			acc[i] = effective(r, l.which, pc)
		}
		if decl == nil {
			seen := map[string]bool{}
			decl = mergeDeclared(declaredRisks(ln.manifests, "new", rep, seen), declaredRisks(lo.manifests, "old", rep, seen))
		}
		a, b := acc[0], acc[1]
		a.declared, b.declared = decl, decl
		rep.Targets = append(rep.Targets, t)
		for _, c := range compareAccess(a, b, pc) {
			k := c.key()
			if m, ok := merged[k]; ok {
				m.Targets = append(m.Targets, t)
				for _, x := range c.Causes {
					m.Causes = appendCause(m.Causes, x)
				}
				if c.Risk.rank() > m.Risk.rank() {
					m.Risk, m.RiskReason = c.Risk, c.RiskReason
				}
				continue
			}
			c.Targets = []acl.Target{t}
			merged[k] = &c
			order = append(order, k)
		}
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
	lo.warnBorrowed(ln, rep)
	ln.warnBorrowed(lo, rep)
	rep.noEffect(lo, ln, targets)
	rep.finishNotCompared()
	return rep, nil
}

// warn adds a warning.
func (r *Report) warn(side, msg string, at acl.Position) {
	for _, w := range r.Warnings {
		if w.Side == side && w.Message == msg {
			return
		}
	}
	r.Warnings = append(r.Warnings, Warning{Side: side, Message: msg, File: at.File, Line: at.Line, Column: at.Col})
}

// notCompared records an entry left out on one side and target.
func (r *Report) notCompared(n NotCompared) {
	for i := range r.NotCompared {
		x := &r.NotCompared[i]
		if x.Side == n.Side && x.Capability == n.Capability && x.Entry == n.Entry && x.Missing == n.Missing && x.Reason == n.Reason {
			for _, t := range n.Targets {
				if !containsTarget(x.Targets, t) {
					x.Targets = append(x.Targets, t)
				}
			}
			return
		}
	}
	r.NotCompared = append(r.NotCompared, n)
}

func containsTarget(ts []acl.Target, t acl.Target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// finishNotCompared merges an entry left out on both sides into one
// ("both"), and sorts the list by plugin, capability and entry.
func (r *Report) finishNotCompared() {
	var out []NotCompared
	used := make([]bool, len(r.NotCompared))
	for i, a := range r.NotCompared {
		if used[i] {
			continue
		}
		used[i] = true
		if a.Side == "new" {
			for j, b := range r.NotCompared {
				if !used[j] && b.Side == "old" && b.Capability == a.Capability && b.Entry == a.Entry && b.Missing == a.Missing && b.Reason == a.Reason && sameTargets(a.Targets, b.Targets) {
					used[j] = true
					a.Side = "both"
					break
				}
			}
		} else if a.Side == "old" {
			for j, b := range r.NotCompared {
				if !used[j] && b.Side == "new" && b.Capability == a.Capability && b.Entry == a.Entry && b.Missing == a.Missing && b.Reason == a.Reason && sameTargets(a.Targets, b.Targets) {
					used[j] = true
					a = b
					a.Side = "both"
					break
				}
			}
		}
		sortTargets(a.Targets)
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Plugin != b.Plugin {
			return a.Plugin < b.Plugin
		}
		if a.Capability != b.Capability {
			return a.Capability < b.Capability
		}
		if a.Entry != b.Entry {
			return a.Entry < b.Entry
		}
		return a.Side > b.Side
	})
	r.NotCompared = out
}

func sameTargets(a, b []acl.Target) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range a {
		if !containsTarget(b, t) {
			return false
		}
	}
	return true
}

// UncomparedAdditions are the entries left out on the new side only (or
// on both, but where the old side does not have them): they may widen the
// access, and --fail-on counts them, failing closed.
func (r *Report) UncomparedAdditions() []NotCompared {
	var out []NotCompared
	for _, n := range r.NotCompared {
		if n.Side == "new" {
			out = append(out, n)
		}
	}
	return out
}

// noEffect warns about the new side's capability files that the
// configuration's capability list leaves out on every target.
func (r *Report) noEffect(lo, ln *loader, targets []acl.Target) {
	if ln.side.Empty != "" {
		return
	}
	used := map[string]bool{}
	var files acl.CapabilitySet
	listed := false
	for _, t := range targets {
		app, err := ln.app(t)
		if err != nil {
			return
		}
		files = app.Files
		for id, c := range app.Capabilities {
			if app.Files[id] == c {
				used[id] = true
			}
		}
		listed = listed || len(app.Capabilities) != len(app.Files) || !sameSet(app.Capabilities, app.Files)
	}
	if !listed {
		return
	}
	for _, c := range files.Sorted() {
		if used[c.Identifier] {
			continue
		}
		msg := fmt.Sprintf("capability %q has no effect: the configuration's app.security.capabilities does not list it", c.Identifier)
		if old, err := lo.app(acl.Linux); err == nil && old.Files[c.Identifier] == nil {
			msg += " (it is new in this change)"
		}
		r.warn("new", msg, c.Source.KeyPosition("/identifier"))
	}
}

func sameSet(a, b acl.CapabilitySet) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
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
		out = append(out, desktop...)
	}
	sortTargets(out)
	return out, nil
}
