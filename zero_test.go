package capguard_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/demo"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
)

// TestZeroInputsFailClosed walks the exported constructors and entry
// points of capguard, policy, ipc, audit and demo with zero and nil
// inputs: each must return an error (or an engine that denies), never
// panic. It is the test of issue 14's "LoadFS(nil, ...) panics".
func TestZeroInputsFailClosed(t *testing.T) {
	ctx := context.Background()
	shim := sim.New(sim.Ready())
	var nilCtx context.Context
	errOf := func(_ any, err error) error { return err }
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"capguard.New(nil, nil)", func() error { return errOf(capguard.New(nil, nil)) }},
		{"capguard.New(nil, shim)", func() error { return errOf(capguard.New(nil, shim)) }},
		{"capguard.New(&acl.Resolved{}, nil)", func() error { return errOf(capguard.New(&acl.Resolved{}, nil)) }},
		{"capguard.Load(\"\", 0, nil)", func() error { return errOf(capguard.Load("", 0, nil)) }},
		{"capguard.Load(\"\", linux, shim)", func() error { return errOf(capguard.Load("", acl.Linux, shim)) }},
		{"capguard.LoadFS(nil, \"\", 0, nil)", func() error { return errOf(capguard.LoadFS(nil, "", 0, nil)) }},
		{"capguard.LoadFS(nil, \"x\", linux, shim)", func() error { return errOf(capguard.LoadFS(nil, "x", acl.Linux, shim)) }},
		{"capguard.ReferenceEngine(nil).Decide", func() error {
			_, err := capguard.ReferenceEngine(nil).Decide(ctx, policy.Request{Command: "x", Window: "main", Origin: acl.LocalOrigin})
			return err
		}},
		{"(*capguard.App)(nil).Reload", func() error { return errOf((*capguard.App)(nil).Reload(ctx)) }},
		{"(*capguard.App)(nil).Watch", func() error { return errOf((*capguard.App)(nil).Watch(ctx)) }},
		{"(*capguard.App)(nil).Invoke", func() error { return errOf((*capguard.App)(nil).Invoke(ctx, nil)) }},
		{"policy.Compile(nil)", func() error { return errOf(policy.Compile(nil)) }},
		{"policy.CompileEngine(nil)", func() error { return errOf(policy.CompileEngine(ctx, nil)) }},
		{"policy.WithExtension(nil, nil, nil)", func() error { return errOf(policy.WithExtension(nil, nil, nil)) }},
		{"policy.NewStore(ctx, nil)", func() error { return errOf(policy.NewStore(ctx, nil)) }},
		{"policy.NewStore(nil, static)", func() error { return errOf(policy.NewStore(nilCtx, policy.Static(nil))) }},
		{"policy.NewStore(ctx, Static(nil))", func() error { return errOf(policy.NewStore(ctx, policy.Static(nil))) }},
		{"policy.NewStore(ctx, Static(&Input{}))", func() error { return errOf(policy.NewStore(ctx, policy.Static(&policy.Input{}))) }},
		{"policy.AppSource(\"\")", func() error { return errOf(policy.AppSource("", 0, nil)(ctx)) }},
		{"policy.AppSourceFS(nil)", func() error { return errOf(policy.AppSourceFS(nil, "", 0, nil)(ctx)) }},
		{"policy.Watch(ctx, \"\", nil)", func() error { return errOf(policy.Watch(ctx, "", nil)) }},
		{"policy.Watch(nil, dir, store)", func() error { return errOf(policy.Watch(nilCtx, t.TempDir(), &policy.Store{})) }},
		{"policy.SameScopes(nil, nil)", func() error { return policy.SameScopes(nil, nil) }},
		{"(*policy.Store)(nil).Reload", func() error { return errOf((*policy.Store)(nil).Reload(ctx)) }},
		{"(&policy.Store{}).Reload", func() error { return errOf((&policy.Store{}).Reload(ctx)) }},
		{"(&policy.Store{}).Decide", func() error { return errOf((&policy.Store{}).Decide(ctx, policy.Request{})) }},
		{"(&policy.Store{}).Load(nil)", func() error { return errOf((&policy.Store{}).Load(ctx, nil)) }},
		{"(&policy.Native{}).Decide denies", func() error {
			d, err := (&policy.Native{}).Decide(ctx, policy.Request{Command: "x", Window: "main", Origin: acl.LocalOrigin})
			if err == nil && !d.Allowed {
				err = fmt.Errorf("denied: %s", d.Reason)
			}
			return err
		}},
		{"rego.New(ctx, nil)", func() error { return errOf(rego.New(ctx, nil)) }},
		{"rego.New(nil, nil)", func() error { return errOf(rego.New(nilCtx, nil)) }},
		{"rego.LoadModules(\"\")", func() error { return errOf(rego.LoadModules("")) }},
		{"ipc.NewBridge(nil, zero)", func() error { return errOf(ipc.NewBridge(nil, ipc.BridgeConfig{})) }},
		{"ipc.NewBridge(guarded, zero)", func() error {
			return errOf(ipc.NewBridge(ipc.NewRouter().Guard(nil), ipc.BridgeConfig{}))
		}},
		{"(*ipc.Router)(nil).Guard(nil).Invoke", func() error {
			return errOf((*ipc.Router)(nil).Guard(nil).Invoke(ctx, &ipc.Invocation{Command: "x", Window: "main", Origin: acl.LocalOrigin}))
		}},
		{"(&ipc.Router{}).Guard(nil).Invoke(nil)", func() error { return errOf((&ipc.Router{}).Guard(nil).Invoke(ctx, nil)) }},
		{"(*ipc.Guarded)(nil).Invoke", func() error { return errOf((*ipc.Guarded)(nil).Invoke(ctx, &ipc.Invocation{})) }},
		{"(&ipc.Guarded{}).Invoke", func() error { return errOf((&ipc.Guarded{}).Invoke(ctx, &ipc.Invocation{})) }},
		{"ipc.Guard(nil)(nil).ServeIPC", func() error {
			return errOf(ipc.Guard(nil)(nil).ServeIPC(ctx, &ipc.Invocation{Command: "x", Window: "main", Origin: acl.LocalOrigin}))
		}},
		{"ipc.Guard(allowAll)(nil).ServeIPC", func() error {
			return errOf(ipc.Guard(allowAll{})(nil).ServeIPC(ctx, &ipc.Invocation{Command: "x", Window: "main", Origin: acl.LocalOrigin}))
		}},
		{"(&ipc.Router{}).Handle(\"\", nil)", func() error { return (&ipc.Router{}).Handle("", nil) }},
		{"(*ipc.Bridge)(nil).Bind", func() error { return errOf((*ipc.Bridge)(nil).Bind(ipc.Binding{})) }},
		{"(&ipc.Bridge{}).Bind", func() error {
			return errOf((&ipc.Bridge{}).Bind(ipc.Binding{Window: "main", Origin: "http://127.0.0.1:1"}))
		}},
		{"ipc.DecodeScope(nil)", func() error { return errOf(ipc.DecodeScope[any](nil)) }},
		{"audit.New(nil).Close", func() error { return audit.New(nil).Close() }},
		{"audit.NewJSONLines(nil).Write", func() error { return audit.NewJSONLines(nil).Write(&audit.Entry{}) }},
		{"audit.OpenFile(\"\")", func() error { return errOf(audit.OpenFile("")) }},
		{"(*audit.Log)(nil).Flush", func() error { return (*audit.Log)(nil).Flush() }},
		{"demo.Start(zero)", func() error { return errOf(demo.Start(demo.Config{})) }},
		{"demo.Start(&acl.Resolved{})", func() error { return errOf(demo.Start(demo.Config{Resolved: &acl.Resolved{}, Windows: []string{""}})) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panicked: %v", p)
						t.Errorf("%s panicked: %v", tc.name, p)
					}
				}()
				err = tc.call()
			}()
			if err == nil {
				t.Errorf("%s returned no error", tc.name)
			}
		})
	}
}

type allowAll struct{}

func (allowAll) Decide(context.Context, policy.Request) (policy.Decision, error) {
	return policy.Decision{Allowed: true}, nil
}
