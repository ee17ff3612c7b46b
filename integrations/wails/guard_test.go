package capwails_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/capguard/capguard/native/sim"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// VaultService stands in for an app's bound service.
type VaultService struct{}

// OpenVault is bound as open_vault.
func (*VaultService) OpenVault(ctx context.Context, name string) (string, error) { return name, nil }

// Lock is bound as lock, which no capability allows.
func (*VaultService) Lock() {}

// ServiceName is one of the methods Wails never binds.
func (*VaultService) ServiceName() string { return "vault" }

const pkg = "github.com/capguard/capguard/integrations/wails_test"

// fakeWails stands in for Wails's own handlers behind the middleware: it
// records the runtime requests it is handed and serves one HTML page.
type fakeWails struct {
	mu    sync.Mutex
	calls []*http.Request
}

func (f *fakeWails) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case capwails.RuntimePath:
		f.mu.Lock()
		f.calls = append(f.calls, r)
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case "/", "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><html><head><title>t</title></head><body>hi</body></html>")
	case "/app.js":
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = io.WriteString(w, "console.log(1)")
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeWails) handed() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.calls...)
}

var windows = map[uint]string{1: "main", 2: "settings"}

type fixture struct {
	t       testing.TB
	app     *capguard.App
	dev     *sim.Sim
	guard   *capwails.Guard
	wails   *fakeWails
	handler http.Handler
	rejects []capwails.Rejection
	mu      sync.Mutex
}

func newFixture(t testing.TB, script ...sim.Step) *fixture {
	t.Helper()
	return newFixtureFrom(t, func(dev *sim.Sim) (*capguard.App, error) {
		return capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, dev)
	}, script...)
}

func newFixtureFrom(t testing.TB, load func(*sim.Sim) (*capguard.App, error), script ...sim.Step) *fixture {
	t.Helper()
	cfg := sim.Ready()
	cfg.Script = script
	dev := sim.New(cfg)
	app, err := load(dev)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, app: app, dev: dev, wails: &fakeWails{}}
	f.guard, err = capwails.New(capwails.Config{
		IPC:      app.IPC,
		Services: []application.Service{application.NewService(&VaultService{})},
		Windows: func(id uint) (string, bool) {
			n, ok := windows[id]
			return n, ok
		},
		OnReject: func(r capwails.Rejection) {
			f.mu.Lock()
			f.rejects = append(f.rejects, r)
			f.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = f.guard.Middleware(f.wails)
	return f
}

func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

var tokenRE = regexp.MustCompile(`"token":"([0-9a-f]{32})"`)

// load serves the page to window id and returns its token.
func (f *fixture) load(id string) string {
	f.t.Helper()
	r := httptest.NewRequest("GET", "wails://localhost/", nil)
	r.Header.Set(capwails.HeaderWindowID, id)
	w := f.do(r)
	m := tokenRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		f.t.Fatalf("window %s: the page got no token: %s", id, w.Body.String())
	}
	return m[1]
}

// call builds a binding call as the Wails runtime sends it.
func call(window, token string, opts map[string]any) *http.Request {
	args, _ := json.Marshal(opts)
	q := url.Values{"object": {"0"}, "method": {"0"}, "args": {string(args)}}
	r := httptest.NewRequest("GET", "wails://localhost/wails/runtime?"+q.Encode(), nil)
	r.Header.Set(capwails.HeaderWindowID, window)
	if token != "" {
		r.Header.Set(capwails.HeaderToken, token)
	}
	return r
}

func TestPageGetsScriptOnlyInAWindow(t *testing.T) {
	f := newFixture(t)
	main1, main2 := f.load("1"), f.load("1")
	if main1 == main2 {
		t.Error("two loads of a page got the same token")
	}
	body := f.do(func() *http.Request {
		r := httptest.NewRequest("GET", "wails://localhost/index.html", nil)
		r.Header.Set(capwails.HeaderWindowID, "1")
		return r
	}()).Body.String()
	if !strings.HasPrefix(body, "<!doctype html><html><head><script>") || !strings.Contains(body, `"window":"main"`) || !strings.HasSuffix(body, "<title>t</title></head><body>hi</body></html>") {
		t.Errorf("the script is not first in <head>: %.200s", body)
	}
	for _, tc := range []struct{ name, path, id string }{
		{"unknown window", "/", "9"},
		{"no window header", "/", ""},
		{"not html", "/app.js", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "wails://localhost"+tc.path, nil)
			if tc.id != "" {
				r.Header.Set(capwails.HeaderWindowID, tc.id)
			}
			if b := f.do(r).Body.String(); strings.Contains(b, "__TAURI_INTERNALS__") || strings.Contains(b, "token") {
				t.Errorf("got the script: %.100s", b)
			}
		})
	}
}

