package capwails_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// appDir is the wails-vault example's capability folder: vault_info for
// both windows, open_vault for main behind a biometric step-up,
// delete_vault for nobody, the event system for main and listening for
// settings.
const appDir = "../../examples/wails-vault/app"

// VaultService stands in for an app's bound service.
type VaultService struct {
	release chan struct{}
}

// OpenVault is bound as open_vault.
func (*VaultService) OpenVault(ctx context.Context, name string) (string, error) { return name, nil }

// VaultInfo is bound as vault_info; "wait" blocks until the call is
// cancelled or released, "fail" returns an error.
func (v *VaultService) VaultInfo(ctx context.Context, name string) (map[string]any, error) {
	switch name {
	case "wait":
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-v.release:
			return map[string]any{"released": true}, nil
		}
	case "fail":
		return nil, errFailed
	}
	window := ""
	if w, ok := ctx.Value(application.WindowKey).(application.Window); ok && w != nil {
		window = w.Name()
	}
	return map[string]any{"name": name, "entries": 3, "window": window, "granted": capwails.AccessFrom(ctx) != nil}, nil
}

// DeleteVault is bound as delete_vault, which no capability allows.
func (*VaultService) DeleteVault() {}

// ServiceName is one of the methods Wails never binds.
func (*VaultService) ServiceName() string { return "vault" }

type failure string

func (f failure) Error() string { return string(f) }

const errFailed = failure("the vault is locked")

const pkg = "github.com/capguard/capguard/integrations/wails_test"

var wailsOnce sync.Once

// startWails makes the process's Wails application (never run): the
// guard's bindings and Wails's log through it.
func startWails() {
	wailsOnce.Do(func() {
		application.New(application.Options{Name: "capwails-test", DisableDefaultSignalHandler: true})
	})
}

// fakeHost is the host: two windows, the scripts it was asked to run in
// each window's top-level document, an event bus.
type fakeHost struct {
	mu      sync.Mutex
	windows map[uint]string
	execs   map[uint][]string
	subs    map[string][]func(*application.CustomEvent)
	emitted []*application.CustomEvent
}

func newFakeHost() *fakeHost {
	return &fakeHost{windows: map[uint]string{1: "main", 2: "settings"}, execs: map[uint][]string{}, subs: map[string][]func(*application.CustomEvent){}}
}

func (h *fakeHost) WindowName(id uint) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.windows[id]
	return n, ok
}
func (h *fakeHost) Window(uint) application.Window { return nil }
func (h *fakeHost) ExecJS(id uint, script string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.windows[id]; !ok {
		return false
	}
	h.execs[id] = append(h.execs[id], script)
	return true
}
func (h *fakeHost) Emit(e *application.CustomEvent) {
	h.mu.Lock()
	h.emitted = append(h.emitted, e)
	subs := append([]func(*application.CustomEvent){}, h.subs[e.Name]...)
	h.mu.Unlock()
	for _, f := range subs {
		f(e)
	}
}
func (h *fakeHost) On(name string, f func(*application.CustomEvent)) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[name] = append(h.subs[name], f)
	n := len(h.subs[name]) - 1
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if s := h.subs[name]; n < len(s) {
			s[n] = func(*application.CustomEvent) {}
		}
	}
}
func (h *fakeHost) Logger() *slog.Logger { return nil }

func (h *fakeHost) lastExec(id uint) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.execs[id]; len(e) > 0 {
		return e[len(e)-1]
	}
	return ""
}

func (h *fakeHost) events() []*application.CustomEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*application.CustomEvent(nil), h.emitted...)
}

