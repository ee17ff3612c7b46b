package capguard_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
)

// TestWithAuditRecordsSecretAccess is issue 25's item 3 at the app:
// WithAudit records every secure-storage call as a kept entry
// (capguard/secret) naming the record, the caller, the outcome and the
// device's binding, never the data. (Before, secret access reached only a
// WithSecretObserver callback, and the audit log had no such entry.)
func TestWithAuditRecordsSecretAccess(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	var secrets []audit.Entry
	log := audit.New(audit.SinkFunc(func(e *audit.Entry) error {
		b, err := json.Marshal(e)
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, string(b))
		if e.Path == audit.PathSecret {
			secrets = append(secrets, *e)
		}
		return err
	}))
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()), capguard.WithAudit(log))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "correct horse battery staple"
	for _, c := range []struct{ cmd, args string }{
		{"plugin:biometry|set_data", `{"options":{"domain":"app.capguard.vault","name":"pin","data":"` + secret + `"}}`},
		{"plugin:biometry|get_data", `{"options":{"domain":"app.capguard.vault","name":"pin","reason":"Read your PIN"}}`},
		{"plugin:biometry|get_data", `{"options":{"domain":"app.capguard.vault","name":"recovery-code","reason":"x"}}`},
	} {
		_, _ = app.Invoke(context.Background(), &ipc.Invocation{Command: c.cmd, Window: "main", Origin: acl.LocalOrigin, Args: json.RawMessage(c.args)})
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(secrets) != 3 {
		t.Fatalf("%d secret entries, want 3: %v", len(secrets), lines)
	}
	for i, want := range []audit.Secret{
		{Op: "set_data", Domain: "app.capguard.vault", Name: "pin", Binding: "key"},
		{Op: "get_data", Domain: "app.capguard.vault", Name: "pin", Binding: "key"},
		{Op: "get_data", Domain: "app.capguard.vault", Name: "recovery-code", Code: "scopeDenied", Binding: "key"},
	} {
		got := *secrets[i].Secret
		if got.Message != "" && want.Code != "" {
			got.Message = ""
		}
		if got != want || secrets[i].Input.Window != "main" || !secrets[i].Input.Origin.Local || secrets[i].Result.Allowed != (want.Code == "") || secrets[i].Class() != audit.ClassKept {
			t.Errorf("secret entry %d: %+v %+v, want %+v", i, secrets[i].Input, got, want)
		}
	}
	if all := strings.Join(lines, "\n"); strings.Contains(all, secret) {
		t.Errorf("the audit log holds the secret's data")
	}
}
