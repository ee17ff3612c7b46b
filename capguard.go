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
	"github.com/capguard/capguard/audit"
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
	// StepUp meets the biometric obligations of guarded calls (from a Rego
	// policy or capguard.json): StepUp.Forget makes every caller prompt
	// again.
	StepUp *biometric.StepUp
	// Store holds the ACL the guard decides with when WithReload was
	// given (nil otherwise): Reload and Watch swap in new versions, and
	// each call gets the scopes of the version that decided it. ACL stays
	// the first version; Store.Current() is the one deciding now.
	Store *policy.Store

	dir string // the src-tauri directory of Load, for Watch
}

// Option configures New and Load.
type Option func(*settings)

type settings struct {
	engine     policy.Engine
	builder    policy.Builder
	verbose    bool
	observers  []func(ipc.DecisionEvent)
	reload     bool
	ext        *acl.Extension
	hasExt     bool
	stepUpOpts []biometric.StepUpOption
	secrets    []func(biometric.SecretEvent)
	logs       []*audit.Log // WithAudit: reloads are recorded too
	storeOpts  []policy.StoreOption
	// source and dir are set by Load and LoadFS: where Reload reads.
	source policy.Source
	dir    string
}

// WithEngine makes the guard decide with engine (for example a Rego engine
// with the app's own rules) instead of the compiled native engine of the
// ACL (policy.Compile).
// The engine must have been built from the same resolved ACL, whose scopes
// the guard hands to commands, unless it reports the version of each
// decision (ipc.Versioned, such as a policy.Store): each call then gets its
// version's scopes.
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

// WithAudit records every decision of the guard in an audit log
// (audit.New): the same as WithObserver(log.Observe). With WithReload it
// records every reload too (audit.Log.ObserveReload), naming the
// capabilities and obligations a new version removed. Close the log when
// the app stops.
func WithAudit(log *audit.Log) Option {
	return func(s *settings) {
		if log != nil {
			s.observers = append(s.observers, log.Observe)
			s.logs = append(s.logs, log)
		}
	}
}

// WithReload makes the guard decide through a policy.Store (App.Store), so
// that the ACL can be replaced while the app runs: App.Reload re-reads the
// src-tauri directory of Load (or LoadFS), App.Watch does it whenever its
// files change, and Store.Load swaps in any resolved ACL. A version that
// fails to load is refused and the current one kept. A new version may
// change anything, scopes included: the guard hands each call the scopes
// of the version that decided it (see ipc.Versioned). It cannot be
// combined with WithEngine; use WithBuilder to decide with another engine
// than the native one.
func WithReload() Option { return func(s *settings) { s.reload = true } }

// ConfirmRemoval makes a reload (WithReload) that removes capabilities or
// capguard.json obligations of the version in force wait for f's answer:
// nil applies it, an error refuses it and keeps the current version (see
// policy.ConfirmRemoval). Without it such a reload is applied, and
// reported: Version.Removed, the reload callback (policy.OnReload's event)
// and, with WithAudit, an audit entry name what was removed.
func ConfirmRemoval(f func(ctx context.Context, next *policy.Version) error) Option {
	return func(s *settings) { s.storeOpts = append(s.storeOpts, policy.ConfirmRemoval(f)) }
}

// RefuseRemoval makes every reload that removes capabilities or
// obligations fail, keeping the version in force (policy.RefuseRemoval):
// deleting capguard.json, or emptying it, then needs a restart.
func RefuseRemoval() Option {
	return func(s *settings) { s.storeOpts = append(s.storeOpts, policy.RefuseRemoval()) }
}

// WithBuilder builds the guard's engine with b (for example a Rego engine
// with the app's own modules) instead of compiling the native engine; with
// WithReload, every new version is built with it too.
func WithBuilder(b policy.Builder) Option { return func(s *settings) { s.builder = b } }

// WithExtension adds the obligations of a capguard extension
// (capguard.json, acl.ReadExtension) to the allowed decisions, whichever
// the engine. Load and LoadFS read the app's capguard.json themselves; this
// option replaces it (nil: none).
func WithExtension(ext *acl.Extension) Option {
	return func(s *settings) { s.ext, s.hasExt = ext, true }
}

// WithSource sets where App.Reload (with WithReload) reads the next
// version of the ACL, for an app made by New: for example
// policy.AppSource(dir, target, defaults), which policy.Watch(ctx, dir,
// app.Store) then reloads on every change. Load and LoadFS set it to the
// directory they read.
func WithSource(src policy.Source) Option { return func(s *settings) { s.source = src } }

