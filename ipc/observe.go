package ipc

import (
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
)

// DecisionEvent is the guard's account of one call: who asked for what,
// what the engine answered, whether the call's obligations were met, and
// how long deciding took. It never carries the call's arguments (Args or
// Raw), which may hold secrets: an event is meant to be logged as it is.
//
// An event is reported for every call the guard sees, allowed or denied,
// before an allowed call reaches its handler; it says nothing about what
// the handler then returns.
type DecisionEvent struct {
	// Time is when the guard received the call.
	Time time.Time
	// Command, Window, Webview and Origin are the call's, as the guard
	// decided it (an empty Webview is already replaced by the window
	// label).
	Command string
	Window  string
	Webview string
	Origin  acl.Origin
	// Allowed is the guard's final answer: the engine allowed the call and
	// every obligation was met. A call reported as allowed runs.
	Allowed bool
	// Decision is the engine's answer: the references (capabilities and
	// permissions) that allowed or denied the call, its obligations, scope
	// ids and reason. It is the zero Decision when the engine failed.
	// Engines may share its slices between calls: read them, do not keep
	// or modify them past the observer's return (copy what you keep).
	Decision policy.Decision
	// Version is the version of the ACL that decided the call, for an
	// engine that reports it (Versioned, such as policy.Store under live
	// reload); nil otherwise, and when the engine failed. Its Resolved is
	// the ACL the decision's references and scope ids belong to.
	Version *policy.Version
	// Obligations are the obligations the guard tried to meet, in order,
	// each with its outcome. The guard stops at the first one that fails,
	// so obligations after it are not listed.
	Obligations []ObligationOutcome
	// Err is why the call was refused when it was not a plain denial of
	// the engine: the engine's error, an obligation that failed, a nil
	// invocation. Nil for allowed calls and plain denials.
	Err error
	// Latency is the time the guard took to decide, obligations included
	// (a biometric obligation includes the user's prompt). The handler's
	// own time is not part of it.
	Latency time.Duration
}

// ObligationOutcome is one obligation of an allowed call and whether the
// guard met it.
type ObligationOutcome struct {
	Obligation policy.Obligation
	// Err is nil when the obligation was met.
	Err error
}

// WithObserver makes the guard report every call it decides to f: allowed
// and denied calls alike, with the decision's references, obligations and
// their outcome, and the time it took (see DecisionEvent). It is the hook
// for decision feeds and audit logs.
//
// f runs synchronously on the caller's goroutine, before an allowed call
// reaches its handler, and may be called concurrently: it must be safe for
// concurrent use and quick (hand slow work, such as writing to disk, to
// another goroutine). A panicking observer fails the call (Guarded.Invoke
// turns the panic into an internal error). Several WithObserver options
// add up; observers run in the order they were given.
func WithObserver(f func(DecisionEvent)) GuardOption {
	return func(g *guard) {
		if f != nil {
			g.observers = append(g.observers, f)
		}
	}
}

// observation collects what the guard learns about one call while it
// decides, for its observers. Its zero value, used when no observer is
// registered, records nothing and costs nothing.
type observation struct {
	on          bool
	start       time.Time
	version     *policy.Version
	obligations []ObligationOutcome
}

func (g *guard) startObservation() observation {
	if len(g.observers) == 0 {
		return observation{}
	}
	return observation{on: true, start: time.Now()}
}

// obligation records the outcome of one obligation.
func (o *observation) obligation(ob policy.Obligation, err error) {
	if o.on {
		o.obligations = append(o.obligations, ObligationOutcome{Obligation: ob, Err: err})
	}
}

// report tells the observers how the call was decided.
func (g *guard) report(o *observation, inv *Invocation, d policy.Decision, allowed bool, cause error) {
	if !o.on {
		return
	}
	ev := DecisionEvent{
		Time:        o.start,
		Allowed:     allowed,
		Decision:    d,
		Version:     o.version,
		Obligations: o.obligations,
		Err:         cause,
		Latency:     time.Since(o.start),
	}
	if inv != nil {
		ev.Command, ev.Window, ev.Webview, ev.Origin = inv.Command, inv.Window, inv.Webview, inv.Origin
	}
	for _, f := range g.observers {
		f(ev)
	}
}
