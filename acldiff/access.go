package acldiff

import (
	"encoding/json"
	"sort"
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
}

// globalScope is a plugin's global scope.
type globalScope struct {
	allow valueSet
	deny  valueSet
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
// command in an execution context where the same command is denied are
// dropped: no call from that context can use them.
func effective(r *acl.Resolved, side string) *access {
	a := &access{calls: map[callKey]*grant{}, denies: map[denyKey][]Cause{}, global: map[string]*globalScope{}}
	for cmd, list := range r.Denied {
		for _, e := range list {
			k := denyKey{cmd, e.Context.String()}
			a.denies[k] = appendCause(a.denies[k], causeOf(side, e))
		}
	}
	for cmd, list := range r.Allowed {
		for _, e := range list {
			ctx := e.Context.String()
			if _, denied := a.denies[denyKey{cmd, ctx}]; denied {
				continue
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
		g := &globalScope{allow: valueSet{}, deny: valueSet{}}
		g.allow.add(s.Allow)
		g.deny.add(s.Deny)
		a.global[key] = g
	}
	return a
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

// covers tells whether pattern q matches every label pattern p matches,
// as far as that can be told without enumerating labels: q equals p, q is
// made of stars only, or p is a literal label that q matches.
func covers(q, p label) bool {
	if q.Kind != p.Kind {
		return false
	}
	if q.Pattern == p.Pattern || strings.Trim(q.Pattern, "*") == "" && q.Pattern != "" {
		return true
	}
	pg, err := acl.CompileGlob(p.Pattern)
	if err != nil || !pg.IsLiteral() {
		return false
	}
	qg, err := acl.CompileGlob(q.Pattern)
	return err == nil && qg.Match(p.Pattern)
}