func TestBindingCalls(t *testing.T) {
	f := newFixture(t, sim.Step{Outcome: sim.Match})
	mainTok, settingsTok := f.load("1"), f.load("2")
	openVault := map[string]any{"call-id": "c1", "methodName": pkg + ".VaultService.OpenVault", "args": []any{"personal"}}

	t.Run("allowed after step-up", func(t *testing.T) {
		w := f.do(call("1", mainTok, openVault))
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		got := f.wails.handed()
		if len(got) != 1 {
			t.Fatalf("Wails was handed %d calls, want 1", len(got))
		}
		r := got[0]
		var handed map[string]any
		if err := json.Unmarshal([]byte(r.URL.Query().Get("args")), &handed); err != nil {
			t.Fatal(err)
		}
		if handed["call-id"] != "c1" || handed["methodName"] != pkg+".VaultService.OpenVault" {
			t.Errorf("handed %v", handed)
		}
		if r.Header.Get(capwails.HeaderToken) != "" || r.Header.Get(capwails.HeaderWindowName) != "" {
			t.Error("the token or a window name reached Wails")
		}
		a := capwails.AccessFrom(r.Context())
		if a == nil || !a.Decision.Allowed {
			t.Fatalf("the bound method's context has no grant: %+v", a)
		}
		if n := f.dev.Count(sim.MethodAuthenticate); n != 1 {
			t.Errorf("the step-up prompted %d times, want 1", n)
		}
	})

	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		text   string
	}{
		{"denied for settings", call("2", settingsTok, openVault), 403, "Command open_vault not allowed by ACL"},
		{"a command no capability allows", call("1", mainTok, map[string]any{"call-id": "c2", "methodName": pkg + ".VaultService.Lock"}), 403, "Command lock not allowed by ACL"},
		{"no token", call("1", "", openVault), 403, "capguard: missing Capguard-Page-Token: the page was not served to this window by the app"},
		{"main's token in settings", call("2", mainTok, openVault), 403, `capguard: the Capguard-Page-Token was issued to window "main", not to "settings"`},
		{"forged token", call("1", strings.Repeat("ab", 16), openVault), 403, "capguard: unknown Capguard-Page-Token"},
		{"forged window name", func() *http.Request {
			r := call("2", settingsTok, openVault)
			r.Header.Set(capwails.HeaderWindowName, "main")
			return r
		}(), 403, `capguard: a page may only address its own window: the request names window "main", the page is in "settings"`},
		{"unknown window", call("7", settingsTok, openVault), 403, "capguard: the request comes from window 7, which the app does not have"},
		{"unknown method", call("1", mainTok, map[string]any{"call-id": "c3", "methodName": "main.Other.Do"}), 404, "capguard: unknown bound method name 'main.Other.Do'"},
		{"unknown id", call("1", mainTok, map[string]any{"call-id": "c3", "methodID": 12345}), 404, "capguard: unknown bound method id 12345"},
		{"no call id", call("1", mainTok, map[string]any{"methodName": pkg + ".VaultService.OpenVault"}), 400, "capguard: invalid binding call: missing argument 'call-id'"},
		{"remote page", func() *http.Request {
			r := call("1", "", openVault)
			r.Header.Set("Origin", "http://127.0.0.1:9999")
			return r
		}(), 403, "Command open_vault not allowed by ACL"},
		{"token from another origin", func() *http.Request {
			r := call("1", mainTok, openVault)
			r.Header.Set("Origin", "https://evil.example")
			return r
		}(), 403, "capguard: the Capguard-Page-Token belongs to a page of another origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.wails.handed())
			w := f.do(tc.req)
			if w.Code != tc.status || w.Body.String() != tc.text {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tc.status, tc.text)
			}
			if after := len(f.wails.handed()); after != before {
				t.Error("the call reached Wails")
			}
		})
	}

	t.Run("by method id", func(t *testing.T) {
		before := len(f.wails.handed())
		w := f.do(call("1", mainTok, map[string]any{"call-id": "c9", "methodID": fnv(pkg + ".VaultService.OpenVault"), "args": []any{"x"}}))
		if w.Code != 200 || len(f.wails.handed()) != before+1 {
			t.Fatalf("status %d %s", w.Code, w.Body)
		}
		var handed map[string]any
		_ = json.Unmarshal([]byte(f.wails.handed()[before].URL.Query().Get("args")), &handed)
		if handed["methodName"] != pkg+".VaultService.OpenVault" {
			t.Errorf("handed %v", handed)
		}
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rejects) < 7 {
		t.Errorf("OnReject saw %d refusals, want at least 7", len(f.rejects))
	}
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func TestFailedStepUpNeverReachesWails(t *testing.T) {
	f := newFixture(t, sim.Step{Outcome: sim.UserCancel})
	tok := f.load("1")
	w := f.do(call("1", tok, map[string]any{"call-id": "c1", "methodName": pkg + ".VaultService.OpenVault", "args": []any{"x"}}))
	var v struct{ Code string }
	if w.Code != 403 || json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Code != "userCancel" {
		t.Errorf("got %d %s, want 403 and the biometric error with code userCancel", w.Code, w.Body)
	}
	if len(f.wails.handed()) != 0 {
		t.Error("the call reached Wails")
	}
}

func TestOtherRuntimeObjects(t *testing.T) {
	f := newFixture(t)
	tok := f.load("2")
	r := httptest.NewRequest("GET", "wails://localhost/wails/runtime?object=6&method=3", nil)
	r.Header.Set(capwails.HeaderWindowID, "2")
	r.Header.Set(capwails.HeaderToken, tok)
	if w := f.do(r); w.Code != 200 || len(f.wails.handed()) != 1 {
		t.Errorf("a window call of the page's own window: %d %s", w.Code, w.Body)
	}
	r = httptest.NewRequest("GET", "wails://localhost/wails/runtime?object=6&method=3", nil)
	r.Header.Set(capwails.HeaderWindowID, "2")
	if w := f.do(r); w.Code != 403 || len(f.wails.handed()) != 1 {
		t.Errorf("a window call without token: %d %s", w.Code, w.Body)
	}
}

// ipcCall posts a Tauri IPC call.
func ipcCall(window, token, cmd, body string) *http.Request {
	r := httptest.NewRequest("POST", "wails://localhost/capguard/ipc/"+url.PathEscape(cmd), strings.NewReader(body))
	r.Header.Set(capwails.HeaderWindowID, window)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Origin", "wails://localhost")
	if token != "" {
		r.Header.Set(capwails.HeaderToken, token)
	}
	return r
}

func TestTauriIPC(t *testing.T) {
	f := newFixture(t)
	mainTok, settingsTok := f.load("1"), f.load("2")
	for _, tc := range []struct {
		name            string
		req             *http.Request
		status          int
		response, body  string
		deviceAttempted bool
	}{
		{"status from settings", ipcCall("2", settingsTok, "plugin:biometric|status", ""), 200, "ok", `{"isAvailable":true,"biometryType":1}`, false},
		{"authenticate from main", ipcCall("1", mainTok, "plugin:biometric|authenticate", `{"reason":"Open your wallet"}`), 200, "ok", `null`, true},
		{"authenticate from settings, forging a window field", ipcCall("2", settingsTok, "plugin:biometric|authenticate", `{"reason":"x","window":"main"}`), 200, "error", `"Command plugin:biometric|authenticate not allowed by ACL"`, false},
		{"a bound method through the Tauri IPC", ipcCall("1", mainTok, "open_vault", `{}`), 400, "", "capguard: Command open_vault is a Wails binding: call it through the Wails runtime (Call.ByName)", false},
		{"no token", ipcCall("1", "", "plugin:biometric|status", ""), 403, "", "capguard: missing Capguard-Page-Token: the page was not served to this window by the app", false},
		{"bad JSON", ipcCall("1", mainTok, "plugin:biometric|status", "{"), 400, "", "capguard: the body is not valid JSON", false},
		{"GET", httptest.NewRequest("GET", "wails://localhost/capguard/ipc/x", nil), 405, "", "capguard: the IPC only takes POST", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.dev.Count(sim.MethodAuthenticate)
			w := f.do(tc.req)
			if w.Code != tc.status || w.Header().Get("Tauri-Response") != tc.response || (tc.body != "" && w.Body.String() != tc.body) {
				t.Errorf("got %d %q %s, want %d %q %s", w.Code, w.Header().Get("Tauri-Response"), w.Body, tc.status, tc.response, tc.body)
			}
			if attempted := f.dev.Count(sim.MethodAuthenticate) > before; attempted != tc.deviceAttempted {
				t.Errorf("device attempted: %v, want %v", attempted, tc.deviceAttempted)
			}
		})
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	if err := examples.CopyTo(dir); err != nil {
		t.Fatal(err)
	}
	f := newFixtureFrom(t, func(dev *sim.Sim) (*capguard.App, error) {
		return capguard.Load(dir, acl.Linux, dev, capguard.WithReload())
	})
	tok := f.load("2")
	req := func() string {
		return f.do(ipcCall("2", tok, "plugin:biometric|authenticate", `{"reason":"r"}`)).Header().Get("Tauri-Response")
	}
	if got := req(); got != "error" {
		t.Fatalf("before the reload: %s", got)
	}
	file := filepath.Join(dir, "capabilities", "settings.toml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), `permissions = ["biometric:allow-status"]`, `permissions = ["biometric:allow-status", "biometric:allow-authenticate"]`, 1))
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := req(); got != "ok" {
		t.Errorf("after the reload: %s", got)
	}
}

func TestNewErrors(t *testing.T) {
	newApp := func() *capguard.App {
		app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()))
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	svc := []application.Service{application.NewService(&VaultService{})}
	for _, tc := range []struct {
		name string
		cfg  capwails.Config
		want string
	}{
		{"no IPC", capwails.Config{}, "capwails: Config.IPC is nil (use capguard.App.IPC)"},
		{"unknown rename", capwails.Config{IPC: newApp().IPC, Services: svc, Commands: map[string]string{"main.X.Y": "y"}}, "capwails: Config.Commands names main.X.Y, which is not a bound method of Config.Services (known: " + pkg + ".VaultService.Lock, " + pkg + ".VaultService.OpenVault)"},
		{"two methods, one command", capwails.Config{IPC: newApp().IPC, Services: svc, Commands: map[string]string{pkg + ".VaultService.Lock": "open_vault"}}, "capwails: methods"},
		{"a plugin's command", capwails.Config{IPC: newApp().IPC, Services: svc, Commands: map[string]string{pkg + ".VaultService.Lock": "plugin:biometric|status"}}, "capwails: method " + pkg + ".VaultService.Lock:"},
		{"bad origin", capwails.Config{IPC: newApp().IPC, LocalOrigins: []string{"wails://localhost/x"}}, `capwails: Config.LocalOrigins[0] "wails://localhost/x": an origin has no user, path, query or fragment`},
		{"bad IPC path", capwails.Config{IPC: newApp().IPC, IPCPath: "/wails/ipc/"}, `capwails: Config.IPCPath "/wails/ipc/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := capwails.New(tc.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want %q...", err, tc.want)
			}
		})
	}
	// The commands of a guard are on the router, so that a second guard
	// of the same services on the same IPC is refused.
	app := newApp()
	if _, err := capwails.New(capwails.Config{IPC: app.IPC, Services: svc}); err != nil {
		t.Fatal(err)
	}
	if _, err := capwails.New(capwails.Config{IPC: app.IPC, Services: svc}); err == nil {
		t.Error("a second guard registered the same commands")
	}
}

func TestCommandName(t *testing.T) {
	for in, want := range map[string]string{
		"OpenVault": "open_vault", "Status": "status", "GetURL": "get_url", "URLFor": "url_for",
		"ReadFile2": "read_file2", "A": "a", "HTTPServerStart": "http_server_start",
	} {
		if got := capwails.CommandName(in); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAccessFromOtherContext(t *testing.T) {
	if capwails.AccessFrom(context.Background()) != nil {
		t.Error("a plain context has a grant")
	}
}

var wailsOnce sync.Once

// startWails makes the process's Wails application (never run): Wails's
// Bindings log through it.
func startWails() {
	wailsOnce.Do(func() {
		application.New(application.Options{Name: "capwails-test", DisableDefaultSignalHandler: true})
	})
}

// TestMethodsAreWailsBindings checks the guard's view of a service's
// methods against Wails's own bindings: the same full names, the same ids,
// the same methods left out.
func TestMethodsAreWailsBindings(t *testing.T) {
	startWails()
	svc := application.NewService(&VaultService{})
	bindings := application.NewBindings(nil, nil)
	if err := bindings.Add(svc); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	got := f.guard.Commands()
	want := map[string]string{pkg + ".VaultService.OpenVault": "open_vault", pkg + ".VaultService.Lock": "lock"}
	if len(got) != len(want) {
		t.Fatalf("commands %v, want %v", got, want)
	}
	for fqn, cmd := range want {
		if got[fqn] != cmd {
			t.Errorf("%s: command %q, want %q", fqn, got[fqn], cmd)
		}
		m := bindings.Get(&application.CallOptions{MethodName: fqn})
		if m == nil {
			t.Fatalf("Wails does not bind %s", fqn)
		}
		if byID := bindings.GetByID(fnv(fqn)); byID == nil || byID.FQN != fqn || m.ID != fnv(fqn) {
			t.Errorf("%s: Wails's id is %d, the guard's %d", fqn, m.ID, fnv(fqn))
		}
	}
	if bindings.Get(&application.CallOptions{MethodName: pkg + ".VaultService.ServiceName"}) != nil {
		t.Error("Wails binds ServiceName, the guard does not")
	}
}
