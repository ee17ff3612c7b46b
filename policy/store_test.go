package policy_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// exampleManifests are the example app's manifests (the biometric plugin
// and the app's open_vault permissions).
func exampleManifests(t testing.TB) acl.Manifests {
	t.Helper()
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return app.Manifests
}

// version is one state of an app's capability files: capability files and
// capguard.json, by name.
type version struct {
	caps map[string]string
	ext  string
}

// Two versions whose answers differ for most calls: which window may call
// what, through which capability, with which obligations.
var (
	versionA = version{
		caps: map[string]string{
			"capabilities/main.json":     `{"identifier":"main-window","windows":["main"],"permissions":["biometric:default","allow-open-vault"]}`,
			"capabilities/settings.json": `{"identifier":"settings-window","windows":["settings"],"permissions":["biometric:allow-status"]}`,
		},
		ext: `{"obligations":[{"commands":["open_vault"],"type":"biometric","max_age_s":300,"reason":"A: unlock"}]}`,
	}
	versionB = version{
		caps: map[string]string{
			"capabilities/main.json":     `{"identifier":"main-b","windows":["main"],"permissions":["biometric:allow-status"]}`,
			"capabilities/settings.json": `{"identifier":"settings-b","windows":["settings", "pref*"],"remote":{"urls":["https://*.example.com/*"]},"permissions":["biometric:default","allow-open-vault"]}`,
		},
		ext: `{"obligations":[{"commands":["plugin:biometric|*"],"windows":["settings"],"type":"biometric","reason":"B: confirm"}]}`,
	}
)

