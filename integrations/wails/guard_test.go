package capwails_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/capguard/capguard/native/sim"
	"github.com/wailsapp/wails/v3/pkg/application"
)

func TestPageGetsScriptOnlyInAWindow(t *testing.T) {
	f := newFixture(t)
	p1, body := f.serve("1")
	p2, _ := f.serve("1")
	if p1.Token == "" || p1.Token == p2.Token || p1.Load == p2.Load {
		t.Errorf("two loads of a page got %+v and %+v", p1, p2)
	}
	if !strings.HasPrefix(body, `<!doctype html><html><head><script src="/capguard/page.js?v=`) || !strings.HasSuffix(body, "></script><title>t</title></head><body>hi</body></html>") {
		t.Errorf("the script is not first in <head>: %.300s", body)
	}
	if p1.Window != "main" {
		t.Errorf("window %q", p1.Window)
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
			if b := f.do(r).Body.String(); strings.Contains(b, "data-capguard") {
				t.Errorf("got the script: %.100s", b)
			}
		})
	}
	// The page script itself is served to anyone: it holds no secret.
	w := f.do(httptest.NewRequest("GET", "wails://localhost/capguard/page.js", nil))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") || !strings.Contains(w.Body.String(), "__TAURI_INTERNALS__") {
		t.Errorf("page.js: %d %s", w.Code, w.Header())
	}
}

// A page that another site loaded (a link, a frame or a fetch from a
// remote page: the Referer or Origin tells) gets the script but no token,
// and mints nothing.
func TestNoTokenForAnotherSite(t *testing.T) {
	f := newFixture(t)
	for _, h := range [][]string{
		{"Referer", "http://127.0.0.1:9999/attack.html"},
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
	} {
		p, _ := f.serve("1", h...)
		if p.Token != "" || !strings.Contains(p.Refused, "another site") {
			t.Errorf("%v: %+v", h, p)
		}
	}
	if _, pending, _ := f.guard.PageCounts(1); pending != 0 {
		t.Errorf("%d tokens minted for pages of another site", pending)
	}
	if p, _ := f.serve("1", "Referer", "wails://localhost/settings.html"); p.Token == "" {
		t.Error("a page the app's own page linked to got no token")
	}
}

func TestCSPNonce(t *testing.T) {
	for _, tc := range []struct{ csp, nonce string }{
		{"", ""},
		{"default-src 'self'", ""},
		{"default-src 'self'; script-src 'nonce-abc123' 'strict-dynamic'", "abc123"},
		{"script-src-elem 'nonce-elem'; script-src 'nonce-other'", "elem"},
		{"default-src 'nonce-dflt'", "dflt"},
		{"script-src 'self'; default-src 'nonce-x'", ""}, // script-src applies, without a nonce
		{`script-src 'nonce-a"b'`, ""},                   // not a nonce: never copied into the page
		{"default-src 'none', script-src 'nonce-second'", "second"},
	} {
		f := newFixture(t)
		f.wails.csp = tc.csp
		_, body := f.serve("1")
		got := ""
		if i := strings.Index(body, ` nonce="`); i >= 0 {
			got = body[i+8 : i+8+strings.IndexByte(body[i+8:], '"')]
		}
		if got != tc.nonce {
			t.Errorf("CSP %q: nonce %q, want %q", tc.csp, got, tc.nonce)
		}
	}
}

