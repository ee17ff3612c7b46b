package acl_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
)

func TestParseExtension(t *testing.T) {
	ext, err := acl.ParseExtension("src-tauri/capguard.json", []byte(`{
  "$schema": "https://example.com/capguard.schema.json",
  "obligations": [
    {"commands": ["open_vault"], "type": "biometric", "max_age_s": 300, "reason": "Unlock your vault"},
    {"commands": ["plugin:fs|*", "plugin:biometric|authenticate"], "windows": ["main", "pref*"], "webviews": ["preview"], "type": "biometric"}
  ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	if ext.File != "src-tauri/capguard.json" || len(ext.Obligations) != 2 {
		t.Fatalf("%+v", ext)
	}
	a, b := ext.Obligations[0], ext.Obligations[1]
	if a.Type != "biometric" || a.MaxAgeS != 300 || a.Reason != "Unlock your vault" || len(a.Windows)+len(a.Webviews) != 0 {
		t.Errorf("first rule %+v", a)
	}
	if b.MaxAgeS != 0 || b.Reason != "" {
		t.Errorf("second rule %+v", b)
	}
	if p := b.Source.Position("/windows/1"); p.String() != "src-tauri/capguard.json:5:88" {
		t.Errorf("position of windows[1]: %s", p)
	}
	for _, tc := range []struct {
		rule            *acl.ObligationRule
		command         string
		window, webview string
		cmdOK, labels   bool
	}{
		{a, "open_vault", "any", "any", true, true},
		{a, "open_vault_2", "any", "any", false, true},
		{b, "plugin:fs|read_file", "main", "main", true, true},
		{b, "plugin:fs|read_file", "preferences", "x", true, true},
		{b, "plugin:fs|read_file", "other", "preview", true, true},
		{b, "plugin:fs|read_file", "other", "other", true, false},
		{b, "plugin:biometric|status", "main", "main", false, true},
	} {
		if got := tc.rule.MatchesCommand(tc.command); got != tc.cmdOK {
			t.Errorf("MatchesCommand(%q) = %v", tc.command, got)
		}
		if got := tc.rule.MatchesLabel(tc.window, tc.webview); got != tc.labels {
			t.Errorf("MatchesLabel(%q, %q) = %v", tc.window, tc.webview, got)
		}
	}

	empty, err := acl.ParseExtension("capguard.json", []byte(`{}`))
	if err != nil || len(empty.Obligations) != 0 {
		t.Errorf("empty: %+v, %v", empty, err)
	}
}

func TestParseExtensionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
		is               error
	}{
		{"syntax", "{\n  \"obligations\": [,]\n}", "capguard.json:2:19: invalid JSON", acl.ErrSyntax},
		{"not an object", `[]`, "capguard.json:1:1: the document: expected an object with an obligations list, found an array", acl.ErrInvalid},
		{"unknown top-level key", `{"obligation": []}`, `capguard.json:1:2: the document: unknown field "obligation" (expected one of $schema, obligations); did you mean "obligations"?`, acl.ErrInvalid},
		{"obligations not a list", `{"obligations": {}}`, "capguard.json:1:17: obligations: expected a list of obligation rules, found an object", acl.ErrInvalid},
		{"rule not an object", `{"obligations": ["open_vault"]}`, `capguard.json:1:18: obligations[0]: expected an obligation rule (an object with commands and type), found the string "open_vault"`, acl.ErrInvalid},
		{"missing commands", `{"obligations": [{"type": "biometric"}]}`, `capguard.json:1:18: obligations[0]: missing field "commands"`, acl.ErrInvalid},
		{"missing type", `{"obligations": [{"commands": ["a"]}]}`, `capguard.json:1:18: obligations[0]: missing field "type"`, acl.ErrInvalid},
		{"empty commands", `{"obligations": [{"commands": [], "type": "biometric"}]}`, "capguard.json:1:31: obligations[0].commands: expected at least one command", acl.ErrInvalid},
		{"command not a string", `{"obligations": [{"commands": [1], "type": "biometric"}]}`, "capguard.json:1:32: obligations[0].commands[0]: expected a string, found the number 1", acl.ErrInvalid},
		{"bad glob", `{"obligations": [{"commands": ["a"], "windows": ["[a"], "type": "biometric"}]}`, "capguard.json:1:50: obligations[0].windows[0]:", acl.ErrInvalid},
		{"empty type", `{"obligations": [{"commands": ["a"], "type": ""}]}`, `capguard.json:1:46: obligations[0].type: expected a non-empty obligation type such as "biometric"`, acl.ErrInvalid},
		{"misspelled key", `{"obligations": [{"commands": ["a"], "type": "biometric", "max_age": 5}]}`, `capguard.json:1:59: obligations[0]: unknown field "max_age" (expected one of commands, windows, webviews, type, max_age_s, reason, binding); did you mean "max_age_s"?`, acl.ErrInvalid},
		{"unknown binding", `{"obligations": [{"commands": ["a"], "type": "biometric", "binding": "strong"}]}`, `capguard.json:1:70: obligations[0].binding: expected "event" or "signed", found "strong"`, acl.ErrInvalid},
		{"signed with a max age", `{"obligations": [{"commands": ["a"], "type": "biometric", "max_age_s": 60, "binding": "signed"}]}`, "capguard.json:1:72: obligations[0].max_age_s: a signed obligation is met call by call (each call is signed), so max_age_s must be 0 or absent", acl.ErrInvalid},
		{"signed other type", `{"obligations": [{"commands": ["a"], "type": "pin", "binding": "signed"}]}`, `obligations[0].binding: only a "biometric" obligation can be signed`, acl.ErrInvalid},
		{"negative max age", `{"obligations": [{"commands": ["a"], "type": "biometric", "max_age_s": -1}]}`, "capguard.json:1:72: obligations[0].max_age_s: expected a whole number of seconds from 0 to 2147483647, found the number -1", acl.ErrInvalid},
		{"fractional max age", `{"obligations": [{"commands": ["a"], "type": "biometric", "max_age_s": 1.5}]}`, "found the number 1.5", acl.ErrInvalid},
		{"huge max age", `{"obligations": [{"commands": ["a"], "type": "biometric", "max_age_s": 99999999999999999999}]}`, "found the number 99999999999999999999", acl.ErrInvalid},
		{"max age as string", `{"obligations": [{"commands": ["a"], "type": "biometric", "max_age_s": "60"}]}`, `found the string "60"`, acl.ErrInvalid},
		{"reason not a string", `{"obligations": [{"commands": ["a"], "type": "biometric", "reason": 3}]}`, "obligations[0].reason: expected a string, found the number 3", acl.ErrInvalid},
		{"duplicate key", `{"obligations": [{"commands": ["a"], "type": "biometric", "type": "x"}]}`, `obligations[0]: duplicate field "type"`, acl.ErrInvalid},
		{"json5 is not read", "{obligations: []}", "capguard.json:1:2: invalid JSON", acl.ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := acl.ParseExtension("capguard.json", []byte(tc.text))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
			var e *acl.Error
			if !errors.As(err, &e) || e.Pos.Line == 0 {
				t.Errorf("error without a position: %#v", err)
			}
		})
	}
}

func TestLoadExtension(t *testing.T) {
	fsys := fstest.MapFS{"capguard.json": {Data: []byte(`{"obligations":[{"commands":["a"],"type":"biometric"}]}`)}}
	ext, err := acl.LoadExtensionFS(fsys, "app")
	if err != nil || ext == nil || ext.File != filepath.Join("app", "capguard.json") {
		t.Fatalf("%+v, %v", ext, err)
	}
	if ext, err := acl.LoadExtensionFS(fstest.MapFS{}, "app"); ext != nil || err != nil {
		t.Errorf("no file: %+v, %v", ext, err)
	}
	dir := t.TempDir()
	if ext, err := acl.LoadExtension(dir); ext != nil || err != nil {
		t.Errorf("no file on disk: %+v, %v", ext, err)
	}
	p := filepath.Join(dir, acl.ExtensionFile)
	if err := os.WriteFile(p, []byte(`{"obligations": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := acl.LoadExtension(dir); err == nil || !strings.HasPrefix(err.Error(), p+":1:17:") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := acl.ReadExtension(p); err == nil || !strings.HasPrefix(err.Error(), p+":1:17:") {
		t.Errorf("ReadExtension: %v", err)
	}
	big := fstest.MapFS{"capguard.json": {Data: make([]byte, acl.MaxFileSize+1)}}
	if _, err := acl.LoadExtensionFS(big, "app"); !errors.Is(err, acl.ErrTooLarge) {
		t.Errorf("large file: %v", err)
	}
}

func TestExtensionCheck(t *testing.T) {
	ms := acl.Manifests{
		"biometric": {Commands: []string{"status"}, Permissions: map[string]*acl.Permission{
			"allow-authenticate": {Identifier: "allow-authenticate", Commands: acl.Commands{Allow: []string{"authenticate"}}},
		}},
		"core:window": {Permissions: map[string]*acl.Permission{"deny-close": {Identifier: "deny-close", Commands: acl.Commands{Deny: []string{"close"}}}}},
		acl.AppKey:    {Permissions: map[string]*acl.Permission{"allow-open-vault": {Identifier: "allow-open-vault", Commands: acl.Commands{Allow: []string{"open_vault"}}}}},
	}
	want := []string{"open_vault", "plugin:biometric|authenticate", "plugin:biometric|status", "plugin:window|close"}
	if got := acl.KnownCommands(ms); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("KnownCommands = %q", got)
	}
	for _, tc := range []struct {
		commands, want string
	}{
		{`"open_vault", "plugin:biometric|*", "plugin:window|close", "plugin:*|status"`, ""},
		{`"open_vault", "open_vaults"`, `capguard.json:1:46: obligations[0].commands[1]: no permission of the manifests allows or denies a command "open_vaults"; did you mean "open_vault"?`},
		{`"plugin:fs|*"`, `capguard.json:1:32: obligations[0].commands[0]: the pattern "plugin:fs|*" matches no command of the manifests`},
	} {
		ext, err := acl.ParseExtension("capguard.json", []byte(`{"obligations": [{"commands": [`+tc.commands+`], "type": "biometric"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		err = ext.Check(ms)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, acl.ErrInvalid)) {
			t.Errorf("%s: got %v\nwant %s", tc.commands, err, tc.want)
		}
	}
	var none *acl.Extension
	if err := none.Check(ms); err != nil {
		t.Errorf("nil extension: %v", err)
	}
}

func FuzzParseExtension(f *testing.F) {
	for _, s := range []string{
		`{"obligations":[{"commands":["open_vault"],"type":"biometric","max_age_s":300,"reason":"r"}]}`,
		`{"obligations":[{"commands":["plugin:fs|*"],"windows":["m*"],"webviews":["[a-z]"],"type":"x"}]}`,
		`{"$schema":"s","obligations":[]}`, `{}`, `[]`, `{"obligations":[{"commands":["a"],"type":"b","max_age_s":1e3}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ext, err := acl.ParseExtension("capguard.json", data)
		if err != nil {
			var e *acl.Error
			if !errors.As(err, &e) || !acl.IsInputError(err) || !strings.HasPrefix(err.Error(), "capguard.json") {
				t.Fatalf("error without position or sentinel: %v", err)
			}
			return
		}
		for _, r := range ext.Obligations {
			if len(r.Commands) == 0 || r.Type == "" || r.MaxAgeS < 0 {
				t.Fatalf("accepted an invalid rule %+v", r)
			}
			r.MatchesCommand("open_vault")
			r.MatchesLabel("main", "main")
		}
	})
}

// ExampleParseExtension reads a capguard.json that asks for a fresh
// biometric authentication before open_vault runs in window main.
func ExampleParseExtension() {
	ext, err := acl.ParseExtension("src-tauri/capguard.json", []byte(`{
  "obligations": [
    {"commands": ["open_vault"], "windows": ["main"], "type": "biometric", "max_age_s": 300, "reason": "Unlock your vault"}
  ]
}`))
	if err != nil {
		panic(err)
	}
	for _, r := range ext.Obligations {
		fmt.Println(r.Type, r.MaxAgeS, r.Reason, r.MatchesCommand("open_vault"), r.MatchesLabel("main", "main"), r.MatchesLabel("settings", "settings"))
	}
	_, err = acl.ParseExtension("src-tauri/capguard.json", []byte(`{"obligations": [{"commands": ["open_vault"], "type": "biometric", "maxAge": 300}]}`))
	fmt.Println(err)
	// Output:
	// biometric 300 Unlock your vault true true false
	// src-tauri/capguard.json:1:68: obligations[0]: unknown field "maxAge" (expected one of commands, windows, webviews, type, max_age_s, reason, binding); did you mean "max_age_s"?
}
