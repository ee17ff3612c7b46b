package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// buildApp builds the example once for the tests of this package.
func buildApp(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wails-vault-build")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "wails-vault")
		out, err := exec.Command("go", "build", "-o", built, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// needWindows fails (or, with CAPGUARD_WAILS=off, skips) when the display
// stack or the npm packages are missing.
func needWindows(t *testing.T) string {
	if os.Getenv("CAPGUARD_WAILS") == "off" {
		t.Skip("CAPGUARD_WAILS=off: the real-window Wails test did not run")
	}
	for _, tool := range []string{"Xvfb", "import", "identify"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-wails.sh (or set CAPGUARD_WAILS=off to skip this test)", tool)
		}
	}
	modules, err := filepath.Abs("frontend/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"@tauri-apps/api/core.js", "@tauri-apps/api/event.js", "@tauri-apps/plugin-biometric/dist-js/index.js", "xhook/dist/xhook.min.js"} {
		if _, err := os.Stat(filepath.Join(modules, f)); err != nil {
			t.Fatalf("%s is missing: run npm ci in examples/wails-vault/frontend (scripts/install-wails.sh does)", filepath.Join(modules, f))
		}
	}
	return modules
}

// run is one run of the example under Xvfb, in scenario mode.
type appRun struct {
	rep       *reporter
	lines     *lineLog
	display   string
	appDir    string
	auditFile string
	vaultLog  string
	artifacts string
	stop      func()
}

func startApp(ctx context.Context, t *testing.T, bare bool) *appRun {
	t.Helper()
	modules := needWindows(t)
	bin := buildApp(t)
	tmp := t.TempDir()
	r := &appRun{appDir: filepath.Join(tmp, "app"), auditFile: filepath.Join(tmp, "audit.jsonl"), vaultLog: filepath.Join(tmp, "vault.jsonl"), artifacts: artifactDir(t)}
	if err := os.CopyFS(r.appDir, os.DirFS("app")); err != nil {
		t.Fatal(err)
	}
	device := filepath.Join(tmp, "device.json")
	writeFile(t, device, `{"biometryType": "touchID", "available": true, "enrolled": true, "deviceCredential": true,
	  "default": "match", "script": ["match", "user-cancel", "match"]}`)
	r.rep = newReporter(t)
	r.display = startXvfb(ctx, t)
	args := []string{"-app", r.appDir, "-watch", "-device", device, "-audit", r.auditFile,
		"-vault-log", r.vaultLog, "-report", r.rep.url, "-modules", modules}
	name := "wails-vault"
	if bare {
		args = append(args, "-bare")
		name = "wails-vault-bare"
	}
	app := exec.CommandContext(ctx, bin, args...)
	app.Env = append(os.Environ(), "DISPLAY="+r.display, "WEBKIT_DISABLE_DMABUF_RENDERER=1", "NO_AT_BRIDGE=1")
	app.Cancel = func() error { return app.Process.Signal(syscall.SIGTERM) }
	app.WaitDelay = 10 * time.Second
	r.lines = newLineLog(filepath.Join(r.artifacts, name+".log"))
	app.Stdout, app.Stderr = r.lines, r.lines
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = app.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = app.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(r.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the app's output is in %s", r.lines.path)
		}
	})
	return r
}

