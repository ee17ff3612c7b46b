package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
)

// ErrNotAllowed is matched (errors.Is) by every denial of the guard.
var ErrNotAllowed = errors.New("not allowed by ACL")

// DeniedError is the guard's rejection of a call. Its text is Tauri's
// release text "Command <cmd> not allowed by ACL", or with Verbose the
// decision's explanation. It matches ErrNotAllowed, and the engine's or
// the obligation's error when one caused the denial.
//
// What the frontend receives (MarshalJSON, RejectValue) is that text as a
// JSON string, except for a call refused because an obligation failed with
// an error that chooses its own JSON value: the page then gets that value,
// for example the biometric plugin's {"message": ..., "code": "userCancel"}
// when the user cancels a step-up prompt, so that its code can branch on
// the code as it does for authenticate.
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

// MarshalJSON makes the rejection a JSON string, as Tauri sends it, or
// the JSON value of the obligation error that refused the call (see
// DeniedError).
func (e *DeniedError) MarshalJSON() ([]byte, error) {
	if v := e.obligationValue(); v != nil {
		return v, nil
	}
	return []byte(quote(e.Error())), nil
}

// obligationValue is the JSON value of the error of a failed obligation,
// when that error (or one it wraps) is a json.Marshaler whose output is
// valid JSON; nil otherwise.
func (e *DeniedError) obligationValue() []byte {
	if e.Err == nil || !errors.Is(e.Err, ErrObligation) {
		return nil
	}
	var m json.Marshaler
	if !errors.As(e.Err, &m) {
		return nil
	}
	b, err := m.MarshalJSON()
	if err != nil || !json.Valid(b) {
		return nil
	}
	return b
}

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
//
// An engine that reports which version of the ACL made each decision
// (Versioned, such as policy.Store) needs no WithScopes: the guard hands
// each call the scopes of the version that decided it, and WithScopes is
// not used.
func WithScopes(r *acl.Resolved) GuardOption { return func(g *guard) { g.scopes = r } }

// Versioned is implemented by engines whose ACL can change while they
// serve (policy.Store, which live reload swaps): DecideVersion decides a
// call and returns the version that decided it. The guard decides through
// DecideVersion when the engine has it, and interprets the decision's
// scope ids against that version's Resolved, so that a call never gets
// the decision of one version with the scopes of another.
type Versioned interface {
	DecideVersion(ctx context.Context, req policy.Request) (policy.Decision, *policy.Version, error)
}

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
	versioned   Versioned // engine, when it reports versions
	next        Handler
	verbose     bool
	scopes      *acl.Resolved
	obligations map[string]ObligationFunc
	observers   []func(DecisionEvent) // WithObserver
	// cache holds DecodeScope's decoded values for the newest resolved
	// ACL seen (see scopeCache).
	cache atomic.Pointer[scopeCache]
}

// scopeCache caches DecodeScope's values per Go type and scope for one
// resolved ACL: a scope id means different values in different versions.
type scopeCache struct {
	r       *acl.Resolved
	seq     uint64   // the version's sequence number (0 without versions)
	decoded sync.Map // scopeKey → decodedScope[T]
}

// scopesFor returns the cache of DecodeScope's values for r, the resolved
// ACL of version seq. The guard keeps the cache of the newest version it
// has seen; a call decided by an older version (one that was current when
// the call was decided, while a reload swapped in a newer one) gets a cache
// of its own, so that each call's values always come from its own version.
func (g *guard) scopesFor(r *acl.Resolved, seq uint64) *sync.Map {
	if r == nil {
		return nil
	}
	for {
		c := g.cache.Load()
		if c != nil && c.r == r {
			return &c.decoded
		}
		n := &scopeCache{r: r, seq: seq}
		if c != nil && seq <= c.seq {
			return &n.decoded // an older version's call: not kept
		}
		if g.cache.CompareAndSwap(c, n) {
			return &n.decoded
		}
	}
}

// Guard returns middleware that decides every call with engine before
// anything else runs. A denied call never reaches next and fails with a
// *DeniedError. The guard fails closed: an engine error, a nil engine, a
// nil invocation, an invocation without an origin (ErrNoOrigin) or an
// obligation that cannot be met all deny. An allowed
// call reaches next with a copy of its invocation whose Access holds the
// decision (and the scopes, see DecodeScope). An engine that implements
// Versioned is asked through DecideVersion, and each call gets the scopes
// of the version that decided it.
func Guard(engine policy.Engine, opts ...GuardOption) Middleware {
	return func(next Handler) Handler {
		g := &guard{engine: engine, next: next}
		g.versioned, _ = engine.(Versioned)
		for _, o := range opts {
			if o == nil {
				continue
			}
			o(g)
		}
		return g
	}
}

var errNoEngine = errors.New("no policy engine")

// ErrNoOrigin is wrapped by the denial of an invocation whose Origin is
// the zero acl.Origin: the transport must say whether a call is local
// (acl.LocalOrigin) or remote (the page's URL). Taking a missing origin
// for the local one would let a transport that forgets it fail open.
var ErrNoOrigin = errors.New("the invocation has no origin: the transport must set acl.LocalOrigin or the remote page's URL")

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
	if call.Origin.IsZero() {
		return nil, g.deny(&obs, &call, policy.Decision{}, ErrNoOrigin)
	}
	req := policy.Request{
		Command: call.Command,
		Window:  call.Window,
		Webview: call.Webview,
		Origin:  call.Origin,
	}
	var (
		d   policy.Decision
		v   *policy.Version
		err error
	)
	if g.versioned != nil {
		d, v, err = g.versioned.DecideVersion(ctx, req)
		obs.version = v
	} else {
		d, err = g.engine.Decide(ctx, req)
	}
	if err != nil {
		return nil, g.deny(&obs, &call, policy.Decision{}, fmt.Errorf("policy engine: %w", err))
	}
	if !d.Allowed {
		if g.verbose {
			// Explain with the engine of the version that decided.
			var explainer policy.Engine = g.engine
			if v != nil && v.Engine != nil {
				explainer = v.Engine
			}
			if x, ok := explainer.(Explainer); ok {
				d.Reason = x.Explain(req)
			}
		}
		return nil, g.deny(&obs, &call, d, nil)
	}
	scopes, seq := g.scopes, uint64(0)
	if g.versioned != nil {
		// The version's scopes, or none (DecodeScope then fails closed).
		scopes = nil
		if v != nil {
			scopes, seq = v.Resolved, v.Seq
		}
	}
	call.Access = &Access{Decision: d, scopes: scopes, decoded: g.scopesFor(scopes, seq)}
	if call.load != nil {
		// The arguments arrive only now that the call is allowed.
		load := call.load
		call.load = nil
		if err := load(&call); err != nil {
			g.report(&obs, &call, d, false, err)
			return nil, err
		}
	}
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
	if g.next == nil {
		return nil, &internalError{command: call.Command, detail: "the guard has no handler behind it"}
	}
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
