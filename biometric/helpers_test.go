package biometric_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

// exampleACL is the example app's ACL: window "main" may call both
// commands, "settings" only status.
func exampleACL(t testing.TB) *acl.Resolved {
	t.Helper()
	r, err := examples.Resolve(acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// plugin is the biometric plugin on a simulated device, behind the guard
// of the example app.
type plugin struct {
	sim *sim.Sim
	bio *biometric.Biometric
	ipc *ipc.Guarded
}

func newPlugin(t testing.TB, cfg sim.Config) *plugin {
	t.Helper()
	res := exampleACL(t)
	engine, err := policy.Compile(res)
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(cfg)
	b := biometric.New(s)
	r := ipc.NewRouter()
	if err := b.Register(r); err != nil {
		t.Fatal(err)
	}
	return &plugin{sim: s, bio: b, ipc: r.Guard(engine, ipc.WithScopes(res))}
}

// call invokes a command of the plugin from window main and returns what
// the JavaScript promise gets: the resolved JSON, or the rejection JSON.
func (p *plugin) call(ctx context.Context, command string, args string) (resolved bool, body string, err error) {
	out, err := p.ipc.Invoke(ctx, &ipc.Invocation{
		Command: "plugin:biometric|" + command,
		Window:  "main",
		Origin:  acl.LocalOrigin,
		Args:    json.RawMessage(args),
	})
	if err != nil {
		return false, string(ipc.RejectValue(err)), err
	}
	return true, string(out), nil
}
