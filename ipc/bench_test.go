package ipc_test

import (
	"context"
	"github.com/capguard/capguard/acl"
	"testing"

	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// BenchmarkGuardedInvoke measures one call through the guard (native
// engine) and the router to a handler that returns nil: allowed, denied
// with the release text, denied with the verbose explanation, and allowed
// with the handler decoding its scope.
func BenchmarkGuardedInvoke(b *testing.B) {
	res := resolveFiles(b)
	engine := compile(b, res)
	newGuarded := func(opts ...ipc.GuardOption) *ipc.Guarded {
		r := ipc.NewRouter()
		_ = r.HandlePlugin("files", "stat", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return nil, nil }))
		_ = r.HandlePlugin("files", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
			s, err := ipc.DecodeScope[pathEntry](inv)
			if err != nil || !s.Matches(func(e pathEntry) bool { return e.covers("/home/u/notes/todo") }) {
				b.Fatal("scope", err)
			}
			return nil, nil
		}))
		return r.Guard(engine, append(opts, ipc.WithScopes(res))...)
	}
	for _, bc := range []struct {
		name    string
		g       *ipc.Guarded
		inv     ipc.Invocation
		allowed bool
	}{
		{"allowed", newGuarded(), ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main", Webview: "main"}, true},
		{"denied", newGuarded(), ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "settings", Webview: "settings"}, false},
		{"denied-verbose", newGuarded(ipc.Verbose()), ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "settings", Webview: "settings"}, false},
		{"allowed-with-scope", newGuarded(), ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main", Webview: "main"}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				inv := bc.inv
				_, err := bc.g.Invoke(ctx, &inv)
				if (err == nil) != bc.allowed {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGuardVersioned compares a guard over the native engine with
// fixed scopes (WithScopes) and one over a policy.Store, whose decisions
// carry their version and its scopes (ipc.Versioned): allowed calls
// without and with a decoded scope, and calls made while another
// goroutine keeps swapping versions (each call's scopes then come from
// the version that decided it, with a cache per version).
func BenchmarkGuardVersioned(b *testing.B) {
	a, other := resolveFilesVersion(b, "a"), resolveFilesVersion(b, "b")
	router := func() *ipc.Router {
		r := ipc.NewRouter()
		_ = r.HandlePlugin("files", "stat", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return nil, nil }))
		_ = r.HandlePlugin("files", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
			s, err := ipc.DecodeScope[pathEntry](inv)
			if err != nil || len(s.Allow) == 0 {
				b.Fatal("scope", err)
			}
			return nil, nil
		}))
		return r
	}
	store, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: a}))
	if err != nil {
		b.Fatal(err)
	}
	engines := []struct {
		name string
		g    *ipc.Guarded
	}{
		{"native", router().Guard(compile(b, a), ipc.WithScopes(a))},
		{"store", router().Guard(store)},
	}
	for _, e := range engines {
		for _, c := range []struct{ name, command string }{{"allowed", "plugin:files|stat"}, {"allowed-with-scope", "plugin:files|read"}} {
			b.Run(e.name+"/"+c.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.g.Invoke(ctx, &ipc.Invocation{Origin: acl.LocalOrigin, Command: c.command, Window: "main", Webview: "main"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("store/allowed-with-scope-while-reloading", func(b *testing.B) {
		ctx := context.Background()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				next := a
				if i%2 == 0 {
					next = other
				}
				if _, err := store.Load(ctx, &policy.Input{Resolved: next}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := engines[1].g.Invoke(ctx, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main", Webview: "main"}); err != nil {
				b.Fatal(err)
			}
		}
		close(stop)
		<-done
	})
}
