package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// resolveFilesVersion resolves the files fixture with the capability of
// window main renamed "main-<tag>" and its read scope moved to
// /home/u/<tag>/*: two tags give two versions whose decisions name their
// own capability, and whose scope ids are the same numbers with other
// values behind them (the case a guard with fixed scopes gets wrong).
func resolveFilesVersion(t testing.TB, tag string) *acl.Resolved {
	t.Helper()
	caps := strings.NewReplacer(
		`"identifier": "main",`, `"identifier": "main-`+tag+`",`,
		`/home/u/notes/*`, `/home/u/`+tag+`/*`,
	).Replace(filesCapabilities)
	pf, err := acl.ParsePermissionFile("files/permissions/default.toml", []byte(filesPermissions))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := acl.ParseCapabilityFile("capabilities/files.json", []byte(caps))
	if err != nil {
		t.Fatal(err)
	}
	set := acl.CapabilitySet{}
	if err := set.Add(parsed...); err != nil {
		t.Fatal(err)
	}
	r, err := acl.Resolve(acl.Manifests{"files": acl.NewManifest([]*acl.PermissionFile{pf}, nil)}, set, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// granted is what the read handler saw: the capability that allowed the
// call and the first allow entry of its scope.
type granted struct {
	Capability string `json:"capability"`
	Allow      string `json:"allow"`
}

// scopeReader registers a read handler that reports what it was granted.
func scopeReader(t testing.TB) *ipc.Router {
	t.Helper()
	r := ipc.NewRouter()
	err := r.HandlePlugin("files", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
		s, err := ipc.DecodeScope[pathEntry](inv)
		if err != nil {
			return nil, err
		}
		refs := inv.Access.Decision.References
		if len(refs) == 0 || len(s.Allow) == 0 {
			return nil, fmt.Errorf("references %v, scope %+v", refs, s)
		}
		return granted{refs[0].Capability, s.Allow[0].Path}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readAs calls read from window main through g and returns what the
// handler was granted.
func readAs(t testing.TB, g *ipc.Guarded) (granted, error) {
	var got granted
	out, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main"})
	if err == nil {
		err = json.Unmarshal(out, &got)
	}
	return got, err
}

// TestGuardScopesFollowReload: with a policy.Store as the engine, a
// reload that changes a command's scope is served with the new scope, and
// the observer learns which version decided.
func TestGuardScopesFollowReload(t *testing.T) {
	a, b := resolveFilesVersion(t, "a"), resolveFilesVersion(t, "b")
	if len(a.CommandScopes) == 0 || fmt.Sprint(keys(a.CommandScopes)) != fmt.Sprint(keys(b.CommandScopes)) {
		t.Fatalf("the fixture's versions should share scope ids: %v and %v", keys(a.CommandScopes), keys(b.CommandScopes))
	}
	for _, tc := range []struct {
		name string
		opts []ipc.GuardOption
	}{
		{"without WithScopes", nil},
		// WithScopes names a fixed ACL; a versioned engine's own version
		// wins.
		{"WithScopes of the first version is not used", []ipc.GuardOption{ipc.WithScopes(a)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store, err := policy.NewStore(ctx, policy.Static(&policy.Input{Resolved: a}))
			if err != nil {
				t.Fatal(err)
			}
			var versions []uint64
			opts := append([]ipc.GuardOption{ipc.WithObserver(func(ev ipc.DecisionEvent) {
				if ev.Version == nil {
					versions = append(versions, 0)
					return
				}
				versions = append(versions, ev.Version.Seq)
			})}, tc.opts...)
			g := scopeReader(t).Guard(store, opts...)
			for i, step := range []struct {
				load *acl.Resolved
				want granted
			}{
				{nil, granted{"main-a", "/home/u/a/*"}},
				{b, granted{"main-b", "/home/u/b/*"}},
				{a, granted{"main-a", "/home/u/a/*"}},
			} {
				if step.load != nil {
					if _, err := store.Load(ctx, &policy.Input{Resolved: step.load}); err != nil {
						t.Fatal(err)
					}
				}
				got, err := readAs(t, g)
				if err != nil || got != step.want {
					t.Fatalf("call %d: got %+v, %v; want %+v", i, got, err, step.want)
				}
			}
			if fmt.Sprint(versions) != "[1 2 3]" {
				t.Errorf("the observer saw versions %v, want [1 2 3]", versions)
			}
		})
	}
}

func keys[V any](m map[uint64]V) []uint64 {
	return slices.Sorted(maps.Keys(m))
}

// TestGuardScopesNeverTorn: 8 goroutines call read while the store flips
// between two versions 1,000 times; every call is allowed, and every
// handler sees the scope of the version whose capability allowed it,
// never the other's.
func TestGuardScopesNeverTorn(t *testing.T) {
	a, b := resolveFilesVersion(t, "a"), resolveFilesVersion(t, "b")
	ctx := context.Background()
	store, err := policy.NewStore(ctx, policy.Static(&policy.Input{Resolved: a}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"main-a": "/home/u/a/*", "main-b": "/home/u/b/*"}
	var torn, failed atomic.Int64
	var seen sync.Map // capability → true
	r := ipc.NewRouter()
	if err := r.HandlePlugin("files", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
		s, err := ipc.DecodeScope[pathEntry](inv)
		if err != nil {
			return nil, err
		}
		// Decode twice, as a second type: the cache must not mix
		// versions either.
		m, err := ipc.DecodeScope[map[string]string](inv)
		if err != nil {
			return nil, err
		}
		c := inv.Access.Decision.References[0].Capability
		seen.Store(c, true)
		if s.Allow[0].Path != want[c] || m.Allow[0]["path"] != want[c] {
			torn.Add(1)
			return nil, fmt.Errorf("decided by %s, scope %s / %s", c, s.Allow[0].Path, m.Allow[0]["path"])
		}
		return nil, nil
	})); err != nil {
		t.Fatal(err)
	}
	g := r.Guard(store)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := g.Invoke(ctx, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main"}); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	for i := 0; i < 1000; i++ {
		next := b
		if i%2 == 1 {
			next = a
		}
		if _, err := store.Load(ctx, &policy.Input{Resolved: next}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 || torn.Load() != 0 {
		t.Fatalf("%d calls failed (%d with the scopes of another version); first: %v", n, torn.Load(), firstErr.Load())
	}
	for _, c := range []string{"main-a", "main-b"} {
		if _, ok := seen.Load(c); !ok {
			t.Errorf("no call was decided by %s: the versions did not interleave with the calls", c)
		}
	}
	if v := store.Current(); v.Seq != 1001 {
		t.Errorf("store at version %d after 1,000 loads", v.Seq)
	}
}

// TestGuardVersionedEngineFailsClosed: a versioned engine that reports
// no version gives its calls no scopes (DecodeScope fails) rather than
// another ACL's.
func TestGuardVersionedEngineFailsClosed(t *testing.T) {
	res := resolveFilesVersion(t, "a")
	g := scopeReader(t).Guard(noVersion{compile(t, res)}, ipc.WithScopes(res))
	_, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main"})
	if !errors.Is(err, ipc.ErrScope) {
		t.Fatalf("got %v, want ErrScope", err)
	}
}

// noVersion is a versioned engine that does not say which version
// decided.
type noVersion struct{ policy.Engine }

func (e noVersion) DecideVersion(ctx context.Context, req policy.Request) (policy.Decision, *policy.Version, error) {
	d, err := e.Decide(ctx, req)
	return d, nil, err
}
