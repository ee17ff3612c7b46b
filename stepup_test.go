package capguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
)

// exampleAppDir copies the example app to a temporary src-tauri folder,
// with the given extra files.
func exampleAppDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := examples.CopyTo(dir); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const vaultObligation = `{"obligations": [{"commands": ["open_vault"], "type": "biometric", "max_age_s": 300, "reason": "Unlock your vault"}]}`

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestLoadStepUp: Load reads capguard.json; the guard prompts before
// open_vault runs, remembers the success for max_age_s (on the injected
// clock), and a cancelled prompt denies the call without running it.
func TestLoadStepUp(t *testing.T) {
	dir := exampleAppDir(t, map[string]string{"capguard.json": vaultObligation})
	cfg := sim.Ready()
	cfg.Script = []sim.Step{{Outcome: sim.Match}, {Outcome: sim.UserCancel}}
	dev := sim.New(cfg)
	clk := &clock{t: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	var logged bytes.Buffer
	log := audit.New(audit.NewJSONLines(&logged))
	app, err := capguard.Load(dir, acl.Linux, dev, capguard.WithStepUp(biometric.WithClock(clk.now)), capguard.WithAudit(log))
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	_ = app.Router.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { opened++; return nil, nil }))
	for i, step := range []struct {
		advance time.Duration
		prompts int
		code    biometric.Code
	}{
		{0, 1, ""},                             // prompt, match
		{299 * time.Second, 1, ""},             // remembered
		{time.Second, 2, biometric.UserCancel}, // expired: prompt, cancel
		{0, 3, ""},                             // failure not remembered: prompt, match (default)
	} {
		clk.advance(step.advance)
		_, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main", Args: json.RawMessage(`{"secret":"s3cr3t"}`)})
		if step.code == "" && err != nil || step.code != "" && !errors.Is(err, step.code) {
			t.Fatalf("step %d: %v", i, err)
		}
		if n := dev.Count(sim.MethodAuthenticate); n != step.prompts {
			t.Fatalf("step %d: %d prompts, want %d", i, n, step.prompts)
		}
	}
	if opened != 3 {
		t.Errorf("open_vault ran %d times, want 3", opened)
	}
	if dev.Calls()[1].Prompt.Reason != "Unlock your vault" {
		t.Errorf("prompt %+v", dev.Calls()[1].Prompt)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], `"outcome":"failed"`) || !strings.Contains(lines[1], `"outcome":"met"`) || strings.Contains(logged.String(), "s3cr3t") {
		t.Errorf("audit log:\n%s", logged.String())
	}
}

// TestRegoStepUp: the obligation comes from a Rego policy (the example's
// fresh_biometric.rego), with the engine rebuilt on every reload.
func TestRegoStepUp(t *testing.T) {
	dir := exampleAppDir(t, nil)
	// The obligation comes from Rego only: drop the example's capguard.json.
	if err := os.Remove(filepath.Join(dir, acl.ExtensionFile)); err != nil {
		t.Fatal(err)
	}
	mods, err := rego.LoadModules("examples/policies/fresh_biometric.rego")
	if err != nil {
		t.Fatal(err)
	}
	dev := sim.New(sim.Ready())
	clk := &clock{t: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	app, err := capguard.Load(dir, acl.Linux, dev,
		capguard.WithBuilder(func(ctx context.Context, r *acl.Resolved) (policy.Engine, error) { return rego.New(ctx, r, mods...) }),
		capguard.WithReload(),
		capguard.WithStepUp(biometric.WithClock(clk.now)))
	if err != nil {
		t.Fatal(err)
	}
	_ = app.Router.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return nil, nil }))
	open := func() error {
		_, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main"})
		return err
	}
	for i, want := range []int{1, 1} {
		if err := open(); err != nil {
			t.Fatal(err)
		}
		if n := dev.Count(sim.MethodAuthenticate); n != want {
			t.Fatalf("call %d: %d prompts, want %d", i, n, want)
		}
	}
	if _, err := app.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := app.Store.Current().Engine.(*rego.Engine); !ok {
		t.Errorf("the reloaded engine is a %T", app.Store.Current().Engine)
	}
	clk.advance(301 * time.Second)
	if err := open(); err != nil {
		t.Fatal(err)
	}
	if n := dev.Count(sim.MethodAuthenticate); n != 2 {
		t.Errorf("%d prompts after the max age, want 2", n)
	}
	if dev.Calls()[len(dev.Calls())-1].Prompt.Reason != "Unlock your vault" {
		t.Errorf("prompt %+v", dev.Calls()[len(dev.Calls())-1].Prompt)
	}
}