func (r *appRun) check(t *testing.T, steps map[string]json.RawMessage, cases []struct{ step, want string }) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.step, func(t *testing.T) {
			got, ok := steps[tc.step]
			if !ok {
				t.Fatalf("no page reported %q", tc.step)
			}
			if !jsonEqual(got, tc.want) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// vaultEntry is a line of the vault log: a bound method that ran, a raw
// message or an event that reached the app's Go code.
type vaultEntry struct {
	Method, Window string
	Granted        bool
	Raw            string
	Event, Sender  string
	Data           json.RawMessage
}

func (r *appRun) vault(t *testing.T) []vaultEntry {
	var out []vaultEntry
	for _, line := range readLines(t, r.vaultLog) {
		var e vaultEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

const secrets = `[{"site":"mail.example","password":"correct horse"},{"site":"bank.example","password":"battery staple"}]`

// TestWindow builds the example, runs it under Xvfb in real WebKitGTK
// windows in scenario mode, and checks what each window's page reports,
// the log the bound methods write, the device's attempts and the audit
// log; then the untrusted site, in the main window, attacks the app, and
// every attack is refused. TestWindowBare runs the same attacks against
// bare Wails, where they succeed: the attacks are real. It saves
// screenshots and prints their paths.
//
// It needs Xvfb and ImageMagick's import (scripts/install-wails.sh) and
// the npm packages of frontend/; without them it fails, unless
// CAPGUARD_WAILS=off turns it into a printed skip.
func TestWindow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := startApp(ctx, t, false)
	rep, lines := r.rep, r.lines

	rep.await(ctx, t, "settings.ready-for-reload")
	// Live reload: settings may now authenticate.
	settings := filepath.Join(r.appDir, "capabilities", "settings.toml")
	data, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"biometric:allow-status"`, `"biometric:allow-status", "biometric:allow-authenticate"`, 1)
	if edited == string(data) {
		t.Fatal("settings.toml does not have the expected permissions line")
	}
	writeFile(t, settings, edited)
	lines.await(ctx, t, "capguard: reloaded the ACL (version 2)")
	rep.release("reload")
	rep.await(ctx, t, "main.done", "settings.done", "xhook.saw-runtime", "strict.nonce.status")
	shot(ctx, t, r.display, filepath.Join(r.artifacts, "wails-vault.png"))

	rep.release("navigate")
	rep.await(ctx, t, "attack.flood")
	rep.release("flood-done")
	rep.await(ctx, t, "untrusted.done", "settings.after-flood")
	shot(ctx, t, r.display, filepath.Join(r.artifacts, "wails-vault-untrusted.png"))
	r.stop()

	steps := rep.steps()
	if dump, err := json.MarshalIndent(steps, "", "  "); err == nil {
		_ = os.WriteFile(filepath.Join(r.artifacts, "wails-vault-steps.json"), dump, 0o644)
	}
	vaultInfo := `{"ok":true,"value":{"name":"Personal","entries":3,"window":"settings"}}`
	r.check(t, steps, []struct{ step, want string }{
		{"main.packages", `{"realBiometricPackage":true,"label":"main"}`},
		{"main.status", `{"ok":true,"value":{"isAvailable":true,"biometryType":1}}`},
		{"main.authenticate.match", `{"ok":true}`},
		{"main.authenticate.cancel", `{"ok":false,"code":"userCancel"}`},
		{"main.vault_info", `{"ok":true,"value":{"name":"Personal","entries":3,"window":"main"}}`},
		{"main.open_vault", `{"ok":true,"value":{"opened":true,"window":"main","secrets":` + secrets + `}}`},
		{"main.open_vault.again", `{"ok":true,"value":{"opened":true,"window":"main","secrets":` + secrets + `}}`},
		{"main.delete_vault", `{"ok":false,"error":"Command delete_vault not allowed by ACL"}`},
		{"main.emit", `{"ok":true}`},
		{"main.event", `{"ok":true,"value":{"event":"vault:changed","payload":{"by":"main"}}}`},
		{"main.emit.wails", `{"ok":true,"value":""}`},

		{"settings.packages", `{"realBiometricPackage":true,"label":"settings"}`},
		{"settings.status", `{"ok":true,"value":{"isAvailable":true,"biometryType":1}}`},
		{"settings.authenticate", `{"ok":false,"error":"Command plugin:biometric|authenticate not allowed by ACL"}`},
		{"settings.vault_info", vaultInfo},
		{"settings.open_vault", `{"ok":false,"error":"Command open_vault not allowed by ACL"}`},
		{"settings.forged.window-name", `{"ok":true,"value":{"status":403,"text":"capguard: a page may only address its own window: the request names window \"main\", the page is in \"settings\""}}`},
		{"settings.forged.window-id", `{"ok":true,"value":{"status":403,"text":"Command open_vault not allowed by ACL"}}`},
		{"settings.forged.body", `{"ok":false,"error":"Command plugin:biometric|authenticate not allowed by ACL"}`},
		{"settings.forged.token", `{"ok":true,"value":{"status":403,"text":"capguard: unknown Capguard-Page-Token"}}`},
		{"settings.authenticate.after-reload", `{"ok":true}`},
		{"settings.open_vault.after-reload", `{"ok":false,"error":"Command open_vault not allowed by ACL"}`},
		{"settings.listening", `true`},
		{"settings.event", `{"ok":true,"value":{"event":"vault:changed","payload":{"by":"main"}}}`},
		{"settings.emit", `{"ok":false,"error":"Command plugin:event|emit not allowed by ACL"}`},
		{"settings.emit.wails", `{"ok":false,"error":"Command plugin:event|emit not allowed by ACL"}`},

		// A strict Content-Security-Policy: the page script runs (an
		// external script of the app's origin, with the nonce when the
		// policy has one), the page's own inline script only with the nonce.
		{"strict.self.csp", `{"inlineRan":false,"inlineExpected":false}`},
		{"strict.self.internals", `"object"`},
		{"strict.self.vault_info", vaultInfo},
		{"strict.self.status", `{"ok":true,"value":{"isAvailable":true,"biometryType":1}}`},
		{"strict.nonce.csp", `{"inlineRan":true,"inlineExpected":true}`},
		{"strict.nonce.internals", `"object"`},
		{"strict.nonce.vault_info", vaultInfo},
		{"strict.nonce.status", `{"ok":true,"value":{"isAvailable":true,"biometryType":1}}`},
		// A library that wraps window.fetch.
		{"xhook.wrapped", `{"wrapped":true}`},
		{"xhook.vault_info", `{"ok":true,"value":{"name":"Personal","entries":3,"window":"main"}}`},
		{"xhook.status", `{"ok":true,"value":{"isAvailable":true,"biometryType":1}}`},
		{"xhook.saw-runtime", `true`},

		{"untrusted.origin", `true`},
		{"untrusted.internals", `"undefined"`},
		{"untrusted.own-runtime", `{"reached":true,"status":404,"text":"404 page not found\n"}`},
		// Attack 1, framing: the framed vault view's calls are refused,
		// nothing reaches the document above, and the challenge the host
		// ran there is no use without the token.
		{"framed.noref.open_vault", `{"ok":false,"error":"capguard: this page is in a frame: only a window's top-level document may call the app"}`},
		{"framed.noref.forced", `{"hadToken":true,"start":202,"status":403,"text":"capguard: the page has not proved that it is its window's top-level document (a page in a frame never can)"}`},
		{"attack.frame.captured", `[]`},
		{"attack.frame.challenge", `true`},
		{"attack.raw", `true`},
		{"attack.flood", `{"sent":4300,"failed":0}`},
		// After the flood, the other window's calls still work.
		{"settings.after-flood", vaultInfo},
	})
	t.Run("framed.referer", func(t *testing.T) {
		var got struct {
			OK    bool
			Error string
		}
		_ = json.Unmarshal(steps["framed.referer.open_vault"], &got)
		if got.OK || !strings.HasPrefix(got.Error, "capguard: this page was loaded from http://127.0.0.1:") {
			t.Errorf("the framed page loaded with the remote Referer: %s", steps["framed.referer.open_vault"])
		}
		var forced struct{ HadToken bool }
		if err := json.Unmarshal(steps["framed.referer.forced"], &forced); err != nil || forced.HadToken {
			t.Errorf("a page another site loaded got a token: %s", steps["framed.referer.forced"])
		}
	})
	// The untrusted page cannot read the app's answers: WebKit hides a
	// cross-site answer without CORS headers, and every request was
	// refused or denied anyway (the audit log below).
	// A decided call of a remote origin is answered with CORS headers for
	// it (a capability may allow a remote site): the untrusted page reads
	// its denial.
	for _, step := range []string{"untrusted.wails-runtime", "untrusted.ipc", "attack.emit", "attack.frame.prove"} {
		t.Run(step, func(t *testing.T) {
			var got struct {
				Reached bool
				Status  int
				Text    string
			}
			if err := json.Unmarshal(steps[step], &got); err != nil {
				t.Fatalf("%s: %v", steps[step], err)
			}
			denied := strings.Contains(got.Text, "not allowed by ACL")
			if got.Reached && got.Status != 403 && got.Status != 0 && !denied {
				t.Errorf("the untrusted page got an answer other than a refusal: %s", steps[step])
			}
		})
	}

	t.Run("the app's Go code", func(t *testing.T) {
		ran := map[string]int{}
		var raw, events []string
		for _, e := range r.vault(t) {
			switch {
			case e.Method != "":
				if !e.Granted {
					t.Errorf("%s ran without the guard's grant in its context", e.Method)
				}
				ran[e.Method+"@"+e.Window]++
			case e.Raw != "":
				raw = append(raw, e.Window+": "+e.Raw)
			case e.Event != "":
				events = append(events, e.Event+" from "+e.Sender+" "+string(e.Data))
			}
		}
		want := map[string]int{"VaultInfo@main": 2, "VaultInfo@settings": 4, "OpenVault@main": 2}
		if fmt.Sprint(ran) != fmt.Sprint(want) {
			t.Errorf("bound methods ran %v, want %v: a denied call ran, or an allowed one did not", ran, want)
		}
		if strings.Join(raw, ";") != "main: hello from main" {
			t.Errorf("raw messages that reached the app: %q", raw)
		}
		if strings.Join(events, ";") != `vault:opened from main {"by":"main"}` {
			t.Errorf("events that reached the Go listener: %q", events)
		}
	})
	t.Run("page loads kept", func(t *testing.T) {
		if n := servedIndex(t, lines); n < 4300 {
			t.Errorf("index.html was served %d times: the flood did not arrive", n)
		}
		for _, w := range []string{"main", "settings"} {
			var active, pending, retired int
			line := lines.find("wails-vault: window " + w + " keeps ")
			if _, err := fmt.Sscanf(line[strings.Index(line, "keeps "):], "keeps %d active, %d pending, %d retired", &active, &pending, &retired); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if active != 1 || pending > 16 || retired > 8 {
				t.Errorf("window %s keeps %d active, %d pending, %d retired page loads", w, active, pending, retired)
			}
		}
	})
	t.Run("device attempts", func(t *testing.T) {
		// authenticate (match), authenticate (cancel), open_vault's
		// step-up (match; the second open_vault is remembered), and
		// settings' authenticate after the reload. The framed vault view
		// never got as far as a decision.
		if n := lines.count(`device: authentication attempt`); n != 4 {
			t.Errorf("the device saw %d attempts, want 4", n)
		}
	})
	t.Run("audit log", func(t *testing.T) {
		type entry struct {
			Input struct {
				Command, Window string
				Origin          struct {
					Local bool
					URL   string
				}
			}
			Result struct {
				Allowed     bool
				Obligations []struct{ Type, Outcome string }
			}
		}
		var denied, stepUps []string
		for _, line := range readLines(t, r.auditFile) {
			var e entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if e.Input.Command == "" {
				continue // a reload entry
			}
			context := "local"
			if !e.Input.Origin.Local {
				context = "remote"
				if e.Result.Allowed || !strings.HasPrefix(e.Input.Origin.URL, "http://127.0.0.1:") {
					t.Errorf("a remote decision that is not the untrusted page's, denied: %s", line)
				}
			}
			if !e.Result.Allowed {
				denied = append(denied, e.Input.Window+" "+e.Input.Command+" "+context)
			}
			for _, o := range e.Result.Obligations {
				stepUps = append(stepUps, e.Input.Window+" "+e.Input.Command+" "+o.Type+" "+o.Outcome)
			}
		}
		// The untrusted page's requests with an Origin reached the asset
		// server: the guard decided them as calls of a remote origin,
		// which no capability allows (its CORS preflight was not a call).
		// The framed pages' calls never got to a decision.
		wantDenied := []string{"main delete_vault local", "settings open_vault local", "settings open_vault local",
			"settings plugin:biometric|authenticate local", "settings plugin:biometric|authenticate local", "settings open_vault local",
			"settings plugin:event|emit local", "settings plugin:event|emit local",
			"main open_vault remote", "main plugin:biometric|authenticate remote"}
		if !sameSet(denied, wantDenied) {
			t.Errorf("denied decisions %q, want %q", denied, wantDenied)
		}
		wantStepUps := []string{"main open_vault biometric met", "main open_vault biometric met"}
		if !sameSet(stepUps, wantStepUps) {
			t.Errorf("step-ups %q, want %q", stepUps, wantStepUps)
		}
	})
}

func servedIndex(t *testing.T, lines *lineLog) int {
	var n int
	line := lines.find("wails-vault: served index.html ")
	if _, err := fmt.Sscanf(line[strings.Index(line, "served"):], "served index.html %d times", &n); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return n
}

// TestWindowBare runs the untrusted site's attacks against the same app
// without capguard (bare Wails): each succeeds, so the refusals that
// TestWindow checks are the guard's doing.
func TestWindowBare(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startApp(ctx, t, true)
	r.rep.await(ctx, t, "untrusted.done")
	r.stop()
	steps := r.rep.steps()
	// Attack 1: the framed vault view's calls run, and their results go
	// to the document above, the untrusted page, which reads them; the
	// framed page's own promise never settles.
	t.Run("framing", func(t *testing.T) {
		if got := string(steps["attack.frame.captured"]); !strings.Contains(got, "battery staple") {
			t.Errorf("the untrusted page did not read the vault's secrets: %s", got)
		}
		for _, as := range []string{"referer", "noref"} {
			if got := steps["framed."+as+".open_vault"]; !jsonEqual(got, `{"ok":false,"error":"timed out"}`) {
				t.Errorf("framed.%s.open_vault: %s", as, got)
			}
		}
	})
	var raw, events []string
	ungranted := 0
	for _, e := range r.vault(t) {
		switch {
		case e.Method == "OpenVault" && !e.Granted:
			ungranted++
		case e.Raw != "":
			raw = append(raw, e.Window+": "+e.Raw)
		case e.Event != "":
			events = append(events, e.Event+" from "+e.Sender+" "+string(e.Data))
		}
	}
	t.Run("bound methods", func(t *testing.T) {
		if ungranted < 2 {
			t.Errorf("OpenVault ran %d times for the untrusted site, want at least 2 (the two frames)", ungranted)
		}
	})
	// Attack 2: the remote page's raw message reaches the app's handler.
	t.Run("raw message", func(t *testing.T) {
		if !contains(raw, "main: wipe from the untrusted site") {
			t.Errorf("raw messages that reached the app: %q", raw)
		}
	})
	// Attack 3: the remote page's event reaches the Go listener.
	t.Run("event", func(t *testing.T) {
		if !contains(events, `vault:wipe from main {"by":"untrusted"}`) {
			t.Errorf("events that reached the Go listener: %q", events)
		}
	})
	// Attack 4: the flood arrived (bare Wails keeps no tokens to lose).
	t.Run("flood", func(t *testing.T) {
		if n := servedIndex(t, r.lines); n < 4300 {
			t.Errorf("index.html was served %d times", n)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// reporter is the loopback server the pages post their results to.
type reporter struct {
	url      string
	mu       sync.Mutex
	got      map[string]json.RawMessage
	changed  chan struct{}
	released map[string]chan struct{}
}

func newReporter(t *testing.T) *reporter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &reporter{url: "http://" + ln.Addr().String() + "/", got: map[string]json.RawMessage{}, changed: make(chan struct{}, 1), released: map[string]chan struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		var msg struct {
			Page, Step string
			Value      json.RawMessage
		}
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&msg); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		r.got[msg.Step] = msg.Value
		r.mu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default:
		}
	})
	mux.HandleFunc("GET /wait", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		select {
		case <-r.gate(req.URL.Query().Get("step")):
		case <-time.After(90 * time.Second):
			http.Error(w, "not released", http.StatusGatewayTimeout)
		case <-req.Context().Done():
		}
	})
	mux.HandleFunc("GET /seen", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		step := req.URL.Query().Get("step")
		deadline := time.After(90 * time.Second)
		for {
			r.mu.Lock()
			_, ok := r.got[step]
			r.mu.Unlock()
			if ok {
				return
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				http.Error(w, "not seen", http.StatusGatewayTimeout)
				return
			case <-req.Context().Done():
				return
			}
		}
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *reporter) gate(step string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.released[step]
	if !ok {
		c = make(chan struct{})
		r.released[step] = c
	}
	return c
}

func (r *reporter) release(step string) { close(r.gate(step)) }

func (r *reporter) steps() map[string]json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]json.RawMessage, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

// await waits until every step has been reported.
func (r *reporter) await(ctx context.Context, t *testing.T, steps ...string) {
	t.Helper()
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	for {
		got := r.steps()
		missing := []string{}
		for _, s := range steps {
			if _, ok := got[s]; !ok {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("the pages did not report %q in time; they reported %s", missing, keys(got))
		case <-ctx.Done():
			t.Fatalf("the pages did not report %q: %v", missing, ctx.Err())
		}
	}
}

func keys(m map[string]json.RawMessage) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ", ")
}

// startXvfb starts a virtual display and returns its name.
func startXvfb(ctx context.Context, t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.CommandContext(ctx, "Xvfb", "-displayfd", "3", "-screen", "0", "1280x640x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = x.Process.Kill()
		_ = x.Wait()
	})
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		num <- strings.TrimSpace(line)
	}()
	select {
	case n := <-num:
		if _, err := strconv.Atoi(n); err != nil {
			t.Fatalf("Xvfb did not say its display: %q", n)
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start")
	}
	return ""
}

// shot saves a screenshot of the display and prints its path.
func shot(ctx context.Context, t *testing.T, display, file string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "import", "-display", display, "-window", "root", file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	st, err := os.Stat(file)
	if err != nil || st.Size() < 1000 {
		t.Fatalf("the screenshot %s is missing or empty: %v", file, err)
	}
	// A blank display has one colour; the windows' text and buttons many.
	out, err := exec.CommandContext(ctx, "identify", "-format", "%k", file).Output()
	if err != nil {
		t.Fatalf("identify %s: %v", file, err)
	}
	if colours, err := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || colours < 32 {
		t.Errorf("the screenshot %s has %s colours: the windows did not draw", file, out)
	}
	t.Logf("screenshot: %s", file)
	fmt.Printf("screenshot: %s\n", file)
}

// artifactDir is where screenshots and the app's output are kept:
// $CAPGUARD_ARTIFACTS, or a folder under the system's temporary folder
// that outlives the test.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("CAPGUARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "capguard-wails-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lineLog keeps the app's output, in a file and in memory.
type lineLog struct {
	path    string
	mu      sync.Mutex
	buf     bytes.Buffer
	file    *os.File
	changed chan struct{}
}

func newLineLog(path string) *lineLog {
	f, _ := os.Create(path)
	return &lineLog{path: path, file: f, changed: make(chan struct{}, 1)}
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	if l.file != nil {
		_, _ = l.file.Write(p)
	}
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lineLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

// find returns the last line holding s, or "".
func (l *lineLog) find(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(l.buf.String(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return lines[i]
		}
	}
	return ""
}

func (l *lineLog) await(ctx context.Context, t *testing.T, s string) {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for l.count(s) == 0 {
		select {
		case <-l.changed:
		case <-deadline.C:
			t.Fatalf("the app did not print %q in time", s)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func jsonEqual(got json.RawMessage, want string) bool {
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func sameSet(a, b []string) bool {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
