package acldiff

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/capguard/capguard/acl"
)

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

// compareAccess lists the changes from a (old) to b (new) for one target,
// each widening rated.
func compareAccess(a, b *access, pc *patternCache) []Change {
	var out []Change
	out = append(out, callChanges(a, b, Added, pc)...)
	out = append(out, callChanges(b, a, Removed, pc)...)
	out = append(out, denyChanges(a, b, pc)...)
	out = append(out, globalChanges(a, b, pc)...)
	out = append(out, reachChanges(a, b, pc)...)
	rate(out, a, b, pc)
	return out
}

// byCommand indexes the calls of a side by command.
func byCommand(x *access) map[string][]callKey {
	idx := map[string][]callKey{}
	for _, k := range sortedCalls(x.calls) {
		idx[k.Command] = append(idx[k.Command], k)
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

// labelText names a label pattern for notes.
func labelText(l label) string { return fmt.Sprintf("%s %q", l.Kind, l.Pattern) }

// callChanges lists the calls of to that from does not allow (op Added
// when from is the old side, Removed when it is the new one), and the
// scope values of calls from allows that it does not let through. A call
// is allowed by from when from allows the command from execution
// contexts covering the call's, to label patterns covering the call's
// (a glob covering another: "main-*" covers "main-?").
func callChanges(from, to *access, op Op, pc *patternCache) []Change {
	var out []Change
	idx := byCommand(from)
	infos := map[string]*cmdInfo{}
	for _, k := range sortedCalls(to.calls) {
		g := to.calls[k]
		plugin := pluginOf(k.Command)
		base := Change{Op: op, Command: k.Command, Plugin: plugin, Context: k.Context, LabelKind: k.Label.Kind, Label: k.Label.Pattern}
		if og, ok := from.calls[k]; ok {
			if op == Added {
				out = append(out, scopeChanges(base, []*grant{og}, g, pc, true)...)
			}
			continue
		}
		cands := idx[k.Command]
		ci := infos[k.Command]
		if ci == nil {
			ci = newCmdInfo(pc, cands)
			infos[k.Command] = ci
		}
		var good []string
		note := ""
		all := true
		for _, grp := range ci.groups {
			lc := grp.set.covers(pc, k.Label)
			switch {
			case lc.covered:
			case lc.undecided != "" && note == "":
				note = lc.undecided
				all = false
			default:
				all = false
			}
		}
		var cc coverage
		if all {
			good = ci.ctxs
			cc = pc.contextCoveredSet(k.Context, ci.allCtxs(pc))
		} else {
			for _, ctx := range ci.ctxs {
				if ci.groups[ci.groupOf[ctx]].set.covers(pc, k.Label).covered {
					good = append(good, ctx)
				}
			}
			cc = pc.contextCovered(k.Context, good)
		}
		if cc.covered {
			// The call is allowed by from; its scope values must be let
			// through by every call of from that concerns its labels.
			var part []*grant
			for _, q := range cands {
				if containsString(good, q.Context) && pc.contextCovered(k.Context, []string{q.Context}).covered && labelsMeet(pc, q.Label, k.Label) {
					part = append(part, from.calls[q])
				}
			}
			if len(part) == 0 {
				for _, q := range cands {
					if containsString(good, q.Context) && labelsMeet(pc, q.Label, k.Label) {
						part = append(part, from.calls[q])
					}
				}
			}
			out = append(out, scopeChanges(base, part, g, pc, false)...)
			continue
		}
		c := base
		c.Kind, c.Effect, c.Causes = KindCall, effectOf(op, true), g.causes
		c.Allow, c.Deny = values(g.allow), values(g.deny)
		switch {
		case cc.undecided != "":
			c.Note = "compared as written: " + cc.undecided
		case note != "":
			c.Note = "compared as written: " + note
		case len(cands) > 0:
			c.Note = exampleNote(pc, k, cands, ci, op)
		}
		out = append(out, c)
	}
	return out
}

// cmdInfo is what callChanges needs of the other side's calls of one
// command: their execution contexts, grouped by the label patterns each
// allows (indexed once for all the calls compared with them).
type cmdInfo struct {
	ctxs    []string
	groupOf map[string]int
	groups  []ctxGroup
	all     *urlSet
}

// ctxGroup is the contexts that allow a command to the same labels.
type ctxGroup struct {
	set *labelSet
}

func newCmdInfo(pc *patternCache, cands []callKey) *cmdInfo {
	ci := &cmdInfo{groupOf: map[string]int{}}
	byCtx := map[string][]label{}
	for _, q := range cands {
		if _, ok := byCtx[q.Context]; !ok {
			ci.ctxs = append(ci.ctxs, q.Context)
		}
		byCtx[q.Context] = append(byCtx[q.Context], q.Label)
	}
	bySet := map[string]int{}
	for _, ctx := range ci.ctxs {
		var b strings.Builder
		for _, l := range byCtx[ctx] {
			b.WriteString(l.Kind + "\x00" + l.Pattern + "\x01")
		}
		g, ok := bySet[b.String()]
		if !ok {
			g = len(ci.groups)
			bySet[b.String()] = g
			ci.groups = append(ci.groups, ctxGroup{set: pc.newLabelSet(byCtx[ctx])})
		}
		ci.groupOf[ctx] = g
	}
	return ci
}

// allCtxs is the set of all the contexts.
func (ci *cmdInfo) allCtxs(pc *patternCache) *urlSet {
	if ci.all == nil {
		ci.all = pc.newURLSet(ci.ctxs)
	}
	return ci.all
}

// exampleNote says which label or page shows a call the other side does
// not allow, when the other side allows the command to other patterns.
func exampleNote(pc *patternCache, k callKey, cands []callKey, ci *cmdInfo, op Op) string {
	side := "the old side"
	if op == Removed {
		side = "the new side"
	}
	var labels []label
	sameCtx := false
	for _, q := range cands {
		if q.Context == k.Context {
			labels = append(labels, q.Label)
			sameCtx = true
		}
	}
	if sameCtx {
		// Literal labels need no example: "main" does not cover "settings".
		glob := !pc.glob(k.Label.Pattern).literal()
		for _, l := range labels {
			glob = glob || !pc.glob(l.Pattern).literal()
		}
		if !glob {
			return ""
		}
		if lc := ci.groups[ci.groupOf[k.Context]].set.covers(pc, k.Label); lc.witness != "" {
			var shown []string
			for _, l := range labels {
				shown = append(shown, l.Pattern)
			}
			return fmt.Sprintf("%s allows it to %s, which does not cover %s: e.g. %s %q", side, strings.Join(sortedUnique(shown), ", "), labelText(k.Label), k.Label.Kind, lc.witness)
		}
		return ""
	}
	var ctxs []string
	for _, q := range cands {
		ctxs = append(ctxs, q.Context)
	}
	ctxs = sortedUnique(ctxs)
	if cc := pc.contextCoveredSet(k.Context, ci.allCtxs(pc)); cc.witness != "" && cc.witness != "local" {
		return fmt.Sprintf("%s allows it from %s, which does not cover %s: e.g. %s", side, strings.Join(ctxs, ", "), k.Context, cc.witness)
	}
	return ""
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// labelsMeet tells whether two label patterns can match the same call.
func labelsMeet(pc *patternCache, a, b label) bool {
	if a.Kind != b.Kind {
		return pc.universal(a.Pattern) || pc.universal(b.Pattern)
	}
	return a.Pattern == b.Pattern || intersects(pc.glob(a.Pattern), pc.glob(b.Pattern))
}

// values returns a set's values in canonical order.
func values(s valueSet) []acl.Value {
	out := make([]acl.Value, 0, len(s))
	for _, k := range s.sortedKeys() {
		out = append(out, s[k])
	}
	return out
}

// scopeChanges compares the command scope of a call (to, on its side)
// with the scopes of the calls of the other side that allow it (from):
// an allow value none of them covers is added (a widening, when to is
// the new side), a deny value not denied by all of them too (a
// narrowing). With both set, the call is the same on both sides and the
// comparison runs both ways at once; otherwise only from to's side (the
// reverse pass looks at the other side's values).
func scopeChanges(base Change, from []*grant, to *grant, pc *patternCache, both bool) []Change {
	var out []Change
	if len(from) == 0 {
		return nil
	}
	// covered tells whether v is let through (denied, for deny values) by
	// every call of from: each label of the call meets at least one.
	covered := func(v acl.Value, deny bool) coverage {
		for _, g := range from {
			set := g.allow
			if deny {
				set = g.deny
			}
			if c := valueCovered(base.Plugin, v, set, pc); !c.covered {
				return c
			}
		}
		return coverage{covered: true}
	}
	op := base.Op
	add := func(list string, v acl.Value, o Op, by []Cause, widens bool, c coverage) {
		ch := base
		vv := v
		ch.Kind, ch.Op, ch.List, ch.Value, ch.Effect, ch.Causes = KindScope, o, list, &vv, effectOf(o, widens), by
		ch.Note = coverageNote(c)
		out = append(out, ch)
	}
	for _, k := range to.allow.sortedKeys() {
		if c := covered(to.allow[k], false); !c.covered {
			add("allow", to.allow[k], op, to.allowBy[k], true, c)
		}
	}
	for _, k := range to.deny.sortedKeys() {
		if c := covered(to.deny[k], true); !c.covered {
			add("deny", to.deny[k], op, to.denyBy[k], false, c)
		}
	}
	if both {
		rev := map[Op]Op{Added: Removed, Removed: Added}[op]
		og := from[0]
		for _, k := range og.allow.sortedKeys() {
			if c := valueCovered(base.Plugin, og.allow[k], to.allow, pc); !c.covered {
				add("allow", og.allow[k], rev, og.allowBy[k], true, c)
			}
		}
		for _, k := range og.deny.sortedKeys() {
			if c := valueCovered(base.Plugin, og.deny[k], to.deny, pc); !c.covered {
				add("deny", og.deny[k], rev, og.denyBy[k], false, c)
			}
		}
	}
	return out
}

// coverageNote explains a value that is not covered.
func coverageNote(c coverage) string {
	switch {
	case c.undecided != "":
		return "compared as written: " + c.undecided
	case c.witness != "":
		return "e.g. " + c.witness
	}
	return ""
}

// denyChanges lists deny entries (command, context) one side has that
// the other side's deny entries for the command do not cover. A deny of a
// command that neither side allows at all changes nothing, and is left
// out.
func denyChanges(a, b *access, pc *patternCache) []Change {
	var out []Change
	for _, d := range []struct {
		op       Op
		from, to *access
	}{{Added, a, b}, {Removed, b, a}} {
		ctxOf := map[string][]string{}
		for k := range d.from.denies {
			ctxOf[k.Command] = append(ctxOf[k.Command], k.Context)
		}
		keys := make([]denyKey, 0, len(d.to.denies))
		for k := range d.to.denies {
			if _, ok := d.from.denies[k]; ok || !d.from.allowed[k.Command] && !d.to.allowed[k.Command] {
				continue
			}
			if pc.contextCovered(k.Context, ctxOf[k.Command]).covered {
				continue
			}
			keys = append(keys, k)
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

// globalChanges compares the global scopes of each plugin by coverage.
func globalChanges(a, b *access, pc *patternCache) []Change {
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
		plugin := acl.DisplayKey(p)
		if p == acl.AppKey {
			plugin = acl.AppKey
		}
		for _, l := range []struct {
			list     string
			old, new *globalScope
			widens   bool
		}{{"allow", og, ng, true}, {"deny", og, ng, false}} {
			for _, d := range []struct {
				op       Op
				from, to *globalScope
			}{{Added, l.old, l.new}, {Removed, l.new, l.old}} {
				from, to, by := d.from.allow, d.to.allow, d.to.allowBy
				if l.list == "deny" {
					from, to, by = d.from.deny, d.to.deny, d.to.denyBy
				}
				for _, kk := range to.sortedKeys() {
					c := valueCovered(p, to[kk], from, pc)
					if c.covered {
						continue
					}
					v := to[kk]
					out = append(out, Change{Kind: KindGlobalScope, Op: d.op, Effect: effectOf(d.op, l.widens), Plugin: plugin, List: l.list, Value: &v,
						Note: coverageNote(c), Causes: by[kk]})
				}
			}
		}
	}
	return out
}

// reachChanges are the summaries a reviewer looks for first: remote
// patterns, plugins, and plugins per window pattern, that gain or lose all
// access.
func reachChanges(a, b *access, pc *patternCache) []Change {
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
	for i, r := range []reach{ra, rb} {
		at := []*access{a, b}[i].remoteAt
		for k, v := range r.remotes {
			if len(at[k]) > 0 {
				r.remotes[k] = at[k] // where the URL is written
			} else {
				r.remotes[k] = entries(v)
			}
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
		fromRemotes := sortedKeys(d.from.remotes)
		fromSet := pc.newURLSet(fromRemotes)
		for _, ctx := range sortedKeys(d.to.remotes) {
			if _, ok := d.from.remotes[ctx]; ok {
				continue
			}
			c := pc.contextCoveredSet(ctx, fromSet)
			if c.covered {
				continue
			}
			ch := Change{Kind: KindRemote, Op: d.op, Effect: effectOf(d.op, true), Context: ctx, Causes: d.to.remotes[ctx]}
			if len(fromRemotes) > 0 {
				ch.Note = coverageNote(c)
			}
			out = append(out, ch)
		}
		for _, p := range sortedKeys(d.to.plugins) {
			if _, ok := d.from.plugins[p]; !ok {
				out = append(out, Change{Kind: KindPlugin, Op: d.op, Effect: effectOf(d.op, true), Plugin: p, Causes: d.to.plugins[p]})
			}
		}
	}
	out = append(out, labelPlugins(a, b, Added, pc)...)
	out = append(out, labelPlugins(b, a, Removed, pc)...)
	return out
}

// labelPlugins lists the window and webview patterns of to that reach a
// plugin the patterns of from reaching it do not cover.
func labelPlugins(from, to *access, op Op, pc *patternCache) []Change {
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
	byPlugin := map[string][]label{}
	for k := range rf {
		byPlugin[k.plugin] = append(byPlugin[k.plugin], k.l)
	}
	sets := map[string]*labelSet{}
	for p, ls := range byPlugin {
		sets[p] = pc.newLabelSet(ls)
	}
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
		if s := sets[k.plugin]; s != nil && s.covers(pc, k.l).covered {
			continue
		}
		out = append(out, Change{Kind: KindLabelPlugin, Op: op, Effect: effectOf(op, true), Plugin: k.plugin,
			LabelKind: k.l.Kind, Label: k.l.Pattern, Causes: entries(rt[k])})
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
	slices.SortStableFunc(cs, func(a, b Cause) int {
		return cmp.Or(
			-cmp.Compare(a.Side, b.Side), // new first
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Capability, b.Capability),
			cmp.Compare(a.Permission, b.Permission),
		)
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
	slices.SortStableFunc(cs, func(a, b Change) int {
		return cmp.Or(
			cmp.Compare(labelRank(a), labelRank(b)),
			cmp.Compare(a.Label, b.Label),
			cmp.Compare(a.Plugin, b.Plugin),
			cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]),
			cmp.Compare(a.Command, b.Command),
			cmp.Compare(a.Context, b.Context),
			cmp.Compare(a.Op, b.Op),
			cmp.Compare(a.List, b.List),
			cmp.Compare(a.key(), b.key()),
		)
	})
}

// rate gives each widening its risk, from the new side's access (b; a
// for the widenings of a reverse comparison never happen: a widening is
// always something the new side has).
func rate(cs []Change, a, b *access, pc *patternCache) {
	globalAllow := func(plugin string) []acl.Value {
		if g := b.global[plugin]; g != nil {
			return values(g.allow)
		}
		return nil
	}
	// callScope is the allow values of the new side's calls of a command
	// from a context, with the plugin's global scope.
	callScope := func(cmd, ctx string) []acl.Value {
		set := valueSet{}
		for k, g := range b.calls {
			if k.Command == cmd && (ctx == "" || k.Context == ctx) {
				for kk, v := range g.allow {
					set[kk] = v
				}
			}
		}
		return append(values(set), globalAllow(pluginOf(cmd))...)
	}
	callRatings := map[string]rating{} // by plugin, and plugin + label
	for i := range cs {
		c := &cs[i]
		if c.Effect != EffectWidened {
			continue
		}
		var r rating
		switch c.Kind {
		case KindCall:
			r = rateCommand(c.Command, c.Context, append(append([]acl.Value{}, c.Allow...), globalAllow(c.Plugin)...), b.declared, pc)
		case KindScope:
			scope := []acl.Value{*c.Value}
			if c.List == "deny" {
				scope = callScope(c.Command, c.Context)
			}
			r = rateCommand(c.Command, c.Context, scope, b.declared, pc)
		case KindDeny:
			r = rateCommand(c.Command, c.Context, callScope(c.Command, c.Context), b.declared, pc)
		case KindRemote:
			r = rating{RiskCritical, "pages from " + c.Context + " (a remote origin) can call commands"}
		default:
			continue
		}
		c.Risk, c.RiskReason = r.risk, r.reason
		if c.Kind == KindCall || c.Kind == KindScope || c.Kind == KindDeny {
			for _, k := range []string{c.Plugin, c.Plugin + "\x00" + c.LabelKind + "\x00" + c.Label} {
				callRatings[k] = callRatings[k].worse(r)
			}
		}
	}
	for i := range cs {
		c := &cs[i]
		if c.Effect != EffectWidened {
			continue
		}
		switch c.Kind {
		case KindGlobalScope:
			r := rating{RiskLow, "no command of plugin " + c.Plugin + " can use it yet"}
			for k := range b.calls {
				if pluginOf(k.Command) == c.Plugin {
					r = r.worse(rateCommand(k.Command, k.Context, []acl.Value{*c.Value}, b.declared, pc))
				}
			}
			c.Risk, c.RiskReason = r.risk, r.reason
		case KindPlugin:
			r := callRatings[c.Plugin]
			if r.risk == "" {
				r = rating{RiskLow, "its calls are rated apart"}
			}
			c.Risk, c.RiskReason = r.risk, r.reason
		case KindLabelPlugin:
			r := callRatings[c.Plugin+"\x00"+c.LabelKind+"\x00"+c.Label]
			if r.risk == "" {
				r = callRatings[c.Plugin]
			}
			if r.risk == "" {
				r = rating{RiskLow, "its calls are rated apart"}
			}
			c.Risk, c.RiskReason = r.risk, r.reason
		}
	}
}
