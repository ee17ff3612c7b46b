package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runInvoke runs "capguard invoke ARGS..." in-process.
func runInvoke(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"invoke"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestInvokeCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "device.json")
	if err := os.WriteFile(script, []byte(`{"script": ["no-match", "user-cancel"], "default": "match"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"script": ["mtach"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stdout string
		stderr string // a part of it
		code   int
	}{
		{"status", []string{"--window", "settings", "plugin:biometric|status"},
			"resolved: {\"isAvailable\":true,\"biometryType\":1}\n", "", 0},
		{"authenticate allowed", []string{"--window", "main", "--args", `{"reason":"Open"}`, "plugin:biometric|authenticate"},
			"resolved: null\n", "", 0},
		{"authenticate denied", []string{"--window", "settings", "--args", `{"reason":"Open"}`, "plugin:biometric|authenticate"},
			"rejected: \"Command plugin:biometric|authenticate not allowed by ACL\"\n", "", 1},
		{"verbose", []string{"--window", "settings", "--verbose", "plugin:biometric|authenticate"},
			`rejected: "biometric.authenticate not allowed on window \"settings\"`, "", 1},
		{"remote origin", []string{"--window", "main", "--origin", "https://evil.example/", "plugin:biometric|status"},
			"rejected: \"Command plugin:biometric|status not allowed by ACL\"\n", "", 1},
		{"script played through", []string{"--window", "main", "--sim", script, "--repeat", "2", "--log", "--args", `{"reason":"Open","maxAttemps":1}`, "plugin:biometric|authenticate"},
			"rejected: {\"message\":\"Biometric not recognized.\",\"code\":\"authenticationFailed\"}\nrejected: {\"message\":\"Authentication was canceled by the user.\",\"code\":\"userCancel\"}\n",
			"2. authenticate attempt 1/1 no-match → authenticationFailed", 1},
		{"invalid arguments", []string{"--window", "main", "--args", `{"reason":""}`, "plugin:biometric|authenticate"},
			"rejected: {\"message\":\"invalid args `reason` for command `authenticate`: the reason must not be empty: it tells the user why the app asks\"}\n", "", 1},
		{"bad script", []string{"--window", "main", "--sim", bad, "plugin:biometric|status"}, "", `bad.json:1:13: unknown outcome "mtach" (did you mean "match"?)`, 1},
		{"missing script", []string{"--window", "main", "--sim", filepath.Join(dir, "absent.json"), "plugin:biometric|status"}, "", "--sim", 2},
		{"no window", []string{"plugin:biometric|status"}, "", "--window is required", 2},
		{"bad JSON args", []string{"--window", "main", "--args", `{`, "plugin:biometric|status"}, "", "--args is not valid JSON", 2},
		{"bad repeat", []string{"--window", "main", "--repeat", "0", "plugin:biometric|status"}, "", "--repeat", 2},
		{"no command", []string{"--window", "main"}, "", "invoke takes [DIR] COMMAND", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runInvoke(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if tc.name == "verbose" {
				if !strings.HasPrefix(stdout, tc.stdout) {
					t.Errorf("stdout %q\nwant prefix %q", stdout, tc.stdout)
				}
			} else if stdout != tc.stdout {
				t.Errorf("stdout %q\nwant        %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
}