// WithStepUp configures the StepUp that meets biometric obligations (its
// clock, memory size, prompt options; see biometric.NewStepUp). Without it
// the plugin's default StepUp is used (Biometric.StepUp).
func WithStepUp(opts ...biometric.StepUpOption) Option {
	return func(s *settings) { s.stepUpOpts = append(s.stepUpOpts, opts...) }
}

// WithSecretObserver reports every call of the secure-storage commands
// (plugin:biometry|set_data, get_data, has_data, remove_data) that the
// guard allowed to f: the record, the caller and the outcome, never the
// data (see biometric.SecretEvent). Repeatable.
func WithSecretObserver(f func(biometric.SecretEvent)) Option {
	return func(s *settings) {
		if f != nil {
			s.secrets = append(s.secrets, f)
		}
	}
}

// New returns the guarded IPC of an app whose ACL is resolved: a router
// with the biometric plugin and the biometry plugin (tauri-plugin-biometry,
// with secure storage when shim is a native.Vault) registered on shim, behind a guard that
// decides with the ACL's compiled native engine (or WithEngine's engine),
// hands commands their scopes, and meets biometric obligations with the
// plugin.
func New(resolved *acl.Resolved, shim native.Shim, opts ...Option) (*App, error) {
	s := settings{}
	for _, o := range opts {
		o(&s)
	}
	return newApp(resolved, shim, &s)
}

func newApp(resolved *acl.Resolved, shim native.Shim, s *settings) (*App, error) {
	if resolved == nil {
		return nil, fmt.Errorf("capguard: no resolved ACL")
	}
	if shim == nil {
		return nil, fmt.Errorf("capguard: no biometric device (use sim.New(sim.Ready()) to simulate one)")
	}
	if len(s.storeOpts) > 0 && !s.reload {
		return nil, fmt.Errorf("capguard: ConfirmRemoval and RefuseRemoval need WithReload")
	}
	if s.engine != nil && (s.reload || s.builder != nil) {
		return nil, fmt.Errorf("capguard: WithEngine gives one fixed engine; to rebuild it on reload, use WithBuilder instead")
	}
	builder := s.builder
	if builder == nil {
		builder = policy.CompileEngine
	}
	ctx := context.Background()
	app := &App{ACL: resolved, dir: s.dir}
	engine := s.engine
	switch {
	case s.reload:
		src := s.source
		if src == nil || s.hasExt {
			src = policy.Static(&policy.Input{Resolved: resolved, Extension: s.ext})
			if s.source != nil {
				// Re-read the app's files but keep the given extension.
				read, ext := s.source, s.ext
				src = func(ctx context.Context) (*policy.Input, error) {
					in, err := read(ctx)
					if err != nil {
						return nil, err
					}
					return &policy.Input{Resolved: in.Resolved, Extension: ext}, nil
				}
			}
		}
		first := true
		store, err := policy.NewStore(ctx, func(ctx context.Context) (*policy.Input, error) {
			if first {
				// The first version is the ACL New was given.
				first = false
				return &policy.Input{Resolved: resolved, Extension: s.ext}, nil
			}
			return src(ctx)
		}, s.storeOptions(builder)...)
		if err != nil {
			return nil, err
		}
		app.Store, engine = store, store
	default:
		if engine == nil {
			e, err := builder(ctx, resolved)
			if err != nil {
				return nil, err
			}
			engine = e
		}
		if s.ext != nil {
			e, err := policy.WithExtension(engine, resolved, s.ext)
			if err != nil {
				return nil, err
			}
			engine = e
		}
	}
	var bopts []biometric.Option
	for _, f := range s.secrets {
		bopts = append(bopts, biometric.OnSecretAccess(f))
	}
	bio := biometric.New(shim, bopts...)
	stepUp := bio.StepUp()
	if len(s.stepUpOpts) > 0 {
		stepUp = biometric.NewStepUp(bio, s.stepUpOpts...)
	}
	router := ipc.NewRouter()
	if err := bio.Register(router); err != nil {
		return nil, err
	}
	if err := bio.RegisterBiometry(router); err != nil {
		return nil, err
	}
	gopts := []ipc.GuardOption{
		// With WithReload the engine is the store, whose versions carry
		// their own scopes (ipc.Versioned); WithScopes serves the others.
		ipc.WithScopes(resolved),
		ipc.WithObligation(policy.ObligationBiometric, stepUp.Meet),
	}
	if s.verbose {
		gopts = append(gopts, ipc.Verbose())
	}
	for _, f := range s.observers {
		gopts = append(gopts, ipc.WithObserver(f))
	}
	app.Router, app.IPC, app.Biometric, app.StepUp = router, router.Guard(engine, gopts...), bio, stepUp
	return app, nil
}