// input resolves a version against the manifests, as a Source does on
// every reload.
func (v version) input(t testing.TB, ms acl.Manifests) (*policy.Input, error) {
	set := acl.CapabilitySet{}
	for name, text := range v.caps {
		caps, err := acl.ParseCapabilityFile(name, []byte(text))
		if err != nil {
			return nil, err
		}
		if err := set.Add(caps...); err != nil {
			return nil, err
		}
	}
	r, err := acl.Resolve(ms, set, acl.Linux)
	if err != nil {
		return nil, err
	}
	in := &policy.Input{Resolved: r}
	if v.ext != "" {
		if in.Extension, err = acl.ParseExtension("capguard.json", []byte(v.ext)); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func mustInput(t testing.TB, v version, ms acl.Manifests) *policy.Input {
	t.Helper()
	in, err := v.input(t, ms)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// storeRequests are calls from every window, webview and origin the two
// versions tell apart.
func storeRequests() []policy.Request {
	var out []policy.Request
	for _, cmd := range []string{"plugin:biometric|status", "plugin:biometric|authenticate", "open_vault", "plugin:fs|read"} {
		for _, w := range []string{"main", "settings", "preferences", "other"} {
			for _, o := range []acl.Origin{acl.LocalOrigin, acl.MustOrigin("https://app.example.com/x")} {
				out = append(out, policy.Request{Command: cmd, Window: w, Webview: w, Origin: o})
			}
		}
	}
	return out
}

var decisionEq = cmp.Options{cmpopts.EquateEmpty()}

// answers decides every request with an engine built from in alone.
func answers(t testing.TB, in *policy.Input, reqs []policy.Request) []policy.Decision {
	t.Helper()
	s, err := policy.NewStore(context.Background(), policy.Static(in))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]policy.Decision, len(reqs))
	for i, req := range reqs {
		if out[i], err = s.Decide(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestStoreFlipsAtomically is the issue's test: 8 goroutines decide
// continuously while the capabilities flip between two versions 1,000
// times; every decision equals the answer of one of the two versions,
// never a mixture, and no decision fails.
func TestStoreFlipsAtomically(t *testing.T) {
	ms := exampleManifests(t)
	reqs := storeRequests()
	wantA := answers(t, mustInput(t, versionA, ms), reqs)
	wantB := answers(t, mustInput(t, versionB, ms), reqs)
	differ := 0
	for i := range reqs {
		if !cmp.Equal(wantA[i], wantB[i], decisionEq) {
			differ++
		}
	}
	if differ < len(reqs)/4 {
		t.Fatalf("the versions differ on %d of %d calls: too few to tell them apart", differ, len(reqs))
	}

	// The source resolves the next version on every reload, alternating
	// between the two sets of (already parsed) files.
	parsed := [2]*policy.Input{mustInput(t, versionA, ms), mustInput(t, versionB, ms)}
	var flips atomic.Int64
	src := func(ctx context.Context) (*policy.Input, error) {
		in := parsed[(flips.Add(1)+1)%2]
		caps := acl.CapabilitySet{}
		if err := caps.Add(in.Resolved.Capabilities...); err != nil {
			return nil, err
		}
		r, err := acl.Resolve(ms, caps, acl.Linux)
		if err != nil {
			return nil, err
		}
		return &policy.Input{Resolved: r, Extension: in.Extension}, nil
	}
	store, err := policy.NewStore(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}

	const deciders, reloads = 8, 1000
	var (
		decided  atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		seenA    atomic.Int64
		seenB    atomic.Int64
		failures = make(chan string, deciders)
	)
	for g := range deciders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := i % len(reqs)
				d, err := store.Decide(ctx, reqs[k])
				if err != nil {
					failures <- fmt.Sprintf("%+v: %v", reqs[k], err)
					return
				}
				a, b := cmp.Equal(d, wantA[k], decisionEq), cmp.Equal(d, wantB[k], decisionEq)
				switch {
				case !a && !b:
					failures <- fmt.Sprintf("%+v: %+v is the answer of neither version\nA: %+v\nB: %+v", reqs[k], d, wantA[k], wantB[k])
					return
				case a && !b:
					seenA.Add(1)
				case b && !a:
					seenB.Add(1)
				}
				decided.Add(1)
				runtime.Gosched() // let the reloading goroutine run often
			}
		}()
	}
	for i := 0; i < reloads; i++ {
		v, err := store.Reload(context.Background())
		if err != nil {
			t.Errorf("reload %d: %v", i, err)
			break
		}
		if v.Seq != uint64(i+2) {
			t.Errorf("reload %d: version %d", i, v.Seq)
		}
		// Let the deciders see this version before the next flip.
		for target := decided.Load() + deciders; decided.Load() < target && len(failures) == 0; {
			runtime.Gosched()
		}
		if len(failures) > 0 {
			break
		}
	}
	close(stop)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	t.Logf("%d decisions: %d only version A could give, %d only version B", decided.Load(), seenA.Load(), seenB.Load())
	if seenA.Load() == 0 || seenB.Load() == 0 {
		t.Errorf("the deciders saw version A %d times and B %d times; both should show", seenA.Load(), seenB.Load())
	}
}

// TestStoreFailedReloadKeepsVersion: a bad capability file or
// capguard.json keeps the current version and reports why, with the
// file's position.
func TestStoreFailedReloadKeepsVersion(t *testing.T) {
	ms := exampleManifests(t)
	bad := map[string]version{
		"unknown permission": {caps: map[string]string{"capabilities/main.json": "{\n  \"identifier\": \"main-window\",\n  \"windows\": [\"main\"],\n  \"permissions\": [\"biometric:allow-authenticat\"]\n}"}},
		"syntax error":       {caps: map[string]string{"capabilities/main.json": "{\n  \"identifier\": \"main-window\",\n  \"windows\": [\"main\"]\n  \"permissions\": []\n}"}},
		"unknown command in capguard.json": {caps: versionA.caps,
			ext: "{\"obligations\": [\n  {\"commands\": [\"open_valt\"], \"type\": \"biometric\"}\n]}"},
		"unknown key in capguard.json": {caps: versionA.caps,
			ext: "{\"obligations\": [\n  {\"commands\": [\"open_vault\"], \"type\": \"biometric\", \"max_age\": 60}\n]}"},
	}
	for _, tc := range []struct {
		name string
		want []string // substrings of the error
		is   error
	}{
		{"unknown permission", []string{"capabilities/main.json:4:", `"biometric:allow-authenticate"`, "keeping version 1"}, acl.ErrUnknownPermission},
		{"syntax error", []string{"capabilities/main.json:4:3", "keeping version 1"}, acl.ErrSyntax},
		{"unknown command in capguard.json", []string{"capguard.json:2:17", `"open_valt"`, `did you mean "open_vault"?`}, acl.ErrInvalid},
		{"unknown key in capguard.json", []string{"capguard.json:2:53", `unknown field "max_age"`, `did you mean "max_age_s"?`}, acl.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := bad[tc.name]
			var calls atomic.Int64
			store, err := policy.NewStore(context.Background(), func(context.Context) (*policy.Input, error) {
				if calls.Add(1) == 1 {
					return versionA.input(t, ms)
				}
				return next.input(t, ms)
			})
			if err != nil {
				t.Fatal(err)
			}
			reqs := storeRequests()
			before := answers(t, mustInput(t, versionA, ms), reqs)
			v, err := store.Reload(context.Background())
			if v != nil || !errors.Is(err, policy.ErrReload) || !errors.Is(err, tc.is) {
				t.Fatalf("reload: %v, %v", v, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !errors.Is(store.LastError(), tc.is) {
				t.Errorf("LastError = %v", store.LastError())
			}
			if store.Current().Seq != 1 {
				t.Errorf("version %d after a failed reload", store.Current().Seq)
			}
			for i, req := range reqs {
				d, err := store.Decide(context.Background(), req)
				if err != nil || !cmp.Equal(d, before[i], decisionEq) {
					t.Errorf("%+v: %+v, %v; want the old answer %+v", req, d, err, before[i])
				}
			}
			// A good version afterwards clears the error.
			if _, err := store.Load(context.Background(), mustInput(t, versionB, ms)); err != nil {
				t.Fatal(err)
			}
			if store.LastError() != nil || store.Current().Seq != 2 {
				t.Errorf("after a good load: %v, version %d", store.LastError(), store.Current().Seq)
			}
		})
	}
}

func TestStoreSourceAndBuilderFailures(t *testing.T) {
	ms := exampleManifests(t)
	good := mustInput(t, versionA, ms)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name  string
		src   policy.Source
		build policy.Builder
		want  string
	}{
		{"source error", func(context.Context) (*policy.Input, error) { return nil, boom }, nil, "boom"},
		{"source panics", func(context.Context) (*policy.Input, error) { panic("oops") }, nil, "source panicked: oops"},
		{"no resolved ACL", func(context.Context) (*policy.Input, error) { return &policy.Input{}, nil }, nil, "no resolved ACL"},
		{"builder error", policy.Static(good), func(context.Context, *acl.Resolved) (policy.Engine, error) { return nil, boom }, "boom"},
		{"builder returns nothing", policy.Static(good), func(context.Context, *acl.Resolved) (policy.Engine, error) { return nil, nil }, "no engine"},
		{"builder panics", policy.Static(good), func(context.Context, *acl.Resolved) (policy.Engine, error) { panic("oops") }, "builder panicked: oops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// As the first version: NewStore fails.
			if _, err := policy.NewStore(context.Background(), tc.src, policy.WithBuilder(tc.build)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewStore: %v, want %q", err, tc.want)
			}
			// As a later version: the store keeps the first one.
			first := true
			src := func(ctx context.Context) (*policy.Input, error) {
				if first {
					first = false
					return good, nil
				}
				return tc.src(ctx)
			}
			build := tc.build
			built := 0
			if build != nil {
				inner := build
				build = func(ctx context.Context, r *acl.Resolved) (policy.Engine, error) {
					built++
					if built == 1 {
						return policy.CompileEngine(ctx, r)
					}
					return inner(ctx, r)
				}
			}
			s, err := policy.NewStore(context.Background(), src, policy.WithBuilder(build))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Reload(context.Background()); !errors.Is(err, policy.ErrReload) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Reload: %v, want %q", err, tc.want)
			}
			d, err := s.Decide(context.Background(), policy.Request{Command: "open_vault", Window: "main", Webview: "main"})
			if err != nil || !d.Allowed {
				t.Errorf("after the failed reload: %+v, %v", d, err)
			}
		})
	}
	if _, err := policy.NewStore(context.Background(), nil); !errors.Is(err, acl.ErrInvalid) {
		t.Errorf("nil source: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := policy.NewStore(ctx, policy.Static(good)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	var nilStore *policy.Store
	if _, err := nilStore.Decide(context.Background(), policy.Request{}); !errors.Is(err, policy.ErrNilEngine) {
		t.Errorf("nil store: %v", err)
	}
	if _, err := nilStore.Reload(context.Background()); !errors.Is(err, policy.ErrNilEngine) {
		t.Errorf("nil store reload: %v", err)
	}
}

func TestStoreVersions(t *testing.T) {
	ms := exampleManifests(t)
	a, b := mustInput(t, versionA, ms), mustInput(t, versionB, ms)
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	s, err := policy.NewStore(context.Background(), policy.Static(a), policy.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	v1 := s.Current()
	if v1.Seq != 1 || v1.Resolved != a.Resolved || v1.Extension != a.Extension || s.Resolved() != a.Resolved {
		t.Fatalf("first version %+v", v1)
	}
	v2, err := s.Load(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Seq != 2 || !v2.Loaded.Equal(at) || s.Current() != v2 || s.Resolved() != b.Resolved {
		t.Fatalf("second version %+v", v2)
	}
	req := policy.Request{Command: "open_vault", Window: "settings", Webview: "settings"}
	d, v, err := s.DecideVersion(context.Background(), req)
	if err != nil || v != v2 || !d.Allowed {
		t.Errorf("DecideVersion: %+v, version %d, %v", d, v.Seq, err)
	}
	if got := s.Explain(policy.Request{Command: "open_vault", Window: "main", Webview: "main"}); !strings.Contains(got, "not allowed") {
		t.Errorf("Explain: %q", got)
	}
	if _, err := s.Load(context.Background(), nil); !errors.Is(err, policy.ErrReload) {
		t.Errorf("Load(nil): %v", err)
	}
}

// scoped is a manifest with a scoped permission, to test PinScopes.
func scopedACL(t testing.TB, allow string) *acl.Resolved {
	t.Helper()
	ms := acl.Manifests{"fs": {
		Permissions: map[string]*acl.Permission{
			"allow-read": {Identifier: "allow-read", Commands: acl.Commands{Allow: []string{"read"}}},
			"docs":       {Identifier: "docs", Scope: acl.Scopes{Allow: []acl.Value{acl.String("$DOCS/*")}}},
		},
		Sets: map[string]*acl.PermissionSet{},
	}}
	caps, err := acl.ParseCapabilityFile("main.json", []byte(`{"identifier":"main","windows":["main"],"permissions":[{"identifier":"fs:allow-read","allow":["`+allow+`"]},"fs:docs"]}`))
	if err != nil {
		t.Fatal(err)
	}
	set := acl.CapabilitySet{}
	_ = set.Add(caps...)
	r, err := acl.Resolve(ms, set, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStorePinScopes(t *testing.T) {
	pinned := scopedACL(t, "$HOME/notes/*")
	s, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: pinned}), policy.PinScopes(pinned))
	if err != nil {
		t.Fatal(err)
	}
	same := scopedACL(t, "$HOME/notes/*")
	if _, err := s.Load(context.Background(), &policy.Input{Resolved: same}); err != nil {
		t.Errorf("same scopes refused: %v", err)
	}
	wider := scopedACL(t, "$HOME/*")
	if _, err := s.Load(context.Background(), &policy.Input{Resolved: wider}); !errors.Is(err, policy.ErrReload) || !strings.Contains(err.Error(), "command scope #1 changed") {
		t.Errorf("changed scope: %v", err)
	}
	if s.Current().Resolved != same {
		t.Error("the refused version was swapped in")
	}
	if err := policy.SameScopes(pinned, unitACL(t)); err == nil {
		t.Error("a different global scope passed")
	}
}

func TestStoreZeroAllocs(t *testing.T) {
	ms := exampleManifests(t)
	for _, tc := range []struct {
		name string
		v    version
	}{
		{"native", version{caps: versionA.caps}},
		{"native with capguard.json", versionA},
		{"native with capguard.json, window rules", versionB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := policy.NewStore(context.Background(), policy.Static(mustInput(t, tc.v, ms)))
			if err != nil {
				t.Fatal(err)
			}
			var reqs []policy.Request
			for _, r := range storeRequests() {
				if r.Origin.IsLocal() {
					reqs = append(reqs, r)
				}
			}
			ctx := context.Background()
			obligations := 0
			for _, r := range reqs {
				d, _ := s.Decide(ctx, r)
				obligations += len(d.Obligations)
			}
			if tc.v.ext != "" && obligations == 0 {
				t.Fatal("no request gets an obligation")
			}
			if a := testing.AllocsPerRun(20, func() {
				for _, r := range reqs {
					sink, _ = s.Decide(ctx, r)
				}
			}); a != 0 {
				t.Errorf("%v allocations per round of %d decisions", a, len(reqs))
			}
		})
	}
}

// ExampleStore swaps the capabilities of a running app: decisions in
// flight finish with the version they started with, later ones see the
// new one, and a broken version is refused.
func ExampleStore() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		panic(err)
	}
	capabilities := []string{
		`{"identifier":"main-window","windows":["main"],"permissions":["biometric:default"]}`,
		`{"identifier":"main-window","windows":["main"],"permissions":["biometric:default","allow-open-vault"]}`,
		`{"identifier":"main-window","windows":["main"],"permissions":["allow-open-vaul"]}`,
	}
	next := 0
	source := func(ctx context.Context) (*policy.Input, error) {
		caps, err := acl.ParseCapabilityFile("capabilities/main.json", []byte(capabilities[next]))
		next++
		if err != nil {
			return nil, err
		}
		set := acl.CapabilitySet{}
		if err := set.Add(caps...); err != nil {
			return nil, err
		}
		r, err := acl.Resolve(app.Manifests, set, acl.Linux)
		if err != nil {
			return nil, err
		}
		return &policy.Input{Resolved: r}, nil
	}
	store, err := policy.NewStore(context.Background(), source)
	if err != nil {
		panic(err)
	}
	openVault := policy.Request{Command: "open_vault", Window: "main", Webview: "main"}
	for range 2 {
		d, _ := store.Decide(context.Background(), openVault)
		fmt.Printf("version %d: open_vault allowed: %v\n", store.Current().Seq, d.Allowed)
		if _, err := store.Reload(context.Background()); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// version 1: open_vault allowed: false
	// version 2: open_vault allowed: true
	// reload failed, keeping version 2: capabilities/main.json:1:63: capability "main-window", permission 0: unknown permission "allow-open-vaul" for app manifest; did you mean "allow-open-vault" or "deny-open-vault"?
}