// TestReload: with WithReload, App.Reload and App.Watch swap in the
// edited capabilities; a broken edit keeps the last good version.
func TestReload(t *testing.T) {
	dir := exampleAppDir(t, nil)
	app, err := capguard.Load(dir, acl.Linux, sim.New(sim.Ready()), capguard.WithReload())
	if err != nil {
		t.Fatal(err)
	}
	status := func() error {
		_, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|authenticate", Window: "settings", Args: json.RawMessage(`{"reason":"r"}`)})
		return err
	}
	if err := status(); !errors.Is(err, ipc.ErrNotAllowed) {
		t.Fatalf("before: %v", err)
	}
	writeCap := func(text string) {
		if err := os.WriteFile(filepath.Join(dir, "capabilities", "settings.toml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCap("identifier = \"settings-window\"\nwindows = [\"settings\"]\npermissions = [\"biometric:default\"]\n")
	if v, err := app.Reload(context.Background()); err != nil || v.Seq != 2 {
		t.Fatalf("reload: %v", err)
	}
	if err := status(); err != nil {
		t.Fatalf("after the reload: %v", err)
	}
	writeCap("identifier = \"settings-window\"\nwindows = [\"settings\"]\npermissions = [\"biometric:defaul\"]\n")
	_, err = app.Reload(context.Background())
	if !errors.Is(err, policy.ErrReload) || !strings.Contains(err.Error(), filepath.Join(dir, "capabilities", "settings.toml")+":3:") {
		t.Fatalf("broken reload: %v", err)
	}
	if err := status(); err != nil {
		t.Fatalf("the last good version was not kept: %v", err)
	}

	// Watch: an edit reaches the guard without a call to Reload.
	reloads := make(chan policy.ReloadEvent, 8)
	w, err := app.Watch(context.Background(), policy.Debounce(10*time.Millisecond), policy.OnReload(func(ev policy.ReloadEvent) { reloads <- ev }))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writeCap("identifier = \"settings-window\"\nwindows = [\"settings\"]\npermissions = [\"biometric:allow-status\"]\n")
	for {
		select {
		case <-reloads:
		case <-time.After(20 * time.Second):
			t.Fatal("no reload")
		}
		if errors.Is(status(), ipc.ErrNotAllowed) {
			break
		}
	}
}

// TestReloadServesNewScopes: a reload may change a scope; the next call is
// served with the new version's scope (the guard takes the scopes of the
// version that decided each call).
func TestReloadServesNewScopes(t *testing.T) {
	perms := `[[permission]]
identifier = "allow-open-vault"
commands.allow = ["open_vault"]

[[permission]]
identifier = "vault-scope"
[[permission.scope.allow]]
vault = "personal"
`
	manifests := func(t *testing.T, scope string) *acl.Resolved {
		files, err := acl.ParsePermissionFile("vault.toml", []byte(strings.Replace(perms, "personal", scope, 1)))
		if err != nil {
			t.Fatal(err)
		}
		bm, _ := biometric.Manifest()
		caps, _ := acl.ParseCapabilityFile("main.json", []byte(`{"identifier":"main","windows":["main"],"permissions":["allow-open-vault","vault-scope"]}`))
		set := acl.CapabilitySet{}
		_ = set.Add(caps...)
		r, err := acl.Resolve(acl.Manifests{acl.AppKey: acl.NewManifest([]*acl.PermissionFile{files}, nil), biometric.Name: bm}, set, acl.Linux)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	app, err := capguard.New(manifests(t, "personal"), sim.New(sim.Ready()), capguard.WithReload())
	if err != nil {
		t.Fatal(err)
	}
	type vault struct {
		Vault string `json:"vault"`
	}
	err = app.Router.Handle("open_vault", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
		s, err := ipc.DecodeScope[vault](inv)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, v := range s.Allow {
			names = append(names, v.Vault)
		}
		return names, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	open := func() string {
		out, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main"})
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if got := open(); got != `["personal"]` {
		t.Fatalf("first version: %s", got)
	}
	if _, err := app.Store.Load(context.Background(), &policy.Input{Resolved: manifests(t, "work")}); err != nil {
		t.Fatalf("a version with another scope was refused: %v", err)
	}
	if got := open(); got != `["work"]` {
		t.Errorf("after the reload: %s, want the new scope", got)
	}
}

func TestOptionErrors(t *testing.T) {
	res := resolve(t, guardCapabilities)
	native, err := policy.Compile(res)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := capguard.New(res, sim.New(sim.Ready()), capguard.WithEngine(native), capguard.WithReload()); err == nil {
		t.Error("WithEngine and WithReload together")
	}
	app, err := capguard.New(res, sim.New(sim.Ready()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Reload(context.Background()); err == nil {
		t.Error("Reload without WithReload")
	}
	if _, err := app.Watch(context.Background()); err == nil {
		t.Error("Watch without WithReload")
	}
	app, err = capguard.New(res, sim.New(sim.Ready()), capguard.WithReload())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Watch(context.Background()); err == nil {
		t.Error("Watch of an app made by New")
	}
	bad, err := acl.ParseExtension("capguard.json", []byte(`{"obligations":[{"commands":["open_vault"],"type":"biometric"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := capguard.New(res, sim.New(sim.Ready()), capguard.WithExtension(bad)); !errors.Is(err, acl.ErrInvalid) {
		t.Errorf("extension naming a command the manifests lack: %v", err)
	}
	dir := exampleAppDir(t, map[string]string{"capguard.json": `{"obligations": [{"commands": ["open_vault"], "type": "biometric", "max_age": 1}]}`})
	if _, err := capguard.Load(dir, acl.Linux, sim.New(sim.Ready())); err == nil || !strings.Contains(err.Error(), `did you mean "max_age_s"?`) {
		t.Errorf("bad capguard.json: %v", err)
	}
}

// Example_stepUp: capguard.json asks for a biometric authentication before
// open_vault runs; the audit log records each decision and the outcome of
// its obligation.
func Example_stepUp() {
	dir, err := os.MkdirTemp("", "capguard-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, examples.App()); err != nil {
		panic(err)
	}
	ext := `{"obligations": [{"commands": ["open_vault"], "type": "biometric", "max_age_s": 300, "reason": "Unlock your vault"}]}`
	if err := os.WriteFile(filepath.Join(dir, "capguard.json"), []byte(ext), 0o644); err != nil {
		panic(err)
	}
	device := sim.Ready()
	device.Script = []sim.Step{{Outcome: sim.UserCancel}} // then every touch matches
	log := audit.New(audit.SinkFunc(func(e *audit.Entry) error {
		for _, o := range e.Result.Obligations {
			fmt.Printf("audit: %s %s, obligation %s: %s\n", e.Input.Command, map[bool]string{true: "allowed", false: "denied"}[e.Result.Allowed], o.Type, o.Outcome)
		}
		return nil
	}))
	app, err := capguard.Load(dir, acl.Linux, sim.New(device), capguard.WithAudit(log))
	if err != nil {
		panic(err)
	}
	_ = app.Router.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) {
		return "vault opened", nil
	}))
	for range 3 {
		out, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main"})
		_ = log.Flush()
		if err != nil {
			fmt.Println("rejects", string(ipc.RejectValue(err)))
		} else {
			fmt.Println("resolves", string(out))
		}
	}
	_ = log.Close()
	// Output:
	// audit: open_vault denied, obligation biometric: failed
	// rejects {"message":"Authentication was canceled by the user.","code":"userCancel"}
	// audit: open_vault allowed, obligation biometric: met
	// resolves "vault opened"
	// audit: open_vault allowed, obligation biometric: met
	// resolves "vault opened"
}
