package capguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestReloadThatDropsStepUpIsReported is issue 14's case 7: deleting
// capguard.json, or writing {} into it, used to drop every step-up
// obligation silently. Now the reload names what it removed (the version,
// the audit log), and RefuseRemoval or ConfirmRemoval stop it.
func TestReloadThatDropsStepUpIsReported(t *testing.T) {
	const rule = `open_vault from windows main: biometric (max age 60 s, "Unlock your vault")`
	const signedRule = `plugin:biometry|remove_data from windows main: biometric, signed (max age 0 s, "Delete a stored secret")`
	openVault := func(t *testing.T, app *capguard.App) policy.Decision {
		t.Helper()
		d, err := app.Store.Decide(context.Background(), policy.Request{Command: "open_vault", Window: "main", Webview: "main", Origin: acl.LocalOrigin})
		if err != nil || !d.Allowed {
			t.Fatalf("open_vault from main: %+v, %v", d, err)
		}
		return d
	}
	for _, edit := range []struct {
		name string
		do   func(dir string) error
	}{
		{"deleted", func(dir string) error { return os.Remove(filepath.Join(dir, "capguard.json")) }},
		{"emptied", func(dir string) error { return os.WriteFile(filepath.Join(dir, "capguard.json"), []byte("{}"), 0o644) }},
	} {
		t.Run(edit.name+"/reported", func(t *testing.T) {
			dir := t.TempDir()
			if err := examples.CopyTo(dir); err != nil {
				t.Fatal(err)
			}
			var buf lockedBuffer
			log := audit.New(audit.NewJSONLines(&buf))
			app, err := capguard.Load(dir, acl.Linux, sim.New(sim.Ready()), capguard.WithReload(), capguard.WithAudit(log))
			if err != nil {
				t.Fatal(err)
			}
			if len(openVault(t, app).Obligations) != 1 {
				t.Fatal("the example app's open_vault has no step-up")
			}
			if err := edit.do(dir); err != nil {
				t.Fatal(err)
			}
			v, err := app.Reload(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// Both of the example's rules go: the event-bound one of
			// open_vault and the signed one of remove_data.
			if got := v.Removed.Obligations; len(got) != 2 || got[0] != rule || got[1] != signedRule {
				t.Errorf("Removed.Obligations = %q, want [%q %q]", got, rule, signedRule)
			}
			if len(openVault(t, app).Obligations) != 0 {
				t.Errorf("the reload was applied but open_vault still has an obligation")
			}
			if err := log.Close(); err != nil {
				t.Fatal(err)
			}
			var e audit.Entry
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil {
				t.Fatalf("audit log %q: %v", buf.String(), err)
			}
			if e.Path != audit.PathReload || e.Reload == nil || e.Reload.Version != 2 || len(e.Reload.RemovedObligations) != 2 || e.Reload.RemovedObligations[0] != rule {
				t.Errorf("audit entry %s, want a reload entry naming the removed rule", lines[len(lines)-1])
			}
		})
		t.Run(edit.name+"/refused", func(t *testing.T) {
			dir := t.TempDir()
			if err := examples.CopyTo(dir); err != nil {
				t.Fatal(err)
			}
			app, err := capguard.Load(dir, acl.Linux, sim.New(sim.Ready()), capguard.WithReload(), capguard.RefuseRemoval())
			if err != nil {
				t.Fatal(err)
			}
			if err := edit.do(dir); err != nil {
				t.Fatal(err)
			}
			_, err = app.Reload(context.Background())
			if !errors.Is(err, policy.ErrReload) || !errors.Is(err, policy.ErrRemoval) || !strings.Contains(err.Error(), "Unlock your vault") {
				t.Fatalf("Reload: %v, want a refusal naming the removed rule", err)
			}
			if app.Store.Current().Seq != 1 || len(openVault(t, app).Obligations) != 1 {
				t.Errorf("the refused reload changed the policy in force")
			}
		})
	}
	t.Run("confirmed", func(t *testing.T) {
		dir := t.TempDir()
		if err := examples.CopyTo(dir); err != nil {
			t.Fatal(err)
		}
		var asked []policy.Removed
		app, err := capguard.Load(dir, acl.Linux, sim.New(sim.Ready()), capguard.WithReload(),
			capguard.ConfirmRemoval(func(_ context.Context, next *policy.Version) error {
				asked = append(asked, next.Removed)
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		// Removing a capability is asked about too.
		if err := os.Remove(filepath.Join(dir, "capabilities", "settings.toml")); err != nil {
			t.Fatal(err)
		}
		conf := `{"identifier":"x","app":{"security":{"capabilities":["main-window","main-secrets"]}}}`
		if err := os.WriteFile(filepath.Join(dir, "tauri.conf.json"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := app.Reload(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(asked) != 1 || strings.Join(asked[0].Capabilities, ",") != "settings-window" || strings.Join(v.Removed.Capabilities, ",") != "settings-window" {
			t.Errorf("asked %+v, version removed %+v; want settings-window", asked, v.Removed)
		}
	})
	t.Run("needs WithReload", func(t *testing.T) {
		if _, err := capguard.Load(examplesDir(t), acl.Linux, sim.New(sim.Ready()), capguard.RefuseRemoval()); err == nil {
			t.Error("RefuseRemoval without WithReload was accepted")
		}
	})
}

func examplesDir(t *testing.T) string {
	dir := t.TempDir()
	if err := examples.CopyTo(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}