// BenchmarkStoreDecide compares deciding with the native engine alone,
// with capguard.json's obligations added, and through a Store (one atomic
// load more), for a call that gets an obligation.
func BenchmarkStoreDecide(b *testing.B) {
	ms := exampleManifests(b)
	in := mustInput(b, versionA, ms)
	native, err := policy.Compile(in.Resolved)
	if err != nil {
		b.Fatal(err)
	}
	extended, err := policy.WithExtension(native, in.Resolved, in.Extension)
	if err != nil {
		b.Fatal(err)
	}
	plain, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: in.Resolved}))
	if err != nil {
		b.Fatal(err)
	}
	full, err := policy.NewStore(context.Background(), policy.Static(in))
	if err != nil {
		b.Fatal(err)
	}
	req := policy.Request{Command: "open_vault", Window: "main", Webview: "main"}
	for _, e := range []struct {
		name   string
		engine policy.Engine
	}{{"native", native}, {"native+capguard.json", extended}, {"store(native)", plain}, {"store(native+capguard.json)", full}} {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = e.engine.Decide(ctx, req)
			}
		})
	}
}

// BenchmarkStoreReload measures a reload of the example app from disk:
// reading, resolving, compiling and swapping.
func BenchmarkStoreReload(b *testing.B) {
	ms := exampleManifests(b)
	for _, tc := range []struct {
		name string
		src  policy.Source
	}{
		{"resolved", policy.Static(mustInput(b, versionA, ms))},
		{"example app files", policy.AppSourceFS(examples.App(), examples.AppDir, acl.Linux, nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := policy.NewStore(context.Background(), tc.src)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Reload(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
