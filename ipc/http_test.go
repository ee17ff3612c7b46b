package ipc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// The pages of the tests: two windows of the app's own content, served
// from two loopback origins (both local), and the fixture's trusted remote
// site.
const (
	mainOrigin     = "http://127.0.0.1:5001"
	settingsOrigin = "http://127.0.0.1:5002"
	remoteOrigin   = "https://app.example.com"
	bridgeURL      = "http://127.0.0.1:5000/ipc/"
)

// seen is a concurrency-safe handler that records the invocations it
// receives and answers with their labels.
type seen struct {
	mu    sync.Mutex
	calls []ipc.Invocation
	err   error
	block func() // when set, runs before the call is recorded
}

func (s *seen) ServeIPC(ctx context.Context, inv *ipc.Invocation) (any, error) {
	if s.block != nil {
		s.block()
	}
	s.mu.Lock()
	s.calls = append(s.calls, *inv)
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if dl, ok := ctx.Deadline(); ok {
		return map[string]any{"deadline": time.Until(dl) > 0}, nil
	}
	return map[string]any{"window": inv.Window, "webview": inv.Webview, "origin": inv.Origin.String(), "args": inv.Args, "raw": len(inv.Raw)}, nil
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *seen) last() ipc.Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[len(s.calls)-1]
}

// bridgeFixture is a bridge over the files fixture, with one page bound
// for each of main, settings and the remote site (in window main).
type bridgeFixture struct {
	b                      *ipc.Bridge
	h                      *seen
	main, settings, remote ipc.Page
	rejected               []ipc.Rejection
	mu                     sync.Mutex
}

