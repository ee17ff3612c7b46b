// Package capguard wires Tauri's capability system in front of an app's
// IPC in one call: given the app's resolved ACL (or its src-tauri
// directory) and a biometric device, New returns a guarded router with the
// biometric plugin registered, ready for the app's own commands and for a
// transport to serve.
//
//	app, err := capguard.Load("src-tauri", acl.Linux, sim.New(sim.Ready()))
//	app.Router.Handle("open_vault", openVault)
//	result, err := app.Invoke(ctx, &ipc.Invocation{
//		Command: "plugin:biometric|authenticate",
//		Window:  "main",
//		Origin:  acl.LocalOrigin,
//		Args:    json.RawMessage(`{"reason":"Open the vault"}`),
//	})
//
// The pieces are in their own packages: acl (the model and the resolver),
// policy (decision engines), ipc (invocations, router, guard), biometric
// (the plugin) and native (the device interface and its simulator).
package capguard

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/policy"
)

// App is an app's guarded IPC.
type App struct {
	// ACL is the resolved ACL the guard decides with.
	ACL *acl.Resolved
	// Router holds the commands: the biometric plugin's, and the app's
	// own once it registers them (Router.Handle).
	Router *ipc.Router
	// IPC is the router behind the guard: what a transport serves.
	IPC *ipc.Guarded
	// Biometric is the plugin's core, for the app's Go code to prompt
	// directly (Biometric.Authenticate).
	Biometric *biometric.Biometric
}

// Option configures New and Load.
type Option func(*settings)

type settings struct {
	engine    policy.Engine
	verbose   bool
	observers []func(ipc.DecisionEvent)
}

// WithEngine makes the guard decide with engine (for example a Rego engine
// with the app's own rules) instead of the compiled native engine of the
// ACL (policy.Compile).
// The engine must have been built from the same resolved ACL, whose scopes
// the guard hands to commands.
func WithEngine(engine policy.Engine) Option { return func(s *settings) { s.engine = engine } }

// Verbose makes denials carry Tauri's full explanation (its debug-build
// message) instead of "Command <cmd> not allowed by ACL". For development:
// the explanation names capabilities, windows and URL patterns.
func Verbose() Option { return func(s *settings) { s.verbose = true } }

// WithObserver reports every call the guard decides to f, allowed or
// denied (see ipc.WithObserver): the hook for decision feeds and audit
// logs. Repeatable.
func WithObserver(f func(ipc.DecisionEvent)) Option {
	return func(s *settings) { s.observers = append(s.observers, f) }
}

// New returns the guarded IPC of an app whose ACL is resolved: a router
// with the biometric plugin registered on shim, behind a guard that
// decides with the ACL's compiled native engine (or WithEngine's engine),
// hands commands their scopes, and meets biometric obligations with the
// plugin.
func New(resolved *acl.Resolved, shim native.Shim, opts ...Option) (*App, error) {
	if resolved == nil {
		return nil, fmt.Errorf("capguard: no resolved ACL")
	}
	if shim == nil {
		return nil, fmt.Errorf("capguard: no biometric device (use sim.New(sim.Ready()) to simulate one)")
	}
	s := settings{}
	for _, o := range opts {
		o(&s)
	}
	if s.engine == nil {
		native, err := policy.Compile(resolved)
		if err != nil {
			return nil, err
		}
		s.engine = native
	}
	bio := biometric.New(shim)
	router := ipc.NewRouter()
	if err := bio.Register(router); err != nil {
		return nil, err
	}
	gopts := []ipc.GuardOption{
		ipc.WithScopes(resolved),
		ipc.WithObligation(policy.ObligationBiometric, bio.MeetObligation),
	}
	if s.verbose {
		gopts = append(gopts, ipc.Verbose())
	}
	for _, f := range s.observers {
		gopts = append(gopts, ipc.WithObserver(f))
	}
	return &App{ACL: resolved, Router: router, IPC: router.Guard(s.engine, gopts...), Biometric: bio}, nil
}

// Load reads a src-tauri directory for one target (its capabilities,
// configuration and gen/schemas/acl-manifests.json), resolves it and
// calls New. When the manifests have no "biometric" entry, the plugin's
// embedded manifest is used.
func Load(dir string, target acl.Target, shim native.Shim, opts ...Option) (*App, error) {
	app, err := acl.LoadApp(dir, target)
	if err != nil {
		return nil, err
	}
	return fromApp(app, shim, opts)
}

// LoadFS is Load for a src-tauri directory held in fsys (its root), such
// as an embedded one; dir names it in messages.
func LoadFS(fsys fs.FS, dir string, target acl.Target, shim native.Shim, opts ...Option) (*App, error) {
	app, err := acl.LoadAppFS(fsys, dir, target)
	if err != nil {
		return nil, err
	}
	return fromApp(app, shim, opts)
}

func fromApp(app *acl.App, shim native.Shim, opts []Option) (*App, error) {
	if app.Manifests == nil {
		return nil, fmt.Errorf("capguard: %s has no gen/schemas/acl-manifests.json (run the app's build once, or write it with capguard gen manifests)", app.Dir)
	}
	ms := acl.Manifests{}
	for k, m := range app.Manifests {
		ms[k] = m
	}
	if ms[biometric.Name] == nil {
		m, err := biometric.Manifest()
		if err != nil {
			return nil, err
		}
		ms[biometric.Name] = m
	}
	resolved, err := acl.Resolve(ms, app.Capabilities, app.Target)
	if err != nil {
		return nil, err
	}
	return New(resolved, shim, opts...)
}

// Invoke runs one invocation through the guard: see ipc.Guarded.Invoke.
// On failure, ipc.RejectValue(err) is the JSON the frontend's promise
// rejects with.
func (a *App) Invoke(ctx context.Context, inv *ipc.Invocation) (json.RawMessage, error) {
	return a.IPC.Invoke(ctx, inv)
}

// ReferenceEngine adapts the reference decision, acl.Resolved.Decide, to
// policy.Engine, with Tauri's debug-build explanation as the Reason. It is
// the yardstick the native engine is compared with (same decisions, and
// the tests and benchmarks run both); it allocates on every call. It does
// no I/O; a cancelled context denies.
func ReferenceEngine(r *acl.Resolved) policy.Engine { return referenceEngine{r} }

type referenceEngine struct{ r *acl.Resolved }

func (e referenceEngine) Decide(ctx context.Context, req policy.Request) (policy.Decision, error) {
	if err := ctx.Err(); err != nil {
		return policy.Decision{}, err
	}
	d := e.r.Decide(acl.Request{Command: req.Command, Window: req.Window, Webview: req.Webview, Origin: req.Origin})
	out := policy.Decision{Allowed: d.Allowed, ScopeIDs: d.ScopeIDs(), Reason: d.Message}
	refs := d.Matches
	if !d.Allowed {
		refs = d.DeniedBy
	}
	for _, m := range refs {
		out.References = append(out.References, policy.Reference{Capability: m.Capability, Permission: m.PermissionRef()})
	}
	return out, nil
}
