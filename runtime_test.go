package capguard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	capguard "github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

// kioskOrigin is a remote page in a window the example app's files give
// nothing; kioskRuntimeCapability grants it the status command.
const kioskOrigin = "https://kiosk.example.com"

const kioskRuntimeCapability = `{
  "identifier": "kiosk",
  "local": false,
  "remote": { "urls": ["https://kiosk.example.com/*"] },
  "windows": ["kiosk"],
  "permissions": ["biometric:allow-status"]
}`

// bridgeClient posts calls of one bound page to a bridge served on a real
// loopback listener.
type bridgeClient struct {
	base, origin, key, token string
}

func (c bridgeClient) post(t testing.TB, cmd string) (string, string, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+strings.NewReplacer(":", "%3A", "|", "%7C").Replace(cmd), strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "Origin": c.origin, "Referer": c.origin + "/index.html", ipc.HeaderCallback: "1", ipc.HeaderError: "2", ipc.HeaderInvokeKey: c.key, ipc.HeaderToken: c.token} {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.Header.Get(ipc.HeaderResponse), string(body), err
}

func serveBridge(t *testing.T, app *capguard.App) (*ipc.Bridge, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/"
	b, err := ipc.NewBridge(app.IPC, ipc.BridgeConfig{URL: base})
	if err != nil {
		t.Fatal(err)
	}
	srv := ipc.NewServer(b, ipc.ServerConfig{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return b, base
}

func bindPage(t *testing.T, b *ipc.Bridge, base, window, origin string) bridgeClient {
	t.Helper()
	page, err := b.Bind(ipc.Binding{Window: window, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	key := page.Script[strings.Index(page.Script, `"invokeKey":"`)+13:]
	return bridgeClient{base: base, origin: origin, key: key[:strings.IndexByte(key, '"')], token: page.Token}
}

// TestAddCapabilityOverTheBridge: the app's Go code adds a capability
// while the HTTP bridge serves calls (real listener, real client). Calls
// from the kiosk page are refused before, answered after, and never
// refused again once one was answered; the addition is an audit entry.
func TestAddCapabilityOverTheBridge(t *testing.T) {
	var mu sync.Mutex
	var reloads []*audit.Reload
	log := audit.New(audit.SinkFunc(func(e *audit.Entry) error {
		if e.Reload != nil {
			mu.Lock()
			reloads = append(reloads, e.Reload)
			mu.Unlock()
		}
		return nil
	}))
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()), capguard.WithReload(), capguard.WithAudit(log))
	if err != nil {
		t.Fatal(err)
	}
	b, base := serveBridge(t, app)
	kiosk := bindPage(t, b, base, "kiosk", kioskOrigin)
	main := bindPage(t, b, base, "main", "tauri://localhost")

	if resp, body, err := kiosk.post(t, "plugin:biometric|status"); err != nil || resp != "error" || !strings.Contains(body, "not allowed") {
		t.Fatalf("before: %s %s %v", resp, body, err)
	}

	// Pages call continuously while the capability is added.
	var stop atomic.Bool
	var answered atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := false
			for !stop.Load() {
				resp, body, err := kiosk.post(t, "plugin:biometric|status")
				switch {
				case err != nil:
					errs <- err
					return
				case resp == "ok":
					seen = true
					answered.Add(1)
				case seen:
					errs <- fmt.Errorf("refused after an answer: %s", body)
					return
				case !strings.Contains(body, "not allowed"):
					errs <- fmt.Errorf("neither refused by the ACL nor answered: %s %s", resp, body)
					return
				}
				if resp, body, err := main.post(t, "plugin:biometric|status"); err != nil || resp != "ok" {
					errs <- fmt.Errorf("the main window lost its grant: %s %s %v", resp, body, err)
					return
				}
			}
		}()
	}
	v, err := app.AddCapabilityText(context.Background(), "kiosk.json", []byte(kioskRuntimeCapability))
	if err != nil {
		t.Fatal(err)
	}
	for answered.Load() < 10 && len(errs) == 0 {
		if resp, _, _ := kiosk.post(t, "plugin:biometric|status"); resp == "ok" {
			answered.Add(1)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if resp, body, err := kiosk.post(t, "plugin:biometric|authenticate"); err != nil || resp != "error" || !strings.Contains(body, "not allowed") {
		t.Errorf("the kiosk got more than the added capability grants: %s %s %v", resp, body, err)
	}
	if got := v.AddedHere(); len(got) != 1 || got[0].Identifier != "kiosk" || !v.IsRuntime(got[0]) {
		t.Errorf("the new version added %v", got)
	}

	// A refused addition changes nothing and is recorded too.
	if _, err := app.AddCapabilityText(context.Background(), "bad.json", []byte(`{"identifier":"bad","windows":["*"],"permissions":["biometric:allow-everything"]}`)); !errors.Is(err, policy.ErrAddCapability) || !strings.Contains(err.Error(), "bad.json:1:52") {
		t.Errorf("unknown permission: %v", err)
	}
	if resp, _, _ := kiosk.post(t, "plugin:biometric|status"); resp != "ok" || app.Store.Current() != v {
		t.Error("a refused addition changed the version in force")
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reloads) != 2 || strings.Join(reloads[0].AddedAtRuntime, ",") != "kiosk" || reloads[0].Version != v.Seq || reloads[1].Version != 0 || len(reloads[1].AddedAtRuntime) != 0 {
		t.Errorf("audit reload entries: %+v", reloads)
	}
}

// TestAddCapabilityNeedsReload: without WithReload there is no store to
// swap versions in; the error says which option is missing.
func TestAddCapabilityNeedsReload(t *testing.T) {
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.AddCapabilityText(context.Background(), "kiosk.json", []byte(kioskRuntimeCapability)); err == nil || !strings.Contains(err.Error(), "WithReload") {
		t.Errorf("AddCapabilityText: %v", err)
	}
	if _, err := app.AddCapability(context.Background(), &acl.Capability{Identifier: "x"}); err == nil {
		t.Error("AddCapability without a store succeeded")
	}
}

// TestAddCapabilitySurvivesReload: App.Reload re-reads the files and keeps
// the capability added at run time, as Tauri keeps it until the app exits.
func TestAddCapabilitySurvivesReload(t *testing.T) {
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()), capguard.WithReload())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.AddCapability(context.Background(), &acl.Capability{
		Identifier:  "settings-window", // the files' identifier: both apply
		Local:       true,
		Windows:     []string{"helper"},
		Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("biometric:allow-authenticate")}},
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := app.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"helper", "settings"} {
			cmd := map[string]string{"helper": "plugin:biometric|authenticate", "settings": "plugin:biometric|status"}[w]
			d, err := app.Store.Decide(context.Background(), policy.Request{Command: cmd, Window: w, Webview: w, Origin: acl.LocalOrigin})
			if err != nil || !d.Allowed {
				t.Fatalf("%s from %s after a reload: %+v %v", cmd, w, d, err)
			}
		}
	}
}

// The app adds a capability once it knows the port of the local server
// whose pages may check biometry, and its pages may call from then on.
func ExampleApp_AddCapability() {
	ctx := context.Background()
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()), capguard.WithReload())
	if err != nil {
		panic(err)
	}
	page := acl.MustOrigin("http://localhost:8123/index.html")
	call := &ipc.Invocation{Command: "plugin:biometric|status", Window: "main", Origin: page}
	_, err = app.Invoke(ctx, call)
	fmt.Printf("before: %s\n", ipc.RejectValue(err))

	v, err := app.AddCapability(ctx, &acl.Capability{
		Identifier:  "local-server",
		Remote:      &acl.Remote{URLs: []string{"http://localhost:8123/*"}},
		Windows:     []string{"main"},
		Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("biometric:allow-status")}},
	})
	if err != nil {
		panic(err)
	}
	_, err = app.Invoke(ctx, call)
	fmt.Println("version", v.Seq, "error:", err)
	// Output:
	// before: "Command plugin:biometric|status not allowed by ACL"
	// version 2 error: <nil>
}
