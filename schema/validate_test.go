package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
)

// writeApp writes a src-tauri directory with the test manifests and the
// given files.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"gen/schemas/acl-manifests.json": string(acl.MarshalManifests(testManifests(t)))}
	for k, v := range files {
		all[k] = v
	}
	for name, content := range all {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// want is an expected finding: file (relative to the app), line:col,
// severity, rule, and a piece of the message.
type want struct {
	file, at, severity, rule, text string
}

func findingsOf(dir string, r *Report) []want {
	var out []want
	for _, f := range r.Findings {
		rel, _ := filepath.Rel(dir, f.Pos.File)
		at := "-"
		if f.Pos.Line > 0 {
			at = strconv.Itoa(f.Pos.Line) + ":" + strconv.Itoa(f.Pos.Col)
		}
		out = append(out, want{filepath.ToSlash(rel), at, f.Severity.String(), f.Rule, f.Message})
	}
	return out
}

func TestValidateApp(t *testing.T) {
	const main = `{
  "identifier": "main",
  "windows": ["main"],
  "permissions": ["core:window:default", "fs:default"]
}`
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []want
	}{
		{name: "valid", files: map[string]string{"capabilities/main.json": main}},
		{name: "unknown permission with suggestion", files: map[string]string{"capabilities/main.json": `{
  "identifier": "main",
  "windows": ["main"],
  "permissions": ["fs:read-al"]
}`}, want: []want{{"capabilities/main.json", "4:19", "error", RuleUnknownPermission, `unknown permission "fs:read-al" for fs; did you mean "fs:read-all"?`}}},
		{name: "plugin the app does not have", files: map[string]string{"capabilities/main.json": `{"identifier": "main", "windows": ["main"],
  "permissions": ["dialog:default"]}`}, want: []want{{"capabilities/main.json", "2:19", "error", RuleUnknownPlugin, `names the plugin "dialog", which is not in the manifests`}}},
		{name: "misspelled field", files: map[string]string{"capabilities/main.json": `{
  "identifier": "main",
  "windws": ["main"],
  "permissions": ["fs:default"]
}`}, want: []want{
			{"capabilities/main.json", "2:3", "warning", RuleNoWindow, `capability "main" lists no windows and no webviews`},
			{"capabilities/main.json", "3:3", "error", RuleUnknownField, `unknown field "windws" in a capability; did you mean "windows"?`},
		}},
		{name: "misspelled required field is one error", files: map[string]string{"capabilities/main.json": `{
  "identifier": "main",
  "windows": ["main"],
  "permisions": ["fs:default"]
}`}, want: []want{{"capabilities/main.json", "4:3", "error", RuleUnknownField, `did you mean "permissions"?`}}},
		{name: "wrong type", files: map[string]string{"capabilities/main.json": `{
  "identifier": "main",
  "windows": "main",
  "permissions": ["fs:default"]
}`}, want: []want{
			{"capabilities/main.json", "2:3", "warning", RuleNoWindow, "lists no windows"},
			{"capabilities/main.json", "3:14", "error", RuleSchema, "windows: expected an array, found a string"},
		}},
		{name: "bad glob and remote URL", files: map[string]string{"capabilities/main.json": `{
  "identifier": "main",
  "windows": ["main["],
  "remote": {"urls": ["example.com/*"]},
  "permissions": ["fs:default"]
}`}, want: []want{
			{"capabilities/main.json", "3:15", "error", RuleGlob, `windows[0]: invalid pattern "main["`},
			{"capabilities/main.json", "4:23", "error", RuleRemoteURL, "has no protocol"},
		}},
		{name: "duplicate identifier across files", files: map[string]string{"capabilities/a.json": main, "capabilities/b.json": main},
			want: []want{{"capabilities/b.json", "2:3", "error", RuleDuplicateCapability, `capability identifier "main" is already used at`}}},
		{name: "duplicate permission", files: map[string]string{"capabilities/main.json": `{"identifier": "main", "windows": ["main"],
  "permissions": ["fs:default",
    "fs:default"]}`}, want: []want{{"capabilities/main.json", "3:5", "warning", RuleDuplicatePermission, "permissions[1] repeats permissions[0] (line 2)"}}},
		{name: "remote pages reach commands", files: map[string]string{"capabilities/main.json": `{"identifier": "web", "windows": ["main"],
  "remote": {"urls": ["https://example.com/*"]},
  "permissions": ["fs:read-all", "allow-open-vault"]}`}, want: []want{{"capabilities/main.json", "2:3", "warning", RuleRemoteCommands,
			`capability "web" lets pages from "https://example.com/*" call 2 native commands: open_vault, plugin:fs|read`}}},
		{name: "remote pattern with a path the bridge cannot enforce", files: map[string]string{"capabilities/main.json": `{"identifier": "web", "windows": ["main"],
  "remote": {"urls": ["https://example.com/app/*", "https://example.com", "https://example.com/*"]},
  "permissions": ["fs:read-all"]}`}, want: []want{
			{"capabilities/main.json", "2:3", "warning", RuleRemoteCommands, `capability "web" lets pages from "https://example.com/app/*", "https://example.com", "https://example.com/*" call 1 native command`},
			{"capabilities/main.json", "2:23", "warning", RuleRemotePath, `remote.urls[0]: the pattern matches only the paths "/app/*"; Tauri matches the page's full URL, but capguard's HTTP bridge knows only the page's origin`},
		}},
		{name: "scope entry the plugin rejects", files: map[string]string{"capabilities/main.json": `{"identifier": "main", "windows": ["main"],
  "permissions": [{"identifier": "fs:read-all", "allow": [{"path": ""}], "deny": [{"pth": "$HOME"}]}]}`}, want: []want{
			{"capabilities/main.json", "2:68", "error", RuleScope, `permissions[0].allow[0].path: this allow entry does not fit the fs plugin's scope schema: expected at least 1 character, found 0`},
			{"capabilities/main.json", "2:83", "error", RuleScope, `permissions[0].deny[0]: this deny entry does not fit the fs plugin's scope schema: missing required field "path"`},
			{"capabilities/main.json", "2:84", "error", RuleScope, `permissions[0].deny[0].pth: this deny entry does not fit the fs plugin's scope schema: field "pth" is not allowed here`},
		}},
		{name: "TOML positions", files: map[string]string{"capabilities/main.toml": `identifier = "main"
windows = ["main"]
permissions = [
  "fs:default",
  "fs:raed-all",
]
`}, want: []want{{"capabilities/main.toml", "5:3", "error", RuleUnknownPermission, `"fs:raed-all"`}}},
		{name: "JSON5 with comments", files: map[string]string{"capabilities/main.json5": `{
  // the main window
  identifier: 'main',
  windows: ['main'],
  permissions: ['fs:defualt',],
}`}, want: []want{{"capabilities/main.json5", "5:17", "error", RuleUnknownPermission, `did you mean "fs:default"?`}}},
		{name: "configuration names a missing capability", files: map[string]string{"capabilities/main.json": main,
			"tauri.conf.json": `{"app": {"security": {"capabilities": ["main", "mian"]}}}`},
			want: []want{{"tauri.conf.json", "1:48", "error", RuleMissingCapability, `capability with identifier "mian" not found`}}},
		{name: "capability file the configuration leaves out", files: map[string]string{"capabilities/main.json": main,
			"capabilities/extra.json": `{"identifier": "extra", "windows": ["*"], "permissions": ["fs:default"]}`,
			"tauri.conf.json":         `{"app": {"security": {"capabilities": ["main"]}}}`},
			want: []want{{"capabilities/extra.json", "1:2", "warning", RuleNoEffect, `capability "extra" has no effect`}}},
		{name: "every capability file listed", files: map[string]string{"capabilities/main.json": main,
			"tauri.conf.json": `{"app": {"security": {"capabilities": ["main"]}}}`}, want: nil},
		{name: "inline capability in the configuration", files: map[string]string{
			"tauri.conf.json": `{"app": {"security": {"capabilities": [
  {"identifier": "inline", "windows": ["main"], "permissions": ["fs:nope"]}]}}}`},
			want: []want{{"tauri.conf.json", "2:65", "error", RuleUnknownPermission, `unknown permission "fs:nope"`}}},
		{name: "syntax error", files: map[string]string{"capabilities/main.json": "{\n  \"identifier\": \"main\",\n}"},
			want: []want{{"capabilities/main.json", "3:1", "error", RuleSyntax, "invalid JSON"}}},
		{name: "capability of another target", files: map[string]string{"capabilities/mobile.json": `{"identifier": "mobile", "windows": ["main"],
  "permissions": ["barcode-scanner:default"], "platforms": ["android"]}`},
			want: []want{{"capabilities/mobile.json", "2:47", "note", RuleNotChecked, `applies to android only, and the manifests come from a build for linux`}}},
		{name: "misspelled platform", files: map[string]string{"capabilities/main.json": `{"identifier": "main", "windows": ["main"],
  "permissions": [], "platforms": ["Linux"]}`},
			want: []want{{"capabilities/main.json", "2:36", "error", RuleSchema, `platforms[0]: expected "macOS", "windows", "linux", "android" or "iOS", found "Linux" (did you mean "linux"?)`}}},
		{name: "default of a manifest without one", files: map[string]string{"capabilities/main.json": `{"identifier": "main", "windows": ["main"],
  "permissions": ["default"]}`},
			want: []want{{"capabilities/main.json", "2:19", "warning", RuleUnknownPermission, `"default" grants nothing`}}},
		{name: "unknown fields", files: map[string]string{"capabilities/main.json": `{"identifier": "main", "windows": ["main"], "context": "local",
  "permissions": [{"identifier": "fs:read-all", "allowed": []}]}`},
			want: []want{
				{"capabilities/main.json", "1:45", "warning", RuleUnknownField, `unknown field "context" in a capability: Tauri ignores it`},
				{"capabilities/main.json", "2:49", "error", RuleUnknownField, `unknown field "allowed" in a permission entry; did you mean "allow"?`},
			}},
		{name: "repeated field", files: map[string]string{"capabilities/main.json": `{"identifier": "main", "windows": ["main"], "permissions": [],
  "windows": ["other"]}`},
			want: []want{{"capabilities/main.json", "2:3", "error", RuleInvalid, `duplicate field "windows"`}}},
		{name: "a list and the capabilities wrapper", files: map[string]string{
			"capabilities/list.json":    `[{"identifier": "a", "windows": ["main"], "permissions": ["fs:nope"]}]`,
			"capabilities/wrapper.json": `{"capabilities": [{"identifier": "b", "windows": ["main"], "permissions": ["fs:nope"]}]}`},
			want: []want{
				{"capabilities/list.json", "1:59", "error", RuleUnknownPermission, `"fs:nope"`},
				{"capabilities/wrapper.json", "1:76", "error", RuleUnknownPermission, `"fs:nope"`},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeApp(t, tc.files)
			r, err := ValidateApp(dir, Options{Targets: []acl.Target{acl.Linux}})
			if err != nil {
				t.Fatal(err)
			}
			got := findingsOf(dir, r)
			if len(got) != len(tc.want) {
				t.Errorf("%d findings, want %d:\n%s", len(got), len(tc.want), list(got))
				return
			}
			for i, w := range tc.want {
				g := got[i]
				if g.file != w.file || g.at != w.at || g.severity != w.severity || g.rule != w.rule || !strings.Contains(g.text, w.text) {
					t.Errorf("finding %d:\n got %s %s %s %s: %s\nwant %s %s %s %s: ...%s...", i, g.file, g.at, g.severity, g.rule, g.text, w.file, w.at, w.severity, w.rule, w.text)
				}
			}
			failed := false
			for _, w := range tc.want {
				failed = failed || w.severity == "error"
			}
			if r.Failed(false) != failed {
				t.Errorf("Failed(false) = %v", r.Failed(false))
			}
		})
	}
}

