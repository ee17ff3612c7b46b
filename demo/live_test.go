package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/demo"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/native/sim"
)

// exampleExtension is the example app's capguard.json: open_vault from
// window main needs a biometric authentication at most 60 s old.
func exampleExtension(t testing.TB) *acl.Extension {
	t.Helper()
	ext, err := acl.LoadExtensionFS(examples.App(), examples.AppDir)
	if err != nil || ext == nil {
		t.Fatalf("the example app's capguard.json: %v, %v", ext, err)
	}
	return ext
}

// entry is a feed entry as the dashboard receives it.
type entry struct {
	Seq         uint64   `json:"seq"`
	Kind        string   `json:"kind"`
	Command     string   `json:"command"`
	Window      string   `json:"window"`
	Allowed     bool     `json:"allowed"`
	Outcome     string   `json:"outcome"`
	Code        string   `json:"code"`
	Error       string   `json:"error"`
	Version     uint64   `json:"version"`
	Changed     []string `json:"changed"`
	Obligations []struct {
		Type    string `json:"type"`
		MaxAgeS int    `json:"maxAgeS"`
		Reason  string `json:"reason"`
		Met     bool   `json:"met"`
	} `json:"obligations"`
}

// liveState is the part of /api/state these tests read.
type liveState struct {
	Entries []entry `json:"entries"`
	Live    struct {
		Version     uint64   `json:"version"`
		Watching    string   `json:"watching"`
		AuditFile   string   `json:"auditFile"`
		StepUps     []string `json:"stepUps"`
		Remembered  int      `json:"remembered"`
		VaultOpened int64    `json:"vaultOpened"`
	} `json:"live"`
	Matrix struct {
		Version  uint64   `json:"version"`
		Commands []string `json:"commands"`
		Rows     []struct {
			Page  string `json:"page"`
			Cells []struct {
				Allowed bool     `json:"allowed"`
				StepUp  []string `json:"stepUp"`
			} `json:"cells"`
		} `json:"rows"`
	} `json:"matrix"`
	Audit []struct {
		Seq  uint64 `json:"seq"`
		Line string `json:"line"`
	} `json:"audit"`
}

func getState(t testing.TB, s *demo.Server) liveState {
	t.Helper()
	r := do(t, "GET", s.URL()+"api/state", nil, "")
	var st liveState
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	return st
}

// cell returns the matrix cell of a page and command.
func (st liveState) cell(page, command string) (allowed bool, stepUp []string, ok bool) {
	for _, r := range st.Matrix.Rows {
		if r.Page != page {
			continue
		}
		for i, c := range st.Matrix.Commands {
			if c == command {
				return r.Cells[i].Allowed, r.Cells[i].StepUp, true
			}
		}
	}
	return false, nil, false
}

