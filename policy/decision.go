package policy

import (
	"fmt"
	"strings"

	"github.com/capguard/capguard/acl"
)

// FromEntries builds the Decision for a call from the entries that
// acl.Resolved.Decide reports for it: the deny entries that apply to the
// call's execution context (acl.Decision.DeniedBy) and the allow entries
// that match it (acl.Decision.Matches). The Rego engine and tests use it to
// give the same Decisions as the native engine.
func FromEntries(r *acl.Resolved, req Request, matched, denied []*acl.ResolvedCommand) Decision {
	switch {
	case len(denied) > 0:
		return denyDecision(req.Command, denied)
	case r == nil || (len(r.Allowed[req.Command]) == 0 && len(r.Denied[req.Command]) == 0):
		return Decision{Reason: ReasonUnknownCommand}
	case req.Window == "" || req.Webview == "":
		return Decision{Reason: acl.PrettyCommand(req.Command) + " " + ReasonNoLabel}
	case len(matched) == 0:
		return Decision{Reason: notAllowedReason(req.Command, r.Allowed[req.Command])}
	}
	return allowDecision(matched, r.Denied[req.Command])
}

func notAllowedReason(command string, allow []*acl.ResolvedCommand) string {
	return acl.PrettyCommand(command) + " not allowed on this window, webview and origin; " + acl.AllowedOn(allow)
}

func references(list []*acl.ResolvedCommand) []Reference {
	if len(list) == 0 {
		return nil
	}
	out := make([]Reference, len(list))
	for i, e := range list {
		out[i] = Reference{Capability: e.Capability, Permission: e.PermissionRef()}
	}
	return out
}

// scopeIDs returns the command scope ids of the entries, in order, without
// repeats and without 0; nil when there is none (as acl.Decision.ScopeIDs).
func scopeIDs(list []*acl.ResolvedCommand) []uint64 {
	var out []uint64
	for _, e := range list {
		if e.ScopeID == 0 {
			continue
		}
		dup := false
		for _, id := range out {
			if id == e.ScopeID {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e.ScopeID)
		}
	}
	return out[:len(out):len(out)]
}

// allowDecision is the decision of a call the matched entries allow; when
// the command has deny entries (in other execution contexts) the reason
// says that Tauri 2.11 and earlier would deny it.
func allowDecision(matched []*acl.ResolvedCommand, denies []*acl.ResolvedCommand) Decision {
	var b strings.Builder
	b.WriteString("allowed by ")
	writeRefs(&b, matched)
	if len(denies) > 0 {
		b.WriteString(" (Tauri 2.11 and earlier would deny it: they apply a deny entry to every origin; capguard, like Tauri 2.12 and later, only to its own execution context: ")
		b.WriteString(acl.ContextList(denies))
		b.WriteString(")")
	}
	refs := references(matched)
	return Decision{
		Allowed:    true,
		ScopeIDs:   scopeIDs(matched),
		References: refs[:len(refs):len(refs)],
		Reason:     b.String(),
	}
}

// denyDecision is the decision of a call denied by deny entries.
func denyDecision(command string, denied []*acl.ResolvedCommand) Decision {
	var b strings.Builder
	b.WriteString(acl.PrettyCommand(command))
	b.WriteString(" explicitly denied by ")
	writeRefs(&b, denied)
	b.WriteString(" (a deny entry applies to every window and webview of its execution context)")
	refs := references(denied)
	return Decision{References: refs[:len(refs):len(refs)], Reason: b.String()}
}

func writeRefs(b *strings.Builder, list []*acl.ResolvedCommand) {
	for i, e := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "capability %q (permission %s, %s)", e.Capability, e.PermissionRef(), e.Context)
	}
}
