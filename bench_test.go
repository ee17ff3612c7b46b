package capguard_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
)

// BenchmarkInvoke measures whole calls through the guard and the plugin
// on the simulator (no latency), with the compiled native engine (the
// default) and with the reference engine (acl.Resolved.Decide), in the
// same run: an allowed status, a denied status (remote page), an allowed
// authenticate, and a denied authenticate.
func BenchmarkInvoke(b *testing.B) {
	res := resolve(b, guardCapabilities, kioskCapability)
	engines := []struct {
		name string
		opts []capguard.Option
	}{
		{"native", nil},
		{"reference", []capguard.Option{capguard.WithEngine(capguard.ReferenceEngine(res))}},
	}
	calls := []struct {
		name    string
		inv     ipc.Invocation
		allowed bool
	}{
		{"status-allowed", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|status", Window: "main", Webview: "main"}, true},
		{"status-denied", ipc.Invocation{Command: "plugin:biometric|status", Window: "main", Webview: "main", Origin: evilPage}, false},
		{"authenticate-denied", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|authenticate", Window: "main", Webview: "main", Args: json.RawMessage(`{"reason":"r"}`)}, false},
		{"status-remote-allowed", ipc.Invocation{Command: "plugin:biometric|status", Window: "main", Webview: "main", Origin: vaultPage}, true},
	}
	for _, e := range engines {
		for _, c := range calls {
			b.Run(e.name+"/"+c.name, func(b *testing.B) {
				app, err := capguard.New(res, sim.New(sim.Ready()), e.opts...)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					inv := c.inv
					_, err := app.Invoke(ctx, &inv)
					if (err == nil) != c.allowed {
						b.Fatal(err)
					}
				}
			})
		}
	}
	// A full authentication, including the argument decoding and the
	// device's status check (the simulator logs every call, so a fresh one
	// per 10,000 calls keeps the log small).
	resAuth := resolve(b, guardCapabilities)
	for _, e := range []struct {
		name string
		opts []capguard.Option
	}{{"native", nil}, {"reference", []capguard.Option{capguard.WithEngine(capguard.ReferenceEngine(resAuth))}}} {
		b.Run(e.name+"/authenticate-allowed", func(b *testing.B) {
			var app *capguard.App
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i%10000 == 0 {
					b.StopTimer()
					var err error
					if app, err = capguard.New(resAuth, sim.New(sim.Ready()), e.opts...); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				i++
				inv := ipc.Invocation{Command: "plugin:biometric|authenticate", Window: "main", Webview: "main", Origin: acl.LocalOrigin, Args: json.RawMessage(`{"reason":"Unlock"}`)}
				if _, err := app.Invoke(ctx, &inv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
