package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/examples"
)

// exampleWithExtension copies the example app to a temporary folder with
// the given capguard.json in place of the example's own (none when ext is
// empty).
func exampleWithExtension(t *testing.T, ext string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src-tauri")
	if err := os.CopyFS(dir, examples.App()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "capguard.json")
	if ext == "" {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return dir
	}
	if err := os.WriteFile(path, []byte(ext), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCheckExtension(t *testing.T) {
	good := exampleWithExtension(t, `{"obligations": [
  {"commands": ["open_vault"], "type": "biometric", "max_age_s": 300, "reason": "Unlock your vault"},
  {"commands": ["plugin:biometric|*"], "windows": ["settings"], "type": "biometric"}
]}`)
	typo := exampleWithExtension(t, `{"obligations": [
  {"commands": ["open_valt"], "type": "biometric"}
]}`)
	badKey := exampleWithExtension(t, `{"obligations": [{"commands": ["open_vault"], "type": "biometric", "maxAge": 3}]}`)
	none := exampleWithExtension(t, "")
	ext := filepath.Join(good, "capguard.json")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // parts of the output, in order
		absent string   // must not appear
		stderr string
	}{
		{"obligation printed", []string{"check", good, "--window", "main", "open_vault"}, 0,
			[]string{"allowed: open_vault", ext + ": allowed once these obligations are met:", `biometric (event-bound): a biometric authentication of the user at most 300 s old ("Unlock your vault")`}, "", ""},
		{"window rule", []string{"check", good, "--window", "settings", "plugin:biometric|status"}, 0,
			[]string{"allowed: plugin:biometric|status", ext + ": allowed once these obligations are met:", "biometric (event-bound): a biometric authentication of the user for this call"}, "", ""},
		{"no rule applies", []string{"check", good, "--window", "main", "plugin:biometric|status"}, 0,
			[]string{"allowed: plugin:biometric|status", ext + ": no obligations"}, "obligations are met", ""},
		{"denied calls get none", []string{"check", good, "--window", "settings", "open_vault"}, 1,
			[]string{"denied: open_vault"}, "capguard.json", ""},
		{"with --policy too", []string{"check", good, "--window", "main", "--policy", examplePolicies, "open_vault"}, 0,
			[]string{"allowed: open_vault", "policy " + examplePolicies + ": allowed, once these obligations are met:", ext + ": allowed once these obligations are met:"}, "", ""},
		{"a policy denial hides them", []string{"check", good, "--window", "main", "--policy", writePolicy(t, "package capguard.authz\n\ndeny contains \"no\" if true\n"), "open_vault"}, 1,
			[]string{"allowed: open_vault", ": denied"}, "capguard.json", ""},
		{"the example app's capguard.json", []string{"check", "--window", "main", "open_vault"}, 0,
			[]string{"allowed: open_vault", "examples/app/src-tauri/capguard.json: allowed once these obligations are met:", `biometric (event-bound): a biometric authentication of the user at most 60 s old ("Unlock your vault")`}, "300 s", ""},
		{"the example app: only open_vault", []string{"check", "--window", "main", "plugin:biometric|authenticate"}, 0,
			[]string{"allowed: plugin:biometric|authenticate", "examples/app/src-tauri/capguard.json: no obligations"}, "biometric authentication", ""},
		{"the example app: only from main", []string{"check", "--window", "settings", "open_vault"}, 1,
			[]string{"denied: open_vault"}, "capguard.json", ""},
		{"without capguard.json", []string{"check", none, "--window", "main", "open_vault"}, 0,
			[]string{"allowed: open_vault"}, "obligation", ""},
		{"unknown command", []string{"check", typo, "--window", "main", "open_vault"}, 1, nil, "",
			filepath.Join(typo, "capguard.json") + `:2:17: obligations[0].commands[0]: no permission of the manifests allows or denies a command "open_valt"; did you mean "open_vault"?`},
		{"unknown key", []string{"check", badKey, "--window", "main", "open_vault"}, 1, nil, "",
			`unknown field "maxAge" (expected one of commands, windows, webviews, type, max_age_s, reason, binding); did you mean "max_age_s"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runPolicyCLI(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			rest := stdout
			for _, part := range tt.stdout {
				i := strings.Index(rest, part)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", part, stdout)
				}
				rest = rest[i+len(part):]
			}
			if tt.absent != "" && strings.Contains(stdout, tt.absent) {
				t.Errorf("stdout holds %q:\n%s", tt.absent, stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
		})
	}
}
