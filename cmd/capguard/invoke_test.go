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

// TestInvokeAddCapability: --add-capability adds capability files at run
// time before the call, through App.AddCapabilityText; who and check name
// such a capability as added at run time.
func TestInvokeAddCapability(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kiosk := write("kiosk.json", `{
  "identifier": "settings-window",
  "windows": ["kiosk"],
  "permissions": ["biometric:allow-status"]
}`)
	remote := write("remote.toml", "identifier = \"web\"\nlocal = false\nwindows = [\"kiosk\"]\nremote = { urls = [\"https://kiosk.example.com/*\"] }\npermissions = [\"biometric:allow-authenticate\"]\n")
	bad := write("bad.json", `{"identifier":"x","windows":["kiosk"],"permissions":["biometric:allow-statu"]}`)
	for _, tc := range []struct {
		name           string
		args           []string
		stdout, stderr string
		code           int
	}{
		{"without", []string{"--window", "kiosk", "plugin:biometric|status"}, "rejected: \"Command plugin:biometric|status not allowed by ACL\"\n", "", 1},
		{"added", []string{"--window", "kiosk", "--add-capability", kiosk, "plugin:biometric|status"},
			"resolved: {\"isAvailable\":true,\"biometryType\":1}\n", `added at run time: capability "settings-window" from ` + kiosk + " (version 2)", 0},
		{"the files' capability of that identifier stays", []string{"--window", "settings", "--add-capability", kiosk, "plugin:biometric|status"},
			"resolved: {\"isAvailable\":true,\"biometryType\":1}\n", "", 0},
		{"only what it grants", []string{"--window", "kiosk", "--add-capability", kiosk, "--args", `{"reason":"x"}`, "plugin:biometric|authenticate"},
			"rejected: \"Command plugin:biometric|authenticate not allowed by ACL\"\n", "", 1},
		{"two, in order, remote", []string{"--window", "kiosk", "--origin", "https://kiosk.example.com/", "--add-capability", kiosk, "--add-capability", remote, "--args", `{"reason":"x"}`, "plugin:biometric|authenticate"},
			"resolved: null\n", "(version 3)", 0},
		{"unknown permission", []string{"--window", "kiosk", "--add-capability", bad, "plugin:biometric|status"},
			"", bad + `:1:54: capability "x", permission 0: unknown permission "allow-statu" for biometric; did you mean "biometric:allow-status"`, 1},
		{"missing file", []string{"--window", "kiosk", "--add-capability", filepath.Join(dir, "absent.json"), "plugin:biometric|status"}, "", "--add-capability", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runInvoke(tc.args...)
			if code != tc.code || stdout != tc.stdout || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout %q\nwant   %q\nstderr %q, want it to contain %q", code, tc.code, stdout, tc.stdout, stderr, tc.stderr)
			}
		})
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"who", "--window", "kiosk", "--add-capability", kiosk}, &out, &errOut); code != 0 {
		t.Fatalf("who: %d %s", code, errOut.String())
	}
	if want := "settings-window (added at run time from " + kiosk + ")"; !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "may call 1 command(s)") {
		t.Errorf("who:\n%s\nwant %q", out.String(), want)
	}
	out.Reset()
	if code := run([]string{"who", "--window", "settings", "--add-capability", kiosk}, &out, &errOut); code != 0 || strings.Contains(out.String(), "added at run time") {
		t.Errorf("who for the files' settings-window (exit %d):\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"check", "--window", "kiosk", "--add-capability", kiosk, "plugin:biometric|status"}, &out, &errOut); code != 0 {
		t.Fatalf("check: %d %s", code, errOut.String())
	}
	if want := `granted by capability "settings-window" (added at run time from ` + kiosk + `), permission biometric:allow-status (` + kiosk + `:4:19)`; !strings.Contains(out.String(), want) {
		t.Errorf("check:\n%s\nwant %q", out.String(), want)
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"check", "--window", "kiosk", "--add-capability", bad, "plugin:biometric|status"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), bad+":1:54") {
		t.Errorf("check with a bad addition: exit %d, %s", code, errOut.String())
	}
}
