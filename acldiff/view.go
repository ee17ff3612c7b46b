package acldiff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/capguard/capguard/acl"
)

// The report's changes are all kept (the JSON format lists every one);
// the text, markdown and github formats show a shorter view of them:
//
//   - a change for a window (or webview) pattern that another pattern of
//     the same change covers is folded into that one ("main" into "*"
//     when both gain the same call);
//   - the calls one permission entry brings through a set (core:default)
//     are rolled up into one line with their count, the commands listed
//     under it (folded in markdown);
//   - a pattern's "gains access to plugin X" summary is left out when a
//     rolled-up entry holds all its calls.

// item is one line of the view: a change, or a roll-up of the calls one
// entry brings.
type item struct {
	change *Change   // a single change (nil for a roll-up)
	calls  []*Change // a roll-up's calls
	entry  Cause     // a roll-up's entry
	folded []string  // labels folded into this item
	risk   Risk
	effect Effect
}

// group is the view of one label group (a window or webview pattern, or
// every label).
type group struct {
	name  string
	items []item
}

// worst is the highest risk of a set of changes.
func worst(cs []*Change) (Risk, string) {
	var r Risk
	reason := ""
	for _, c := range cs {
		if c.Risk.rank() > r.rank() {
			r, reason = c.Risk, c.RiskReason
		}
	}
	return r, reason
}

// foldKey identifies a change but for its label.
func (c *Change) foldKey() string {
	d := *c
	d.LabelKind, d.Label = "", ""
	return d.key() + "\x00" + string(d.Effect)
}

// view builds the shortened view of the report's changes.
func (r *Report) view() []group {
	pc := newPatternCache()
	cs := make([]*Change, len(r.Changes))
	for i := range r.Changes {
		cs[i] = &r.Changes[i]
	}
	// Fold a label into another pattern of the same change that covers it.
	into := map[*Change]*Change{}
	byKey := map[string][]*Change{}
	for _, c := range cs {
		if c.LabelKind != "" {
			byKey[c.foldKey()] = append(byKey[c.foldKey()], c)
		}
	}
	// Only a pattern whose fixed ends are within a label's can cover it:
	// each change's group is indexed by them, per label kind.
	type kindIdx struct {
		set *globSet
		pos []int // position in the group of each pattern given
	}
	fold := map[string]map[string]*kindIdx{}
	for _, c := range cs {
		if c.LabelKind == "" {
			continue
		}
		fk := c.foldKey()
		if fold[fk] == nil {
			fold[fk] = map[string]*kindIdx{}
			ps, pos := map[string][]*pattern{}, map[string][]int{}
			for i, o := range byKey[fk] {
				ps[o.LabelKind] = append(ps[o.LabelKind], pc.glob(o.Label))
				pos[o.LabelKind] = append(pos[o.LabelKind], i)
			}
			for k := range ps {
				fold[fk][k] = &kindIdx{newGlobSet(ps[k]), pos[k]}
			}
		}
		ki := fold[fk][c.LabelKind]
		var cands []int
		ki.set.coverCandidates(pc.glob(c.Label), func(h int) bool {
			for _, m := range ki.set.of[h] {
				cands = append(cands, ki.pos[m])
			}
			return false
		})
		sort.Ints(cands)
		group := byKey[fk]
		for _, ci := range cands {
			o := group[ci]
			if o == c || o.LabelKind != c.LabelKind || into[o] == c {
				continue
			}
			l, ol := label{c.LabelKind, c.Label}, label{o.LabelKind, o.Label}
			if pc.labelCovered(l, []label{ol}).covered && !pc.labelCovered(ol, []label{l}).covered {
				into[c] = o
				break
			}
		}
	}
	root := func(c *Change) *Change {
		for into[c] != nil {
			c = into[c]
		}
		return c
	}
	foldedLabels := map[*Change][]string{}
	for c := range into {
		t := root(c)
		foldedLabels[t] = append(foldedLabels[t], c.Label)
	}
	for _, l := range foldedLabels {
		sort.Strings(l)
	}
	var groups []group
	idx := map[string]int{}
	var pending = map[string][]*Change{}
	var order []string
	for _, c := range cs {
		if into[c] != nil {
			continue
		}
		g := c.group()
		if _, ok := idx[g]; !ok {
			idx[g] = len(groups)
			groups = append(groups, group{name: g})
			order = append(order, g)
		}
		pending[g] = append(pending[g], c)
	}
	shown := map[string]bool{}
	for _, c := range cs {
		if c.Kind == KindCall || c.Kind == KindLabelPlugin {
			shown[c.Plugin+"\x00"+string(c.Effect)] = true
		}
	}
	for _, g := range order {
		groups[idx[g]].items = rollUp(pending[g], foldedLabels, shown)
	}
	// A group left empty (its summaries all shown elsewhere) goes.
	out := groups[:0]
	for _, g := range groups {
		if len(g.items) > 0 {
			out = append(out, g)
		}
	}
	groups = out
	return groups
}