func (s *settings) storeOptions(builder policy.Builder) []policy.StoreOption {
	opts := append([]policy.StoreOption{policy.WithBuilder(builder)}, s.storeOpts...)
	for _, l := range s.logs {
		opts = append(opts, policy.Notify(l.ObserveReload))
	}
	return opts
}

// Load reads a src-tauri directory for one target (its capabilities,
// configuration, gen/schemas/acl-manifests.json and, when present,
// capguard.json), resolves it and calls New. When the manifests have no
// "biometric" entry, the plugin's embedded manifest is used.
func Load(dir string, target acl.Target, shim native.Shim, opts ...Option) (*App, error) {
	defaults, err := defaultManifests()
	if err != nil {
		return nil, err
	}
	return fromSource(policy.AppSource(dir, target, defaults), dir, shim, opts)
}

// LoadFS is Load for a src-tauri directory held in fsys (its root), such
// as an embedded one; dir names it in messages.
func LoadFS(fsys fs.FS, dir string, target acl.Target, shim native.Shim, opts ...Option) (*App, error) {
	if fsys == nil {
		return nil, fmt.Errorf("capguard: LoadFS: nil file system")
	}
	defaults, err := defaultManifests()
	if err != nil {
		return nil, err
	}
	return fromSource(policy.AppSourceFS(fsys, dir, target, defaults), "", shim, opts)
}

// defaultManifests are the manifests used for plugins an app's
// acl-manifests.json lacks: the biometric plugin's, and the biometry
// plugin's (tauri-plugin-biometry, with secure storage).
func defaultManifests() (acl.Manifests, error) {
	m, err := biometric.Manifest()
	if err != nil {
		return nil, err
	}
	bm, err := biometric.BiometryManifest()
	if err != nil {
		return nil, err
	}
	return acl.Manifests{biometric.Name: m, biometric.BiometryName: bm}, nil
}

func fromSource(src policy.Source, dir string, shim native.Shim, opts []Option) (*App, error) {
	in, err := src(context.Background())
	if err != nil {
		return nil, err
	}
	s := settings{source: src, dir: dir}
	for _, o := range opts {
		o(&s)
	}
	if !s.hasExt {
		s.ext = in.Extension
	}
	return newApp(in.Resolved, shim, &s)
}

// Reload re-reads the app's ACL and swaps it in (see WithReload): Load's
// directory, or the resolved ACL given to New. On failure the guard keeps
// deciding with the current version, and the error (wrapping
// policy.ErrReload) says why, with file:line:col for a bad file.
func (a *App) Reload(ctx context.Context) (*policy.Version, error) {
	if a == nil || a.Store == nil {
		return nil, errNoReload
	}
	return a.Store.Reload(ctx)
}

// Watch reloads the app's ACL whenever the files of Load's directory
// change (see policy.Watch), until ctx ends or the watcher is closed. It
// needs WithReload and an app made by Load.
func (a *App) Watch(ctx context.Context, opts ...policy.WatchOption) (*policy.Watcher, error) {
	if a == nil || a.Store == nil {
		return nil, errNoReload
	}
	if a.dir == "" {
		return nil, fmt.Errorf("capguard: Watch needs an app read from a directory on disk (capguard.Load)")
	}
	return policy.Watch(ctx, a.dir, a.Store, opts...)
}

var errNilContext = fmt.Errorf("capguard: nil context")

var errNoReload = fmt.Errorf("capguard: the app was made without capguard.WithReload")

// Invoke runs one invocation through the guard: see ipc.Guarded.Invoke.
// On failure, ipc.RejectValue(err) is the JSON the frontend's promise
// rejects with.
func (a *App) Invoke(ctx context.Context, inv *ipc.Invocation) (json.RawMessage, error) {
	if a == nil || a.IPC == nil {
		return nil, fmt.Errorf("capguard: Invoke on an App not made by New or Load")
	}
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
	if e.r == nil {
		return policy.Decision{}, policy.ErrNilEngine
	}
	if ctx == nil {
		return policy.Decision{}, errNilContext
	}
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