func list(ws []want) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString("  " + w.file + " " + w.at + " " + w.severity + " " + w.rule + ": " + w.text + "\n")
	}
	return b.String()
}

func TestValidateAppTargetsFromSchemaFiles(t *testing.T) {
	text, err := Generate(testManifests(t), GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	older, err := Generate(testManifests(t), GenerateOptions{Format: "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	stale, err := Generate(acl.Manifests{}, GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
		note  bool
	}{
		{"none", nil, "linux macOS windows", true},
		{"android", map[string]string{"gen/schemas/android-schema.json": string(text), "gen/schemas/mobile-schema.json": string(text)}, "android", false},
		{"mobile copy only", map[string]string{"gen/schemas/mobile-schema.json": string(text)}, "android iOS", false},
		{"older format", map[string]string{"gen/schemas/macOS-schema.json": string(older)}, "macOS", false},
		{"stale file", map[string]string{"gen/schemas/linux-schema.json": string(stale)}, "linux macOS windows", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeApp(t, tc.files)
			r, err := ValidateApp(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, t := range r.Targets {
				got = append(got, t.String())
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("targets %v, want %s", got, tc.want)
			}
			if (r.Count(Note) == 1) != tc.note {
				t.Errorf("%d notes, want a note: %v", r.Count(Note), tc.note)
			}
		})
	}
}

func TestValidateFiles(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"caps/a.json":  `{"identifier": "a", "windows": ["main"], "permissions": ["fs:default"]}`,
		"caps/b.toml":  "identifier = \"b\"\nwindows = [\"main\"]\npermissions = [\"fs:nope\"]\n",
		"caps/c.txt":   "not a capability",
		"single.json5": `{identifier: 'c', windows: ['main'], permissions: []}`,
	})
	r, err := ValidateFiles([]string{filepath.Join(dir, "caps"), filepath.Join(dir, "single.json5")},
		Options{ManifestsFile: filepath.Join(dir, "gen", "schemas", "acl-manifests.json"), Targets: []acl.Target{acl.Linux}})
	if err != nil {
		t.Fatal(err)
	}
	got := findingsOf(dir, r)
	if len(got) != 1 || got[0].file != "caps/b.toml" || got[0].at != "3:16" || got[0].rule != RuleUnknownPermission {
		t.Errorf("findings:\n%s", list(got))
	}
	if _, err := ValidateFiles([]string{dir}, Options{}); err == nil {
		t.Errorf("ValidateFiles without manifests succeeded")
	}
	if _, err := ValidateFiles([]string{filepath.Join(dir, "missing.json")}, Options{ManifestsFile: filepath.Join(dir, "gen", "schemas", "acl-manifests.json")}); err == nil {
		t.Errorf("ValidateFiles of a missing file succeeded")
	}
}

