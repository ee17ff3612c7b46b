package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runPolicyCLI(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func writePolicy(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.rego")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// examplePolicies is examples/policies, from this package's folder.
const examplePolicies = "../../examples/policies"

func TestCheckPolicy(t *testing.T) {
	denySettings := writePolicy(t, "package capguard.authz\n\ndeny contains \"settings may not ask\" if input.window == \"settings\"\n")
	broken := writePolicy(t, "package capguard.authz\n\nallow := true\n")
	badObligation := writePolicy(t, "package capguard.authz\n\nobligations contains {\"type\": \"biometric\", \"max_age\": 3} if true\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // parts of the output, in order
		stderr string
	}{
		{"obligation reported", []string{"check", "--window", "main", "--policy", examplePolicies, "open_vault"}, 0,
			[]string{"allowed: open_vault", "policy " + examplePolicies + ": allowed, once these obligations are met:", `biometric (event-bound): a biometric authentication of the user at most 300 s old ("Unlock your vault")`}, ""},
		{"no obligation", []string{"check", "--window", "main", "--policy", examplePolicies, "plugin:biometric|status"}, 0,
			[]string{"allowed: plugin:biometric|status", "allowed, no obligations"}, ""},
		{"policy denial", []string{"check", "--window", "settings", "--policy", denySettings, "plugin:biometric|status"}, 1,
			[]string{"allowed: plugin:biometric|status", ": denied", "settings may not ask"}, ""},
		{"ACL denial stays", []string{"check", "--window", "settings", "--policy", examplePolicies, "open_vault"}, 1,
			[]string{"denied: open_vault", "a policy can only add denials"}, ""},
		{"without --policy", []string{"check", "--window", "main", "open_vault"}, 0, []string{"allowed: open_vault"}, ""},
		{"reserved rule", []string{"check", "--window", "main", "--policy", broken, "open_vault"}, 1, nil, broken + `:3:1: rule "allow" is defined by capguard's built-in module`},
		{"invalid obligation", []string{"check", "--window", "main", "--policy", badObligation, "open_vault"}, 1, nil, `unknown key "max_age"`},
		{"missing policy", []string{"check", "--window", "main", "--policy", filepath.Join(t.TempDir(), "nope"), "open_vault"}, 2, nil, "no such file"},
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
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
			if tt.code != 0 && tt.stdout == nil && stdout != "" {
				t.Errorf("a policy error must come before any output, got:\n%s", stdout)
			}
		})
	}
}

func TestWhoPolicy(t *testing.T) {
	denyStatus := writePolicy(t, "package capguard.authz\n\ndeny contains \"no status\" if input.command == \"plugin:biometric|status\"\n")
	stdout, stderr, code := runPolicyCLI("who", "--window", "main", "--policy", denyStatus)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "may call 8 command(s)") || strings.Contains(stdout, "biometric:allow-status") ||
		!strings.Contains(stdout, "plugin:biometric|status: denied: no status") {
		t.Errorf("who with a denying policy:\n%s", stdout)
	}
	stdout, _, code = runPolicyCLI("who", "--window", "main", "--policy", examplePolicies)
	if code != 0 || !strings.Contains(stdout, "may call 9 command(s)") || !strings.Contains(stdout, "open_vault: obligation: biometric") {
		t.Errorf("who with the example policies (exit %d):\n%s", code, stdout)
	}
	stdout, _, _ = runPolicyCLI("who", "--window", "main")
	if strings.Contains(stdout, "policy") {
		t.Errorf("who without --policy mentions a policy:\n%s", stdout)
	}
}
