package acl

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ResolvedCommand is one grant (or denial) of a command: for one execution
// context, to the windows and webviews matching the patterns, with an
// optional command scope. It keeps the capability and permission that
// produced it.
type ResolvedCommand struct {
	Context  Context
	Windows  []*Glob // sorted by pattern text
	Webviews []*Glob // sorted by pattern text
	ScopeID  uint64  // 0: no command scope
	// Capability is the identifier of the capability that produced the entry.
	Capability string
	// Permission is the permission's name within its manifest ("allow-read"),
	// as Tauri's referenced_by shows it; Key is that manifest's key.
	Permission string
	Key        string
	// Entry is the index of the capability's permission entry that led here.
	Entry int
	// From is the capability itself.
	From *Capability
}

// Position is where the capability's permission entry that produced this
// entry is written.
func (c *ResolvedCommand) Position() Position {
	if c.From == nil {
		return Position{}
	}
	return c.From.Source.Position("/permissions/" + strconv.Itoa(c.Entry))
}

// PermissionRef is the permission as it is written in a capability:
// "fs:allow-read", or "allow-ping" for an application permission.
func (c *ResolvedCommand) PermissionRef() string { return qualified(c.Key, c.Permission) }

// GlobalScopeSource is one permission without commands reached from a
// capability entry: the scope values it adds to its plugin's global scope.
type GlobalScopeSource struct {
	// Capability, Permission, Key, Entry and From are as in
	// ResolvedCommand.
	Capability string
	Permission string
	Key        string
	Entry      int
	From       *Capability
	// Allow and Deny are the values it adds (the entry's own scope first).
	Allow, Deny []Value
}

// Position is where the capability's permission entry is written.
func (g *GlobalScopeSource) Position() Position {
	if g.From == nil {
		return Position{}
	}
	return g.From.Source.Position("/permissions/" + strconv.Itoa(g.Entry))
}

// PermissionRef is the permission as a capability writes it.
func (g *GlobalScopeSource) PermissionRef() string { return qualified(g.Key, g.Permission) }

// MatchesLabel tells whether a window or webview label is covered: a
// webview pattern matches the webview label or a window pattern matches the
// window label.
func (c *ResolvedCommand) MatchesLabel(window, webview string) bool {
	for _, g := range c.Webviews {
		if g.Match(webview) {
			return true
		}
	}
	for _, g := range c.Windows {
		if g.Match(window) {
			return true
		}
	}
	return false
}

// ResolvedScope is the merged allow and deny scope values of a command
// scope id or of a plugin's global scope.
type ResolvedScope struct {
	Allow []Value
	Deny  []Value
}

// Resolved is the runtime ACL: for every command, the allow and deny
// entries; the command scopes by id; the global scope of every plugin. It
// is what Tauri's Resolved::resolve produces, with the capability and
// permission kept on every entry.
type Resolved struct {
	Target Target
	// HasAppACL tells whether the application defines its own permissions
	// (the manifests have an AppKey entry).
	HasAppACL     bool
	Allowed       map[string][]*ResolvedCommand
	Denied        map[string][]*ResolvedCommand
	CommandScopes map[uint64]*ResolvedScope
	GlobalScopes  map[string]*ResolvedScope
	// GlobalScopeSources are, per plugin key, the permissions that feed
	// its global scope, in resolution order: what each brings and from
	// which capability entry (for explanations; the decision uses
	// GlobalScopes).
	GlobalScopeSources map[string][]*GlobalScopeSource
	// Manifests and Capabilities are the inputs, kept for explanations.
	Manifests    Manifests
	Capabilities []*Capability
}

// traversed is one permission reached from a capability entry.
type traversed struct {
	key  string
	name string
	perm *Permission
}

// expansion expands one capability entry depth first.
type expansion struct {
	manifests Manifests
	cap       *Capability
	entry     int
	out       []traversed
	// seen holds the permissions and sets already expanded for this entry:
	// reaching one again adds nothing (Tauri would emit it again, once per
	// path through the set graph, with identical results).
	// A set is marked expanding while its members are expanded, so that
	// reaching it again is a cycle: one lookup, where scanning the chain
	// made a chain of n sets cost O(n²).
	seen map[string]uint8
	// stack is the chain of sets being expanded, for the cycle's message.
	stack []string
}

