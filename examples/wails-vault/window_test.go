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

// TestWindow builds the example, runs it under Xvfb in real WebKitGTK
// windows in scenario mode, and checks what each window's page reports,
// the log the bound methods write, the device's attempts and the audit
// log. It saves screenshots and prints their paths.
//
// It needs Xvfb and ImageMagick's import (scripts/install-wails.sh) and
// the npm packages of frontend/; without them it fails, unless
// CAPGUARD_WAILS=off turns it into a printed skip.
func TestWindow(t *testing.T) {
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
	for _, f := range []string{"@tauri-apps/api/core.js", "@tauri-apps/plugin-biometric/dist-js/index.js"} {
		if _, err := os.Stat(filepath.Join(modules, f)); err != nil {
			t.Fatalf("%s is missing: run npm ci in examples/wails-vault/frontend (scripts/install-wails.sh does)", filepath.Join(modules, f))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "wails-vault")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	appDir := filepath.Join(tmp, "app")
	if err := os.CopyFS(appDir, os.DirFS("app")); err != nil {
		t.Fatal(err)
	}
	device := filepath.Join(tmp, "device.json")
	writeFile(t, device, `{"biometryType": "touchID", "available": true, "enrolled": true, "deviceCredential": true,
	  "default": "match", "script": ["match", "user-cancel", "match"]}`)
	auditFile := filepath.Join(tmp, "audit.jsonl")
	vaultLog := filepath.Join(tmp, "vault.jsonl")
	artifacts := artifactDir(t)

	rep := newReporter(t)
	display := startXvfb(ctx, t)
	app := exec.CommandContext(ctx, bin, "-app", appDir, "-watch", "-device", device, "-audit", auditFile,
		"-vault-log", vaultLog, "-report", rep.url, "-modules", modules)
	app.Env = append(os.Environ(), "DISPLAY="+display, "WEBKIT_DISABLE_DMABUF_RENDERER=1", "NO_AT_BRIDGE=1")
	app.Cancel = func() error { return app.Process.Signal(syscall.SIGTERM) }
	app.WaitDelay = 10 * time.Second
	lines := newLineLog(filepath.Join(artifacts, "wails-vault.log"))
	app.Stdout, app.Stderr = lines, lines
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	stopped := false
	stop := func() {
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
	defer stop()
	defer func() {
		if t.Failed() {
			t.Logf("the app's output is in %s", lines.path)
		}
	}()

	rep.await(ctx, t, "main.done", "settings.ready-for-reload")
	shot(ctx, t, display, filepath.Join(artifacts, "wails-vault.png"))

	// Live reload: settings may now authenticate.
	settings := filepath.Join(appDir, "capabilities", "settings.toml")
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
	rep.await(ctx, t, "settings.done")

	rep.release("navigate")
	rep.await(ctx, t, "untrusted.done")
	shot(ctx, t, display, filepath.Join(artifacts, "wails-vault-untrusted.png"))
	stop()

	steps := rep.steps()
	if dump, err := json.MarshalIndent(steps, "", "  "); err == nil {
		_ = os.WriteFile(filepath.Join(artifacts, "wails-vault-steps.json"), dump, 0o644)
	}
	secrets := `[{"site":"mail.example","password":"correct horse"},{"site":"bank.example","password":"battery staple"}]`
	for _, tc := range []struct{ step, want string }{
		{"main.packages", `{"realBiometricPackage":true,"label":"main"}`},
		{"main.status", `{"ok":true,"value":{"isAvailable":true,"biometryType":1}}`},
		{"main.authenticate.match", `{"ok":true}`},
		{"main.authenticate.cancel", `{"ok":false,"code":"userCancel"}`},
		{"main.vault_info", `{"ok":true,"value":{"name":"Personal","entries":3,"window":"main"}}`},
		{"main.open_vault", `{"ok":true,"value":{"opened":true,"window":"main","secrets":` + secrets + `}}`},
		{"main.open_vault.again", `{"ok":true,"value":{"opened":true,"window":"main","secrets":` + secrets + `}}`},
		{"main.delete_vault", `{"ok":false,"error":"Command delete_vault not allowed by ACL"}`},

		{"settings.packages", `{"realBiometricPackage":true,"label":"settings"}`},
		{"settings.status", `{"ok":true,"value":{"isAvailable":true,"biometryType":1}}`},
		{"settings.authenticate", `{"ok":false,"error":"Command plugin:biometric|authenticate not allowed by ACL"}`},
		{"settings.vault_info", `{"ok":true,"value":{"name":"Personal","entries":3,"window":"settings"}}`},
		{"settings.open_vault", `{"ok":false,"error":"Command open_vault not allowed by ACL"}`},
		{"settings.forged.window-name", `{"ok":true,"value":{"status":403,"text":"capguard: a page may only address its own window: the request names window \"main\", the page is in \"settings\""}}`},
		{"settings.forged.window-id", `{"ok":true,"value":{"status":403,"text":"Command open_vault not allowed by ACL"}}`},
		{"settings.forged.body", `{"ok":false,"error":"Command plugin:biometric|authenticate not allowed by ACL"}`},
		{"settings.forged.token", `{"ok":true,"value":{"status":403,"text":"capguard: unknown Capguard-Page-Token"}}`},
		{"settings.authenticate.after-reload", `{"ok":true}`},
		{"settings.open_vault.after-reload", `{"ok":false,"error":"Command open_vault not allowed by ACL"}`},

		{"untrusted.origin", `true`},
		{"untrusted.internals", `"undefined"`},
		{"untrusted.own-runtime", `{"reached":true,"status":404,"text":"404 page not found\n"}`},
	} {
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
	// The untrusted page cannot reach the app's asset server: WebKit
	// refuses a page of another site access to the wails:// scheme, and
	// a request that got through would carry no token.
	for _, step := range []string{"untrusted.wails-runtime", "untrusted.ipc"} {
		t.Run(step, func(t *testing.T) {
			var got struct {
				Reached bool
				Status  int
			}
			if err := json.Unmarshal(steps[step], &got); err != nil {
				t.Fatalf("%s: %v", steps[step], err)
			}
			if got.Reached && got.Status != 403 {
				t.Errorf("the untrusted page got an answer other than a refusal: %s", steps[step])
			}
		})
	}

	t.Run("bound methods that ran", func(t *testing.T) {
		got := map[string]int{}
		for _, line := range readLines(t, vaultLog) {
			var run struct {
				Method, Window string
				Granted        bool
			}
			if err := json.Unmarshal([]byte(line), &run); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if !run.Granted {
				t.Errorf("%s ran without the guard's grant in its context", line)
			}
			got[run.Method+"@"+run.Window]++
		}
		want := map[string]int{"VaultInfo@main": 1, "VaultInfo@settings": 1, "OpenVault@main": 2}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("bound methods ran %v, want %v: a denied call ran, or an allowed one did not", got, want)
		}
	})
	t.Run("device attempts", func(t *testing.T) {
		// authenticate (match), authenticate (cancel), open_vault's
		// step-up (match; the second open_vault is remembered), and
		// settings' authenticate after the reload.
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
		for _, line := range readLines(t, auditFile) {
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
		// The untrusted page's requests reached the asset server (WebKit
		// sends them, and only hides the answer from the page): the guard
		// decided them as calls of a remote origin, which no capability
		// allows.
		wantDenied := []string{"main delete_vault local", "settings open_vault local", "settings open_vault local",
			"settings plugin:biometric|authenticate local", "settings plugin:biometric|authenticate local", "settings open_vault local",
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
