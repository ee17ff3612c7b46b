package policies_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
)

// TestRegoUnitTests runs the *_test.rego files of this folder through
// OPA's tester and requires every test to pass.
func TestRegoUnitTests(t *testing.T) {
	files, err := filepath.Glob("*.rego")
	if err != nil {
		t.Fatal(err)
	}
	var mods []rego.Module
	tests := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mods = append(mods, rego.Module{Filename: f, Source: string(src)})
		if strings.HasSuffix(f, "_test.rego") {
			tests += strings.Count(string(src), "\ntest_")
		}
	}
	if tests < 8 {
		t.Fatalf("found %d Rego tests in %v, expected the examples' tests", tests, files)
	}
	results, err := rego.RunTests(context.Background(), mods...)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != tests {
		t.Errorf("OPA ran %d tests, the files define %d", len(results), tests)
	}
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			if !r.Pass {
				t.Errorf("%s: %s.%s failed (error: %v)\n%s", r.Location, r.Package, r.Name, r.Err, r.Output)
			}
		})
	}
}

// TestExamplePoliciesOnExampleApp builds the Rego engine for the example
// app with both policies, as `capguard check --policy` does.
func TestExamplePoliciesOnExampleApp(t *testing.T) {
	r, err := examples.Resolve(acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := rego.LoadModules(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 2 {
		t.Fatalf("LoadModules found %d modules, want the 2 policies (tests left out)", len(mods))
	}
	e, err := rego.New(context.Background(), r, mods...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		req         policy.Request
		allowed     bool
		obligations int
	}{
		{"open_vault needs a fresh biometric", policy.Request{Command: "open_vault", Window: "main", Webview: "main"}, true, 1},
		{"open_vault still needs the capability", policy.Request{Command: "open_vault", Window: "settings", Webview: "settings"}, false, 0},
		{"local authentication at any time", policy.Request{Command: "plugin:biometric|authenticate", Window: "main", Webview: "main"}, true, 0},
		{"remote pages are not granted by the example app", policy.Request{Command: "plugin:biometric|authenticate", Window: "main", Webview: "main", Origin: acl.MustOrigin("https://vault.example/")}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allowed || len(d.Obligations) != tt.obligations {
				t.Fatalf("got %+v, want allowed %v with %d obligations", d, tt.allowed, tt.obligations)
			}
			for _, o := range d.Obligations {
				if o.Type != policy.ObligationBiometric || o.MaxAgeS != 300 || o.Reason == "" {
					t.Errorf("obligation %+v", o)
				}
			}
		})
	}
}