// The marks of expansion.seen.
const (
	expanding uint8 = 1 + iota
	expanded
)

func (x *expansion) entryPos() Position {
	return x.cap.Source.Position("/permissions/" + strconv.Itoa(x.entry))
}

func qualified(key, name string) string {
	if key == AppKey {
		return name
	}
	return key + ":" + name
}

// identifiersOf lists every identifier a capability may name.
func (ms Manifests) identifiersOf() []string {
	var out []string
	for _, k := range ms.Keys() {
		m := ms[k]
		if m.Default != nil {
			out = append(out, qualified(k, "default"))
		}
		for _, s := range sortedKeys(m.Sets) {
			out = append(out, qualified(k, s))
		}
		for _, p := range sortedKeys(m.Permissions) {
			out = append(out, qualified(k, p))
		}
		for _, c := range m.Commands {
			slug := strings.ReplaceAll(c, "_", "-")
			out = append(out, qualified(k, "allow-"+slug), qualified(k, "deny-"+slug))
		}
	}
	return out
}

func (x *expansion) unknown(msg, wanted string) error {
	text := fmt.Sprintf("capability %q, permission %d: %s", x.cap.Identifier, x.entry, msg)
	if s := suggest(wanted, x.manifests.identifiersOf()); s != "" {
		text += "; " + s
	}
	return errorAt(x.entryPos(), ErrUnknownPermission, text)
}

// top expands the identifier of a capability entry (Tauri's get_permissions).
func (x *expansion) top(id Identifier) error {
	key, name := id.Key(), id.Base()
	m, ok := x.manifests[key]
	if !ok {
		return x.unknown(fmt.Sprintf("unknown plugin %q (no manifest for it: is the plugin installed and its permissions built?)", DisplayKey(key)), id.String())
	}
	switch {
	case name == "default":
		if m.Default != nil {
			return x.set(key, m, m.Default)
		}
		return nil
	case m.Sets[name] != nil:
		return x.set(key, m, m.Sets[name])
	case m.Permissions[name] != nil:
		x.emit(key, name, m.Permissions[name])
		return nil
	}
	if p := m.commandPermission(name, key == AppKey); p != nil {
		x.emit(key, name, p)
		return nil
	}
	return x.unknown(fmt.Sprintf("unknown permission %q for %s", name, DisplayKey(key)), id.String())
}

func (x *expansion) emit(key, name string, p *Permission) {
	k := "p\x00" + key + "\x00" + name
	if x.seen[k] != 0 {
		return
	}
	x.seen[k] = expanded
	x.out = append(x.out, traversed{key: key, name: name, perm: p})
}

// set expands a permission set (Tauri's get_permission_set_permissions):
// an entry with the prefix of a known manifest refers to that manifest,
// anything else to the set's own.
func (x *expansion) set(key string, m *Manifest, s *PermissionSet) error {
	node := qualified(key, s.Identifier)
	k := "s\x00" + node
	switch x.seen[k] {
	case expanded:
		return nil
	case expanding:
		i := slices.Index(x.stack, node)
		chain := append(append([]string(nil), x.stack[i:]...), node)
		return errorAt(x.entryPos(), ErrCycle, fmt.Sprintf("capability %q, permission %d: permission set includes itself: %s", x.cap.Identifier, x.entry, strings.Join(chain, " -> ")))
	}
	x.seen[k] = expanding
	x.stack = append(x.stack, node)
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	for i, entry := range s.Permissions {
		id, err := ParseIdentifier(entry)
		if err != nil {
			return errorAt(s.Source.Position("/permissions/"+strconv.Itoa(i)), ErrInvalidIdentifier,
				fmt.Sprintf("permission set %q: %s", node, strings.TrimPrefix(err.Error(), ErrInvalidIdentifier.Error()+" ")))
		}
		nk, nm, name := key, m, entry
		if prefix, ok := id.Prefix(); ok {
			if other, ok := x.manifests[prefix]; ok {
				nk, nm, name = prefix, other, id.Base()
			}
		}
		switch {
		case name == "default":
			if nm.Default != nil {
				if err := x.set(nk, nm, nm.Default); err != nil {
					return err
				}
			}
		case nm.Permissions[name] != nil:
			x.emit(nk, name, nm.Permissions[name])
		case nm.Sets[name] != nil:
			if err := x.set(nk, nm, nm.Sets[name]); err != nil {
				return err
			}
		default:
			if p := nm.commandPermission(name, nk == AppKey); p != nil {
				x.emit(nk, name, p)
				continue
			}
			pos := s.Source.Position("/permissions/" + strconv.Itoa(i))
			if pos.IsZero() || pos.Line == 0 {
				pos = x.entryPos()
			}
			msg := fmt.Sprintf("permission %s not found from set %s (reached from capability %q, permission %d)", name, s.Identifier, x.cap.Identifier, x.entry)
			if sg := suggest(qualified(nk, name), x.manifests.identifiersOf()); sg != "" {
				msg += "; " + sg
			}
			return errorAt(pos, ErrUnknownPermission, msg)
		}
	}
	x.seen[k] = expanded
	return nil
}

