package acl

import (
	"fmt"
	"sort"
	"strings"
)

// Request is one IPC call to decide: the command ("plugin:fs|read_file" or
// a bare application command), the window and webview labels of the caller
// and where its page came from.
type Request struct {
	Command string
	Window  string
	Webview string
	Origin  Origin
}

// Decision is the answer to a Request, with the reasons.
type Decision struct {
	Allowed bool
	// Matches are the allow entries that granted the call (with their
	// scope ids); empty when denied.
	Matches []*ResolvedCommand
	// DeniedBy are the deny entries that applied to the call's execution
	// context; when non-empty the call is denied.
	DeniedBy []*ResolvedCommand
	// LegacyDenied is set when Tauri 2.11 and earlier would deny a call that
	// capguard allows: they apply a command's deny entries to every origin,
	// while capguard (and Tauri from 2.12.0 on, its PR #16072) applies a deny
	// only to the execution context of its capability.
	LegacyDenied bool
	// Message explains the decision with Tauri's debug-build texts.
	Message string
}

// ScopeIDs returns the command scope ids of the matching allow entries, in
// order, without repeats.
func (d Decision) ScopeIDs() []uint64 {
	var out []uint64
	seen := map[uint64]bool{}
	for _, m := range d.Matches {
		if m.ScopeID != 0 && !seen[m.ScopeID] {
			seen[m.ScopeID] = true
			out = append(out, m.ScopeID)
		}
	}
	return out
}

// Decide is the reference decision: a command is allowed when an allow
// entry's context matches the origin and a webview pattern matches the
// webview label or a window pattern the window label, and no deny entry of
// the command matches the origin's context. Deny entries ignore labels, as
// in Tauri. Everything else is denied: unknown commands, no capability, an
// empty window or webview label.
func (r *Resolved) Decide(req Request) Decision {
	var d Decision
	if r == nil {
		d.Message = "no resolved ACL: every command is denied"
		return d
	}
	denies := r.Denied[req.Command]
	for _, e := range denies {
		if e.Context.Matches(req.Origin) {
			d.DeniedBy = append(d.DeniedBy, e)
		}
	}
	if req.Window != "" && req.Webview != "" {
		for _, e := range r.Allowed[req.Command] {
			if e.Context.Matches(req.Origin) && e.MatchesLabel(req.Window, req.Webview) {
				d.Matches = append(d.Matches, e)
			}
		}
	}
	d.Allowed = len(d.DeniedBy) == 0 && len(d.Matches) > 0
	d.LegacyDenied = d.Allowed && len(denies) > 0
	if !d.Allowed {
		d.Matches = nil
	}
	d.Message = r.explain(req, d)
	return d
}

// PrettyCommand is how Tauri names a command in messages: "fs.read_file"
// for "plugin:fs|read_file", the bare name of an application command.
func PrettyCommand(command string) string {
	key, name := splitCommand(command)
	if key == AppKey {
		return name
	}
	return key + "." + name
}

// splitCommand returns the plugin key (as Tauri writes it in messages: the
// name after "plugin:") and the command name; key is AppKey for a bare
// application command.
func splitCommand(command string) (key, name string) {
	if rest, ok := strings.CutPrefix(command, "plugin:"); ok {
		if k, n, ok := strings.Cut(rest, "|"); ok {
			return k, n
		}
	}
	return AppKey, command
}

func references(list []*ResolvedCommand) string {
	parts := make([]string, len(list))
	for i, r := range list {
		parts[i] = fmt.Sprintf("capability: %s, permission: %s", r.Capability, r.Permission)
	}
	return strings.Join(parts, " || ")
}

func quotedPatterns(gs []*Glob) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = `"` + g.src + `"`
	}
	return strings.Join(parts, ", ")
}

// AllowedOn says where entries allow their command, in Tauri's words:
// `allowed on: [windows: "main", URL: local], ...`.
func AllowedOn(list []*ResolvedCommand) string {
	if len(list) == 0 {
		return "command not allowed on any window/webview/URL context"
	}
	var b strings.Builder
	b.WriteString("allowed on: ")
	for i, c := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('[')
		if len(c.Windows) > 0 {
			b.WriteString("windows: " + quotedPatterns(c.Windows) + ", ")
		}
		if len(c.Webviews) > 0 {
			b.WriteString("webviews: " + quotedPatterns(c.Webviews) + ", ")
		}
		b.WriteString("URL: " + c.Context.String())
		b.WriteByte(']')
	}
	return b.String()
}

