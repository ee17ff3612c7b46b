package ipc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
)

// TestGuardRefusesZeroOrigin is issue 14's case 6: an invocation whose
// Origin was never set used to be decided as local, so a transport that
// forgot it failed open. Now it is denied with ErrNoOrigin, its handler
// does not run, and the observer is told why.
func TestGuardRefusesZeroOrigin(t *testing.T) {
	res := resolveFiles(t)
	r, recs := filesRouter(t)
	h := recs["read"]
	var events []ipc.DecisionEvent
	g := r.Guard(compile(t, res), ipc.WithScopes(res), ipc.WithObserver(func(ev ipc.DecisionEvent) { events = append(events, ev) }))
	// The same call, allowed when the origin is said to be local.
	if _, err := g.Invoke(context.Background(), &ipc.Invocation{Command: "plugin:files|read", Window: "main", Origin: acl.LocalOrigin}); err != nil {
		t.Fatalf("local call: %v", err)
	}
	ran := len(h.calls)
	_, err := g.Invoke(context.Background(), &ipc.Invocation{Command: "plugin:files|read", Window: "main"})
	if !errors.Is(err, ipc.ErrNoOrigin) || !errors.Is(err, ipc.ErrNotAllowed) {
		t.Fatalf("call without an origin: %v, want a denial wrapping ErrNoOrigin", err)
	}
	if len(h.calls) != ran {
		t.Errorf("the handler ran for a call without an origin")
	}
	if len(events) != 2 || events[1].Allowed || !errors.Is(events[1].Err, ipc.ErrNoOrigin) {
		t.Errorf("observed %+v, want the second call denied with ErrNoOrigin", events)
	}
	if !acl.LocalOrigin.IsLocal() || acl.LocalOrigin.IsZero() || !(acl.Origin{}).IsZero() {
		t.Errorf("acl.LocalOrigin must be local and not zero; the zero Origin must be zero")
	}
	if o, _ := acl.ParseOrigin("local"); o != acl.LocalOrigin {
		t.Errorf("ParseOrigin(local) = %v, want LocalOrigin", o)
	}
}