// fakeWails stands in for Wails's own handlers behind the middleware: it
// records the runtime requests it is handed and serves pages.
type fakeWails struct {
	mu    sync.Mutex
	calls []*http.Request
	csp   string
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
		if f.csp != "" {
			w.Header().Set("Content-Security-Policy", f.csp)
		}
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

type fixture struct {
	t         testing.TB
	app       *capguard.App
	dev       *sim.Sim
	host      *fakeHost
	vault     *VaultService
	guard     *capwails.Guard
	wails     *fakeWails
	handler   http.Handler
	opts      *application.Options
	mu        sync.Mutex
	rejects   []capwails.Rejection
	decisions []ipc.DecisionEvent
	raw       []string
}

func newFixture(t testing.TB, script ...sim.Step) *fixture {
	t.Helper()
	return newFixtureFrom(t, func(dev *sim.Sim, o capguard.Option) (*capguard.App, error) {
		return capguard.Load(appDir, acl.Linux, dev, o)
	}, script...)
}

func newFixtureFrom(t testing.TB, load func(*sim.Sim, capguard.Option) (*capguard.App, error), script ...sim.Step) *fixture {
	t.Helper()
	startWails()
	cfg := sim.Ready()
	cfg.Script = script
	f := &fixture{t: t, dev: sim.New(cfg), host: newFakeHost(), wails: &fakeWails{}, vault: &VaultService{release: make(chan struct{})}}
	var err error
	f.app, err = load(f.dev, capguard.WithObserver(func(e ipc.DecisionEvent) {
		f.mu.Lock()
		f.decisions = append(f.decisions, e)
		f.mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	f.opts = &application.Options{
		Services: []application.Service{application.NewService(f.vault)},
		RawMessageHandler: func(w application.Window, m string) {
			f.mu.Lock()
			f.raw = append(f.raw, w.Name()+": "+m)
			f.mu.Unlock()
		},
	}
	f.guard, err = capwails.New(capwails.Config{
		IPC:           f.app.IPC,
		App:           f.opts,
		Host:          f.host,
		EventPollWait: 200 * time.Millisecond,
		OnReject: func(r capwails.Rejection) {
			f.mu.Lock()
			f.rejects = append(f.rejects, r)
			f.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = f.opts.Assets.Middleware(f.wails)
	return f
}

func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func (f *fixture) decided() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.decisions)
}

var configRE = regexp.MustCompile(`data-capguard="([^"]*)"`)

// page is one page load as its page script sees it.
type page struct {
	Token, Load, Window, Refused string
}

// serve loads the page into window id (with extra request headers).
func (f *fixture) serve(id string, header ...string) (page, string) {
	f.t.Helper()
	r := httptest.NewRequest("GET", "wails://localhost/", nil)
	r.Header.Set(capwails.HeaderWindowID, id)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	body := f.do(r).Body.String()
	m := configRE.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("window %s: the page got no script: %s", id, body)
	}
	var p page
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &p); err != nil {
		f.t.Fatal(err)
	}
	return p, body
}

// post sends one of the page script's own requests.
func (f *fixture) post(path, window, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "wails://localhost/capguard/"+path, strings.NewReader(body))
	r.Header.Set(capwails.HeaderWindowID, window)
	r.Header.Set("Origin", "wails://localhost")
	if token != "" {
		r.Header.Set(capwails.HeaderToken, token)
	}
	return f.do(r)
}

var proveRE = regexp.MustCompile(`__capguard_prove\("([0-9a-f]+)","([0-9a-f]+)"\)`)

// challenge is what the host last ran in window id's top-level document.
func (f *fixture) challenge(id uint) (load, challenge string) {
	m := proveRE.FindStringSubmatch(f.host.lastExec(id))
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// load serves the page to window id and proves it, as the page script
// of a top-level document does; it returns the token.
func (f *fixture) load(id string) string {
	f.t.Helper()
	p, _ := f.serve(id)
	if w := f.post("start", id, p.Token, ""); w.Code != http.StatusAccepted {
		f.t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	n, _ := strconv.Atoi(id)
	load, c := f.challenge(uint(n))
	if load != p.Load {
		f.t.Fatalf("the host ran %q, not the challenge of load %s", f.host.lastExec(1), p.Load)
	}
	if w := f.post("prove", id, p.Token, `{"challenge":"`+c+`"}`); w.Code != http.StatusNoContent {
		f.t.Fatalf("prove: %d %s", w.Code, w.Body)
	}
	return p.Token
}

// call builds a binding call as the Wails runtime sends it.
func call(window, token string, opts map[string]any) *http.Request {
	args, _ := json.Marshal(opts)
	return runtimeReq(window, token, url.Values{"object": {"0"}, "method": {"0"}, "args": {string(args)}}.Encode())
}

func runtimeReq(window, token, query string) *http.Request {
	r := httptest.NewRequest("GET", "wails://localhost/wails/runtime?"+query, nil)
	r.Header.Set(capwails.HeaderWindowID, window)
	if token != "" {
		r.Header.Set(capwails.HeaderToken, token)
	}
	return r
}

func byName(method string, args ...any) map[string]any {
	if args == nil {
		args = []any{}
	}
	return map[string]any{"call-id": "c1", "methodName": pkg + ".VaultService." + method, "args": args}
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