// commandPermission materializes the allow-<cmd>/deny-<cmd> permission of a
// command listed in the manifest's Commands (and allow-*/deny-* for the
// application), as Tauri's Manifest::command_permission does.
func (m *Manifest) commandPermission(name string, allowWildcard bool) *Permission {
	if len(m.Commands) == 0 {
		return nil
	}
	deny := false
	slug, ok := strings.CutPrefix(name, "allow-")
	if !ok {
		if slug, ok = strings.CutPrefix(name, "deny-"); !ok {
			return nil
		}
		deny = true
	}
	var cmd string
	if slug == "*" {
		if !allowWildcard {
			return nil
		}
		cmd = "*"
	} else {
		for _, c := range m.Commands {
			if strings.ReplaceAll(c, "_", "-") == slug {
				cmd = c
				break
			}
		}
		if cmd == "" {
			return nil
		}
	}
	p := &Permission{Identifier: name, Commands: Commands{Allow: []string{}, Deny: []string{}}}
	if deny {
		p.Commands.Deny = []string{cmd}
	} else {
		p.Commands.Allow = []string{cmd}
	}
	return p
}

// appendScope appends src to dst keeping "present" distinct from "absent":
// the result is non-nil when either list is present.
func appendScope(dst, src []Value) []Value {
	if src == nil {
		return dst
	}
	if dst == nil {
		dst = make([]Value, 0, len(src))
	}
	return append(dst, src...)
}

