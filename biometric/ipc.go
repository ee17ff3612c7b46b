package biometric

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/ipc"
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
	if r == nil {
		return fmt.Errorf("biometric: Register on a nil router")
	}
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
