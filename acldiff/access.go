package acldiff

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/acl"
)

// label is one window or webview pattern of a capability: Kind is
// "window" or "webview".
type label struct {
	Kind    string
	Pattern string
}

// callKey names one kind of call: a command, from an execution context
// ("local" or a remote URL pattern as written), by the windows or webviews
// matching one label pattern.
type callKey struct {
	Command string
	Context string
	Label   label
}

// grant is what one callKey is allowed with on one side: the union of the
// command scopes of every allow entry that covers it, and those entries.
type grant struct {
	allow  valueSet
	deny   valueSet
	causes []Cause
	// allowBy and denyBy name the entries that bring each scope value.
	allowBy, denyBy map[string][]Cause
}

// valueSet is a set of scope values keyed by their canonical JSON text
// (map keys sorted), so that two spellings of one value are one member.
type valueSet map[string]acl.Value

func (s valueSet) add(vs []acl.Value) {
	for _, v := range vs {
		s[canonical(v)] = v
	}
}

// sortedKeys returns the canonical texts in byte order.
func (s valueSet) sortedKeys() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// canonical is the JSON text of a value with map keys sorted.
func canonical(v acl.Value) string {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		// Non-finite floats cannot be JSON; the writer of acl spells them.
		return v.String()
	}
	return string(b)
}

// denyKey is a command denied in an execution context. A deny ignores
// window and webview labels, as in Tauri.
type denyKey struct {
	Command string
	Context string
}

// access is the effective access of one side for one target: what can be
// called, what is denied, and the global scopes. Two sides with the same
// access grant the same calls with the same scopes, whatever their files
// look like.
type access struct {
	calls  map[callKey]*grant
	denies map[denyKey][]Cause
	global map[string]*globalScope
	// declared are the risks the side's permission files declare, by
	// command.
	declared map[string]declared
	// allowed are the commands with an allow entry, denied or not.
	allowed map[string]bool
	// remoteAt are, per remote URL pattern, the places capabilities write
	// it (remote.urls), for the remote summaries.
	remoteAt map[string][]Cause
}

// globalScope is a plugin's global scope, and the entries that bring
// each value.
type globalScope struct {
	allow           valueSet
	deny            valueSet
	allowBy, denyBy map[string][]Cause
}

// causeOf describes the capability entry that produced a resolved entry.
func causeOf(side string, e *acl.ResolvedCommand) Cause {
	p := e.Position()
	entry := e.PermissionRef()
	if e.From != nil && e.Entry >= 0 && e.Entry < len(e.From.Permissions) {
		entry = e.From.Permissions[e.Entry].Identifier.String()
	}
	return Cause{Side: side, Capability: e.Capability, Entry: entry, Permission: e.PermissionRef(),
		File: p.File, Line: p.Line, Column: p.Col, Pointer: p.Pointer}
}

