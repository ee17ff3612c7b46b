package capguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/internal/faultfs"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

// vanishingDevice is a biometric device whose service goes away in the
// middle of a prompt (fprintd stopped while the user is asked), then comes
// back: Authenticate blocks until the test stops the service, then fails
// as a D-Bus call to a vanished name does.
type vanishingDevice struct {
	inPrompt chan struct{}
	stop     chan struct{}
	gone     atomic.Bool // the service is down
	back     atomic.Bool // the service was restarted
}

var errServiceGone = errors.New("org.freedesktop.DBus.Error.ServiceUnknown: the name net.reactivated.Fprint was not provided by any .service files")

func (d *vanishingDevice) Status(context.Context) (native.Status, error) {
	if d.gone.Load() && !d.back.Load() {
		return native.Status{}, errServiceGone
	}
	return native.Status{Type: native.TouchID, Available: true, Enrolled: true}, nil
}

func (d *vanishingDevice) Authenticate(ctx context.Context, p native.Prompt) error {
	switch {
	case d.back.Load():
		return nil // the service is back: the user is recognized
	case d.gone.Load():
		return errServiceGone
	}
	d.inPrompt <- struct{}{}
	<-d.stop
	d.gone.Store(true)
	return errServiceGone
}

func exampleApp(t *testing.T, shim native.Shim, opts ...capguard.Option) *capguard.App {
	t.Helper()
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, shim, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var opened atomic.Int64
	if err := app.Router.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) {
		opened.Add(1)
		return "opened", nil
	})); err != nil {
		t.Fatal(err)
	}
	return app
}

// TestFaultDeviceVanishesMidPrompt: the device's service stops while a
// step-up prompt is up. The call is denied (the handler does not run), the
// guard goes on deciding other calls meanwhile, and once the service is
// back the same call is allowed again.
func TestFaultDeviceVanishesMidPrompt(t *testing.T) {
	dev := &vanishingDevice{inPrompt: make(chan struct{}), stop: make(chan struct{})}
	app := exampleApp(t, dev)
	ctx := context.Background()
	vault := &ipc.Invocation{Command: "open_vault", Window: "main", Origin: acl.LocalOrigin}
	done := make(chan error, 1)
	go func() { _, err := app.Invoke(ctx, vault); done <- err }()
	<-dev.inPrompt
	// While the prompt is up, the guard decides other calls.
	if _, err := app.Invoke(ctx, &ipc.Invocation{Command: "open_vault", Window: "settings", Origin: acl.LocalOrigin}); !errors.Is(err, ipc.ErrNotAllowed) {
		t.Errorf("settings' open_vault during the prompt: %v", err)
	}
	close(dev.stop)
	err := <-done
	if !errors.Is(err, ipc.ErrNotAllowed) || !errors.Is(err, ipc.ErrObligation) {
		t.Fatalf("open_vault whose prompt lost its device: %v, want a denial by the obligation", err)
	}
	// While the service is down, the call is denied again.
	if _, err := app.Invoke(ctx, vault); !errors.Is(err, ipc.ErrObligation) {
		t.Errorf("open_vault while the device is down: %v", err)
	}
	dev.back.Store(true)
	if out, err := app.Invoke(ctx, vault); err != nil || string(out) != `"opened"` {
		t.Errorf("open_vault once the device is back: %s %v", out, err)
	}
}

// TestFaultFilesUnreadableDuringReload: a policy file that cannot be read
// in the middle of a reload fails the reload with its name; the version in
// force keeps deciding exactly as before, and a later reload succeeds.
func TestFaultFilesUnreadableDuringReload(t *testing.T) {
	for _, name := range []string{"capguard.json", "tauri.conf.json", "gen/schemas/acl-manifests.json", "capabilities/settings.toml", "capabilities"} {
		t.Run(name, func(t *testing.T) {
			fsys := faultfs.New(examples.App(), name)
			fsys.Set(false)
			app := exampleApp(t, &vanishingDevice{}, capguard.WithReload(), capguard.WithSource(policy.AppSourceFS(fsys, "app", acl.Linux, nil)))
			before := app.Store.Current()
			fsys.Set(true)
			_, err := app.Reload(context.Background())
			if !errors.Is(err, policy.ErrReload) || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), filepath.Join("app", filepath.FromSlash(name))+":") {
				t.Fatalf("reload with %s unreadable: %v", name, err)
			}
			t.Logf("%s unreadable: %v", name, err)
			if app.Store.Current() != before {
				t.Fatal("a failed reload changed the version in force")
			}
			d, err := app.Store.Decide(context.Background(), policy.Request{Command: "open_vault", Window: "main", Webview: "main", Origin: acl.LocalOrigin})
			if err != nil || !d.Allowed || len(d.Obligations) != 1 {
				t.Errorf("open_vault after the failed reload: %+v %v", d, err)
			}
			fsys.Set(false)
			if v, err := app.Reload(context.Background()); err != nil || v.Seq != 2 {
				t.Errorf("reload once readable: %v", err)
			}
		})
	}
}

// TestFaultPanickingHandler: a handler that panics fails its call with
// an internal error, over the HTTP bridge too; the process stays up, the
// audit log records the decision, and the next calls are decided as
// before.
func TestFaultPanickingHandler(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	log := audit.New(audit.SinkFunc(func(e *audit.Entry) error {
		mu.Lock()
		logged = append(logged, e.Input.Command)
		mu.Unlock()
		return nil
	}))
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()), capguard.WithAudit(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Router.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { panic("plugin bug") })); err != nil {
		t.Fatal(err)
	}
	const origin = "http://127.0.0.1:5001"
	b, err := ipc.NewBridge(app.IPC, ipc.BridgeConfig{URL: "http://127.0.0.1:5000/ipc/", LocalOrigins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	page, err := b.Bind(ipc.Binding{Window: "main", Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	key := page.Script[strings.Index(page.Script, `"invokeKey":"`)+13:]
	key = key[:strings.IndexByte(key, '"')]
	post := func(cmd string) (string, string) {
		r := httptest.NewRequest(http.MethodPost, "/"+strings.NewReplacer(":", "%3A", "|", "%7C").Replace(cmd), strings.NewReader("{}"))
		r.RemoteAddr = "127.0.0.1:4000"
		for k, v := range map[string]string{"Content-Type": "application/json", "Origin": origin, ipc.HeaderCallback: "1", ipc.HeaderError: "2", ipc.HeaderInvokeKey: key, ipc.HeaderToken: page.Token} {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		b.ServeHTTP(w, r)
		return w.Header().Get(ipc.HeaderResponse), w.Body.String()
	}
	for i := 0; i < 3; i++ {
		if resp, body := post("open_vault"); resp != "error" || body != `"Command open_vault failed: internal error"` {
			t.Fatalf("the panicking handler: %s %s", resp, body)
		}
		if resp, body := post("plugin:biometric|status"); resp != "ok" || !json.Valid([]byte(body)) {
			t.Fatalf("the next call: %s %s", resp, body)
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(logged, " "); strings.Count(got, "open_vault") != 3 || strings.Count(got, "plugin:biometric|status") != 3 {
		t.Errorf("audit log: %s", got)
	}
}