// The proof that a page is its window's top-level document: the host
// runs the challenge in the top-level document only, so a framed page
// (which has a token) never learns it, and the document above (which
// learns it) has no token.
func TestProofOfTopLevel(t *testing.T) {
	f := newFixture(t)
	framed, _ := f.serve("1")
	vaultInfo := byName("VaultInfo", "x")
	if w := f.do(call("1", framed.Token, vaultInfo)); w.Code != 403 || !strings.Contains(w.Body.String(), "has not proved") {
		t.Errorf("an unproved page's call: %d %s", w.Code, w.Body)
	}
	// The framed page asks to start; the challenge goes to the window's
	// top-level document, here a remote page, which reads it.
	if w := f.post("start", "1", framed.Token, ""); w.Code != 202 {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	load, challenge := f.challenge(1)
	if load != framed.Load || challenge == "" {
		t.Fatalf("the host ran %q", f.host.lastExec(1))
	}
	for _, tc := range []struct {
		name, window, token, challenge string
		status                         int
	}{
		{"the remote top document, no token", "1", "", challenge, 403},
		{"the framed page, a guess", "1", framed.Token, strings.Repeat("0", 32), 403},
		{"the framed page, from another window", "2", framed.Token, challenge, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w := f.post("prove", tc.window, tc.token, `{"challenge":"`+tc.challenge+`"}`); w.Code != tc.status {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		})
	}
	if a, _, _ := f.guard.PageCounts(1); a != 0 {
		t.Fatal("a page became active without proving")
	}
	// The right page with the right challenge: active, and its calls run.
	if w := f.post("prove", "1", framed.Token, `{"challenge":"`+challenge+`"}`); w.Code != 204 {
		t.Fatalf("prove: %d %s", w.Code, w.Body)
	}
	if w := f.post("prove", "1", framed.Token, `{"challenge":"`+challenge+`"}`); w.Code != 204 {
		t.Errorf("proving an active page again: %d", w.Code)
	}
	if w := f.do(call("1", framed.Token, vaultInfo)); w.Code != 200 {
		t.Errorf("the proven page's call: %d %s", w.Code, w.Body)
	}
	// A later top-level document retires the earlier one.
	next := f.load("1")
	if w := f.do(call("1", framed.Token, vaultInfo)); w.Code != 403 || !strings.Contains(w.Body.String(), "no longer") {
		t.Errorf("a retired page's call: %d %s", w.Code, w.Body)
	}
	if w := f.do(call("1", next, vaultInfo)); w.Code != 200 {
		t.Errorf("the new page's call: %d %s", w.Code, w.Body)
	}
	// Shown again (the back-forward cache), the earlier page proves again.
	if w := f.post("start", "1", framed.Token, ""); w.Code != 202 {
		t.Fatalf("start again: %d", w.Code)
	}
	_, c := f.challenge(1)
	if w := f.post("prove", "1", framed.Token, `{"challenge":"`+c+`"}`); w.Code != 204 {
		t.Errorf("prove again: %d %s", w.Code, w.Body)
	}
	if w := f.post("prove", "1", framed.Token, `{"challenge":"`+c+`"}`); w.Code != 204 {
		t.Errorf("an active page: %d", w.Code)
	}
}

// A remote page floods the app with fetches of its pages: they mint no
// token when the Referer names the remote site, and even without a
// Referer (no-referrer) they can only push out other unproved pages of
// the same window; no window's top-level document loses its token.
func TestTokenFlood(t *testing.T) {
	f := newFixture(t)
	mainTok, settingsTok := f.load("1"), f.load("2")
	for i := 0; i < 4300; i++ {
		r := httptest.NewRequest("GET", "wails://localhost/index.html", nil)
		r.Header.Set(capwails.HeaderWindowID, "1")
		if i%2 == 0 {
			r.Header.Set("Referer", "http://127.0.0.1:9999/")
		}
		f.handler.ServeHTTP(httptest.NewRecorder(), r)
	}
	active, pending, retired := f.guard.PageCounts(1)
	if active != 1 || pending > 2*capwails.DefaultPagesPerWindow || retired != 0 {
		t.Errorf("window main keeps %d active, %d pending, %d retired pages after the flood", active, pending, retired)
	}
	if a, p, _ := f.guard.PageCounts(2); a != 1 || p != 0 {
		t.Errorf("the flood touched window settings: %d active, %d pending", a, p)
	}
	for _, tc := range []struct{ window, token string }{{"1", mainTok}, {"2", settingsTok}} {
		if w := f.do(call(tc.window, tc.token, byName("VaultInfo", "x"))); w.Code != 200 {
			t.Errorf("window %s after the flood: %d %s", tc.window, w.Code, w.Body)
		}
	}
}

func TestBindingCalls(t *testing.T) {
	f := newFixture(t, sim.Step{Outcome: sim.Match})
	mainTok, settingsTok := f.load("1"), f.load("2")
	openVault := byName("OpenVault", "personal")

	t.Run("allowed after step-up, run by the guard, answered in the response", func(t *testing.T) {
		w := f.do(call("1", mainTok, openVault))
		if w.Code != 200 || w.Header().Get(capwails.HeaderCall) != "ok" || w.Body.String() != `"personal"` {
			t.Fatalf("got %d %s %q", w.Code, w.Header(), w.Body)
		}
		if n := f.dev.Count(sim.MethodAuthenticate); n != 1 {
			t.Errorf("the step-up prompted %d times, want 1", n)
		}
		if len(f.wails.handed()) != 0 {
			t.Error("Wails was handed the binding call: it would read it again and send the result into the window's top frame")
		}
	})
	t.Run("the bound method's context", func(t *testing.T) {
		w := f.do(call("2", settingsTok, byName("VaultInfo", "facts")))
		var got map[string]any
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil || got["granted"] != true || got["name"] != "facts" {
			t.Errorf("got %d %s", w.Code, w.Body)
		}
	})
	t.Run("a method's error", func(t *testing.T) {
		w := f.do(call("1", mainTok, byName("VaultInfo", "fail")))
		var cerr struct{ Kind, Message string }
		if w.Code != 200 || w.Header().Get(capwails.HeaderCall) != "error" || w.Header().Get(capwails.HeaderCallJSON) != "true" ||
			json.Unmarshal(w.Body.Bytes(), &cerr) != nil || cerr.Kind != "RuntimeError" || cerr.Message != "the vault is locked" {
			t.Errorf("got %d %s %s", w.Code, w.Header(), w.Body)
		}
	})
	t.Run("wrong arguments", func(t *testing.T) {
		w := f.do(call("1", mainTok, byName("VaultInfo", 1, 2)))
		if w.Header().Get(capwails.HeaderCall) != "error" || !strings.Contains(w.Body.String(), `"kind":"TypeError"`) {
			t.Errorf("got %d %s", w.Code, w.Body)
		}
	})

	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		text   string
	}{
		{"denied for settings", call("2", settingsTok, openVault), 403, "Command open_vault not allowed by ACL"},
		{"a command no capability allows", call("1", mainTok, byName("DeleteVault")), 403, "Command delete_vault not allowed by ACL"},
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
		{"no call id", call("1", mainTok, map[string]any{"methodName": pkg + ".VaultService.OpenVault"}), 400, "capguard: invalid binding call: missing argument 'call-id' (a string of letters, digits, '-' and '_')"},
		{"a call id that is not the runtime's", call("1", mainTok, map[string]any{"call-id": "x');alert(1)//", "methodName": pkg + ".VaultService.VaultInfo", "args": []any{"x"}}), 400, "capguard: invalid binding call: missing argument 'call-id' (a string of letters, digits, '-' and '_')"},
		{"a numeric call id", call("1", mainTok, map[string]any{"call-id": 7, "methodName": pkg + ".VaultService.VaultInfo", "args": []any{"x"}}), 400, "capguard: invalid binding call: missing argument 'call-id' (a string of letters, digits, '-' and '_')"},
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
		{"two args parameters", runtimeReq("1", mainTok, "object=0&method=0&args=%7B%7D&args=%7B%7D"), 400, "capguard: invalid runtime call: args given twice"},
		{"two objects", runtimeReq("1", mainTok, "object=6&object=0&method=0"), 400, "capguard: invalid runtime call: object given twice"},
		{"a semicolon", runtimeReq("1", mainTok, "object=6;x&object=0&method=0"), 400, "capguard: invalid runtime call: ';' in the query"},
		{"an unknown object", runtimeReq("1", mainTok, "object=11&method=0"), 400, "capguard: unknown runtime object 11 (capwails reads the objects 0-10 of Wails v3.0.0-alpha.38)"},
		{"an unknown call method", runtimeReq("1", mainTok, "object=0&method=1"), 400, "capguard: invalid binding call: unknown method 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.decided()
			w := f.do(tc.req)
			if w.Code != tc.status || w.Body.String() != tc.text {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tc.status, tc.text)
			}
			if len(f.wails.handed()) != 0 {
				t.Error("the call reached Wails")
			}
			if tc.status != 403 && f.decided() != before {
				t.Error("a malformed call was decided")
			}
		})
	}

	t.Run("by method id", func(t *testing.T) {
		w := f.do(call("2", settingsTok, map[string]any{"call-id": "c9", "methodID": fnv(pkg + ".VaultService.VaultInfo"), "args": []any{"by-id"}}))
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"by-id"`) {
			t.Errorf("status %d %s", w.Code, w.Body)
		}
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rejects) < 10 {
		t.Errorf("OnReject saw %d refusals, want at least 10", len(f.rejects))
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

func TestFailedStepUpNeverRuns(t *testing.T) {
	f := newFixture(t, sim.Step{Outcome: sim.UserCancel})
	tok := f.load("1")
	w := f.do(call("1", tok, byName("OpenVault", "x")))
	var v struct{ Code string }
	if w.Code != 403 || json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Code != "userCancel" {
		t.Errorf("got %d %s, want 403 and the biometric error with code userCancel", w.Code, w.Body)
	}
	if w.Header().Get(capwails.HeaderCall) != "" {
		t.Error("the method ran")
	}
}

// A page cancels its own running calls (the runtime's CancelCall), never
// another page's.
func TestCancel(t *testing.T) {
	f := newFixture(t)
	mainTok, settingsTok := f.load("1"), f.load("2")
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		done <- f.do(call("1", mainTok, map[string]any{"call-id": "slow1", "methodName": pkg + ".VaultService.VaultInfo", "args": []any{"wait"}}))
	}()
	cancel := func(window, token string) int {
		args, _ := json.Marshal(map[string]any{"call-id": "slow1"})
		return f.do(runtimeReq(window, token, "object=10&method=0&args="+string(args))).Code
	}
	time.Sleep(50 * time.Millisecond)
	if code := cancel("2", settingsTok); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	select {
	case w := <-done:
		t.Fatalf("another page's cancel ended the call: %s", w.Body)
	case <-time.After(100 * time.Millisecond):
	}
	if code := cancel("1", mainTok); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	w := <-done
	if w.Header().Get(capwails.HeaderCall) != "error" || !strings.Contains(w.Body.String(), "context canceled") {
		t.Errorf("the cancelled call answered %s %s", w.Header(), w.Body)
	}
}

// Only the methods the Wails runtime uses are calls: a CORS preflight
// (OPTIONS) or a POST to the runtime is answered without a decision.
func TestPreflightIsNotACall(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/wails/runtime?object=0&method=0&args=%7B%7D", "/capguard/ipc/plugin%3Abiometric%7Cauthenticate"} {
		r := httptest.NewRequest("OPTIONS", "wails://localhost"+path, nil)
		r.Header.Set(capwails.HeaderWindowID, "1")
		r.Header.Set("Origin", "http://127.0.0.1:9999")
		r.Header.Set("Access-Control-Request-Method", "GET")
		r.Header.Set("Access-Control-Request-Headers", "x-wails-window-name")
		w := f.do(r)
		if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "http://127.0.0.1:9999" {
			t.Errorf("%s: %d %s", path, w.Code, w.Header())
		}
	}
	r := httptest.NewRequest("POST", "wails://localhost/wails/runtime?object=0&method=0", nil)
	r.Header.Set(capwails.HeaderWindowID, "1")
	if w := f.do(r); w.Code != 405 {
		t.Errorf("POST to the runtime: %d", w.Code)
	}
	if n := f.decided(); n != 0 {
		t.Errorf("%d decisions for requests that are not calls", n)
	}
}

// A remote caller's decided answer carries CORS headers for its origin,
// so that a remote page that a capability allows can read it.
func TestRemoteCallerCORS(t *testing.T) {
	f := newFixture(t)
	r := call("1", "", byName("VaultInfo", "x"))
	r.Header.Set("Origin", "http://127.0.0.1:9999")
	w := f.do(r)
	if w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "http://127.0.0.1:9999" {
		t.Errorf("%d %s", w.Code, w.Header())
	}
}

func TestOtherRuntimeObjects(t *testing.T) {
	f := newFixture(t)
	tok := f.load("2")
	r := runtimeReq("2", tok, "object=6&method=3&extra=1&args=%7B%22x%22%3A1%7D")
	r.Header.Set(capwails.HeaderWindowName, "settings")
	if w := f.do(r); w.Code != 200 || len(f.wails.handed()) != 1 {
		t.Fatalf("a window call of the page's own window: %d %s", w.Code, w.Body)
	}
	got := f.wails.handed()[0]
	if got.URL.RawQuery != "object=6&method=3&args=%7B%22x%22%3A1%7D" || got.Header.Get(capwails.HeaderToken) != "" || got.Header.Get(capwails.HeaderWindowName) != "" {
		t.Errorf("Wails was handed %q %v", got.URL.RawQuery, got.Header)
	}
	if w := f.do(runtimeReq("2", "", "object=6&method=3")); w.Code != 403 || len(f.wails.handed()) != 1 {
		t.Errorf("a window call without token: %d %s", w.Code, w.Body)
	}
	remote := runtimeReq("2", "", "object=1&method=1")
	remote.Header.Set("Origin", "http://127.0.0.1:9999")
	if w := f.do(remote); w.Code != 403 || len(f.wails.handed()) != 1 {
		t.Errorf("the clipboard for a remote page: %d %s", w.Code, w.Body)
	}
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
	if err := os.CopyFS(dir, os.DirFS(appDir)); err != nil {
		t.Fatal(err)
	}
	f := newFixtureFrom(t, func(dev *sim.Sim, o capguard.Option) (*capguard.App, error) {
		return capguard.Load(dir, acl.Linux, dev, capguard.WithReload(), o)
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
	edited := strings.Replace(string(data), `"biometric:allow-status"`, `"biometric:allow-status", "biometric:allow-authenticate"`, 1)
	if edited == string(data) {
		t.Fatal("settings.toml does not have the expected permissions")
	}
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := req(); got != "ok" {
		t.Errorf("after the reload: %s", got)
	}
}

func TestNewInstallsItself(t *testing.T) {
	startWails()
	app, err := capguard.Load(appDir, acl.Linux, sim.New(sim.Ready()))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	var raw []string
	opts := &application.Options{
		Services: []application.Service{application.NewService(&VaultService{})},
		Assets: application.AssetOptions{Middleware: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, "app middleware")
				next.ServeHTTP(w, r)
			})
		}},
		RawMessageHandler: func(_ application.Window, m string) { raw = append(raw, m) },
	}
	g, err := capwails.New(capwails.Config{IPC: app.IPC, App: opts, Host: newFakeHost()})
	if err != nil {
		t.Fatal(err)
	}
	h := opts.Assets.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { order = append(order, "wails") }))
	// The guard answers its own endpoints before the app's middleware.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/capguard/page.js", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/style.css", nil))
	if strings.Join(order, ",") != "app middleware,wails" {
		t.Errorf("order %v", order)
	}
	if len(g.Commands()) != 3 {
		t.Errorf("commands %v", g.Commands())
	}
	// A raw message without a page's token never reaches the app.
	win := application.Get().Window.NewWithOptions(application.WebviewWindowOptions{Name: "raw-test"})
	opts.RawMessageHandler(win, "capguard:"+strings.Repeat("0", 32)+":hello")
	opts.RawMessageHandler(win, "hello")
	if len(raw) != 0 {
		t.Errorf("raw messages reached the app: %q", raw)
	}
}

func TestNewErrors(t *testing.T) {
	newApp := func() *capguard.App {
		app, err := capguard.Load(appDir, acl.Linux, sim.New(sim.Ready()))
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	opts := func() *application.Options {
		return &application.Options{Services: []application.Service{application.NewService(&VaultService{})}}
	}
	for _, tc := range []struct {
		name string
		cfg  capwails.Config
		want string
	}{
		{"no IPC", capwails.Config{}, "capwails: Config.IPC is nil (use capguard.App.IPC)"},
		{"no App", capwails.Config{IPC: newApp().IPC}, "capwails: Config.App is nil"},
		{"unknown rename", capwails.Config{IPC: newApp().IPC, App: opts(), Commands: map[string]string{"main.X.Y": "y"}}, "capwails: Config.Commands names main.X.Y, which is not a bound method of Config.App.Services (known: " + pkg + ".VaultService.DeleteVault, " + pkg + ".VaultService.OpenVault, " + pkg + ".VaultService.VaultInfo)"},
		{"two methods, one command", capwails.Config{IPC: newApp().IPC, App: opts(), Commands: map[string]string{pkg + ".VaultService.DeleteVault": "open_vault"}}, "capwails: methods"},
		{"a plugin's command", capwails.Config{IPC: newApp().IPC, App: opts(), Commands: map[string]string{pkg + ".VaultService.DeleteVault": "plugin:biometric|status"}}, "capwails: method " + pkg + ".VaultService.DeleteVault:"},
		{"bad origin", capwails.Config{IPC: newApp().IPC, App: opts(), LocalOrigins: []string{"wails://localhost/x"}}, `capwails: Config.LocalOrigins[0] "wails://localhost/x": an origin has no user, path, query or fragment`},
		{"bad path", capwails.Config{IPC: newApp().IPC, App: opts(), Path: "/wails/ipc/"}, `capwails: Config.Path "/wails/ipc/"`},
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
	if _, err := capwails.New(capwails.Config{IPC: app.IPC, App: opts()}); err != nil {
		t.Fatal(err)
	}
	if _, err := capwails.New(capwails.Config{IPC: app.IPC, App: opts()}); err == nil {
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
	want := map[string]string{pkg + ".VaultService.OpenVault": "open_vault", pkg + ".VaultService.VaultInfo": "vault_info", pkg + ".VaultService.DeleteVault": "delete_vault"}
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
