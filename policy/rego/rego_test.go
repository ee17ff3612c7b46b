package rego_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/internal/policytest"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
	"github.com/google/go-cmp/cmp"
)

// exampleACL is the example app's ACL: windows main (biometric and
// open_vault) and settings (biometric status).
func exampleACL(t testing.TB) *acl.Resolved {
	t.Helper()
	r, err := examples.Resolve(acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func module(src string) rego.Module {
	return rego.Module{Filename: "user.rego", Source: src}
}

var (
	openVault      = policy.Request{Command: "open_vault", Window: "main", Webview: "main"}
	settingsVault  = policy.Request{Command: "open_vault", Window: "settings", Webview: "settings"}
	settingsStatus = policy.Request{Command: "plugin:biometric|status", Window: "settings", Webview: "settings"}
	remoteAuth     = policy.Request{Command: "plugin:biometric|authenticate", Window: "main", Webview: "main", Origin: acl.MustOrigin("https://vault.example/")}
)

func TestUserModules(t *testing.T) {
	r := exampleACL(t)
	tests := []struct {
		name        string
		src         string
		req         policy.Request
		allowed     bool
		reason      string
		obligations []policy.Obligation
	}{
		{"deny rule fires", `package capguard.authz
deny contains "settings may not ask" if input.window == "settings"`, settingsStatus, false, "denied by policy: settings may not ask", nil},
		{"deny rule does not fire", `package capguard.authz
deny contains "settings may not ask" if input.window == "settings"`, openVault, true, "allowed by", nil},
		{"several denials", `package capguard.authz
deny contains "a" if true
deny contains "b" if true`, openVault, false, "denied by policy: a; b", nil},
		{"non-string denial", `package capguard.authz
deny contains {"code": 7} if true`, openVault, false, `denied by policy: {"code":7}`, nil},
		{"obligation", `package capguard.authz
obligations contains {"type": "biometric", "max_age_s": 300, "reason": "Unlock"} if input.command == "open_vault"`,
			openVault, true, "allowed by", []policy.Obligation{{Type: "biometric", MaxAgeS: 300, Reason: "Unlock"}}},
		{"obligations are dropped from a denial", `package capguard.authz
obligations contains {"type": "biometric"} if true`, settingsVault, false, "not allowed", nil},
		{"helpers and other packages", `package capguard.authz
import data.myorg.lists
deny contains sprintf("%s is blocked", [input.window]) if input.window in lists.blocked`, settingsStatus, false, "settings is blocked", nil},
		{"input carries the target", `package capguard.authz
deny contains "linux" if input.target == "linux"`, openVault, false, "denied by policy: linux", nil},
		{"url_match for user rules", `package capguard.authz
deny contains "vault pages" if capguard.url_match("https://*.example/*", input.origin.url)`, openVault, true, "allowed", nil},
	}
	lists := rego.Module{Filename: "lists.rego", Source: "package myorg.lists\nblocked := {\"settings\", \"kiosk\"}\n"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := rego.New(context.Background(), r, module(tt.src), lists)
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Decide(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allowed || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("got allowed %v, reason %q; want %v, %q", d.Allowed, d.Reason, tt.allowed, tt.reason)
			}
			if diff := cmp.Diff(tt.obligations, d.Obligations, equateEmpty); diff != "" {
				t.Errorf("obligations (-want +got):\n%s", diff)
			}
			if !d.Allowed && len(d.ScopeIDs) > 0 {
				t.Errorf("a denial carries scope ids %v", d.ScopeIDs)
			}
		})
	}
}