// explain writes Tauri's debug-build message for a decision (its
// resolve_access_message), adapted to the per-context deny rule.
func (r *Resolved) explain(req Request, d Decision) string {
	key, name := splitCommand(req.Command)
	pretty := PrettyCommand(req.Command)
	if len(d.DeniedBy) > 0 {
		return fmt.Sprintf("%s explicitly denied on origin %s\n\nreferenced by: %s", pretty, req.Origin, references(d.DeniedBy))
	}
	if d.Allowed {
		if d.LegacyDenied {
			return "allowed (Tauri 2.11 and earlier would deny it: a deny entry for this command applies there to every origin; here only to " +
				ContextList(r.Denied[req.Command]) + ")"
		}
		return "allowed"
	}
	if req.Window == "" || req.Webview == "" {
		return fmt.Sprintf("%s not allowed: the call has no window or webview label", pretty)
	}
	if list, ok := r.Allowed[req.Command]; ok {
		return fmt.Sprintf("%s not allowed on window %q, webview %q, URL: %s\n\n%s\n\nreferenced by: %s",
			pretty, req.Window, req.Webview, req.Origin.urlText(), AllowedOn(list), references(list))
	}
	return fmt.Sprintf("%s not allowed. %s", pretty, r.permissionDetail(key, name))
}

// ContextList names the execution contexts of entries, once each, in
// order: "local, https://*.example.com".
func ContextList(list []*ResolvedCommand) string {
	seen := map[string]bool{}
	var parts []string
	for _, c := range list {
		s := c.Context.String()
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// permissionDetail names the permissions that would allow a command that
// no capability grants, as Tauri does: "Permissions associated with this
// command: ...", "Command not found" or "Plugin not found".
func (r *Resolved) permissionDetail(key, name string) string {
	mkey := key
	m, ok := r.Manifests[key]
	if !ok {
		if m, ok = r.Manifests["core:"+key]; ok {
			mkey = "core:" + key
		}
	}
	if !ok {
		return "Plugin not found"
	}
	var names []string
	if m.Default != nil && m.setAllows(m.Default, name, map[string]bool{}) {
		names = append(names, "default")
	}
	for _, s := range m.Sets {
		if m.setAllows(s, name, map[string]bool{}) {
			names = append(names, s.Identifier)
		}
	}
	for _, p := range m.Permissions {
		if contains(p.Commands.Allow, name) {
			names = append(names, p.Identifier)
		}
	}
	if p := m.commandPermission("allow-"+strings.ReplaceAll(name, "_", "-"), false); p != nil {
		names = append(names, p.Identifier)
	}
	if len(names) == 0 {
		return "Command not found"
	}
	sort.Strings(names)
	for i, n := range names {
		if mkey != AppKey {
			names[i] = mkey + ":" + n
		}
	}
	return "Permissions associated with this command: " + strings.Join(names, ", ")
}

// setAllows tells whether a set of this manifest (followed through its own
// sets, not other plugins') contains a permission allowing the command.
func (m *Manifest) setAllows(s *PermissionSet, command string, visiting map[string]bool) bool {
	if visiting[s.Identifier] {
		return false
	}
	visiting[s.Identifier] = true
	for _, id := range s.Permissions {
		switch {
		case id == "default":
			if m.Default != nil && m.setAllows(m.Default, command, visiting) {
				return true
			}
		case m.Sets[id] != nil:
			if m.setAllows(m.Sets[id], command, visiting) {
				return true
			}
		case m.Permissions[id] != nil:
			if contains(m.Permissions[id].Commands.Allow, command) {
				return true
			}
		}
	}
	return false
}

// Grant is one command a label may call, and through what.
type Grant struct {
	Command string
	Via     []*ResolvedCommand
}

// Effective lists every command the given window/webview may call from the
// given origin, in command order, with the entries that grant each: the
// question "what can this window do?", which Tauri cannot answer.
func (r *Resolved) Effective(window, webview string, origin Origin) []Grant {
	if r == nil {
		return nil
	}
	cmds := sortedKeys(r.Allowed)
	var out []Grant
	for _, c := range cmds {
		d := r.Decide(Request{Command: c, Window: window, Webview: webview, Origin: origin})
		if d.Allowed {
			out = append(out, Grant{Command: c, Via: d.Matches})
		}
	}
	return out
}
