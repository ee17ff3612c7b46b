package demo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/demo"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
)

func exampleACL(t testing.TB) *acl.Resolved {
	t.Helper()
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func start(t testing.TB, mod func(*demo.Config)) *demo.Server {
	t.Helper()
	dev := sim.Ready() // no latency: the tests do not wait for a finger
	dev.LockoutAfter = 2
	cfg := demo.Config{Resolved: exampleACL(t), Name: "example", Device: &dev}
	if mod != nil {
		mod(&cfg)
	}
	s, err := demo.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A connection the client dialed but never used (Go's transport
		// dials ahead for concurrent requests) counts as busy for five
		// seconds in http.Server.Shutdown: close the client's side first.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

func window(t testing.TB, s *demo.Server, name string) demo.Window {
	t.Helper()
	for _, w := range s.Windows() {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("no page %q", name)
	return demo.Window{}
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, method, url string, header map[string]string, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if strings.EqualFold(k, "Host") {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}

var (
	keyRE   = regexp.MustCompile(`"invokeKey":"([0-9a-f]+)"`)
	tokenRE = regexp.MustCompile(`"token":"([0-9a-f]+)"`)
)

// page loads a window's page and returns its invoke key and token, as the
// page's own script has them.
func page(t testing.TB, s *demo.Server, w demo.Window) (key, token, html string) {
	t.Helper()
	u, err := s.LaunchURL(w.Name)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "GET", u, nil, "")
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", w.URL, r.status, r.body)
	}
	k, tok := keyRE.FindStringSubmatch(r.body), tokenRE.FindStringSubmatch(r.body)
	if k == nil || tok == nil {
		t.Fatalf("no key or token in the page of %s", w.Name)
	}
	return k[1], tok[1], r.body
}

// invoke makes a call as the page of w does.
func invoke(t testing.TB, s *demo.Server, w demo.Window, command, args string) response {
	t.Helper()
	key, token, _ := page(t, s, w)
	return do(t, "POST", s.URL()+"ipc/"+strings.NewReplacer(":", "%3A", "|", "%7C").Replace(command), map[string]string{
		"Content-Type": "application/json", "Origin": w.Origin, "Tauri-Callback": "1", "Tauri-Error": "2",
		"Tauri-Invoke-Key": key, "Capguard-Webview-Token": token,
	}, args)
}

func state(t testing.TB, s *demo.Server) map[string]any {
	t.Helper()
	r := do(t, "GET", s.URL()+"api/state", nil, "")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	return st
}

func TestPagesAndMatrix(t *testing.T) {
	s := start(t, nil)
	var names []string
	for _, w := range s.Windows() {
		names = append(names, fmt.Sprintf("%s:%s:%v", w.Name, w.Label, w.Local))
		if !strings.HasPrefix(w.URL, "http://127.0.0.1:") || w.URL != w.Origin+"/" {
			t.Errorf("page %s at %s (origin %s)", w.Name, w.URL, w.Origin)
		}
	}
	if got := strings.Join(names, " "); got != "main:main:true settings:settings:true untrusted:main:false" {
		t.Errorf("pages %s", got)
	}
	if r := do(t, "GET", s.URL(), nil, ""); r.status != http.StatusForbidden {
		t.Errorf("the dashboard without its key: %d", r.status)
	}
	dash := do(t, "GET", s.OpenURL(), nil, "")
	if dash.status != 200 || !strings.Contains(dash.header.Get("Content-Security-Policy"), "frame-src "+window(t, s, "main").Origin) {
		t.Fatalf("dashboard: %d %v", dash.status, dash.header)
	}
	for _, w := range s.Windows() {
		// Each frame opens its window with a launch secret of its own.
		m := regexp.MustCompile(`src="` + regexp.QuoteMeta(w.URL+"?"+ipc.QueryLaunch+"=") + `([0-9a-f]{32})"`).FindStringSubmatch(dash.body)
		if m == nil {
			t.Errorf("the dashboard has no frame for %s", w.Name)
			continue
		}
		if r := do(t, "GET", w.URL+"?"+ipc.QueryLaunch+"="+m[1], nil, ""); r.status != 200 || !tokenRE.MatchString(r.body) {
			t.Errorf("the frame's URL of %s: %d", w.Name, r.status)
		}
		if r := do(t, "GET", w.URL+"?"+ipc.QueryLaunch+"="+m[1], nil, ""); r.status != http.StatusForbidden || tokenRE.MatchString(r.body) {
			t.Errorf("the frame's URL of %s opened twice: %d", w.Name, r.status)
		}
	}
	m := state(t, s)["matrix"].(map[string]any)
	var rows []string
	for _, r := range m["rows"].([]any) {
		row := r.(map[string]any)
		line := row["page"].(string) + ":"
		for _, c := range row["cells"].([]any) {
			if c.(map[string]any)["allowed"].(bool) {
				line += "Y"
			} else {
				line += "n"
			}
		}
		rows = append(rows, line)
	}
	if got := fmt.Sprint(m["commands"], rows); got != "[plugin:biometric|authenticate plugin:biometric|status plugin:biometry|authenticate plugin:biometry|get_data plugin:biometry|has_data plugin:biometry|remove_data plugin:biometry|set_data plugin:biometry|status open_vault] [main:YYYYYYYYY settings:nYnnnnnnn untrusted:nnnnnnnnn]" {
		t.Errorf("matrix %s", got)
	}
}

func TestCalls(t *testing.T) {
	s := start(t, nil)
	main, settings, untrusted := window(t, s, "main"), window(t, s, "settings"), window(t, s, "untrusted")
	for _, tc := range []struct {
		name          string
		w             demo.Window
		command, args string
		response      string
		body          string
	}{
		{"main status", main, "plugin:biometric|status", `{}`, "ok", `{"isAvailable":true,"biometryType":1}`},
		{"main authenticate", main, "plugin:biometric|authenticate", `{"reason":"Open your wallet"}`, "ok", `null`},
		{"main open_vault", main, "open_vault", ``, "ok", `{"opened":true,"window":"main"}`},
		{"settings status", settings, "plugin:biometric|status", `{}`, "ok", `{"isAvailable":true,"biometryType":1}`},
		{"settings authenticate", settings, "plugin:biometric|authenticate", `{"reason":"x"}`, "error", `"Command plugin:biometric|authenticate not allowed by ACL"`},
		{"untrusted status", untrusted, "plugin:biometric|status", `{}`, "error", `"Command plugin:biometric|status not allowed by ACL"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, s, tc.w, tc.command, tc.args)
			if r.status != 200 || r.header.Get("Tauri-Response") != tc.response || r.body != tc.body {
				t.Fatalf("%d %s %s, want %s %s", r.status, r.header.Get("Tauri-Response"), r.body, tc.response, tc.body)
			}
		})
	}
	if n := s.Device().Count(sim.MethodAuthenticate); n != 1 {
		t.Errorf("the device saw %d authentications, want main's only", n)
	}
	// The feed has one decision per call, with the window bound by the
	// host and the references of the grants.
	entries := state(t, s)["entries"].([]any)
	if len(entries) != 6 {
		t.Fatalf("%d entries, want 6", len(entries))
	}
	e := entries[1].(map[string]any)
	if e["window"] != "main" || e["allowed"] != true || fmt.Sprint(e["references"]) != "[main-window: biometric:default → biometric:allow-authenticate]" {
		t.Errorf("entry %v", e)
	}
	e = entries[4].(map[string]any)
	if e["window"] != "settings" || e["allowed"] != false || !strings.Contains(e["explanation"].(string), `not allowed on window "settings"`) {
		t.Errorf("entry %v", e)
	}
	e = entries[5].(map[string]any)
	if e["origin"] != "remote: "+untrusted.URL {
		t.Errorf("untrusted entry %v", e)
	}
}

// A page's token does not work from another window's origin, and the
// bridge's refusal reaches the feed.
func TestTokenOfAnotherWindow(t *testing.T) {
	s := start(t, nil)
	main, settings := window(t, s, "main"), window(t, s, "settings")
	key, token, _ := page(t, s, main)
	r := do(t, "POST", s.URL()+"ipc/plugin%3Abiometric%7Cauthenticate", map[string]string{
		"Content-Type": "application/json", "Origin": settings.Origin, "Tauri-Callback": "1", "Tauri-Error": "2",
		"Tauri-Invoke-Key": key, "Capguard-Webview-Token": token,
	}, `{"reason":"x"}`)
	if r.status != 403 || !strings.Contains(r.body, "another origin") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	entries := state(t, s)["entries"].([]any)
	if len(entries) != 1 || entries[0].(map[string]any)["kind"] != "refused" || entries[0].(map[string]any)["window"] != "main" {
		t.Errorf("entries %v", entries)
	}
	if n := s.Device().Count(sim.MethodAuthenticate); n != 0 {
		t.Errorf("the device was asked %d times", n)
	}
}

func TestDeviceControls(t *testing.T) {
	s := start(t, nil)
	main := window(t, s, "main")
	dash := strings.TrimSuffix(s.URL(), "/")
	for _, tc := range []struct {
		name   string
		path   string
		header map[string]string
		body   string
		status int
		want   string
	}{
		{"next", "api/device/next", map[string]string{"Content-Type": "application/json", "Origin": dash}, `{"outcome":"user-cancel"}`, 200, `"pending":1`},
		{"next without Origin (curl)", "api/device/next", map[string]string{"Content-Type": "application/json"}, `{"outcome":"no-match","count":2}`, 200, `"pending":3`},
		{"unknown outcome", "api/device/next", map[string]string{"Content-Type": "application/json"}, `{"outcome":"mtach"}`, 400, `unknown outcome \"mtach\"; outcomes are match, no-match`},
		{"hang is not offered", "api/device/next", map[string]string{"Content-Type": "application/json"}, `{"outcome":"hang"}`, 400, `unknown outcome \"hang\"`},
		{"count too large", "api/device/next", map[string]string{"Content-Type": "application/json"}, `{"outcome":"match","count":101}`, 400, `count must be from 1 to 100`},
		{"unknown field", "api/device/next", map[string]string{"Content-Type": "application/json"}, `{"outcom":"match"}`, 400, `unknown field`},
		{"from a window page", "api/device/next", map[string]string{"Content-Type": "application/json", "Origin": main.Origin}, `{"outcome":"match"}`, 403, `for the dashboard`},
		{"a form post", "api/device/next", map[string]string{"Content-Type": "text/plain"}, `{"outcome":"match"}`, 415, `application/json`},
		{"GET", "api/device/next", nil, ``, 405, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, map[bool]string{true: "GET", false: "POST"}[tc.name == "GET"], s.URL()+tc.path, tc.header, tc.body)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Fatalf("%d %s, want %d with %s", r.status, r.body, tc.status, tc.want)
			}
		})
	}
	// The scripted outcomes play in order: cancel, then two misses.
	r := invoke(t, s, main, "plugin:biometric|authenticate", `{"reason":"x","maxAttemps":2}`)
	if !strings.Contains(r.body, `"code":"userCancel"`) {
		t.Errorf("first call: %s", r.body)
	}
	r = invoke(t, s, main, "plugin:biometric|authenticate", `{"reason":"x","maxAttemps":2}`)
	if !strings.Contains(r.body, `"code":"biometryLockout"`) && !strings.Contains(r.body, `"code":"authenticationFailed"`) {
		t.Errorf("second call: %s", r.body)
	}
	st := state(t, s)["device"].(map[string]any)
	if st["lockedOut"] != true {
		t.Errorf("device after two misses (lockout after 2): %v", st)
	}
	r = do(t, "POST", s.URL()+"api/device/unlock", map[string]string{"Content-Type": "application/json"}, `{}`)
	if r.status != 200 || !strings.Contains(r.body, `"lockedOut":false`) {
		t.Errorf("unlock: %d %s", r.status, r.body)
	}
	// A new enrollment invalidates the device's keys, and the demo enrolls
	// a new step-up key at once.
	ctx := context.Background()
	if err := s.Device().SetData(ctx, native.Prompt{Reason: "r"}, "d", "n", []byte("x")); err != nil {
		t.Fatal(err)
	}
	r = do(t, "POST", s.URL()+"api/device/enroll", map[string]string{"Content-Type": "application/json"}, `{}`)
	if r.status != 200 {
		t.Errorf("enroll: %d %s", r.status, r.body)
	}
	if _, err := s.Device().GetData(ctx, native.Prompt{Reason: "r"}, "d", "n"); !errors.Is(err, native.DataNeedsReenrollment) {
		t.Errorf("after a new enrollment the record opens: %v", err)
	}
	if _, err := s.Device().StepUpKey(ctx, false); err != nil {
		t.Errorf("no step-up key after the new enrollment: %v", err)
	}
	if r := do(t, "POST", s.URL()+"api/device/enroll", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, `{}`); r.status != http.StatusForbidden {
		t.Errorf("a cross-site enroll: %d", r.status)
	}
}

func TestHostCheck(t *testing.T) {
	s := start(t, nil)
	main := window(t, s, "main")
	port := main.Origin[strings.LastIndex(main.Origin, ":")+1:]
	if r := do(t, "GET", main.URL, map[string]string{"Host": "evil.example:" + port}, ""); r.status != http.StatusMisdirectedRequest {
		t.Errorf("a rebound name got %d", r.status)
	}
	r := do(t, "GET", main.URL, map[string]string{"Host": "localhost:" + port}, "")
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != main.URL {
		t.Errorf("localhost: %d %v", r.status, r.header.Get("Location"))
	}
}

func TestPackages(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		s := start(t, nil)
		_, _, html := page(t, s, window(t, s, "main"))
		if strings.Contains(html, "importmap") || !strings.Contains(html, "npm ci --prefix e2e") {
			t.Errorf("a page without the packages does not say how to install them")
		}
		if r := do(t, "GET", window(t, s, "main").URL+"npm/@tauri-apps/api/core.js", nil, ""); r.status != 404 {
			t.Errorf("served a package that is not there: %d", r.status)
		}
	})
	t.Run("installed", func(t *testing.T) {
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
		write("@tauri-apps/api/package.json", `{"version":"2.0.0"}`)
		write("@tauri-apps/api/core.js", `export const x = 1`)
		write("@tauri-apps/plugin-biometric/package.json", `{"version":"2.3.3"}`)
		write("@tauri-apps/plugin-biometric/dist-js/index.js", `export const y = 2`)
		write("@choochmeque/tauri-plugin-biometry-api/package.json", `{"version":"0.2.8"}`)
		write("@choochmeque/tauri-plugin-biometry-api/dist-js/index.js", `export const z = 3`)
		write("secret.js", `secret`)
		if err := os.Symlink(filepath.Join(dir, "secret.js"), filepath.Join(dir, "@tauri-apps/api/abs.js")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../../../../etc/passwd", filepath.Join(dir, "@tauri-apps/api/up.js")); err != nil {
			t.Fatal(err)
		}
		s := start(t, func(c *demo.Config) { c.NodeModules = dir })
		w := window(t, s, "settings")
		_, _, html := page(t, s, w)
		if !strings.Contains(html, `<script type="importmap"`) || !strings.Contains(html, `"@tauri-apps/plugin-biometric":"/npm/@tauri-apps/plugin-biometric/dist-js/index.js"`) ||
			!strings.Contains(html, `"@choochmeque/tauri-plugin-biometry-api":"/npm/@choochmeque/tauri-plugin-biometry-api/dist-js/index.js"`) {
			t.Errorf("no import map in the page")
		}
		for _, tc := range []struct {
			path   string
			status int
		}{
			{"npm/@tauri-apps/api/core.js", 200},
			{"npm/@tauri-apps/api/core", 200},
			{"npm/@tauri-apps/plugin-biometric/dist-js/index.js", 200},
			{"npm/@choochmeque/tauri-plugin-biometry-api/dist-js/index.js", 200},
			{"npm/@choochmeque/other/x.js", 404},
			{"npm/@tauri-apps/api/package.json", 404},
			{"npm/secret.js", 404},
			{"npm/@tauri-apps/api/../../secret.js", 307}, // net/http cleans it: npm/secret.js
			{"npm/@tauri-apps/api/%2e%2e/%2e%2e/secret.js", 404},
			{"npm/@tauri-apps/api/abs.js", 404}, // an absolute symlink: refused by os.Root
			{"npm/@tauri-apps/api/up.js", 404},  // a symlink out of node_modules
			{"npm/@tauri-apps/other/x.js", 404},
		} {
			r := do(t, "GET", w.URL+tc.path, nil, "")
			if r.status != tc.status {
				t.Errorf("%s: %d, want %d", tc.path, r.status, tc.status)
			}
			if r.status == 200 && !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
				t.Errorf("%s: Content-Type %s", tc.path, r.header.Get("Content-Type"))
			}
		}
		st := state(t, s)["packages"].(map[string]any)
		if st["installed"] != true || st["api"] != "2.0.0" || st["biometric"] != "2.3.3" || st["biometry"] != "0.2.8" {
			t.Errorf("packages %v", st)
		}
	})
}