// kinds returns the entries of one kind after seq.
func (st liveState) kinds(kind string, after uint64) []entry {
	var out []entry
	for _, e := range st.Entries {
		if e.Kind == kind && e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}

func lastSeq(st liveState) uint64 {
	if len(st.Entries) == 0 {
		return 0
	}
	return st.Entries[len(st.Entries)-1].Seq
}

func post(t testing.TB, s *demo.Server, path, body string) response {
	t.Helper()
	return do(t, "POST", s.URL()+path, map[string]string{"Content-Type": "application/json"}, body)
}

// TestStepUp: with the example's capguard.json, open_vault from main
// prompts once ("Unlock your vault"), is remembered for its max age, and
// after the memory is forgotten a cancelled prompt rejects the call with
// the biometric error while its handler does not run. Concurrent calls
// share one prompt. The feed shows every step-up's outcome.
func TestStepUp(t *testing.T) {
	s := start(t, func(c *demo.Config) { c.Extension = exampleExtension(t) })
	main, settings := window(t, s, "main"), window(t, s, "settings")
	prompts := func() int { return s.Device().Count(sim.MethodAuthenticate) }

	st := getState(t, s)
	if allowed, stepUp, _ := st.cell("main", "open_vault"); !allowed || len(stepUp) != 1 || !strings.Contains(stepUp[0], "at most 60 s old") {
		t.Errorf("matrix cell main/open_vault: %v %q", allowed, stepUp)
	}
	if _, stepUp, _ := st.cell("main", "plugin:biometric|authenticate"); len(stepUp) != 0 {
		t.Errorf("authenticate has a step-up: %q", stepUp)
	}
	if fmt.Sprint(st.Live.StepUps) != `[open_vault from windows main: biometric, at most 60 s old: "Unlock your vault" plugin:biometry|remove_data from windows main: biometric, signed (a signature of the call by the step-up key), on every call: "Delete a stored secret"]` {
		t.Errorf("step-up rules %q", st.Live.StepUps)
	}

	type step struct {
		name     string
		before   func()
		w        demo.Window
		response string
		body     string
		prompts  int
		outcome  string // of the step-up entry; "" when there is none
	}
	for _, tc := range []step{
		{"first call prompts", nil, main, "ok", `{"opened":true,"window":"main"}`, 1, "prompted"},
		{"second call is remembered", nil, main, "ok", `{"opened":true,"window":"main"}`, 1, "remembered"},
		{"after forgetting, a cancelled prompt rejects", func() {
			if r := post(t, s, "api/stepup/forget", `{}`); r.status != 200 {
				t.Fatalf("forget: %d %s", r.status, r.body)
			}
			if r := post(t, s, "api/device/next", `{"outcome":"user-cancel"}`); r.status != 200 {
				t.Fatalf("next: %d %s", r.status, r.body)
			}
		}, main, "error", `{"message":"Authentication was canceled by the user.","code":"userCancel"}`, 2, "failed"},
		{"settings is denied by the ACL, without a prompt", nil, settings, "error", `"Command open_vault not allowed by ACL"`, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			seq := lastSeq(getState(t, s))
			r := invoke(t, s, tc.w, "open_vault", `{}`)
			if r.header.Get("Tauri-Response") != tc.response || r.body != tc.body {
				t.Fatalf("%s %s, want %s %s", r.header.Get("Tauri-Response"), r.body, tc.response, tc.body)
			}
			if n := prompts(); n != tc.prompts {
				t.Errorf("%d prompts, want %d", n, tc.prompts)
			}
			st := getState(t, s)
			ups, decisions := st.kinds("stepup", seq), st.kinds("decision", seq)
			if len(decisions) != 1 {
				t.Fatalf("%d decisions for one call", len(decisions))
			}
			d := decisions[0]
			if tc.outcome == "" {
				if len(ups) != 0 || len(d.Obligations) != 0 {
					t.Errorf("step-ups %+v for a denied call", ups)
				}
				return
			}
			if len(ups) != 1 || ups[0].Outcome != tc.outcome || ups[0].Window != "main" || ups[0].Command != "open_vault" || ups[0].Seq > d.Seq {
				t.Fatalf("step-up entries %+v, want one %q before the decision", ups, tc.outcome)
			}
			if o := ups[0].Obligations; len(o) != 1 || o[0].Type != "biometric" || o[0].MaxAgeS != 60 || o[0].Reason != "Unlock your vault" {
				t.Errorf("step-up obligation %+v", o)
			}
			failed := tc.outcome == "failed"
			if d.Allowed == failed || len(d.Obligations) != 1 || d.Obligations[0].Met == failed {
				t.Errorf("decision %+v", d)
			}
			if failed && (ups[0].Code != "userCancel" || ups[0].Allowed) {
				t.Errorf("failed step-up %+v", ups[0])
			}
		})
	}
	st = getState(t, s)
	if st.Live.VaultOpened != 2 {
		t.Errorf("open_vault's handler ran %d times, want 2 (never after the cancelled prompt)", st.Live.VaultOpened)
	}
	for _, c := range s.Device().Calls() {
		if c.Method == sim.MethodAuthenticate && c.Prompt.Reason != "Unlock your vault" {
			t.Errorf("a prompt with reason %q", c.Prompt.Reason)
		}
	}

	t.Run("concurrent calls share one prompt", func(t *testing.T) {
		post(t, s, "api/stepup/forget", `{}`)
		s.Device().Push(sim.Step{Outcome: sim.Match, Latency: 500 * time.Millisecond})
		before, seq := prompts(), lastSeq(getState(t, s))
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := invoke(t, s, main, "open_vault", `{}`); r.header.Get("Tauri-Response") != "ok" {
					t.Errorf("%s %s", r.header.Get("Tauri-Response"), r.body)
				}
			}()
		}
		wg.Wait()
		if n := prompts() - before; n != 1 {
			t.Errorf("%d prompts for two concurrent calls, want 1", n)
		}
		var outcomes []string
		for _, e := range getState(t, s).kinds("stepup", seq) {
			outcomes = append(outcomes, e.Outcome)
		}
		sort.Strings(outcomes)
		if fmt.Sprint(outcomes) != "[prompted shared]" {
			t.Errorf("outcomes %v", outcomes)
		}
	})
}

