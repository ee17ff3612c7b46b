// Package policy turns a resolved ACL into decision engines: the compiled
// native evaluator that guards every IPC call, and (in policy/rego) an
// OPA/Rego evaluator that users can extend with their own rules. Engines
// are built once from an acl.Resolved and are safe for concurrent use.
package policy

import (
	"context"

	"github.com/capguard/capguard/acl"
)

// Request is one IPC call to decide. Engines are compiled for one target
// platform (the acl.Resolved's), so the target is not part of a request.
type Request struct {
	// Command is the IPC command: "plugin:<plugin>|<command>" or a bare
	// application command.
	Command string
	// Window and Webview are the caller's labels, as bound by the host.
	Window  string
	Webview string
	// Origin is acl.LocalOrigin or the remote page's URL.
	Origin acl.Origin
}

// Reference names the capability and permission behind a decision.
type Reference struct {
	Capability string
	// Permission as written in a capability: "fs:allow-read", or the bare
	// name of an application permission.
	Permission string
}

// Obligation is something the guard must do before an allowed call runs.
type Obligation struct {
	// Type is the kind of obligation; "biometric" asks for a biometric
	// authentication of the user.
	Type string
	// MaxAgeS lets a successful authentication of the same window and
	// origin satisfy the obligation for that many seconds (0: every call).
	MaxAgeS int
	// Reason is the text shown to the user when the obligation prompts.
	Reason string
	// Binding says what proves a biometric obligation met: BindingEvent
	// ("" means the same) takes the device's report that the user was
	// recognized; BindingSigned asks for a signature over a challenge
	// bound to this one call, made by a step-up key that needs a fresh
	// authentication for each use and verified by the guard. A signed
	// obligation is met call by call: MaxAgeS does not apply to it.
	Binding string
}

// ObligationBiometric is the Type of an obligation that requires a fresh
// biometric authentication.
const ObligationBiometric = "biometric"

// The bindings of a biometric obligation (Obligation.Binding).
const (
	// BindingEvent: the device's report of a match meets the obligation
	// (event-bound: a hooked success callback passes it).
	BindingEvent = "event"
	// BindingSigned: only a valid signature of the call's challenge by
	// the registered step-up key meets it.
	BindingSigned = "signed"
)

// Signed tells whether o is met only by a signature (Binding is
// BindingSigned).
func (o Obligation) Signed() bool { return o.Binding == BindingSigned }

// Decision is an engine's answer.
type Decision struct {
	Allowed bool
	// ScopeIDs are the command scope ids of the allow entries that matched
	// (acl.Resolved.CommandScopes), for the command to enforce its scope.
	ScopeIDs []uint64
	// References are the capabilities and permissions that allowed the call,
	// or that denied it.
	References []Reference
	// Obligations must all be met before the call runs.
	Obligations []Obligation
	// Reason explains the decision.
	Reason string
}

// Engine decides IPC calls.
type Engine interface {
	Decide(ctx context.Context, req Request) (Decision, error)
}