// effective folds a resolved ACL into its access. Allow entries for a
// command from an execution context that the command's deny entries
// cover are dropped: no call from that context can use them.
func effective(r *acl.Resolved, side string, pc *patternCache) *access {
	a := &access{calls: map[callKey]*grant{}, denies: map[denyKey][]Cause{}, global: map[string]*globalScope{}, allowed: map[string]bool{},
		remoteAt: map[string][]Cause{}}
	denied := map[string][]string{}
	for cmd, list := range r.Denied {
		for _, e := range list {
			k := denyKey{cmd, e.Context.String()}
			if _, ok := a.denies[k]; !ok {
				denied[cmd] = append(denied[cmd], k.Context)
			}
			a.denies[k] = appendCause(a.denies[k], causeOf(side, e))
		}
	}
	for cmd, list := range r.Allowed {
		a.allowed[cmd] = len(list) > 0
		for _, e := range list {
			ctx := e.Context.String()
			if d := denied[cmd]; len(d) > 0 && pc.contextCovered(ctx, d).covered {
				continue
			}
			if ctx != "local" && e.From != nil && e.From.Remote != nil {
				for i, u := range e.From.Remote.URLs {
					if u == ctx {
						p := e.From.Source.Position("/remote/urls/" + strconv.Itoa(i))
						a.remoteAt[ctx] = appendCause(a.remoteAt[ctx], Cause{Side: side, Capability: e.Capability, Entry: "remote.urls",
							Permission: "remote.urls", File: p.File, Line: p.Line, Column: p.Col, Pointer: p.Pointer})
					}
				}
			}
			var scope *acl.ResolvedScope
			if e.ScopeID != 0 {
				scope = r.CommandScopes[e.ScopeID]
			}
			add := func(l label) {
				k := callKey{cmd, ctx, l}
				g := a.calls[k]
				if g == nil {
					g = &grant{allow: valueSet{}, deny: valueSet{}, allowBy: map[string][]Cause{}, denyBy: map[string][]Cause{}}
					a.calls[k] = g
				}
				c := causeOf(side, e)
				if scope != nil {
					g.allow.add(scope.Allow)
					g.deny.add(scope.Deny)
					for _, v := range scope.Allow {
						g.allowBy[canonical(v)] = appendCause(g.allowBy[canonical(v)], c)
					}
					for _, v := range scope.Deny {
						g.denyBy[canonical(v)] = appendCause(g.denyBy[canonical(v)], c)
					}
				}
				g.causes = appendCause(g.causes, c)
			}
			for _, w := range e.Windows {
				add(label{"window", w.String()})
			}
			for _, w := range e.Webviews {
				add(label{"webview", w.String()})
			}
		}
	}
	for key, s := range r.GlobalScopes {
		if len(s.Allow) == 0 && len(s.Deny) == 0 {
			continue
		}
		g := &globalScope{allow: valueSet{}, deny: valueSet{}, allowBy: map[string][]Cause{}, denyBy: map[string][]Cause{}}
		g.allow.add(s.Allow)
		g.deny.add(s.Deny)
		for _, src := range r.GlobalScopeSources[key] {
			c := globalCause(side, src)
			for _, v := range src.Allow {
				g.allowBy[canonical(v)] = appendCause(g.allowBy[canonical(v)], c)
			}
			for _, v := range src.Deny {
				g.denyBy[canonical(v)] = appendCause(g.denyBy[canonical(v)], c)
			}
		}
		a.global[key] = g
	}
	return a
}

// globalCause describes the capability entry behind global scope values.
func globalCause(side string, g *acl.GlobalScopeSource) Cause {
	p := g.Position()
	entry := g.PermissionRef()
	if g.From != nil && g.Entry >= 0 && g.Entry < len(g.From.Permissions) {
		entry = g.From.Permissions[g.Entry].Identifier.String()
	}
	return Cause{Side: side, Capability: g.Capability, Entry: entry, Permission: g.PermissionRef(),
		File: p.File, Line: p.Line, Column: p.Col, Pointer: p.Pointer}
}

// appendCause adds c unless it is there already.
func appendCause(list []Cause, c Cause) []Cause {
	for _, x := range list {
		if x == c {
			return list
		}
	}
	return append(list, c)
}

// pluginOf is the plugin a command belongs to, as a capability names it:
// "fs" for "plugin:fs|read_file", "core:window" for
// "plugin:window|close", acl.AppKey for an application command.
func pluginOf(command string) string {
	rest, ok := strings.CutPrefix(command, "plugin:")
	if !ok {
		return acl.AppKey
	}
	key, _, ok := strings.Cut(rest, "|")
	if !ok {
		return acl.AppKey
	}
	if corePlugins[key] {
		return "core:" + key
	}
	return key
}

// corePlugins are the plugin keys of Tauri's core permissions
// ("core:window" resolves to commands named "plugin:window|...").
var corePlugins = map[string]bool{
	"app": true, "event": true, "image": true, "menu": true, "path": true,
	"resources": true, "tray": true, "webview": true, "window": true,
}

// patternCache translates window globs and remote URL patterns once per
// comparison.
type patternCache struct {
	globs map[string]*pattern
	urls  map[string]*urlPattern
	bad   map[string]string
	univ  map[string]bool
	// values and labels remember coverage answers.
	values map[string]coverage
	// target is the target being compared (path globs match differently
	// on Windows).
	target acl.Target
	labels map[string]coverage
	// vsets index the sets of scope values compared, by address.
	vsets map[uintptr]*valueIndex
}

func newPatternCache() *patternCache {
	return &patternCache{globs: map[string]*pattern{}, urls: map[string]*urlPattern{}, bad: map[string]string{}, univ: map[string]bool{},
		values: map[string]coverage{}, labels: map[string]coverage{}, vsets: map[uintptr]*valueIndex{}}
}

func (pc *patternCache) glob(s string) *pattern {
	p, ok := pc.globs[s]
	if !ok {
		p = globPattern(s, matchOpts{})
		pc.globs[s] = p
	}
	return p
}

