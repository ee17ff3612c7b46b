package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capguard/capguard/acl"
)

// Input is what a Store builds a version from: a resolved ACL and,
// optionally, capguard's extension (capguard.json) whose obligations are
// added to the allowed decisions.
type Input struct {
	Resolved  *acl.Resolved
	Extension *acl.Extension
}

// Source produces the Input of the next version: it reads and resolves
// the capabilities (AppSource reads a src-tauri directory). It runs on the
// reloading goroutine, never on the hot path.
type Source func(ctx context.Context) (*Input, error)

// Builder turns a resolved ACL into an engine. CompileEngine, the default,
// compiles the native engine; a Rego engine with the app's own modules is
// built with
//
//	func(ctx context.Context, r *acl.Resolved) (policy.Engine, error) {
//		return rego.New(ctx, r, modules...)
//	}
type Builder func(ctx context.Context, r *acl.Resolved) (Engine, error)

// CompileEngine is the default Builder: policy.Compile.
func CompileEngine(_ context.Context, r *acl.Resolved) (Engine, error) { return Compile(r) }

// Static returns a Source that always produces in: for a Store whose
// versions are given with Store.Load rather than read.
func Static(in *Input) Source {
	return func(context.Context) (*Input, error) { return in, nil }
}

// ErrReload is wrapped by the error of a reload that failed: the store
// kept its current version. The error also wraps the cause (an *acl.Error
// with file:line:col for a bad capability file).
var ErrReload = errors.New("reload failed")

// Version is one ACL a Store decides with: the input it was built from and
// its engine (the extension's obligations included).
type Version struct {
	// Seq numbers the versions of a store: 1 for the first, then one more
	// for each successful reload.
	Seq uint64
	// Resolved is the ACL the decisions' scope ids refer to.
	Resolved *acl.Resolved
	// Extension is the capguard.json of the version, or nil.
	Extension *acl.Extension
	// Engine decides for this version.
	Engine Engine
	// Loaded is when the version was swapped in.
	Loaded time.Time
	// Removed is what this version dropped from the one it replaced
	// (empty for the first version).
	Removed Removed
	// Runtime lists the AddCapabilities calls in force, oldest first:
	// capabilities added while the app runs, which every later version
	// keeps. Resolved includes them (after the files' capabilities).
	Runtime []Added
}

// Store holds the current version of an app's ACL behind an atomic
// pointer, and is itself an Engine: each decision loads the current
// version once and asks its engine, so that a decision is always made by
// exactly one version, and never by a mixture of two. Reload reads,
// resolves and compiles the next version on the caller's goroutine, off
// the hot path, and swaps it in with one atomic store; when anything fails
// the current version stays and the error says why.
//
// A Store is safe for concurrent use. Deciding through it costs one atomic
// load over its engine (the native engine stays allocation free).
type Store struct {
	cur atomic.Pointer[Version]
	// mu serializes reloads, so that versions are numbered in order and a
	// slow reload cannot overwrite a newer one.
	mu      sync.Mutex
	src     Source
	build   Builder
	pinned  *acl.Resolved
	now     func() time.Time
	lastErr atomic.Pointer[error]
	confirm func(ctx context.Context, next *Version) error // ConfirmRemoval
	notify  []func(ReloadEvent)                            // Notify
}

// StoreOption configures NewStore.
type StoreOption func(*Store)

// WithBuilder makes the store build its engines with b instead of
// CompileEngine.
func WithBuilder(b Builder) StoreOption {
	return func(s *Store) {
		if b != nil {
			s.build = b
		}
	}
}

// PinScopes makes the store refuse a version whose scopes read differently
// from those of r. Use it when the guard reads scopes from a fixed resolved
// ACL (ipc.WithScopes(r)): the scope ids of the new version's decisions are
// then looked up in r, so a reload may change which windows may call what,
// but not the scope values; a version that changes them is refused (and the
// current one kept) with an error naming the scope, rather than letting a
// command enforce a stale or another entry's scope. See SameScopes.
func PinScopes(r *acl.Resolved) StoreOption { return func(s *Store) { s.pinned = r } }

