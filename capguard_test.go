package capguard_test

import (
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
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
)

// guardCapabilities: window "main" has the default biometric permissions
// locally; pages of vault.example.com in "main" may only ask the status;
// "settings" may only ask the status; "kiosk" may not authenticate, and
// that deny (as in Tauri) applies to every window of the local context:
// the explicit-deny case loads it on top of the others.
const guardCapabilities = `[
  {"identifier": "main", "windows": ["main"], "permissions": ["biometric:default"]},
  {"identifier": "web", "windows": ["main"], "remote": {"urls": ["https://vault.example.com/*"]}, "permissions": ["biometric:allow-status"]},
  {"identifier": "settings", "windows": ["settings"], "permissions": ["biometric:allow-status"]}
]`

const kioskCapability = `{"identifier": "kiosk", "windows": ["kiosk"], "permissions": ["biometric:deny-authenticate"]}`

func resolve(t testing.TB, files ...string) *acl.Resolved {
	t.Helper()
	m, err := biometric.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	set := acl.CapabilitySet{}
	for i, f := range files {
		caps, err := acl.ParseCapabilityFile(fmt.Sprintf("capabilities/%d.json", i), []byte(f))
		if err != nil {
			t.Fatal(err)
		}
		if err := set.Add(caps...); err != nil {
			t.Fatal(err)
		}
	}
	r, err := acl.Resolve(acl.Manifests{biometric.Name: m}, set, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	vaultPage = acl.MustOrigin("https://vault.example.com/unlock")
	evilPage  = acl.MustOrigin("https://evil.example/phish")
)

// TestGuardScenarios: for an allowed window, a disallowed window, a
// disallowed remote origin and an explicit deny, the result the frontend
// gets, and that a denied call never reaches the device.
func TestGuardScenarios(t *testing.T) {
	const args = `{"reason":"Unlock the vault"}`
	for _, tc := range []struct {
		name    string
		files   []string
		window  string
		origin  acl.Origin
		command string
		body    string // what the promise resolves or rejects with
		denied  bool
		verbose string // a part of the verbose explanation
	}{
		{"allowed window", []string{guardCapabilities}, "main", acl.LocalOrigin, "authenticate", `null`, false, ""},
		{"disallowed window", []string{guardCapabilities}, "settings", acl.LocalOrigin, "authenticate",
			`"Command plugin:biometric|authenticate not allowed by ACL"`, true, `biometric.authenticate not allowed on window "settings"`},
		{"allowed remote origin, allowed command", []string{guardCapabilities}, "main", vaultPage, "status", `{"isAvailable":true,"biometryType":1}`, false, ""},
		{"allowed remote origin, disallowed command", []string{guardCapabilities}, "main", vaultPage, "authenticate",
			`"Command plugin:biometric|authenticate not allowed by ACL"`, true, "URL: https://vault.example.com/unlock"},
		{"disallowed remote origin", []string{guardCapabilities}, "main", evilPage, "status",
			`"Command plugin:biometric|status not allowed by ACL"`, true, "URL: https://evil.example/phish"},
		{"explicit deny", []string{guardCapabilities, kioskCapability}, "main", acl.LocalOrigin, "authenticate",
			`"Command plugin:biometric|authenticate not allowed by ACL"`, true, "biometric.authenticate explicitly denied on origin local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := resolve(t, tc.files...)
			for _, verbose := range []bool{false, true} {
				s := sim.New(sim.Ready())
				var opts []capguard.Option
				if verbose {
					opts = append(opts, capguard.Verbose())
				}
				app, err := capguard.New(res, s, opts...)
				if err != nil {
					t.Fatal(err)
				}
				out, err := app.Invoke(context.Background(), &ipc.Invocation{
					Command: "plugin:biometric|" + tc.command, Window: tc.window, Origin: tc.origin, Args: json.RawMessage(args),
				})
				if !tc.denied {
					if err != nil || string(out) != tc.body {
						t.Fatalf("got %s, %v; want %s", out, err, tc.body)
					}
					if len(s.Calls()) == 0 {
						t.Error("an allowed call did not reach the device")
					}
					continue
				}
				if !errors.Is(err, ipc.ErrNotAllowed) {
					t.Fatalf("got %s, %v; want a denial", out, err)
				}
				body := string(ipc.RejectValue(err))
				if !verbose && body != tc.body {
					t.Errorf("rejection %s, want %s", body, tc.body)
				}
				if verbose {
					var text string
					if jerr := json.Unmarshal([]byte(body), &text); jerr != nil || text != err.Error() || !strings.Contains(text, tc.verbose) {
						t.Errorf("verbose rejection %s does not contain %q", body, tc.verbose)
					}
				}
				if calls := s.Calls(); len(calls) != 0 {
					t.Errorf("a denied call reached the device: %+v", calls)
				}
			}
		})
	}
}