func TestEvents(t *testing.T) {
	s := start(t, nil)
	res, err := http.Get(s.URL() + "api/events?since=0")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %s", ct)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	invoke(t, s, window(t, s, "settings"), "plugin:biometric|authenticate", `{"reason":"x"}`)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if strings.HasPrefix(l, "data: ") && strings.Contains(l, `"kind":"decision"`) {
				if !strings.Contains(l, `"window":"settings"`) || !strings.Contains(l, `"allowed":false`) || strings.Contains(l, `"reason"`) {
					t.Errorf("entry %s", l)
				}
				return
			}
		case <-timeout:
			t.Fatal("no decision on the stream")
		}
	}
}

func TestStartErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  demo.Config
		want string
	}{
		{"no ACL", demo.Config{}, "no resolved ACL"},
		{"not loopback", demo.Config{Resolved: exampleACL(t), Listen: "0.0.0.0:0"}, "not a loopback address"},
		{"a name", demo.Config{Resolved: exampleACL(t), Listen: "example.com:80"}, "not a loopback address"},
		{"no port", demo.Config{Resolved: exampleACL(t), Listen: "127.0.0.1"}, "want host:port"},
		{"bad window label", demo.Config{Resolved: exampleACL(t), Windows: []string{"a b"}}, `window label "a b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := demo.Start(tc.cfg)
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// Start serves the embedded example app: one page per window, each on its
// own loopback port, and an untrusted page.
func ExampleStart() {
	app, _ := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	resolved, _ := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	s, err := demo.Start(demo.Config{Resolved: resolved, Name: examples.AppDir})
	if err != nil {
		panic(err)
	}
	defer s.Close(context.Background())
	for _, w := range s.Windows() {
		fmt.Printf("%s: window %s, local %v\n", w.Name, w.Label, w.Local)
	}
	// Output:
	// main: window main, local true
	// settings: window settings, local true
	// untrusted: window main, local false
}

// FuzzDeviceControl sends arbitrary bodies to the device control: the
// answer is 200 or a 400 that explains, never anything else, and the
// queue grows only by what was asked.
func FuzzDeviceControl(f *testing.F) {
	s := start(f, nil)
	f.Add(`{"outcome":"match"}`)
	f.Add(`{"outcome":"no-match","count":100}`)
	f.Add(`{"outcome":"hang"}`)
	f.Add(`{"outcome":"match","count":-1}`)
	f.Add(`{"outcome":1}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		before := s.Device().Pending()
		r := do(t, "POST", s.URL()+"api/device/next", map[string]string{"Content-Type": "application/json"}, body)
		after := s.Device().Pending()
		switch r.status {
		case 200:
			if after <= before || after-before > 100 {
				t.Fatalf("queue %d → %d for %q", before, after, body)
			}
		case 400:
			if after != before || !strings.Contains(r.body, `"error"`) {
				t.Fatalf("400 %s, queue %d → %d", r.body, before, after)
			}
		default:
			t.Fatalf("status %d for %q", r.status, body)
		}
	})
}
