package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// who and check say which records of the secure storage a caller may
// reach, with the plugin's rule (deny wins, no allow entry reaches
// nothing), and print the scopes their tables name.
func TestWhoSecureStorage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "src-tauri")
	if _, stderr, code := capguard(t, "gen", "manifests",
		"--plugin", "biometry="+filepath.Join("..", "..", "biometric", "biometry", "permissions"),
		"--out", filepath.Join(dir, "gen", "schemas", "acl-manifests.json")); code != 0 {
		t.Fatalf("gen manifests: %s", stderr)
	}
	caps := `[
	  {"identifier": "vault", "windows": ["main"], "permissions": [
	    {"identifier": "biometry:allow-get-data", "allow": [{"domain": "com.example.vault"}, {"domain": "com.example.tokens", "name": "session"}], "deny": [{"domain": "com.example.vault", "name": "master"}]},
	    "biometry:allow-set-data"
	  ]}
	]`
	if err := os.MkdirAll(filepath.Join(dir, "capabilities"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "capabilities", "vault.json"), []byte(caps), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := capguard(t, "who", dir, "--window", "main")
	if code != 0 {
		t.Fatalf("who: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`scope #1: allow [{"domain":"com.example.vault"}, {"domain":"com.example.tokens","name":"session"}], deny [{"domain":"com.example.vault","name":"master"}]`,
		"secure storage (tauri-plugin-biometry): the records this caller may reach",
		"get_data  com.example.tokens/session, com.example.vault (every name); except com.example.vault/master",
		"set_data  nothing: the grant has no allow entry",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("who does not say %q:\n%s", want, stdout)
		}
	}
	stdout, _, code = capguard(t, "check", dir, "--window", "main", "plugin:biometry|get_data")
	if code != 0 || !strings.Contains(stdout, "get_data  com.example.tokens/session, com.example.vault (every name); except com.example.vault/master") {
		t.Errorf("check (exit %d) does not say which records get_data reaches:\n%s", code, stdout)
	}
	stdout, _, _ = capguard(t, "who", dir, "--window", "other")
	if strings.Contains(stdout, "secure storage") {
		t.Errorf("who lists records for a window without a grant:\n%s", stdout)
	}
}
