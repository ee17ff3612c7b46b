package ipc_test

import (
	"context"
	"testing"

	"github.com/capguard/capguard/ipc"
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
		{"allowed", newGuarded(), ipc.Invocation{Command: "plugin:files|stat", Window: "main", Webview: "main"}, true},
		{"denied", newGuarded(), ipc.Invocation{Command: "plugin:files|stat", Window: "settings", Webview: "settings"}, false},
		{"denied-verbose", newGuarded(ipc.Verbose()), ipc.Invocation{Command: "plugin:files|stat", Window: "settings", Webview: "settings"}, false},
		{"allowed-with-scope", newGuarded(), ipc.Invocation{Command: "plugin:files|read", Window: "main", Webview: "main"}, true},
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