// TestThousandConcurrentInvocations: 1,000 invocations at once from mixed
// windows and origins. Denied calls never reach the device; allowed ones
// all succeed and the device never shows two prompts at once. The
// expected decisions come from the reference decision, acl.Resolved.Decide.
func TestThousandConcurrentInvocations(t *testing.T) {
	res := resolve(t, guardCapabilities)
	cfg := sim.Ready()
	cfg.Latency = 50 * time.Microsecond
	s := sim.New(cfg)
	app, err := capguard.New(res, s)
	if err != nil {
		t.Fatal(err)
	}
	windows := []string{"main", "settings", "kiosk", "main"}
	origins := []acl.Origin{acl.LocalOrigin, vaultPage, evilPage}
	commands := []string{"plugin:biometric|authenticate", "plugin:biometric|status"}
	const n = 1000
	type call struct {
		inv     ipc.Invocation
		allowed bool
	}
	calls := make([]call, n)
	var wantStatus, wantAuth int
	for i := range calls {
		inv := ipc.Invocation{
			Command: commands[i%2],
			Window:  windows[(i/2)%4],
			Origin:  origins[(i/8)%3],
			Args:    json.RawMessage(`{"reason":"Unlock"}`),
		}
		allowed := res.Decide(acl.Request{Command: inv.Command, Window: inv.Window, Webview: inv.Window, Origin: inv.Origin}).Allowed
		calls[i] = call{inv, allowed}
		if allowed && inv.Command == commands[0] {
			wantAuth++
			wantStatus++ // authenticate checks the device's status first
		} else if allowed {
			wantStatus++
		}
	}
	if wantAuth == 0 || wantAuth == n/2 {
		t.Fatalf("the mix should allow some authentications and deny others (allowed %d)", wantAuth)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range calls {
		wg.Add(1)
		go func(c call) {
			defer wg.Done()
			<-start
			inv := c.inv
			out, err := app.Invoke(context.Background(), &inv)
			switch {
			case c.allowed && err != nil:
				t.Errorf("%s from %s (%s): %v", inv.Command, inv.Window, inv.Origin, err)
			case !c.allowed && !errors.Is(err, ipc.ErrNotAllowed):
				t.Errorf("%s from %s (%s): got %s, %v; want a denial", inv.Command, inv.Window, inv.Origin, out, err)
			}
		}(calls[i])
	}
	close(start)
	wg.Wait()
	if got := s.Count(sim.MethodAuthenticate); got != wantAuth {
		t.Errorf("%d prompts reached the device, want %d (one per allowed authenticate)", got, wantAuth)
	}
	if got := s.Count(sim.MethodStatus); got != wantStatus {
		t.Errorf("%d status queries reached the device, want %d", got, wantStatus)
	}
	if s.MaxConcurrent() != 1 {
		t.Errorf("the device showed %d prompts at once", s.MaxConcurrent())
	}
	for _, c := range s.Calls() {
		if c.Overlap || (c.Method == sim.MethodAuthenticate && c.Code != "") {
			t.Fatalf("device call %+v", c)
		}
	}
}

// TestEnginesAgree: the default engine (policy.Native) and the reference
// engine decide the same through the guard.
func TestEnginesAgree(t *testing.T) {
	res := resolve(t, guardCapabilities, kioskCapability)
	native, err := capguard.New(res, sim.New(sim.Ready()))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := capguard.New(res, sim.New(sim.Ready()), capguard.WithEngine(capguard.ReferenceEngine(res)))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"main", "settings", "kiosk", "", "x"} {
		for _, o := range []acl.Origin{acl.LocalOrigin, vaultPage, evilPage} {
			for _, c := range []string{"plugin:biometric|status", "plugin:biometric|authenticate", "plugin:other|x", "open_vault"} {
				inv := ipc.Invocation{Command: c, Window: w, Origin: o, Args: json.RawMessage(`{"reason":"r"}`)}
				a, errA := native.Invoke(context.Background(), &inv)
				b, errB := ref.Invoke(context.Background(), &inv)
				if string(a) != string(b) || string(ipc.RejectValue(errA)) != string(ipc.RejectValue(errB)) {
					t.Errorf("%s from %q (%s): native %s %v, reference %s %v", c, w, o, a, errA, b, errB)
				}
			}
		}
	}
}