// rollUp turns a label group's changes into items: the calls that one
// entry brings through a set, when there are several, become one item.
// A plugin's "some page can now call it" summary is left out when the
// plugin's calls are shown (pluginShown, by plugin and effect).
func rollUp(cs []*Change, folded map[*Change][]string, pluginShown map[string]bool) []item {
	type entryKey struct {
		Cause
		effect Effect
	}
	byEntry := map[entryKey][]*Change{}
	for _, c := range cs {
		if c.Kind != KindCall || len(c.Causes) != 1 {
			continue
		}
		x := c.Causes[0]
		if x.Entry == x.Permission && !strings.HasSuffix(x.Entry, ":default") {
			continue
		}
		k := entryKey{x, c.Effect}
		k.Permission = k.Entry
		byEntry[k] = append(byEntry[k], c)
	}
	rolled := map[*Change]bool{}
	var out []item
	emitted := map[entryKey]bool{}
	// A plugin summary for this label whose calls are all in one roll-up
	// adds nothing.
	callsOf := map[string][]*Change{}
	for _, c := range cs {
		if c.Kind == KindCall {
			callsOf[c.Plugin+"\x00"+string(c.Effect)] = append(callsOf[c.Plugin+"\x00"+string(c.Effect)], c)
		}
	}
	for _, list := range byEntry {
		if len(list) < 2 {
			continue
		}
		for _, c := range list {
			rolled[c] = true
		}
	}
	for _, c := range cs {
		if c.Kind == KindPlugin && pluginShown[c.Plugin+"\x00"+string(c.Effect)] {
			continue
		}
		if c.Kind == KindLabelPlugin {
			all := len(callsOf[c.Plugin+"\x00"+string(c.Effect)]) > 0
			for _, x := range callsOf[c.Plugin+"\x00"+string(c.Effect)] {
				all = all && rolled[x]
			}
			if all {
				continue
			}
		}
		if !rolled[c] {
			out = append(out, item{change: c, folded: folded[c], risk: c.Risk, effect: c.Effect})
			continue
		}
		x := c.Causes[0]
		k := entryKey{x, c.Effect}
		k.Permission = k.Entry
		if emitted[k] {
			continue
		}
		emitted[k] = true
		list := byEntry[k]
		it := item{calls: list, entry: k.Cause, effect: c.Effect}
		it.risk, _ = worst(list)
		for _, m := range list {
			it.folded = append(it.folded, folded[m]...)
		}
		it.folded = sortedUnique(it.folded)
		out = append(out, it)
	}
	// Roll-ups first: they span plugins.
	sort.SliceStable(out, func(i, j int) bool { return out[i].change == nil && out[j].change != nil })
	return out
}

// rollUpText is a roll-up's line: "core:default: 42 commands of
// core:app, core:event and core:window".
func (it *item) rollUpText() string {
	plugins := map[string]int{}
	for _, c := range it.calls {
		plugins[pluginName(c.Plugin)]++
	}
	var parts []string
	for _, p := range sortedKeys(plugins) {
		parts = append(parts, fmt.Sprintf("%s (%d)", strings.TrimPrefix(p, "plugin "), plugins[p]))
	}
	verb := "can now call"
	if it.effect == EffectNarrowed {
		verb = "can no longer call"
	}
	ctx := map[string]bool{}
	for _, c := range it.calls {
		ctx[c.Context] = true
	}
	from := ""
	if len(ctx) == 1 {
		from = " from " + contextText(it.calls[0].Context)
	}
	return fmt.Sprintf("%s %d commands%s through %s: %s", verb, len(it.calls), from, it.entry.Entry, strings.Join(parts, ", "))
}

// commandNames lists a roll-up's commands as Tauri's JavaScript API
// names them (window.set_title).
func (it *item) commandNames() []string {
	var out []string
	for _, c := range it.calls {
		out = append(out, acl.PrettyCommand(c.Command))
	}
	return sortedUnique(out)
}