// Resolve turns manifests and capabilities into the runtime ACL for one
// target, with Tauri's current rules (one resolution per expanded
// permission). It is stricter than Tauri in three ways, each an error with
// a position: a set that includes itself (Tauri overflows its stack), an
// invalid window/webview glob or remote URL pattern (Tauri panics on the
// latter), and an unknown permission, reported with the closest known
// identifiers. A permission reached twice through the sets of one entry is
// resolved once (Tauri resolves it once per path, which changes no decision
// but is exponential for diamond-shaped set graphs).
func Resolve(manifests Manifests, caps CapabilitySet, target Target) (*Resolved, error) {
	r := &Resolved{
		Target:             target,
		Allowed:            map[string][]*ResolvedCommand{},
		Denied:             map[string][]*ResolvedCommand{},
		CommandScopes:      map[uint64]*ResolvedScope{},
		GlobalScopes:       map[string]*ResolvedScope{},
		GlobalScopeSources: map[string][]*GlobalScopeSource{},
		Manifests:          manifests,
	}
	_, r.HasAppACL = manifests[AppKey]
	var scopeID uint64
	for _, c := range caps.Sorted() {
		if !c.ActiveOn(target) {
			continue
		}
		r.Capabilities = append(r.Capabilities, c)
		var compiled *compiledLabels
		for ei, entry := range c.Permissions {
			x := &expansion{manifests: manifests, cap: c, entry: ei, seen: map[string]uint8{}}
			if err := x.top(entry.Identifier); err != nil {
				return nil, err
			}
			for _, t := range x.out {
				if !t.perm.ActiveOn(target) {
					continue
				}
				var scope Scopes
				if entry.Extended {
					scope.Allow = appendScope(scope.Allow, entry.Scope.Allow)
					scope.Deny = appendScope(scope.Deny, entry.Scope.Deny)
				}
				scope.Allow = appendScope(scope.Allow, t.perm.Scope.Allow)
				scope.Deny = appendScope(scope.Deny, t.perm.Scope.Deny)
				cmds := t.perm.Commands
				if len(cmds.Allow) == 0 && len(cmds.Deny) == 0 {
					g := r.GlobalScopes[t.key]
					if g == nil {
						g = &ResolvedScope{Allow: []Value{}, Deny: []Value{}}
						r.GlobalScopes[t.key] = g
					}
					g.Allow = append(g.Allow, scope.Allow...)
					g.Deny = append(g.Deny, scope.Deny...)
					if len(scope.Allow) > 0 || len(scope.Deny) > 0 {
						r.GlobalScopeSources[t.key] = append(r.GlobalScopeSources[t.key], &GlobalScopeSource{
							Capability: c.Identifier, Permission: t.name, Key: t.key, Entry: ei, From: c,
							Allow: scope.Allow, Deny: scope.Deny,
						})
					}
					continue
				}
				var id uint64
				if !scope.IsEmpty() {
					scopeID++
					id = scopeID
					r.CommandScopes[id] = &ResolvedScope{Allow: appendScope([]Value{}, scope.Allow), Deny: appendScope([]Value{}, scope.Deny)}
				}
				if compiled == nil {
					var err error
					if compiled, err = compileLabels(c); err != nil {
						return nil, err
					}
				}
				for _, list := range []struct {
					cmds []string
					into map[string][]*ResolvedCommand
				}{{cmds.Allow, r.Allowed}, {cmds.Deny, r.Denied}} {
					for _, cmd := range list.cmds {
						name := CommandName(t.key, cmd)
						for _, ctx := range compiled.contexts {
							list.into[name] = append(list.into[name], &ResolvedCommand{
								Context:    ctx,
								Windows:    compiled.windows,
								Webviews:   compiled.webviews,
								ScopeID:    id,
								Capability: c.Identifier,
								Permission: t.name,
								Key:        t.key,
								Entry:      ei,
								From:       c,
							})
						}
					}
				}
			}
		}
	}
	return r, nil
}

// compiledLabels are a capability's contexts and label patterns, compiled
// once and shared by all its entries.
type compiledLabels struct {
	contexts []Context
	windows  []*Glob
	webviews []*Glob
}

func compileLabels(c *Capability) (*compiledLabels, error) {
	out := &compiledLabels{}
	if c.Local {
		out.contexts = append(out.contexts, Context{})
	}
	if c.Remote != nil {
		for i, u := range c.Remote.URLs {
			p, err := CompileRemote(u)
			if err != nil {
				return nil, errorAt(c.Source.Position("/remote/urls/"+strconv.Itoa(i)), ErrInvalid,
					fmt.Sprintf("capability %q: %s", c.Identifier, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")))
			}
			out.contexts = append(out.contexts, Context{Remote: p})
		}
	}
	var err error
	if out.windows, err = compileGlobs(c, "windows", c.Windows); err != nil {
		return nil, err
	}
	if out.webviews, err = compileGlobs(c, "webviews", c.Webviews); err != nil {
		return nil, err
	}
	return out, nil
}

func compileGlobs(c *Capability, field string, patterns []string) ([]*Glob, error) {
	idx := make([]int, len(patterns))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return patterns[idx[a]] < patterns[idx[b]] })
	out := make([]*Glob, 0, len(patterns))
	for _, i := range idx {
		g, err := CompileGlob(patterns[i])
		if err != nil {
			return nil, errorAt(c.Source.Position("/"+field+"/"+strconv.Itoa(i)), ErrInvalid,
				fmt.Sprintf("capability %q: %v", c.Identifier, err))
		}
		out = append(out, g)
	}
	return out, nil
}
