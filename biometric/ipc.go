package biometric

import (
	"context"
	"sync"
	"time"

	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// Commands returns the plugin's IPC commands, as Register registers them
// under "plugin:biometric|<command>".
func Commands() []string { return []string{"authenticate", "status"} }

// Register registers the plugin's commands on a router:
//
//	plugin:biometric|status        → Status, resolves with the Status object
//	plugin:biometric|authenticate  → Authenticate, resolves with null
//
// Put the router behind the guard (Router.Guard) to serve them.
func (b *Biometric) Register(r *ipc.Router) error {
	if err := r.HandlePlugin(Name, "status", ipc.HandlerFunc(b.serveStatus)); err != nil {
		return err
	}
	return r.HandlePlugin(Name, "authenticate", ipc.HandlerFunc(b.serveAuthenticate))
}

// serveStatus ignores its arguments, as the Tauri command takes none.
func (b *Biometric) serveStatus(ctx context.Context, _ *ipc.Invocation) (any, error) {
	return b.Status(ctx)
}

func (b *Biometric) serveAuthenticate(ctx context.Context, inv *ipc.Invocation) (any, error) {
	reason, opts, err := decodeAuthenticate(inv.Args)
	if err != nil {
		return nil, err
	}
	if err := b.Authenticate(ctx, reason, opts); err != nil {
		return nil, err
	}
	return nil, nil
}

// DefaultObligationReason is the prompt text of a biometric obligation
// that does not give one.
const DefaultObligationReason = "Confirm that it is you to continue."

// obligationCache remembers when each window and origin last met a
// biometric obligation.
type obligationCache struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// MeetObligation is an ipc.ObligationFunc for policy.ObligationBiometric:
// it prompts with the obligation's reason before the guarded command runs.
// With MaxAgeS > 0, a success of the same window and origin within that
// many seconds meets the obligation without a new prompt. Register it on
// the guard with
//
//	ipc.WithObligation(policy.ObligationBiometric, b.MeetObligation)
func (b *Biometric) MeetObligation(ctx context.Context, inv *ipc.Invocation, o policy.Obligation) error {
	key := inv.Window + "\x00" + inv.Webview + "\x00" + inv.Origin.String()
	if o.MaxAgeS > 0 {
		b.obl.mu.Lock()
		t, ok := b.obl.last[key]
		b.obl.mu.Unlock()
		if ok && time.Since(t) < time.Duration(o.MaxAgeS)*time.Second {
			return nil
		}
	}
	reason := o.Reason
	if reason == "" {
		reason = DefaultObligationReason
	}
	if err := b.Authenticate(ctx, reason, AuthOptions{}); err != nil {
		return err
	}
	b.obl.mu.Lock()
	if b.obl.last == nil {
		b.obl.last = map[string]time.Time{}
	}
	b.obl.last[key] = time.Now()
	b.obl.mu.Unlock()
	return nil
}