// WithClock sets the clock that stamps Version.Loaded (default time.Now).
func WithClock(now func() time.Time) StoreOption {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// NewStore reads the first version from src and returns a store deciding
// with it. It fails, with the source's or the builder's error, when the
// first version cannot be built.
func NewStore(ctx context.Context, src Source, opts ...StoreOption) (*Store, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: policy.NewStore: nil source", acl.ErrInvalid)
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: policy.NewStore: nil context", acl.ErrInvalid)
	}
	s := &Store{src: src, build: CompileEngine, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	in, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.version(ctx, in)
	if err != nil {
		return nil, err
	}
	v.Seq = 1
	s.cur.Store(v)
	return s, nil
}

// read runs the source, turning a panic into an error: a reload must not
// take the app down.
func (s *Store) read(ctx context.Context) (in *Input, err error) {
	defer func() {
		if p := recover(); p != nil {
			in, err = nil, fmt.Errorf("policy: source panicked: %v", p)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in, err = s.src(ctx)
	if err == nil && (in == nil || in.Resolved == nil) {
		err = fmt.Errorf("%w: policy: the source returned no resolved ACL", acl.ErrInvalid)
	}
	return in, err
}

// version builds (but does not publish) a version from in.
func (s *Store) version(ctx context.Context, in *Input) (v *Version, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("policy: engine builder panicked: %v", p)
		}
	}()
	if s.pinned != nil {
		if err := SameScopes(s.pinned, in.Resolved); err != nil {
			return nil, err
		}
	}
	engine, err := s.build(ctx, in.Resolved)
	if err != nil {
		return nil, err
	}
	if engine == nil {
		return nil, fmt.Errorf("%w: policy: the engine builder returned no engine", acl.ErrInvalid)
	}
	if in.Extension != nil {
		if engine, err = WithExtension(engine, in.Resolved, in.Extension); err != nil {
			return nil, err
		}
	}
	return &Version{Resolved: in.Resolved, Extension: in.Extension, Engine: engine}, nil
}

// Reload reads the next version from the store's source, builds it (with
// the capabilities added at run time, see AddCapabilities) and swaps it
// in. On failure it keeps the current version and returns an
// error wrapping ErrReload and the cause; decisions go on meanwhile.
func (s *Store) Reload(ctx context.Context) (*Version, error) {
	if s == nil || s.cur.Load() == nil || s.src == nil {
		return nil, errNoStore
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: policy: Reload: nil context", acl.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.read(ctx)
	if err != nil {
		return nil, s.failed(err)
	}
	return s.swap(ctx, in)
}

// Load builds a version from in (rather than from the source) and swaps it
// in, as Reload does (keeping the capabilities added at run time).
func (s *Store) Load(ctx context.Context, in *Input) (*Version, error) {
	if s == nil || s.cur.Load() == nil {
		return nil, errNoStore
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: policy: Load: nil context", acl.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in == nil || in.Resolved == nil {
		return nil, s.failed(fmt.Errorf("%w: policy: no resolved ACL to load", acl.ErrInvalid))
	}
	return s.swap(ctx, in)
}

// swap builds and publishes a version from in and the capabilities added
// at run time to the current one; s.mu is held.
func (s *Store) swap(ctx context.Context, in *Input) (*Version, error) {
	cur := s.cur.Load()
	in, err := s.withRuntime(in, cur.Runtime)
	if err != nil {
		return nil, s.failed(err)
	}
	v, err := s.version(ctx, in)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, s.failed(err)
	}
	v.Runtime = cur.Runtime
	v.Seq = cur.Seq + 1
	v.Removed = removed(cur, v)
	if err := s.checkRemoval(ctx, v); err != nil {
		return nil, s.failed(err)
	}
	v.Loaded = s.now()
	s.cur.Store(v)
	s.lastErr.Store(nil)
	s.tell(ReloadEvent{Version: v})
	return v, nil
}

func (s *Store) failed(err error) error {
	err = fmt.Errorf("%w, keeping version %d: %w", ErrReload, s.cur.Load().Seq, err)
	s.lastErr.Store(&err)
	s.tell(ReloadEvent{Err: err})
	return err
}

// tell runs the Notify functions; a panicking one does not stop the
// others or the reload.
func (s *Store) tell(ev ReloadEvent) {
	for _, f := range s.notify {
		func() {
			defer func() { _ = recover() }()
			f(ev)
		}()
	}
}

// errNoStore is the error of a Store not made by NewStore.
var errNoStore = fmt.Errorf("%w (a Store is made by policy.NewStore)", ErrNilEngine)

// Current returns the version decisions are made with now.
func (s *Store) Current() *Version {
	if s == nil {
		return nil
	}
	return s.cur.Load()
}

// LastError returns the error of the last reload (or AddCapabilities
// call) when it failed, and nil when it succeeded (or none was tried).
func (s *Store) LastError() error {
	if s == nil {
		return nil
	}
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Decide decides a call with the current version.
func (s *Store) Decide(ctx context.Context, req Request) (Decision, error) {
	v := s.Current()
	if v == nil {
		return Decision{Reason: errNoStore.Error()}, errNoStore
	}
	return v.Engine.Decide(ctx, req)
}

// DecideVersion is Decide that also returns the version that decided, for
// callers that must interpret the decision against it: its scope ids are
// keys of that version's Resolved.CommandScopes.
func (s *Store) DecideVersion(ctx context.Context, req Request) (Decision, *Version, error) {
	v := s.Current()
	if v == nil {
		return Decision{Reason: errNoStore.Error()}, nil, errNoStore
	}
	d, err := v.Engine.Decide(ctx, req)
	return d, v, err
}

// Resolved returns the current version's resolved ACL.
func (s *Store) Resolved() *acl.Resolved {
	v := s.Current()
	if v == nil {
		return nil
	}
	return v.Resolved
}

// Explain explains a call with the current version's engine (Tauri's
// debug-build text for the native engine). A reload between a Decide and
// an Explain may make them speak of different versions.
func (s *Store) Explain(req Request) string {
	v := s.Current()
	if v == nil {
		return errNoStore.Error()
	}
	return explain(v.Engine, req)
}

// SameScopes reports, as an error wrapping acl.ErrInvalid, the first scope
// of next that reads differently in pinned: a command scope id of next
// that pinned lacks or holds other values, or a plugin whose global scope
// differs. A guard whose scopes are pinned to one resolved ACL can decide
// with engines built from next only when SameScopes returns nil.
func SameScopes(pinned, next *acl.Resolved) error {
	if pinned == nil || next == nil {
		return fmt.Errorf("%w: policy.SameScopes: nil resolved ACL", acl.ErrInvalid)
	}
	for id, sc := range next.CommandScopes {
		if !sameScope(pinned.CommandScopes[id], sc) {
			return fmt.Errorf("%w: command scope #%d changed; the guard's scopes are fixed until the app restarts", acl.ErrInvalid, id)
		}
	}
	for key, sc := range next.GlobalScopes {
		if !sameScope(pinned.GlobalScopes[key], sc) {
			return fmt.Errorf("%w: the global scope of %s changed; the guard's scopes are fixed until the app restarts", acl.ErrInvalid, key)
		}
	}
	for key, sc := range pinned.GlobalScopes {
		if next.GlobalScopes[key] == nil && !sameScope(sc, nil) {
			return fmt.Errorf("%w: the global scope of %s was removed; the guard's scopes are fixed until the app restarts", acl.ErrInvalid, key)
		}
	}
	return nil
}

func sameScope(a, b *acl.ResolvedScope) bool {
	var aa, ad, ba, bd []acl.Value
	if a != nil {
		aa, ad = a.Allow, a.Deny
	}
	if b != nil {
		ba, bd = b.Allow, b.Deny
	}
	return sameValues(aa, ba) && sameValues(ad, bd)
}

func sameValues(a, b []acl.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// AppSource returns a Source reading a src-tauri directory for one target,
// as the app's own build would see it: the capabilities, the configuration
// that selects them, gen/schemas/acl-manifests.json and capguard.json (the
// extension, when present). Plugins the manifests lack are taken from
// defaults (for example the biometric plugin's embedded manifest). Errors
// are the acl package's, with file:line:col.
//
// One read sees one state of the files: every file and folder it used is
// checked unchanged after the read, which is retried when they changed
// (see SnapshotAttempts and ErrUnsettled). Deploy files that must change
// together with an atomic directory swap (docs/security.md).
func AppSource(dir string, target acl.Target, defaults acl.Manifests) Source {
	return func(ctx context.Context) (*Input, error) {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: errors.New("not a directory")}
		}
		return readSnapshot(ctx, os.DirFS(dir), dir, func(fsys fs.FS) (*Input, error) {
			return readApp(fsys, dir, target, defaults)
		})
	}
}

// AppSourceFS is AppSource for a src-tauri directory held in fsys (its
// root); dir names it in messages.
func AppSourceFS(fsys fs.FS, dir string, target acl.Target, defaults acl.Manifests) Source {
	return func(ctx context.Context) (*Input, error) {
		if fsys == nil {
			return nil, fmt.Errorf("%w: policy.AppSourceFS: nil file system", acl.ErrInvalid)
		}
		return readSnapshot(ctx, fsys, "", func(snap fs.FS) (*Input, error) {
			return readApp(snap, dir, target, defaults)
		})
	}
}

func readApp(fsys fs.FS, dir string, target acl.Target, defaults acl.Manifests) (*Input, error) {
	app, err := acl.LoadAppFS(fsys, dir, target)
	if err != nil {
		return nil, err
	}
	if app.Manifests == nil {
		return nil, fmt.Errorf("%s has no gen/schemas/acl-manifests.json (run the app's build once, or write it with capguard gen manifests)", app.Dir)
	}
	ms := make(acl.Manifests, len(app.Manifests)+len(defaults))
	for k, m := range app.Manifests {
		ms[k] = m
	}
	for k, m := range defaults {
		if ms[k] == nil {
			ms[k] = m
		}
	}
	resolved, err := acl.Resolve(ms, app.Capabilities, app.Target)
	if err != nil {
		return nil, err
	}
	ext, err := acl.LoadExtensionFS(fsys, dir)
	if err != nil {
		return nil, err
	}
	return &Input{Resolved: resolved, Extension: ext}, nil
}
