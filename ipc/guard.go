package ipc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
)

// ErrNotAllowed is matched (errors.Is) by every denial of the guard.
var ErrNotAllowed = errors.New("not allowed by ACL")

// DeniedError is the guard's rejection of a call. Its text is what the
// frontend receives: Tauri's release text "Command <cmd> not allowed by
// ACL", or with Verbose the decision's explanation. It matches
// ErrNotAllowed, and the engine's or the obligation's error when one
// caused the denial.
type DeniedError struct {
	// Command is the denied command.
	Command string
	// Decision is the engine's answer (the zero Decision when the engine
	// failed).
	Decision policy.Decision
	// Err is why an otherwise allowed call was refused: the engine's
	// error, or an obligation that was not met. Nil for a plain denial.
	Err error

	verbose bool
}

// Error returns the text the frontend receives.
func (e *DeniedError) Error() string {
	release := "Command " + e.Command + " not allowed by ACL"
	if !e.verbose {
		return release
	}
	switch {
	case e.Err != nil:
		return release + ": " + e.Err.Error()
	case e.Decision.Reason != "":
		return e.Decision.Reason
	}
	return release
}

// Unwrap returns ErrNotAllowed and the cause, if any.
func (e *DeniedError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrNotAllowed, e.Err}
	}
	return []error{ErrNotAllowed}
}

// MarshalJSON makes the rejection a JSON string, as Tauri sends it.
func (e *DeniedError) MarshalJSON() ([]byte, error) { return []byte(quote(e.Error())), nil }

// ErrObligation is wrapped by the error of an allowed call whose
// obligation could not be met, or had no handler.
var ErrObligation = errors.New("obligation not met")

// ObligationFunc meets an obligation of an allowed call before the call
// runs (for example, a fresh biometric authentication). A non-nil error
// denies the call.
type ObligationFunc func(ctx context.Context, inv *Invocation, o policy.Obligation) error

// Explainer is implemented by engines whose decisions carry a short
// reason but that can explain a call with Tauri's debug-build texts
// (policy.Native). In verbose mode the guard explains denials with it.
type Explainer interface {
	Explain(req policy.Request) string
}

// GuardOption configures Guard.
type GuardOption func(*guard)

// Verbose makes denials carry the decision's full explanation (Tauri's
// debug-build message: the engine's Explain when it is an Explainer, its
// Decision.Reason otherwise) instead of the release text. Explanations name
// capabilities, windows and URL patterns: keep them for development.
func Verbose() GuardOption { return func(g *guard) { g.verbose = true } }

// WithScopes gives the guard the resolved ACL whose command and global
// scopes the allowed calls' scope ids refer to, for DecodeScope. Without
// it, DecodeScope fails (it cannot tell what the scope allows or denies).
func WithScopes(r *acl.Resolved) GuardOption { return func(g *guard) { g.scopes = r } }

// WithObligation registers how to meet obligations of the given type
// (policy.ObligationBiometric, ...). An allowed call with an obligation
// that has no function is denied.
func WithObligation(kind string, f ObligationFunc) GuardOption {
	return func(g *guard) {
		if g.obligations == nil {
			g.obligations = map[string]ObligationFunc{}
		}
		g.obligations[kind] = f
	}
}

type guard struct {
	engine      policy.Engine
	next        Handler
	verbose     bool
	scopes      *acl.Resolved
	obligations map[string]ObligationFunc
	observers   []func(DecisionEvent) // WithObserver
	// decoded caches DecodeScope's values per Go type and scope.
	decoded sync.Map // scopeKey → decodedScope[T]
}

// Guard returns middleware that decides every call with engine before
// anything else runs. A denied call never reaches next and fails with a
// *DeniedError. The guard fails closed: an engine error, a nil engine, a
// nil invocation or an obligation that cannot be met all deny. An allowed
// call reaches next with a copy of its invocation whose Access holds the
// decision (and the scopes, see DecodeScope).
func Guard(engine policy.Engine, opts ...GuardOption) Middleware {
	return func(next Handler) Handler {
		g := &guard{engine: engine, next: next}
		for _, o := range opts {
			o(g)
		}
		return g
	}
}

var errNoEngine = errors.New("no policy engine")

// ServeIPC decides the call and, when it is allowed and its obligations
// are met, passes a copy of it, with Access set, to the next handler.
func (g *guard) ServeIPC(ctx context.Context, inv *Invocation) (any, error) {
	obs := g.startObservation()
	if inv == nil {
		err := errors.New("nil invocation")
		g.report(&obs, nil, policy.Decision{}, false, err)
		return nil, &DeniedError{Err: err, verbose: g.verbose}
	}
	call := *inv
	if call.Webview == "" {
		call.Webview = call.Window
	}
	if g.engine == nil {
		return nil, g.deny(&obs, &call, policy.Decision{}, errNoEngine)
	}
	req := policy.Request{
		Command: call.Command,
		Window:  call.Window,
		Webview: call.Webview,
		Origin:  call.Origin,
	}
	d, err := g.engine.Decide(ctx, req)
	if err != nil {
		return nil, g.deny(&obs, &call, policy.Decision{}, fmt.Errorf("policy engine: %w", err))
	}
	if !d.Allowed {
		if x, ok := g.engine.(Explainer); ok && g.verbose {
			d.Reason = x.Explain(req)
		}
		return nil, g.deny(&obs, &call, d, nil)
	}
	call.Access = &Access{Decision: d, scopes: g.scopes, decoded: &g.decoded}
	for _, o := range d.Obligations {
		f := g.obligations[o.Type]
		if f == nil {
			err := fmt.Errorf("%w: no handler for obligation %q", ErrObligation, o.Type)
			obs.obligation(o, err)
			return nil, g.deny(&obs, &call, d, err)
		}
		if err := f(ctx, &call, o); err != nil {
			obs.obligation(o, err)
			return nil, g.deny(&obs, &call, d, fmt.Errorf("%w: %s: %w", ErrObligation, o.Type, err))
		}
		obs.obligation(o, nil)
	}
	g.report(&obs, &call, d, true, nil)
	return g.next.ServeIPC(ctx, &call)
}

func (g *guard) deny(obs *observation, inv *Invocation, d policy.Decision, cause error) error {
	g.report(obs, inv, d, false, cause)
	return &DeniedError{Command: inv.Command, Decision: d, Err: cause, verbose: g.verbose}
}

// Access is what the guard granted to an allowed call.
type Access struct {
	// Decision is the engine's answer: scope ids, the capabilities and
	// permissions that allowed the call, obligations.
	Decision policy.Decision

	scopes  *acl.Resolved
	decoded *sync.Map
}