func TestValidateAppErrors(t *testing.T) {
	if _, err := ValidateApp(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "acl-manifests.json does not exist") {
		t.Errorf("app without manifests: %v", err)
	}
	dir := writeApp(t, map[string]string{"gen/schemas/acl-manifests.json": `{"fs": []}`})
	if _, err := ValidateApp(dir, Options{}); err == nil || !acl.IsInputError(err) {
		t.Errorf("invalid manifests: %v", err)
	}
	if _, err := ValidateApp(filepath.Join(dir, "nope"), Options{}); err == nil || acl.IsInputError(err) {
		t.Errorf("missing directory: %v", err)
	}
}

// TestValidatorConcurrent uses one Validator from several goroutines (run
// with -race).
func TestValidatorConcurrent(t *testing.T) {
	v, err := Compile(testManifests(t), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := []string{
		`{"identifier": "a", "windows": ["main", "x["], "remote": {"urls": ["https://a/*"]}, "permissions": ["fs:default", "fs:nope"]}`,
		`{"identifier": "b", "windows": ["*"], "permissions": [{"identifier": "fs:read-all", "allow": [{"path": ""}]}]}`,
	}
	want := make([]int, len(files))
	for i, f := range files {
		want[i] = len(v.CheckFile("c.json", []byte(f), nil).Findings)
	}
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 50; i++ {
				k := (g + i) % len(files)
				if n := len(v.CheckFile("c.json", []byte(files[k]), nil).Findings); n != want[k] {
					err = fmt.Errorf("file %d: %d findings, want %d", k, n, want[k])
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if want[0] != 2 || want[1] != 1 {
		t.Errorf("findings per file: %v, want [2 1]", want)
	}
}