// TestAuditLog: every decision is one line of the audit file, shown on
// the dashboard too, and a call's arguments are never in it.
func TestAuditLog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	dev := sim.Ready()
	s, err := demo.Start(demo.Config{Resolved: exampleACL(t), Extension: exampleExtension(t), Device: &dev, AuditFile: file, Name: "example"})
	if err != nil {
		t.Fatal(err)
	}
	main, settings := window(t, s, "main"), window(t, s, "settings")
	const secret = "hunter2-do-not-log"
	invoke(t, s, main, "open_vault", `{"password":"`+secret+`"}`)
	invoke(t, s, main, "plugin:biometric|authenticate", `{"reason":"`+secret+`"}`)
	invoke(t, s, settings, "open_vault", `{"password":"`+secret+`"}`)
	// A refusal of the bridge is not a decision: no audit line.
	key, token, _ := page(t, s, main)
	do(t, "POST", s.URL()+"ipc/open_vault", map[string]string{
		"Content-Type": "application/json", "Origin": settings.Origin, "Tauri-Callback": "1", "Tauri-Error": "2",
		"Tauri-Invoke-Key": key, "Capguard-Webview-Token": token,
	}, `{}`)
	var st liveState
	deadline := time.Now().Add(10 * time.Second)
	for {
		st = getState(t, s)
		if len(st.Audit) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Live.AuditFile != file {
		t.Errorf("the dashboard names audit file %q", st.Live.AuditFile)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections() // see start
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v, %v", fi.Mode(), err)
	}
	if strings.Contains(string(data), secret) {
		t.Fatalf("the audit log holds a call's argument:\n%s", data)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if n := len(st.kinds("decision", 0)); len(lines) != n || n != 3 {
		t.Fatalf("%d lines for %d decisions (want 3):\n%s", len(lines), n, data)
	}
	for i, l := range lines {
		var e struct {
			Path  string `json:"path"`
			Input struct {
				Command string `json:"command"`
				Window  string `json:"window"`
			} `json:"input"`
			Result struct {
				Allowed     bool `json:"allowed"`
				Obligations []struct {
					Outcome string `json:"outcome"`
				} `json:"obligations"`
			} `json:"result"`
			Labels map[string]string `json:"labels"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Path != "capguard/authz" || e.Labels["app"] != "example" {
			t.Errorf("line %d: %s (%v)", i+1, l, err)
		}
		if i == 0 && (e.Input.Command != "open_vault" || !e.Result.Allowed || len(e.Result.Obligations) != 1 || e.Result.Obligations[0].Outcome != "met") {
			t.Errorf("the step-up call's line: %s", l)
		}
		if i == 2 && (e.Input.Window != "settings" || e.Result.Allowed) {
			t.Errorf("the denied call's line: %s", l)
		}
		if st.Audit[i].Line != l {
			t.Errorf("the dashboard shows line %d as\n%s\nthe file has\n%s", i+1, st.Audit[i].Line, l)
		}
	}
}

// copyExample copies the example app to a temporary src-tauri folder and
// resolves it, as capguard demo DIR does.
func copyExample(t *testing.T) (string, *acl.Resolved, *acl.Extension) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src-tauri")
	if err := os.CopyFS(dir, examples.App()); err != nil {
		t.Fatal(err)
	}
	app, err := acl.LoadApp(dir, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := acl.LoadExtension(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, r, ext
}

// waitReload waits for a reload entry after seq and returns it.
func waitReload(t *testing.T, s *demo.Server, seq uint64) (entry, liveState) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st := getState(t, s)
		if r := st.kinds("reload", seq); len(r) > 0 {
			return r[len(r)-1], st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no reload in the feed within 20s")
	return entry{}, liveState{}
}

// TestWatch: with Watch, an edit of a capability file is reloaded: the
// feed says so, the matrix is rebuilt and the next call is decided by the
// new version; a broken edit is reported with its file:line:col and the
// last good version keeps deciding.
func TestWatch(t *testing.T) {
	dir, res, ext := copyExample(t)
	s := start(t, func(c *demo.Config) { c.Resolved, c.Extension, c.Dir, c.Watch = res, ext, dir, true })
	settings := window(t, s, "settings")
	authenticate := func() string {
		return invoke(t, s, settings, "plugin:biometric|authenticate", `{"reason":"Open your wallet"}`).body
	}
	st := getState(t, s)
	if st.Live.Watching != dir || st.Live.Version != 1 || st.Matrix.Version != 1 {
		t.Fatalf("live %+v, matrix version %d", st.Live, st.Matrix.Version)
	}
	if got := authenticate(); got != `"Command plugin:biometric|authenticate not allowed by ACL"` {
		t.Fatalf("before the edit: %s", got)
	}
	file := filepath.Join(dir, "capabilities", "settings.toml")
	good := "identifier = \"settings-window\"\nwindows = [\"settings\"]\npermissions = [\"biometric:allow-status\", \"biometric:allow-authenticate\"]\n"
	seq := lastSeq(getState(t, s))
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	e, st := waitReload(t, s, seq)
	if !e.Allowed || e.Version != 2 || e.Error != "" || fmt.Sprint(e.Changed) != "[capabilities/settings.toml]" {
		t.Fatalf("reload entry %+v", e)
	}
	if allowed, _, _ := st.cell("settings", "plugin:biometric|authenticate"); !allowed || st.Matrix.Version != 2 || st.Live.Version != 2 {
		t.Errorf("after the reload: matrix version %d, settings may authenticate: %v", st.Matrix.Version, allowed)
	}
	if got := authenticate(); got != "null" {
		t.Fatalf("after the edit: %s", got)
	}
	if d := getState(t, s).kinds("decision", seq); len(d) != 1 || d[0].Version != 2 || !d[0].Allowed {
		t.Errorf("decision %+v, want one allowed by version 2", d)
	}

	seq = lastSeq(getState(t, s))
	if err := os.WriteFile(file, []byte("identifier = \"settings-window\"\nwindows = [\"settings\"]\npermissions = [\"biometric:allow-statsu\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, st = waitReload(t, s, seq)
	if e.Allowed || e.Version != 2 || !strings.Contains(e.Error, file+":3:") || !strings.Contains(e.Error, "keeping version 2") {
		t.Fatalf("broken reload entry %+v", e)
	}
	if got := authenticate(); got != "null" {
		t.Errorf("after the broken edit: %s (the last good version should decide)", got)
	}
	if st.Live.Version != 2 || st.Matrix.Version != 2 {
		t.Errorf("after the broken edit: version %d, matrix %d", st.Live.Version, st.Matrix.Version)
	}
}

func TestLiveStartErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  demo.Config
		want string
	}{
		{"watch without a directory", demo.Config{Resolved: exampleACL(t), Watch: true}, "Watch needs Dir"},
		{"watch a missing directory", demo.Config{Resolved: exampleACL(t), Watch: true, Dir: filepath.Join(t.TempDir(), "none")}, "no such file"},
		{"audit file in a missing folder", demo.Config{Resolved: exampleACL(t), AuditFile: filepath.Join(t.TempDir(), "none", "audit.jsonl")}, "the audit log"},
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