// universal tells whether a label pattern matches every label.
func (pc *patternCache) universal(s string) bool {
	u, ok := pc.univ[s]
	if !ok {
		u = includes(pc.glob("*"), []*pattern{pc.glob(s)}).covered
		pc.univ[s] = u
	}
	return u
}

func (pc *patternCache) url(s string) (*urlPattern, string) {
	if u, ok := pc.urls[s]; ok {
		return u, ""
	}
	if why, ok := pc.bad[s]; ok {
		return nil, why
	}
	u, err := compileURL(s)
	if err != nil {
		pc.bad[s] = err.Error()
		return nil, err.Error()
	}
	pc.urls[s] = u
	return u, ""
}

// labelCovered tells whether the labels one pattern matches are all
// matched by the patterns of others: of the same kind, or a window
// (webview) pattern matching every label, which lets every call through
// whatever its webview (window) label.
func (pc *patternCache) labelCovered(l label, others []label) coverage {
	if len(others) > 4 {
		return pc.newLabelSet(others).covers(pc, l)
	}
	var b strings.Builder
	b.WriteString(l.Kind + "\x00" + l.Pattern)
	for _, o := range others {
		b.WriteString("\x01" + o.Kind + "\x00" + o.Pattern)
	}
	key := b.String()
	if c, ok := pc.labels[key]; ok {
		return c
	}
	c := pc.newLabelSet(others).covers(pc, l)
	pc.labels[key] = c
	return c
}

// labelSet is a set of label patterns, indexed once to answer
// labelCovered for many labels.
type labelSet struct {
	has map[label]bool
	// byKind are the patterns of each kind, in order.
	byKind map[string][]string
	// univ tells, per kind, whether one of its patterns matches every
	// label (computed when first needed).
	univ  map[string]bool
	globs map[string]*globSet
	memo  map[label]coverage
}

func (pc *patternCache) newLabelSet(ls []label) *labelSet {
	s := &labelSet{has: map[label]bool{}, byKind: map[string][]string{}, univ: map[string]bool{}, globs: map[string]*globSet{},
		memo: map[label]coverage{}}
	for _, l := range ls {
		if s.has[l] {
			continue
		}
		s.has[l] = true
		s.byKind[l.Kind] = append(s.byKind[l.Kind], l.Pattern)
	}
	return s
}

// covers is labelCovered(l, the labels of s).
func (s *labelSet) covers(pc *patternCache, l label) coverage {
	if c, ok := s.memo[l]; ok {
		return c
	}
	c := s.coverage(pc, l)
	s.memo[l] = c
	return c
}

func (s *labelSet) coverage(pc *patternCache, l label) coverage {
	if s.has[l] {
		return coverage{covered: true}
	}
	for kind, ps := range s.byKind {
		if kind == l.Kind {
			continue
		}
		u, ok := s.univ[kind]
		if !ok {
			for _, o := range ps {
				if u = pc.universal(o); u {
					break
				}
			}
			s.univ[kind] = u
		}
		if u {
			return coverage{covered: true}
		}
	}
	g := s.globs[l.Kind]
	if g == nil {
		var same []*pattern
		for _, o := range s.byKind[l.Kind] {
			same = append(same, pc.glob(o))
		}
		g = newGlobSet(same)
		s.globs[l.Kind] = g
	}
	return g.covers(pc.glob(l.Pattern), "")
}

// contextCovered tells whether every page of an execution context is in
// one of others ("local" only covers "local").
func (pc *patternCache) contextCovered(ctx string, others []string) coverage {
	return pc.contextCoveredSet(ctx, pc.newURLSet(others))
}

// contextCoveredSet is contextCovered for a set made once.
func (pc *patternCache) contextCoveredSet(ctx string, s *urlSet) coverage {
	if s.srcs[ctx] {
		return coverage{covered: true}
	}
	if ctx == "local" {
		return coverage{witness: "local"}
	}
	p, why := pc.url(ctx)
	if p == nil {
		return coverage{undecided: why}
	}
	return s.covers(p)
}

// newURLSet is the set of the URL patterns of others that compile
// ("local" and invalid patterns are only compared as written).
func (pc *patternCache) newURLSet(others []string) *urlSet {
	s := &urlSet{srcs: map[string]bool{}}
	var qs []*urlPattern
	for _, o := range others {
		if s.srcs[o] {
			continue
		}
		s.srcs[o] = true
		if o == "local" {
			continue
		}
		if u, _ := pc.url(o); u != nil {
			qs = append(qs, u)
		}
	}
	s.qs = qs
	return s
}
