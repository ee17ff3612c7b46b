package capguard

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
)

// errNoRuntime is AddCapability's error on an app without a store.
var errNoRuntime = fmt.Errorf("capguard: adding capabilities while the app runs needs capguard.WithReload (the store that swaps versions atomically)")

// AddCapability adds capabilities to the running app, as Tauri's
// Manager::add_capability does with a CapabilityBuilder: for example a
// remote URL known only at run time, or permissions that depend on the
// signed-in user.
//
//	_, err := app.AddCapability(ctx, &acl.Capability{
//		Identifier:  "localhost-server",
//		Local:       false,
//		Remote:      &acl.Remote{URLs: []string{"http://localhost:" + port + "/*"}},
//		Windows:     []string{"main"},
//		Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("biometric:default")}},
//	})
//
// The capabilities are resolved against the manifests in force, for the
// app's target, and swapped in atomically: every call is decided by the ACL
// before or after, never by a part of it, and each gets the scopes of the
// version that decided it. They stay until the app stops, across every
// reload of the app's files (App.Reload, App.Watch); see
// policy.Store.AddCapabilities for the rules, which are Tauri's, and the
// two places where capguard refuses what Tauri takes (an unknown
// permission, on which Tauri panics; one identifier twice in one call).
// With WithAudit, each addition, and each refusal, is an audit entry.
//
// It needs WithReload. On error nothing changes; the error wraps
// policy.ErrAddCapability and the cause.
func (a *App) AddCapability(ctx context.Context, caps ...*acl.Capability) (*policy.Version, error) {
	if a == nil || a.Store == nil {
		return nil, errNoRuntime
	}
	return a.Store.AddCapabilities(ctx, caps...)
}

// AddCapabilityText is AddCapability for a capability file's text, as
// Tauri's add_capability takes it (for example a file the app embeds):
// JSON, JSON5 or TOML by the extension of name, holding one capability, a
// list, or {"capabilities": [...]}. Errors give name, line and column.
func (a *App) AddCapabilityText(ctx context.Context, name string, text []byte) (*policy.Version, error) {
	if a == nil || a.Store == nil {
		return nil, errNoRuntime
	}
	return a.Store.AddCapabilityText(ctx, name, text)
}