func newBridgeFixture(t testing.TB, mod func(*ipc.BridgeConfig)) *bridgeFixture {
	t.Helper()
	res := resolveFiles(t)
	f := &bridgeFixture{h: &seen{}}
	r := ipc.NewRouter()
	for _, c := range []string{"read", "stat", "write"} {
		if err := r.HandlePlugin("files", c, f.h); err != nil {
			t.Fatal(err)
		}
	}
	cfg := ipc.BridgeConfig{
		URL:          bridgeURL,
		LocalOrigins: []string{mainOrigin, settingsOrigin},
		OnReject: func(rj ipc.Rejection) {
			f.mu.Lock()
			f.rejected = append(f.rejected, rj)
			f.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := ipc.NewBridge(r.Guard(compile(t, res), ipc.WithScopes(res)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.b = b
	bind := func(window, origin string) ipc.Page {
		p, err := b.Bind(ipc.Binding{Window: window, Origin: origin})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.main, f.settings, f.remote = bind("main", mainOrigin), bind("settings", settingsOrigin), bind("main", remoteOrigin)
	return f
}

var keyRE = regexp.MustCompile(`"invokeKey":"([0-9a-f]+)"`)

// invokeKey reads the run's invoke key from a page's script, as the page
// itself has it.
func invokeKey(t testing.TB, p ipc.Page) string {
	m := keyRE.FindStringSubmatch(p.Script)
	if m == nil {
		t.Fatalf("no invoke key in the script")
	}
	return m[1]
}

// call builds a well-formed call of page p, as the shim sends it.
func call(t testing.TB, p ipc.Page, origin, command, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/"+url.PathEscape(command), strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Origin", origin)
	r.Header.Set(ipc.HeaderCallback, "1234")
	r.Header.Set(ipc.HeaderError, "5678")
	r.Header.Set(ipc.HeaderInvokeKey, invokeKey(t, p))
	r.Header.Set(ipc.HeaderToken, p.Token)
	return r
}

type answer struct {
	status   int
	response string // Tauri-Response
	ctype    string
	body     string
	header   http.Header
}

func serve(h http.Handler, r *http.Request) answer {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header.Get(ipc.HeaderResponse), res.Header.Get("Content-Type"), string(body), res.Header}
}

func TestBridgeAnswersAsTauri(t *testing.T) {
	f := newBridgeFixture(t, nil)
	for _, tc := range []struct {
		name     string
		page     func(*bridgeFixture) ipc.Page
		origin   string
		command  string
		body     string
		response string
		want     string // the JSON body
		window   string // the labels the handler saw ("" when it was not reached)
	}{
		{"allowed", func(f *bridgeFixture) ipc.Page { return f.main }, mainOrigin, "plugin:files|stat", `{"path":"/x"}`,
			"ok", `{"args":{"path":"/x"},"origin":"local","raw":0,"webview":"main","window":"main"}`, "main"},
		{"empty body is {}", func(f *bridgeFixture) ipc.Page { return f.main }, mainOrigin, "plugin:files|stat", ``,
			"ok", `{"args":{},"origin":"local","raw":0,"webview":"main","window":"main"}`, "main"},
		{"denied by the ACL", func(f *bridgeFixture) ipc.Page { return f.settings }, settingsOrigin, "plugin:files|stat", `{}`,
			"error", `"Command plugin:files|stat not allowed by ACL"`, ""},
		{"trusted remote origin", func(f *bridgeFixture) ipc.Page { return f.remote }, remoteOrigin, "plugin:files|stat", `{}`,
			"ok", `{"args":{},"origin":"remote: https://app.example.com/","raw":0,"webview":"main","window":"main"}`, "main"},
		{"remote origin, command not granted remotely", func(f *bridgeFixture) ipc.Page { return f.remote }, remoteOrigin, "plugin:files|read", `{}`,
			"error", `"Command plugin:files|read not allowed by ACL"`, ""},
		{"unknown command", func(f *bridgeFixture) ipc.Page { return f.main }, mainOrigin, "plugin:files|delete", `{}`,
			"error", `"Command plugin:files|delete not allowed by ACL"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.h.count()
			a := serve(f.b, call(t, tc.page(f), tc.origin, tc.command, tc.body))
			if a.status != 200 || a.response != tc.response || a.ctype != "application/json" {
				t.Fatalf("status %d, Tauri-Response %q, Content-Type %q (%s); want 200, %q, application/json", a.status, a.response, a.ctype, a.body, tc.response)
			}
			if a.body != tc.want {
				t.Errorf("body %s\nwant %s", a.body, tc.want)
			}
			if got := a.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q", got)
			}
			if got := a.header.Get("Access-Control-Expose-Headers"); got != "Tauri-Response" {
				t.Errorf("Access-Control-Expose-Headers = %q", got)
			}
			reached := f.h.count() - before
			if (tc.window != "") != (reached == 1) {
				t.Fatalf("handler reached %d times, want window %q", reached, tc.window)
			}
		})
	}
}

// The labels come from the token the host gave the page, never from the
// page: naming another window in a header does not change them, and a
// token is refused from another origin, unknown, or missing.
func TestBridgeLabelSpoofing(t *testing.T) {
	f := newBridgeFixture(t, nil)
	for _, tc := range []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
		text   string // the refusal's text, or the JSON body for 200
	}{
		{"label headers are ignored", func(t *testing.T) *http.Request {
			r := call(t, f.settings, settingsOrigin, "plugin:files|stat", `{}`)
			for _, h := range []string{"Tauri-Window", "Tauri-Webview", "Capguard-Window", "Capguard-Webview", "X-Window-Label"} {
				r.Header.Set(h, "main")
			}
			return r
		}, 200, `"Command plugin:files|stat not allowed by ACL"`},
		{"main's token presented by the settings page", func(t *testing.T) *http.Request {
			return call(t, f.main, settingsOrigin, "plugin:files|stat", `{}`)
		}, 403, "failed to acquire webview reference: the Capguard-Webview-Token belongs to a page of another origin"},
		{"main's token presented by another site", func(t *testing.T) *http.Request {
			return call(t, f.main, "https://evil.example", "plugin:files|stat", `{}`)
		}, 403, "failed to acquire webview reference: the Capguard-Webview-Token belongs to a page of another origin"},
		{"forged token", func(t *testing.T) *http.Request {
			r := call(t, f.settings, settingsOrigin, "plugin:files|stat", `{}`)
			r.Header.Set(ipc.HeaderToken, strings.Repeat("0", 32))
			return r
		}, 403, "failed to acquire webview reference: unknown Capguard-Webview-Token"},
		{"no token", func(t *testing.T) *http.Request {
			r := call(t, f.settings, settingsOrigin, "plugin:files|stat", `{}`)
			r.Header.Del(ipc.HeaderToken)
			return r
		}, 403, "failed to acquire webview reference: missing Capguard-Webview-Token header (the host binds every page with Bridge.Bind)"},
		{"wrong invoke key", func(t *testing.T) *http.Request {
			r := call(t, f.main, mainOrigin, "plugin:files|stat", `{}`)
			r.Header.Set(ipc.HeaderInvokeKey, strings.Repeat("f", 32))
			return r
		}, 403, "invalid Tauri-Invoke-Key: the page was not set up by this bridge"},
		{"empty invoke key", func(t *testing.T) *http.Request {
			r := call(t, f.main, mainOrigin, "plugin:files|stat", `{}`)
			r.Header.Set(ipc.HeaderInvokeKey, "")
			return r
		}, 403, "invalid Tauri-Invoke-Key: the page was not set up by this bridge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.h.count()
			a := serve(f.b, tc.req(t))
			if a.status != tc.status || a.body != tc.text {
				t.Fatalf("got %d %q, want %d %q", a.status, a.body, tc.status, tc.text)
			}
			if tc.status != 200 && (a.response != "" || a.ctype != "text/plain") {
				t.Errorf("a refusal with Tauri-Response %q, Content-Type %q", a.response, a.ctype)
			}
			if n := f.h.count() - before; n != 0 {
				t.Errorf("the handler ran %d times", n)
			}
		})
	}
	// Every refusal was reported, with the labels of a known token.
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rejected) != 6 {
		t.Fatalf("%d rejections reported, want 6: %+v", len(f.rejected), f.rejected)
	}
	if rj := f.rejected[0]; rj.Window != "main" || rj.Status != 403 || rj.Command != "plugin:files|stat" || rj.Origin != settingsOrigin {
		t.Errorf("first rejection %+v, want main's token from the settings origin", rj)
	}
	if rj := f.rejected[2]; rj.Window != "" {
		t.Errorf("a forged token reported labels %q", rj.Window)
	}
}

// Each invoke key and token is random: two bridges share no key, two
// bindings no token.
func TestBridgeKeysAreRandom(t *testing.T) {
	a, b := newBridgeFixture(t, nil), newBridgeFixture(t, nil)
	if ka, kb := invokeKey(t, a.main), invokeKey(t, b.main); ka == kb || len(ka) != 32 {
		t.Errorf("invoke keys %q and %q", ka, kb)
	}
	if invokeKey(t, a.main) != invokeKey(t, a.settings) {
		t.Errorf("one bridge gave two invoke keys")
	}
	tokens := map[string]bool{a.main.Token: true, a.settings.Token: true, a.remote.Token: true, b.main.Token: true}
	if len(tokens) != 4 {
		t.Errorf("tokens repeat: %v", tokens)
	}
	// A page of bridge a is refused by bridge b.
	if got := serve(b.b, call(t, a.main, mainOrigin, "plugin:files|stat", `{}`)); got.status != 403 {
		t.Errorf("bridge b answered a page of bridge a: %d %s", got.status, got.body)
	}
}

func TestBridgeMalformed(t *testing.T) {
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.MaxBody = 64 })
	good := func(t *testing.T) *http.Request { return call(t, f.main, mainOrigin, "plugin:files|stat", `{}`) }
	for _, tc := range []struct {
		name   string
		mod    func(*http.Request) *http.Request
		status int
		text   string
	}{
		{"GET", func(r *http.Request) *http.Request { r.Method = http.MethodGet; return r }, 405, "only POST and OPTIONS are allowed"},
		{"PUT", func(r *http.Request) *http.Request { r.Method = http.MethodPut; return r }, 405, "only POST and OPTIONS are allowed"},
		{"no command", func(r *http.Request) *http.Request { r.URL.Path, r.URL.RawPath = "/", ""; return r }, 400, "missing command: post to /<percent-encoded command>"},
		{"long command", func(r *http.Request) *http.Request {
			r.URL.Path, r.URL.RawPath = "/"+strings.Repeat("a", 1025), ""
			return r
		}, 400, "the command is 1025 bytes long, more than 1024"},
		{"unknown content type", func(r *http.Request) *http.Request { r.Header.Set("Content-Type", "text/plain"); return r }, 415, "content type text/plain is not implemented"},
		{"unparsable content type", func(r *http.Request) *http.Request { r.Header.Set("Content-Type", "a/b; ="); return r }, 400, "unknown content type"},
		{"no invoke key", func(r *http.Request) *http.Request { r.Header.Del(ipc.HeaderInvokeKey); return r }, 400, "missing Tauri-Invoke-Key header"},
		{"no Origin", func(r *http.Request) *http.Request { r.Header.Del("Origin"); return r }, 400, "missing Origin header"},
		{"Origin null", func(r *http.Request) *http.Request { r.Header.Set("Origin", "null"); return r }, 400, "Origin header is not a valid URL"},
		{"Origin with a path", func(r *http.Request) *http.Request { r.Header.Set("Origin", mainOrigin+"/x"); return r }, 400, "Origin header is not a valid URL"},
		{"no callback", func(r *http.Request) *http.Request { r.Header.Del(ipc.HeaderCallback); return r }, 400, "missing Tauri-Callback header"},
		{"callback not a number", func(r *http.Request) *http.Request { r.Header.Set(ipc.HeaderCallback, "abc"); return r }, 400, "Tauri callback header value must be a numeric string"},
		{"callback too large", func(r *http.Request) *http.Request { r.Header.Set(ipc.HeaderCallback, "4294967296"); return r }, 400, "Tauri callback header value must be a numeric string"},
		{"no error callback", func(r *http.Request) *http.Request { r.Header.Del(ipc.HeaderError); return r }, 400, "missing Tauri-Error header"},
		{"error callback negative", func(r *http.Request) *http.Request { r.Header.Set(ipc.HeaderError, "-1"); return r }, 400, "Tauri error header value must be a numeric string"},
		{"invalid JSON", func(r *http.Request) *http.Request {
			r.Body = io.NopCloser(strings.NewReader("{\n  \"reason\": x}"))
			return r
		}, 400, "the body is not valid JSON: invalid character 'x' looking for beginning of value at line 2 column 13"},
		{"two JSON values", func(r *http.Request) *http.Request { r.Body = io.NopCloser(strings.NewReader(`{} {}`)); return r }, 400, "the body is not valid JSON: invalid character '{' after top-level value at line 1 column 4"},
		{"body too large", func(r *http.Request) *http.Request {
			r.Body = io.NopCloser(strings.NewReader(`{"a":"` + strings.Repeat("x", 100) + `"}`))
			return r
		}, 413, "the request body is larger than 64 bytes"},
		{"not from loopback", func(r *http.Request) *http.Request { r.RemoteAddr = "192.0.2.1:5000"; return r }, 403, "the IPC bridge only answers clients on this machine (loopback)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.h.count()
			a := serve(f.b, tc.mod(good(t)))
			if a.status != tc.status || a.body != tc.text {
				t.Fatalf("got %d %q\nwant %d %q", a.status, a.body, tc.status, tc.text)
			}
			if a.ctype != "text/plain" || a.response != "" || a.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("headers %v", a.header)
			}
			if n := f.h.count() - before; n != 0 {
				t.Errorf("the handler ran %d times", n)
			}
		})
	}
}

func TestBridgePreflight(t *testing.T) {
	f := newBridgeFixture(t, nil)
	r := httptest.NewRequest(http.MethodOptions, "/plugin%3Afiles%7Cstat", nil)
	r.RemoteAddr = "[::1]:4000"
	r.Header.Set("Origin", mainOrigin)
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type,tauri-callback,tauri-error,tauri-invoke-key,capguard-webview-token")
	a := serve(f.b, r)
	if a.status != 200 || a.header.Get("Access-Control-Allow-Headers") != "*" || a.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight answered %d %v", a.status, a.header)
	}
	if f.h.count() != 0 {
		t.Errorf("a preflight reached the handler")
	}
}

func TestBridgeRequestShapes(t *testing.T) {
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.AllowNonLoopback = true })
	t.Run("percent-encoded command", func(t *testing.T) {
		r := call(t, f.main, mainOrigin, "x", `{}`)
		r.URL.Path, r.URL.RawPath = "/plugin:files|stat", "/plugin%3Afiles%7Cstat"
		if a := serve(f.b, r); a.response != "ok" {
			t.Fatalf("%d %s %s", a.status, a.response, a.body)
		}
	})
	t.Run("bytes body", func(t *testing.T) {
		r := call(t, f.main, mainOrigin, "plugin:files|stat", "\x00\x01\x02")
		r.Header.Set("Content-Type", "application/octet-stream")
		a := serve(f.b, r)
		if a.response != "ok" || !strings.Contains(a.body, `"raw":3`) || !strings.Contains(a.body, `"args":null`) {
			t.Fatalf("%d %s %s", a.status, a.response, a.body)
		}
		if got := f.h.last().Raw; !bytes.Equal(got, []byte{0, 1, 2}) {
			t.Errorf("Raw = %v", got)
		}
	})
	t.Run("no content type is bytes", func(t *testing.T) {
		r := call(t, f.main, mainOrigin, "plugin:files|stat", `{"a":1}`)
		r.Header.Del("Content-Type")
		if a := serve(f.b, r); !strings.Contains(a.body, `"raw":7`) {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("JSON with a charset", func(t *testing.T) {
		r := call(t, f.main, mainOrigin, "plugin:files|stat", `{"a":1}`)
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		if a := serve(f.b, r); !strings.Contains(a.body, `"args":{"a":1}`) {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("default port of the origin", func(t *testing.T) {
		p, err := f.b.Bind(ipc.Binding{Window: "main", Origin: "HTTPS://App.Example.com:443"})
		if err != nil {
			t.Fatal(err)
		}
		if a := serve(f.b, call(t, p, "https://app.example.com", "plugin:files|stat", `{}`)); a.response != "ok" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("non-loopback client when allowed", func(t *testing.T) {
		r := call(t, f.main, mainOrigin, "plugin:files|stat", `{}`)
		r.RemoteAddr = "192.0.2.1:5000"
		if a := serve(f.b, r); a.response != "ok" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("handler error", func(t *testing.T) {
		f.h.mu.Lock()
		f.h.err = errors.New("disk full")
		f.h.mu.Unlock()
		defer func() { f.h.mu.Lock(); f.h.err = nil; f.h.mu.Unlock() }()
		if a := serve(f.b, call(t, f.main, mainOrigin, "plugin:files|stat", `{}`)); a.response != "error" || a.body != `"disk full"` {
			t.Fatalf("%d %s %s", a.status, a.response, a.body)
		}
	})
}

func TestBridgeCallTimeout(t *testing.T) {
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.CallTimeout = time.Minute })
	if a := serve(f.b, call(t, f.main, mainOrigin, "plugin:files|stat", `{}`)); a.body != `{"deadline":true}` {
		t.Fatalf("the handler saw %s, want a deadline", a.body)
	}
}

func TestBridgeBindings(t *testing.T) {
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.MaxPages = 3 })
	stat := func(p ipc.Page, origin string) int {
		return serve(f.b, call(t, p, origin, "plugin:files|stat", `{}`)).status
	}
	// Window main has two pages (main, remote), settings one; the bound
	// is per window: a third page of main forgets none, a fourth forgets
	// main's oldest, and settings keeps its page throughout.
	if _, err := f.b.Bind(ipc.Binding{Window: "main", Webview: "third", Origin: mainOrigin}); err != nil {
		t.Fatal(err)
	}
	if got := stat(f.main, mainOrigin); got != 200 {
		t.Errorf("a page was forgotten before its window's bound: %d", got)
	}
	extra, err := f.b.Bind(ipc.Binding{Window: "main", Webview: "panel", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	if got := stat(f.main, mainOrigin); got != 403 {
		t.Errorf("the oldest page of main still answered: %d", got)
	}
	if got := stat(extra, mainOrigin); got != 200 || f.h.last().Webview != "panel" {
		t.Errorf("the new page: %d, webview %q", got, f.h.last().Webview)
	}
	f.b.Unbind(extra.Token)
	if got := stat(extra, mainOrigin); got != 403 {
		t.Errorf("an unbound page answered: %d", got)
	}
	for i := 0; i < 10; i++ {
		if _, err := f.b.Bind(ipc.Binding{Window: "main", Origin: mainOrigin}); err != nil {
			t.Fatal(err)
		}
	}
	if got := serve(f.b, call(t, f.settings, settingsOrigin, "plugin:files|read", `{}`)).status; got != 200 {
		t.Errorf("pages of main evicted settings' page: %d", got)
	}
	// Unbinding and binding many times keeps the bookkeeping bounded (and
	// still forgets the oldest).
	for i := 0; i < 100; i++ {
		p, err := f.b.Bind(ipc.Binding{Window: "main", Origin: mainOrigin})
		if err != nil {
			t.Fatal(err)
		}
		f.b.Unbind(p.Token)
	}
	if got := stat(f.settings, settingsOrigin); got != 200 {
		t.Errorf("a live page was forgotten: %d", got)
	}
}

func TestBridgeConfigErrors(t *testing.T) {
	g := ipc.NewRouter().Guard(nil)
	for _, tc := range []struct {
		name string
		g    *ipc.Guarded
		cfg  ipc.BridgeConfig
		want string
	}{
		{"nil guarded", nil, ipc.BridgeConfig{URL: bridgeURL}, "nil Guarded"},
		{"no URL", g, ipc.BridgeConfig{}, `URL ""`},
		{"relative URL", g, ipc.BridgeConfig{URL: "/ipc/"}, `URL "/ipc/"`},
		{"URL without slash", g, ipc.BridgeConfig{URL: "http://127.0.0.1:1/ipc"}, `URL "http://127.0.0.1:1/ipc"`},
		{"URL of another scheme", g, ipc.BridgeConfig{URL: "ftp://127.0.0.1:1/"}, `URL "ftp://127.0.0.1:1/"`},
		{"local origin with a path", g, ipc.BridgeConfig{URL: bridgeURL, LocalOrigins: []string{"http://a/b"}}, `local origin "http://a/b"`},
		{"local origin without host", g, ipc.BridgeConfig{URL: bridgeURL, LocalOrigins: []string{"localhost"}}, `local origin "localhost"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ipc.NewBridge(tc.g, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	b, err := ipc.NewBridge(g, ipc.BridgeConfig{URL: bridgeURL})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    ipc.Binding
		want string
	}{
		{"no window", ipc.Binding{Origin: mainOrigin}, "the window label is empty"},
		{"bad window label", ipc.Binding{Window: "ma in", Origin: mainOrigin}, `window label "ma in" has ' ' at byte 2`},
		{"bad webview label", ipc.Binding{Window: "main", Webview: "é", Origin: mainOrigin}, `webview label "é"`},
		{"long label", ipc.Binding{Window: strings.Repeat("a", 129), Origin: mainOrigin}, "more than 128"},
		{"no origin", ipc.Binding{Window: "main"}, `origin ""`},
		{"origin with a query", ipc.Binding{Window: "main", Origin: "http://a?x"}, `origin "http://a?x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Bind(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// Tauri's own local origins are the default.
func TestBridgeDefaultLocalOrigins(t *testing.T) {
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.LocalOrigins = nil })
	for _, o := range []string{"tauri://localhost", "http://tauri.localhost", "https://tauri.localhost"} {
		p, err := f.b.Bind(ipc.Binding{Window: "main", Origin: o})
		if err != nil {
			t.Fatal(err)
		}
		if a := serve(f.b, call(t, p, o, "plugin:files|read", `{}`)); a.response != "ok" || !strings.Contains(a.body, `"origin":"local"`) {
			t.Errorf("%s: %d %s", o, a.status, a.body)
		}
	}
	// http://127.0.0.1:5001 is not local any more: main's page is remote.
	if a := serve(f.b, call(t, f.main, mainOrigin, "plugin:files|read", `{}`)); a.response != "error" {
		t.Errorf("a loopback page was local by default: %s", a.body)
	}
}

// The script carries the configuration as JSON that cannot end its
// <script> element, and defines what @tauri-apps/api uses.
func TestBridgeScript(t *testing.T) {
	g := ipc.NewRouter().Guard(nil)
	b, err := ipc.NewBridge(g, ipc.BridgeConfig{URL: "http://127.0.0.1:1/</script><x>&/"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Bind(ipc.Binding{Window: "main", Webview: "inner", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.Script, "</script") || strings.Contains(p.Script, "__CAPGUARD_CONFIG__") {
		t.Errorf("script not filled in safely")
	}
	for _, want := range []string{
		`"token":"` + p.Token + `"`, `"window":"main"`, `"webview":"inner"`, `"tokenHeader":"Capguard-Webview-Token"`,
		`\u003c/script\u003e`, "transformCallback", "unregisterCallback", "runCallback", "convertFileSrc",
		"currentWindow", "currentWebview", "'Tauri-Invoke-Key'", "'Tauri-Callback'", "'Tauri-Error'", "isTauri",
	} {
		if !strings.Contains(p.Script, want) {
			t.Errorf("the script lacks %s", want)
		}
	}
}

// The bridge over a real HTTP server: concurrent pages, each answered with
// its own labels (run with -race).
func TestBridgeConcurrentOverHTTP(t *testing.T) {
	f := newBridgeFixture(t, nil)
	srv := httptest.NewServer(f.b)
	defer srv.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p, origin, want := f.main, mainOrigin, "ok"
			if i%2 == 1 {
				p, origin, want = f.settings, settingsOrigin, "error"
			}
			for j := 0; j < 10; j++ {
				if i%4 == 0 { // some pages are bound while others call
					if _, err := f.b.Bind(ipc.Binding{Window: "main", Origin: mainOrigin}); err != nil {
						errs <- err
						return
					}
				}
				r := call(t, p, origin, "plugin:files|stat", `{}`)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/plugin%3Afiles%7Cstat", strings.NewReader(`{}`))
				req.Header = r.Header
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if got := res.Header.Get(ipc.HeaderResponse); got != want {
					errs <- fmt.Errorf("page %d: %s %s, want %s", i, got, body, want)
					return
				}
				if want == "ok" {
					var out map[string]any
					if err := json.Unmarshal(body, &out); err != nil || out["window"] != "main" {
						errs <- fmt.Errorf("page %d: %s", i, body)
						return
					}
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// FuzzBridgeRequest sends arbitrary requests to the bridge: it never
// panics, answers every request, and runs the handler only for a request
// with the right key, token and origin.
func FuzzBridgeRequest(f *testing.F) {
	fx := newBridgeFixture(f, func(c *ipc.BridgeConfig) { c.MaxBody = 1 << 10 })
	key := invokeKey(f, fx.main)
	f.Add("POST", "/plugin%3Afiles%7Cstat", "application/json", key, fx.main.Token, mainOrigin, "1", "2", `{"path":"/x"}`)
	f.Add("POST", "/plugin:files|read", "application/octet-stream", key, fx.settings.Token, settingsOrigin, "1", "2", "\x00")
	f.Add("OPTIONS", "/", "", "", "", "", "", "", "")
	f.Add("POST", "/%", "text/html", "k", "t", "null", "x", "-1", "{")
	f.Add("POST", "/open_vault", "application/json; charset=utf-8", key, fx.remote.Token, remoteOrigin, "4294967295", "0", `[1,2]`)
	f.Fuzz(func(t *testing.T, method, path, ctype, key, token, origin, cb, ecb, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u, err := url.Parse(path)
		if err != nil || !isToken(method) {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Method, r.URL, r.RemoteAddr = method, u, "127.0.0.1:1"
		for name, v := range map[string]string{"Content-Type": ctype, ipc.HeaderInvokeKey: key, ipc.HeaderToken: token, "Origin": origin, ipc.HeaderCallback: cb, ipc.HeaderError: ecb} {
			if v != "" {
				r.Header.Set(name, v)
			}
		}
		before := fx.h.count()
		a := serve(fx.b, r)
		reached := fx.h.count() - before
		switch {
		case a.status == 200 && method == http.MethodPost:
			if a.response != "ok" && a.response != "error" {
				t.Fatalf("200 without Tauri-Response: %v", a.header)
			}
			if !json.Valid([]byte(a.body)) {
				t.Fatalf("invalid JSON answer %q", a.body)
			}
		case a.status == 200 && method == http.MethodOptions:
		case a.status >= 400 && a.status < 500:
			if reached != 0 {
				t.Fatalf("refused with %d after the handler ran", a.status)
			}
		default:
			t.Fatalf("status %d", a.status)
		}
		if reached > 0 && (token != fx.main.Token && token != fx.remote.Token && token != fx.settings.Token) {
			t.Fatalf("the handler ran for token %q", token)
		}
	})
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	return true
}

// ExampleBridge serves a guarded router to pages over HTTP: the host binds
// each page it loads to its window and puts the returned script in the
// page, so that @tauri-apps/api's invoke() reaches the guard.
func ExampleBridge() {
	router := ipc.NewRouter()
	_ = router.Handle("ping", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return "pong", nil }))
	pf, _ := acl.ParsePermissionFile("permissions/ping.toml", []byte(`
[[permission]]
identifier = "allow-ping"
commands.allow = ["ping"]
`))
	caps, _ := acl.ParseCapabilityFile("capabilities/main.json", []byte(`{"identifier":"main","windows":["main"],"permissions":["allow-ping"]}`))
	set := acl.CapabilitySet{}
	_ = set.Add(caps...)
	resolved, _ := acl.Resolve(acl.Manifests{acl.AppKey: acl.NewManifest([]*acl.PermissionFile{pf}, nil)}, set, acl.Linux)
	engine, err := policy.Compile(resolved)
	if err != nil {
		panic(err)
	}

	bridge, err := ipc.NewBridge(router.Guard(engine), ipc.BridgeConfig{
		URL:          "http://127.0.0.1:1430/ipc/",
		LocalOrigins: []string{"http://127.0.0.1:1430"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ipc/", http.StripPrefix("/ipc", bridge))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Only a page load the host launched gets a token.
		page, err := bridge.BindLaunch(r.URL.Query().Get(ipc.QueryLaunch), "http://127.0.0.1:1430")
		if err != nil {
			http.Error(w, "open this window from the app", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "<!doctype html><script>%s</script><script type=module src=/app.js></script>", page.Script)
	})

	// The host opens the window with a launch secret in its URL.
	secret, err := bridge.Launch(ipc.Binding{Window: "main", Origin: "http://127.0.0.1:1430"})
	if err != nil {
		panic(err)
	}
	load := func(u string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
		return w
	}
	html := load("/?" + ipc.QueryLaunch + "=" + secret).Body.String()
	fmt.Println("launched:", strings.Contains(html, "invokeKey"), "again:", load("/?"+ipc.QueryLaunch+"="+secret).Code, "without:", load("/").Code)
	token := regexp.MustCompile(`"token":"([0-9a-f]+)"`).FindStringSubmatch(html)[1]

	// What the page's invoke("ping") sends:
	req := httptest.NewRequest(http.MethodPost, "/ipc/ping", strings.NewReader("{}"))
	req.RemoteAddr = "127.0.0.1:50000"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://127.0.0.1:1430")
	req.Header.Set("Tauri-Callback", "1")
	req.Header.Set("Tauri-Error", "2")
	req.Header.Set("Tauri-Invoke-Key", keyRE.FindStringSubmatch(html)[1])
	req.Header.Set("Capguard-Webview-Token", token)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("Tauri-Response"), w.Body.String())
	// Output:
	// launched: true again: 403 without: 403
	// 200 ok "pong"
}

// BenchmarkBridge measures one call through the bridge (request parsing,
// key and token checks, guard, handler, answer), allowed and denied,
// against the same call made with Guarded.Invoke directly, to a handler
// that returns nil.
func BenchmarkBridge(b *testing.B) {
	res := resolveFiles(b)
	r := ipc.NewRouter()
	_ = r.HandlePlugin("files", "stat", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return nil, nil }))
	g := r.Guard(compile(b, res))
	bridge, err := ipc.NewBridge(g, ipc.BridgeConfig{URL: bridgeURL, LocalOrigins: []string{mainOrigin, settingsOrigin}})
	if err != nil {
		b.Fatal(err)
	}
	mainPage, _ := bridge.Bind(ipc.Binding{Window: "main", Origin: mainOrigin})
	settingsPage, _ := bridge.Bind(ipc.Binding{Window: "settings", Origin: settingsOrigin})
	b.Run("invoke-direct", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		for b.Loop() {
			if _, err := g.Invoke(ctx, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main", Args: json.RawMessage(`{"path":"/x"}`)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bc := range []struct {
		name   string
		page   ipc.Page
		origin string
		want   string
	}{
		{"http-allowed", mainPage, mainOrigin, "ok"},
		{"http-denied", settingsPage, settingsOrigin, "error"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			tmpl := call(b, bc.page, bc.origin, "plugin:files|stat", `{"path":"/x"}`)
			for b.Loop() {
				req := tmpl.Clone(context.Background())
				req.Body = io.NopCloser(strings.NewReader(`{"path":"/x"}`))
				w := httptest.NewRecorder()
				bridge.ServeHTTP(w, req)
				if w.Header().Get(ipc.HeaderResponse) != bc.want {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}

// tripwire is a request body that records whether it was read.
type tripwire struct{ read bool }

func (tw *tripwire) Read([]byte) (int, error) { tw.read = true; return 0, io.EOF }

// A stranger's body is never read: the key and the token come first.
func TestBridgeReadsNoStrangersBody(t *testing.T) {
	f := newBridgeFixture(t, nil)
	for _, tc := range []struct {
		name string
		mod  func(*http.Request)
	}{
		{"wrong key", func(r *http.Request) { r.Header.Set(ipc.HeaderInvokeKey, "x") }},
		{"unknown token", func(r *http.Request) { r.Header.Set(ipc.HeaderToken, "x") }},
		{"foreign origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, f.main, mainOrigin, "plugin:files|stat", "")
			tw := &tripwire{}
			r.Body = io.NopCloser(tw)
			tc.mod(r)
			if a := serve(f.b, r); a.status != 403 || tw.read {
				t.Errorf("status %d, body read: %v", a.status, tw.read)
			}
		})
	}
}