func TestReferenceEngineCancelledContextDenies(t *testing.T) {
	res := resolve(t, guardCapabilities)
	app, err := capguard.New(res, sim.New(sim.Ready()), capguard.WithEngine(capguard.ReferenceEngine(res)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = app.Invoke(ctx, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|status", Window: "main"})
	if !errors.Is(err, ipc.ErrNotAllowed) || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestNewRejectsMissingInputs(t *testing.T) {
	if _, err := capguard.New(nil, sim.New(sim.Ready())); err == nil {
		t.Error("nil ACL accepted")
	}
	if _, err := capguard.New(resolve(t, guardCapabilities), nil); err == nil {
		t.Error("nil shim accepted")
	}
}

func TestLoadExampleApp(t *testing.T) {
	for _, load := range []struct {
		name string
		fn   func() (*capguard.App, error)
	}{
		{"disk", func() (*capguard.App, error) {
			return capguard.Load(filepath.Join("examples", "app", "src-tauri"), acl.Linux, sim.New(sim.Ready()))
		}},
		{"embedded", func() (*capguard.App, error) {
			return capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()))
		}},
	} {
		t.Run(load.name, func(t *testing.T) {
			app, err := load.fn()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|authenticate", Window: "main", Args: json.RawMessage(`{"reason":"r"}`)}); err != nil {
				t.Errorf("main: %v", err)
			}
			if _, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|authenticate", Window: "settings", Args: json.RawMessage(`{"reason":"r"}`)}); !errors.Is(err, ipc.ErrNotAllowed) {
				t.Errorf("settings: %v", err)
			}
		})
	}
}

// TestLoadAddsTheBiometricManifest: an app whose acl-manifests.json was
// built without the biometric plugin still resolves "biometric:default".
func TestLoadAddsTheBiometricManifest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tauri.conf.json", `{"identifier": "dev.example.app"}`)
	write("capabilities/main.json", `{"identifier": "main", "windows": ["main"], "permissions": ["biometric:default"]}`)
	write("gen/schemas/acl-manifests.json", `{}`)
	app, err := capguard.Load(dir, acl.Linux, sim.New(sim.Ready()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|status", Window: "main"}); err != nil {
		t.Error(err)
	}
	// Without acl-manifests.json there is nothing to resolve against.
	if err := os.Remove(filepath.Join(dir, "gen/schemas/acl-manifests.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := capguard.Load(dir, acl.Linux, sim.New(sim.Ready())); err == nil || !strings.Contains(err.Error(), "acl-manifests.json") {
		t.Errorf("got %v", err)
	}
}

// TestAppCommandsBehindTheGuard: the app registers its own command on the
// router; the guard applies to it too.
func TestAppCommandsBehindTheGuard(t *testing.T) {
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()))
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	if err := app.Router.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) {
		opened++
		return "opened", nil
	})); err != nil {
		t.Fatal(err)
	}
	out, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main"})
	if err != nil || string(out) != `"opened"` {
		t.Fatalf("main: %s %v", out, err)
	}
	if _, err := app.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "settings"}); !errors.Is(err, ipc.ErrNotAllowed) {
		t.Fatalf("settings: %v", err)
	}
	if opened != 1 {
		t.Errorf("opened %d times", opened)
	}
}
