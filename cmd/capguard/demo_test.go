package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The demo serves until its context ends (Ctrl-C), printing the dashboard
// URL first and the pages after it.
func TestDemoCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var errOut strings.Builder
	root := newRoot(pw, &errOut)
	root.SetArgs([]string{"demo", "--listen", "127.0.0.1:0", "--node-modules", t.TempDir()})
	done := make(chan error, 1)
	go func() {
		done <- root.ExecuteContext(ctx)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "Press Ctrl-C to stop." {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "capguard demo: http://127.0.0.1:") {
		t.Fatalf("output:\n%s\nstderr: %s", strings.Join(lines, "\n"), errOut.String())
	}
	if !strings.Contains(lines[1], "window main") || !strings.Contains(lines[2], "window settings") ||
		!strings.Contains(lines[3], "untrusted page") || !strings.Contains(lines[4], "npm packages: not used (@tauri-apps/api is not installed in ") {
		t.Errorf("output:\n%s", strings.Join(lines, "\n"))
	}
	url := strings.TrimPrefix(lines[0], "capguard demo: ")
	base, _, _ := strings.Cut(url, "?")
	// The printed URL carries the dashboard's key; a window's page opens
	// only from the dashboard (with a launch secret).
	for u, want := range map[string]int{url: 200, base: 403, base + "api/state": 200, strings.Fields(lines[1])[2]: 403} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", u, res.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not stop when its context ended")
	}
}

// With DIR, --watch and --audit the demo says what it watches and where
// the audit log goes, and the log holds the decisions once it stops.
func TestDemoCommandWatchAudit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := exampleWithExtension(t, `{"obligations": [{"commands": ["open_vault"], "windows": ["main"], "type": "biometric", "max_age_s": 60, "reason": "Unlock your vault"}]}`)
	logFile := filepath.Join(t.TempDir(), "audit.jsonl")
	pr, pw := io.Pipe()
	var errOut strings.Builder
	root := newRoot(pw, &errOut)
	root.SetArgs([]string{"demo", dir, "--watch", "--audit", logFile, "--listen", "127.0.0.1:0", "--node-modules", t.TempDir()})
	done := make(chan error, 1)
	go func() {
		done <- root.ExecuteContext(ctx)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "Press Ctrl-C to stop." {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if len(lines) != 8 || !strings.Contains(lines[5], "watching "+dir+": edits to its capabilities") || lines[6] != "  audit log: "+logFile+" (JSON Lines)" {
		t.Fatalf("output:\n%s\nstderr: %s", strings.Join(lines, "\n"), errOut.String())
	}
	url, _, _ := strings.Cut(strings.TrimPrefix(lines[0], "capguard demo: "), "?")
	res, err := http.Get(url + "api/state")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`"watching":"` + dir + `"`, `"auditFile":"` + logFile + `"`, `"stepUps":["open_vault from windows main: biometric, at most 60 s old: \"Unlock your vault\""]`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("state lacks %s:\n%s", want, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not stop when its context ended")
	}
	if st, err := os.Stat(logFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("audit log: %v, %v", st, err)
	}
}

func TestDemoCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"script": ["mtach"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	app := exampleWithExtension(t, `{"obligations": [{"commands": ["open_vault"], "type": "biometric"}]}`)
	typo := exampleWithExtension(t, `{"obligations": [{"commands": ["open_valt"], "type": "biometric"}]}`)
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
		code   int
	}{
		{"not loopback", []string{"--listen", "0.0.0.0:0"}, "not a loopback address", 2},
		{"no port", []string{"--listen", "127.0.0.1"}, "want host:port", 2},
		{"missing sim script", []string{"--sim", filepath.Join(dir, "none.json")}, "--sim:", 2},
		{"invalid sim script", []string{"--sim", bad}, `unknown outcome "mtach" (did you mean "match"?)`, 1},
		{"missing app", []string{filepath.Join(dir, "nowhere")}, "nowhere", 2},
		{"two apps", []string{"a", "b"}, "at most 1 argument", 2},
		{"bad window", []string{"--window", "a b"}, `window label "a b"`, 2},
		{"watch the embedded app", []string{"--watch"}, "--watch needs DIR, a src-tauri directory on disk", 2},
		{"watch with --capabilities", []string{app, "--watch", "--capabilities", filepath.Join(app, "capabilities")}, "cannot be combined with --capabilities", 2},
		{"audit file in a missing folder", []string{"--audit", filepath.Join(dir, "none", "audit.jsonl")}, "the audit log", 2},
		{"capguard.json naming an unknown command", []string{typo}, `did you mean "open_vault"?`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := capguard(t, append([]string{"demo"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, tc.code, tc.stderr)
			}
		})
	}
}