// topItem is a widening of the top risks, with the label groups it
// happens in (one line for the same change to several windows).
type topItem struct {
	groups []string
	it     item
}

// where names the item's label groups and plugin.
func (x topItem) where() string { return x.it.where(strings.Join(x.groups, ", ")) }

// topRisks are the widenings of the view with a risk of at least min,
// worst first (ties in report order). The per-plugin summaries are left
// out (the calls they sum up are rated themselves), and the same change
// to several label groups is one item.
func (r *Report) topRisks(min Risk) []topItem {
	var out []topItem
	idx := map[string]int{}
	for _, g := range r.view() {
		for _, it := range g.items {
			if it.effect != EffectWidened || !it.risk.AtLeast(min) {
				continue
			}
			if c := it.change; c != nil && (c.Kind == KindLabelPlugin || c.Kind == KindPlugin) {
				continue
			}
			k := string(it.risk) + "\x00" + it.describe() + "\x00" + strings.Join(targetNames(it.targets()), ",")
			if c := it.change; c != nil {
				k += "\x00" + c.Plugin
			}
			if i, ok := idx[k]; ok {
				out[i].groups = append(out[i].groups, g.name)
				continue
			}
			idx[k] = len(out)
			out = append(out, topItem{groups: []string{g.name}, it: it})
		}
	}
	// Worst first; among equals, a remote origin that can now call
	// commands first: it is the fact the calls from it follow from.
	remote := func(x topItem) bool { return x.it.change != nil && x.it.change.Kind == KindRemote }
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].it.risk.rank(), out[j].it.risk.rank(); a != b {
			return a > b
		}
		return remote(out[i]) && !remote(out[j])
	})
	return out
}

// riskReason is why an item is rated as it is.
func (it *item) riskReason() string {
	if it.change != nil {
		return it.change.RiskReason
	}
	_, why := worst(it.calls)
	return why
}

// RiskCounts counts the widenings of each risk level.
func (r *Report) RiskCounts() map[Risk]int {
	if r == nil {
		return map[Risk]int{}
	}
	out := map[Risk]int{}
	for _, c := range r.Changes {
		if c.Effect == EffectWidened && c.Risk != "" {
			out[c.Risk]++
		}
	}
	return out
}

// WorstRisk is the highest risk of the report's widenings ("" when none).
func (r *Report) WorstRisk() Risk {
	if r == nil {
		return ""
	}
	var w Risk
	for _, c := range r.Changes {
		if c.Effect == EffectWidened && c.Risk.rank() > w.rank() {
			w = c.Risk
		}
	}
	return w
}

// describe is an item's sentence.
func (it *item) describe() string {
	if it.change != nil {
		return it.change.Describe()
	}
	return it.rollUpText()
}

// causes are an item's causes (a roll-up's entry).
func (it *item) causes() []Cause {
	if it.change != nil {
		return it.change.Causes
	}
	return []Cause{it.entry}
}

// targets are the targets an item happens on.
func (it *item) targets() []acl.Target {
	if it.change != nil {
		return it.change.Targets
	}
	seen := map[acl.Target]bool{}
	var out []acl.Target
	for _, c := range it.calls {
		for _, t := range c.Targets {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sortTargets(out)
	return out
}

// notComparedGroups are the entries left out, one line per plugin and
// reason, with the entries and targets.
type ncGroup struct {
	plugin, reason string
	sides          map[string]bool
	targets        []acl.Target
	entries        []NotCompared
}

func (r *Report) notComparedGroups() []ncGroup {
	var out []ncGroup
	idx := map[string]int{}
	for _, n := range r.NotCompared {
		k := n.Plugin + "\x00" + n.Reason
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, ncGroup{plugin: n.Plugin, reason: n.Reason, sides: map[string]bool{}})
		}
		g := &out[i]
		g.sides[n.Side] = true
		for _, t := range n.Targets {
			if !containsTarget(g.targets, t) {
				g.targets = append(g.targets, t)
			}
		}
		g.entries = append(g.entries, n)
	}
	for i := range out {
		sortTargets(out[i].targets)
	}
	return out
}

func (g ncGroup) sideText() string {
	switch {
	case g.sides["both"] || g.sides["old"] && g.sides["new"]:
		return "both sides"
	case g.sides["new"]:
		return "new side"
	}
	return "old side"
}