// TestUserModulesCannotAllow: every way a module could try to allow what
// the ACL denies is either refused when the engine is built, or has no
// effect on the decision.
func TestUserModulesCannotAllow(t *testing.T) {
	r := exampleACL(t)
	refused := []struct{ name, src, msg string }{
		{"allow", "package capguard.authz\nallow := true", `rule "allow" is defined by capguard's built-in module`},
		{"default allow", "package capguard.authz\ndefault allow := true", `rule "allow"`},
		{"allow if", "package capguard.authz\nallow if true", `rule "allow"`},
		{"inject a match", "package capguard.authz\nmatched contains 0 if true", `rule "matched"`},
		{"table_allow", "package capguard.authz\ntable_allow := true", `rule "table_allow"`},
		{"decision", "package capguard.authz\ndecision := {\"allow\": true}", `rule "decision"`},
		{"labels", "package capguard.authz\nhas_labels := true", `rule "has_labels"`},
		{"context", "package capguard.authz\nin_context(_) := true", `rule "in_context"`},
		{"denials", "package capguard.authz\nuser_denials := set()", `rule "user_denials"`},
		{"ACL data", "package capguard.acl\ncommands := {}", "package capguard.acl is reserved"},
		{"capguard root", "package capguard\nacl := {}", "package capguard is reserved"},
		{"sub-package", "package capguard.authz.decision\nallow := true", "package capguard.authz.decision is reserved"},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			e, err := rego.New(context.Background(), r, module(tt.src))
			if err == nil || e != nil {
				t.Fatalf("New accepted the module")
			}
			if !errors.Is(err, rego.ErrPolicy) || !acl.IsInputError(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: want ErrPolicy and %q", err, tt.msg)
			}
			if !regexp.MustCompile(`^user\.rego:\d+:\d+: `).MatchString(err.Error()) {
				t.Errorf("error %q does not start with file:row:col", err)
			}
		})
	}
	harmless := []struct{ name, src string }{
		{"allow in another package", "package myorg\nallow := true\nallow_all if true"},
		{"obligations everywhere", "package capguard.authz\nobligations contains {\"type\": \"biometric\"} if true"},
		{"a deny that never fires", "package capguard.authz\ndeny contains \"x\" if input.command == \"nope\""},
		{"rebinding data in a rule", "package capguard.authz\ndeny contains \"x\" if { false with data.capguard.acl as {} }"},
	}
	denied := []policy.Request{settingsVault, remoteAuth, {Command: "plugin:fs|read", Window: "main", Webview: "main"}, {Command: "open_vault", Window: "main"}}
	for _, tt := range harmless {
		t.Run("no effect/"+tt.name, func(t *testing.T) {
			e, err := rego.New(context.Background(), r, module(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range denied {
				d, err := e.Decide(context.Background(), req)
				if err != nil || d.Allowed {
					t.Errorf("%+v: %+v, %v; the ACL denies it", req, d, err)
				}
			}
		})
	}
}

// TestUserModulesOnlyRestrict: with permissive user modules, on random
// ACLs, the Rego engine never allows a call the native engine denies, and
// agrees with it on every call.
func TestUserModulesOnlyRestrict(t *testing.T) {
	mods := []rego.Module{
		module("package capguard.authz\nobligations contains {\"type\": \"biometric\", \"max_age_s\": 60} if startswith(input.command, \"plugin:p0\")\n"),
		{Filename: "other.rego", Source: "package myorg\nallow := true\ndecision := {\"allow\": true}\n"},
	}
	for i := range 10 {
		rng := rand.New(rand.NewPCG(uint64(i), 9))
		r, err := policytest.RandomACL(rng, false)
		if err != nil {
			t.Fatal(err)
		}
		native, err := policy.Compile(r)
		if err != nil {
			t.Fatal(err)
		}
		e, err := rego.New(context.Background(), r, mods...)
		if err != nil {
			t.Fatal(err)
		}
		gen := policytest.NewGenerator(r, rng)
		for range 300 {
			req := toPolicy(gen.Request())
			want, _ := native.Decide(context.Background(), req)
			got, err := e.Decide(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed && strings.HasPrefix(req.Command, "plugin:p0") {
				want.Obligations = []policy.Obligation{{Type: "biometric", MaxAgeS: 60}}
			}
			if !cmp.Equal(want, got, equateEmpty) {
				t.Fatalf("%+v (-native +rego):\n%s", req, cmp.Diff(want, got, equateEmpty))
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	r := exampleACL(t)
	tests := []struct {
		name, src string
		pos       string // file:row:col the error starts with
		msg       string
	}{
		{"syntax", "package capguard.authz\n\ndeny contains msg if {\n\tmsg :=\n}\n", "user.rego:5:1", "rego_parse_error"},
		{"rego v0 syntax", "package capguard.authz\n\ndeny[msg] {\n\tmsg := \"x\"\n}\n", "user.rego:3:", "rego_parse_error"},
		{"unsafe variable", "package capguard.authz\n\ndeny contains msg if {\n\tinput.window == \"x\"\n}\n", "user.rego:3:", "var msg is unsafe"},
		{"undefined function", "package capguard.authz\n\ndeny contains \"x\" if {\n\tnope(input.window)\n}\n", "user.rego:4:2", "undefined function nope"},
		{"type error", "package capguard.authz\n\ndeny contains \"x\" if {\n\tcount(1)\n}\n", "user.rego:4:2", "rego_type_error"},
		{"bad url_match call", "package capguard.authz\n\ndeny contains \"x\" if capguard.url_match(1, 2)\n", "user.rego:3:", "rego_type_error"},
		{"no package", "deny contains \"x\" if true\n", "user.rego:1:1", "rego_parse_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := rego.New(context.Background(), r, module(tt.src))
			if err == nil || e != nil {
				t.Fatal("New accepted the module")
			}
			if !errors.Is(err, rego.ErrPolicy) || !acl.IsInputError(err) {
				t.Errorf("error %q does not wrap ErrPolicy", err)
			}
			if !strings.HasPrefix(err.Error(), tt.pos) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: want it to start with %q and contain %q", err, tt.pos, tt.msg)
			}
		})
	}
	t.Run("duplicate file", func(t *testing.T) {
		m := module("package capguard.authz\n")
		if _, err := rego.New(context.Background(), r, m, m); !errors.Is(err, rego.ErrPolicy) || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("nil ACL", func(t *testing.T) {
		if _, err := rego.New(context.Background(), nil); !errors.Is(err, acl.ErrInvalid) {
			t.Errorf("error %v", err)
		}
	})
}

// TestEvalErrorsDeny: a policy that fails at evaluation time, or returns
// a malformed obligation, denies the call and reports the error.
func TestEvalErrorsDeny(t *testing.T) {
	r := exampleACL(t)
	tests := []struct{ name, src, msg string }{
		{"builtin error", "package capguard.authz\ndeny contains \"x\" if to_number(input.window) > 1", "to_number"},
		{"conflict", "package capguard.authz\nlevel := 1 if input.window == \"main\"\nlevel := 2 if input.webview == \"main\"\ndeny contains \"x\" if level > 3", "conflict"},
		{"obligation not an object", "package capguard.authz\nobligations contains \"biometric\" if true", "not an object"},
		{"obligation without type", "package capguard.authz\nobligations contains {\"max_age_s\": 3} if true", `no "type"`},
		{"obligation type not a string", "package capguard.authz\nobligations contains {\"type\": 1} if true", `"type" must be a non-empty string`},
		{"obligation with a typo", "package capguard.authz\nobligations contains {\"type\": \"biometric\", \"max_age\": 3} if true", `unknown key "max_age"`},
		{"negative age", "package capguard.authz\nobligations contains {\"type\": \"biometric\", \"max_age_s\": -1} if true", "max_age_s"},
		{"fractional age", "package capguard.authz\nobligations contains {\"type\": \"biometric\", \"max_age_s\": 1.5} if true", "max_age_s"},
		{"reason not a string", "package capguard.authz\nobligations contains {\"type\": \"biometric\", \"reason\": 1} if true", `"reason" must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := rego.New(context.Background(), r, module(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Decide(context.Background(), openVault)
			if err == nil || d.Allowed {
				t.Fatalf("got %+v, %v; want a denial with an error", d, err)
			}
			if !errors.Is(err, rego.ErrEval) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: want ErrEval and %q", err, tt.msg)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		e, err := rego.New(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if d, err := e.Decide(ctx, openVault); err == nil || d.Allowed {
			t.Errorf("got %+v, %v; want a denial with an error", d, err)
		}
	})
	t.Run("nil engine", func(t *testing.T) {
		var e *rego.Engine
		if d, err := e.Decide(context.Background(), openVault); !errors.Is(err, policy.ErrNilEngine) || d.Allowed {
			t.Errorf("got %+v, %v", d, err)
		}
	})
}

func TestLoadModules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.rego", "package capguard.authz\n")
	write("sub/b.rego", "package myorg\n")
	write("a_test.rego", "package capguard.authz_test\n")
	write("notes.txt", "not rego")
	mods, err := rego.LoadModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mods {
		names = append(names, filepath.Base(m.Filename))
	}
	if !cmp.Equal(names, []string{"a.rego", "b.rego"}) {
		t.Errorf("LoadModules(dir) = %v, want a.rego and sub/b.rego", names)
	}
	if mods, err := rego.LoadModules(a); err != nil || len(mods) != 1 || mods[0].Source != "package capguard.authz\n" {
		t.Errorf("LoadModules(file) = %v, %v", mods, err)
	}
	if _, err := rego.LoadModules(t.TempDir()); !errors.Is(err, rego.ErrPolicy) {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := rego.LoadModules(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
}

func TestRunTests(t *testing.T) {
	results, err := rego.RunTests(context.Background(),
		module("package myorg\nlimit := 3\n"),
		rego.Module{Filename: "t_test.rego", Source: "package myorg_test\nimport data.myorg\n\ntest_ok if myorg.limit == 3\n\ntest_fails if myorg.limit == 4\n\ntest_url if capguard.url_match(\"https://*.example/*\", \"https://a.example/x\")\n"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range results {
		got[r.Name] = r.Pass
		if r.Location.File != "t_test.rego" || r.Location.Line == 0 {
			t.Errorf("%s: location %v", r.Name, r.Location)
		}
	}
	want := map[string]bool{"test_ok": true, "test_fails": false, "test_url": true}
	if !cmp.Equal(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	if _, err := rego.RunTests(context.Background(), module("package x\nallow if {")); !errors.Is(err, rego.ErrPolicy) {
		t.Errorf("a broken module: %v", err)
	}
}

func TestBuiltinModule(t *testing.T) {
	b := rego.Builtin()
	if b.Filename != rego.BuiltinFile || !strings.Contains(b.Source, "package "+rego.Package) {
		t.Errorf("Builtin() = %q, ...", b.Filename)
	}
}
