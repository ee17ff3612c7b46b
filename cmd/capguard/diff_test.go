package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
)

// copyTree copies a folder into a new temporary folder.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// widenWindows rewrites nuxtor's main capability with the window "*".
func widenWindows(t *testing.T, app string) {
	t.Helper()
	p := filepath.Join(app, "capabilities", "main.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	c["windows"] = []any{"*"}
	data, _ = json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editCapability rewrites nuxtor's main capability.
func editCapability(t *testing.T, app string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(app, "capabilities", "main.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	data, _ = json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

type diffJSON struct {
	Old, New, Verdict string
	Targets           []string
	Widened, Narrowed int
	Changes           []struct {
		Kind, Op, Effect, Command, Plugin, Context, Window, Message string
		Causes                                                      []struct {
			Side, Capability, Permission, File string
			Line, Column                       int
		}
	}
}

func TestDiffCLI(t *testing.T) {
	src := conformance.Path(t, "apps", "NicolaSpadari__nuxtor", "src-tauri")
	wide := filepath.Join(t.TempDir(), "src-tauri")
	copyTree(t, src, wide)
	widenWindows(t, wide)

	stdout, stderr, code := capguard(t, "diff", src, wide)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "capguard diff: widened") || !strings.Contains(stdout, "worst risk critical") ||
		!strings.Contains(stdout, "\ntop risks\n  critical ") || !strings.Contains(stdout, "\nwindow \"*\"\n") ||
		!strings.Contains(stdout, "\n  + [low] can now call 26 commands from local pages through core:window:default: core:window (26)\n") ||
		!strings.Contains(stdout, "\n  plugin shell\n    + [critical] gains access to plugin shell\n") {
		t.Fatalf("text: exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	// A rolled-up entry lists its first commands, and all with --expand.
	if !strings.Contains(stdout, "… and 18 more (--expand lists them)") {
		t.Errorf("no shortened roll-up:\n%s", stdout)
	}
	if out, _, _ := capguard(t, "diff", src, wide, "--expand"); strings.Contains(out, "--expand lists them") || !strings.Contains(out, "window.title") {
		t.Errorf("--expand:\n%s", out)
	}
	for _, tc := range []struct {
		failOn string
		code   int
	}{{"critical", 1}, {"high", 1}, {"low", 1}} {
		if _, stderr, code := capguard(t, "diff", src, wide, "--fail-on", tc.failOn); code != tc.code || !strings.Contains(stderr, "rated "+tc.failOn+" or worse (worst: critical)") {
			t.Errorf("--fail-on %s: exit %d, stderr %q", tc.failOn, code, stderr)
		}
	}
	// Only the os plugin's low-risk calls: --fail-on high passes.
	low := filepath.Join(t.TempDir(), "src-tauri")
	copyTree(t, src, low)
	editCapability(t, low, func(c map[string]any) {
		var kept []any
		for _, p := range c["permissions"].([]any) {
			if s, ok := p.(string); !ok || !strings.HasPrefix(s, "os:") {
				kept = append(kept, p)
			}
		}
		c["permissions"] = kept
	})
	if out, stderr, code := capguard(t, "diff", low, src, "--fail-on", "high"); code != 0 || !strings.Contains(out, "worst risk low") {
		t.Errorf("low risk with --fail-on high: exit %d, stderr %q\n%s", code, stderr, out)
	}
	if _, _, code := capguard(t, "diff", low, src, "--fail-on", "low"); code != 1 {
		t.Errorf("low risk with --fail-on low: exit %d", code)
	}
	// A side without manifests is compared with the other side's.
	if out, _, code := capguard(t, "diff", filepath.Join(src, "capabilities"), src); code != 0 || !strings.Contains(out, "has no "+filepath.Join(src, "capabilities", "gen", "schemas", "acl-manifests.json")) {
		t.Errorf("side without manifests: exit %d\n%s", code, out)
	}
	if _, _, code := capguard(t, "diff", src, wide, "--fail-on", "widened"); code != 1 {
		t.Errorf("--fail-on widened: exit %d", code)
	}
	if _, _, code := capguard(t, "diff", wide, src, "--fail-on", "widened"); code != 0 {
		t.Errorf("narrowed with --fail-on widened: exit %d", code)
	}
	if _, _, code := capguard(t, "diff", wide, src, "--fail-on", "any"); code != 1 {
		t.Errorf("narrowed with --fail-on any: exit %d", code)
	}
	if out, _, code := capguard(t, "diff", src, src, "--fail-on", "any"); code != 0 || !strings.HasPrefix(out, "capguard diff: unchanged") {
		t.Errorf("same side: exit %d\n%s", code, out)
	}

	stdout, _, code = capguard(t, "diff", src, wide, "--format", "json")
	var j diffJSON
	if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != 0 {
		t.Fatalf("json: exit %d, %v\n%s", code, err, stdout)
	}
	if j.Verdict != "widened" || j.Widened != len(j.Changes) || j.Narrowed != 0 || j.Old != src || len(j.Targets) == 0 {
		t.Fatalf("json: %+v", j)
	}
	for _, c := range j.Changes {
		if c.Effect != "widened" || c.Op != "added" || c.Message == "" || len(c.Causes) == 0 {
			t.Errorf("json change %+v", c)
		}
		if c.Kind == "call" && (c.Window != "*" || c.Causes[0].File != filepath.Join(wide, "capabilities", "main.json") || c.Causes[0].Line == 0) {
			t.Errorf("json call %+v", c)
		}
	}

	stdout, _, _ = capguard(t, "diff", src, wide, "--format", "markdown")
	for _, want := range []string{"### capguard diff: **widened** · worst risk **critical**", "**Top risks**", "| critical | window \"*\", plugin shell |",
		"| window / webview | plugin | widened | narrowed | worst risk |", "| window \"*\" | plugin shell |", "<details>", "<details><summary>26 commands</summary>", "</details>"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout)
		}
	}

	stdout, _, _ = capguard(t, "diff", src, wide, "--format", "github")
	wantFile := "::warning file=" + strings.ReplaceAll(filepath.ToSlash(filepath.Join(wide, "capabilities", "main.json")), ":", "%3A") + ",line="
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if !strings.Contains(stdout, wantFile) || !strings.HasPrefix(lines[len(lines)-1], "::notice title=capguard diff::widened (") {
		t.Errorf("github output:\n%s", stdout)
	}
}

func TestDiffCLIGit(t *testing.T) {
	repo := t.TempDir()
	copyTree(t, conformance.Path(t, "apps", "NicolaSpadari__nuxtor", "src-tauri"), filepath.Join(repo, "src-tauri"))
	gitIn(t, repo, "init", "-q", "-b", "main")
	gitIn(t, repo, "add", ".")
	gitIn(t, repo, "commit", "-q", "-m", "app")
	widenWindows(t, filepath.Join(repo, "src-tauri"))
	gitIn(t, repo, "commit", "-q", "-am", "wider")

	stdout, stderr, code := capguard(t, "diff", "HEAD~1", "HEAD:src-tauri", "--repo", repo, "--format", "github")
	if code != 0 || !strings.Contains(stdout, "::warning file=src-tauri/capabilities/main.json,line=") {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	stdout, _, code = capguard(t, "diff", "main", "main", "--repo", repo)
	if code != 0 || !strings.HasPrefix(stdout, "capguard diff: unchanged") {
		t.Fatalf("main main: exit %d\n%s", code, stdout)
	}
}

func TestDiffCLIErrors(t *testing.T) {
	src := conformance.Path(t, "apps", "NicolaSpadari__nuxtor", "src-tauri")
	broken := filepath.Join(t.TempDir(), "src-tauri")
	copyTree(t, src, broken)
	if err := os.WriteFile(filepath.Join(broken, "capabilities", "main.json"), []byte("{\n  \"identifier\": \"main\",\n  \"windows\": [\"main\"],\n  \"permissions\": [\"shell:allow-open\",]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	gitIn(t, repo, "init", "-q")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"one side outside an app", []string{"diff", src}, 2, "no Tauri app here"},
		{"three sides", []string{"diff", src, src, src}, 2, "at most two arguments"},
		{"bad plugin", []string{"diff", src, src, "--plugin", "x"}, 2, "expected NAME=DIR"},
		{"bad format", []string{"diff", src, src, "--format", "sarif"}, 2, "--format must be"},
		{"bad fail-on", []string{"diff", src, src, "--fail-on", "narrowed"}, 2, "--fail-on must be"},
		{"bad target", []string{"diff", src, src, "--target", "macos"}, 2, `did you mean "macOS"`},
		{"unknown revision", []string{"diff", "no-such-rev", src, "--repo", repo}, 2, "no-such-rev"},
		{"option as revision", []string{"diff", "--", "-x", src}, 2, "cannot start with '-'"},
		{"invalid new side", []string{"diff", src, broken}, 1, filepath.Join(broken, "capabilities", "main.json") + ":4:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := capguard(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Fatalf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tc.code, stderr, tc.want, stdout)
			}
		})
	}
}
