package policy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
	"github.com/google/go-cmp/cmp"
)

func extension(t testing.TB, text string) *acl.Extension {
	t.Helper()
	ext, err := acl.ParseExtension("capguard.json", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// obliging adds fixed obligations of its own to allowed decisions, as a
// Rego policy with obligations does.
type obliging struct {
	policy.Engine
	own []policy.Obligation
}

func (e obliging) Decide(ctx context.Context, req policy.Request) (policy.Decision, error) {
	d, err := e.Engine.Decide(ctx, req)
	if d.Allowed {
		d.Obligations = e.own
	}
	return d, err
}

func TestWithExtension(t *testing.T) {
	ms := exampleManifests(t)
	in := mustInput(t, version{caps: versionB.caps}, ms)
	native, err := policy.Compile(in.Resolved)
	if err != nil {
		t.Fatal(err)
	}
	ext := extension(t, `{"obligations": [
		{"commands": ["open_vault"], "type": "biometric", "max_age_s": 300, "reason": "vault"},
		{"commands": ["plugin:biometric|*"], "windows": ["settings"], "type": "biometric", "reason": "settings"},
		{"commands": ["plugin:biometric|authenticate", "open_vault"], "webviews": ["pref*"], "type": "biometric", "max_age_s": 5},
		{"commands": ["*"], "windows": ["nobody"], "type": "totp"}
	]}`)
	e, err := policy.WithExtension(native, in.Resolved, ext)
	if err != nil {
		t.Fatal(err)
	}
	vault := policy.Obligation{Type: "biometric", MaxAgeS: 300, Reason: "vault"}
	settings := policy.Obligation{Type: "biometric", Reason: "settings"}
	pref := policy.Obligation{Type: "biometric", MaxAgeS: 5}
	remote := acl.MustOrigin("https://app.example.com/")
	for _, tc := range []struct {
		name string
		req  policy.Request
		want []policy.Obligation // nil: allowed without obligations; denied checked apart
		deny bool
	}{
		{"command rule", policy.Request{Command: "open_vault", Window: "settings", Webview: "settings"}, []policy.Obligation{vault}, false},
		{"glob and window rules, in file order", policy.Request{Command: "plugin:biometric|authenticate", Window: "settings", Webview: "settings"}, []policy.Obligation{settings}, false},
		{"webview glob", policy.Request{Command: "open_vault", Window: "preferences", Webview: "preferences"}, []policy.Obligation{vault, pref}, false},
		{"remote pages too", policy.Request{Command: "open_vault", Window: "settings", Webview: "settings", Origin: remote}, []policy.Obligation{vault}, false},
		{"no rule for the caller", policy.Request{Command: "plugin:biometric|status", Window: "main", Webview: "main"}, nil, false},
		{"denied calls get none", policy.Request{Command: "open_vault", Window: "main", Webview: "main"}, nil, true},
		{"unknown commands stay denied", policy.Request{Command: "plugin:fs|read", Window: "settings", Webview: "settings"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Decide(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			base, _ := native.Decide(context.Background(), tc.req)
			if got.Allowed != !tc.deny || got.Allowed != base.Allowed {
				t.Fatalf("allowed %v, native says %v", got.Allowed, base.Allowed)
			}
			if d := cmp.Diff(tc.want, got.Obligations, decisionEq); d != "" {
				t.Errorf("obligations (-want +got):\n%s", d)
			}
			// Everything else is the inner engine's decision.
			got.Obligations = nil
			if d := cmp.Diff(base, got, decisionEq); d != "" {
				t.Errorf("decision (-native +extended):\n%s", d)
			}
		})
	}

	// The inner engine's own obligations come first and are not modified.
	own := []policy.Obligation{{Type: "biometric", Reason: "own"}}
	e2, err := policy.WithExtension(obliging{native, own}, in.Resolved, ext)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := e2.Decide(context.Background(), policy.Request{Command: "open_vault", Window: "settings", Webview: "settings"})
	if want := []policy.Obligation{own[0], vault}; !cmp.Equal(d.Obligations, want) || len(own) != 1 || cap(own) != 1 {
		t.Errorf("merged %+v", d.Obligations)
	}
	if got := e.Explain(policy.Request{Command: "open_vault", Window: "main", Webview: "main"}); !strings.Contains(got, "not allowed") {
		t.Errorf("Explain: %q", got)
	}
	if e.Inner() != native || e.Extension() != ext {
		t.Error("Inner or Extension")
	}
}

// allowAll allows every call, including commands the ACL does not name.
type allowAll struct{}

func (allowAll) Decide(context.Context, policy.Request) (policy.Decision, error) {
	return policy.Decision{Allowed: true}, nil
}

func TestWithExtensionOtherEngine(t *testing.T) {
	ms := exampleManifests(t)
	in := mustInput(t, version{caps: versionA.caps}, ms)
	ext := extension(t, `{"obligations": [{"commands": ["*"], "type": "biometric"}]}`)
	e, err := policy.WithExtension(allowAll{}, in.Resolved, ext)
	if err != nil {
		t.Fatal(err)
	}
	// A command no manifest names, allowed by the inner engine, still
	// gets the obligations of the rules that match it.
	d, _ := e.Decide(context.Background(), policy.Request{Command: "plugin:custom|thing", Window: "w", Webview: "w"})
	if len(d.Obligations) != 1 || d.Obligations[0].Type != "biometric" {
		t.Errorf("obligations %+v", d.Obligations)
	}
	if got := e.Explain(policy.Request{Command: "x"}); got != "" {
		t.Errorf("Explain of an engine without explanations: %q", got)
	}
}

func TestWithExtensionErrors(t *testing.T) {
	ms := exampleManifests(t)
	in := mustInput(t, version{caps: versionA.caps}, ms)
	native, err := policy.Compile(in.Resolved)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ext  string
		want string
	}{
		{"unknown command", `{"obligations":[{"commands":["plugin:biometric|authenticat"],"type":"biometric"}]}`, `capguard.json:1:30: obligations[0].commands[0]: no permission of the manifests allows or denies a command "plugin:biometric|authenticat"; did you mean "plugin:biometric|authenticate", "plugin:biometry|authenticate" or "plugin:biometric|status"?`},
		{"pattern matching nothing", `{"obligations":[{"commands":["plugin:fs|*"],"type":"biometric"}]}`, `capguard.json:1:30: obligations[0].commands[0]: the pattern "plugin:fs|*" matches no command of the manifests`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.WithExtension(native, in.Resolved, extension(t, tc.ext))
			if !errors.Is(err, acl.ErrInvalid) || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
	if _, err := policy.WithExtension(nil, in.Resolved, nil); !errors.Is(err, acl.ErrInvalid) {
		t.Errorf("nil engine: %v", err)
	}
	if _, err := policy.WithExtension(native, nil, nil); !errors.Is(err, acl.ErrInvalid) {
		t.Errorf("nil resolved: %v", err)
	}
	if _, err := policy.WithExtension(native, in.Resolved, &acl.Extension{Obligations: []*acl.ObligationRule{{Type: "biometric"}}}); !errors.Is(err, acl.ErrInvalid) {
		t.Errorf("rule without commands: %v", err)
	}
	e, err := policy.WithExtension(native, in.Resolved, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := e.Decide(context.Background(), policy.Request{Command: "open_vault", Window: "main", Webview: "main"})
	if !d.Allowed || len(d.Obligations) != 0 {
		t.Errorf("nil extension: %+v", d)
	}
	var nilExt *policy.Extended
	if _, err := nilExt.Decide(context.Background(), policy.Request{}); !errors.Is(err, policy.ErrNilEngine) {
		t.Errorf("nil Extended: %v", err)
	}
}

// ExampleWithExtension asks for a biometric authentication before the
// example app's open_vault command runs, with capguard.json instead of a
// Rego policy.
func ExampleWithExtension() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		panic(err)
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		panic(err)
	}
	ext, err := acl.ParseExtension("src-tauri/capguard.json", []byte(`{
	  "obligations": [
	    {"commands": ["open_vault"], "type": "biometric", "max_age_s": 300, "reason": "Unlock your vault"}
	  ]
	}`))
	if err != nil {
		panic(err)
	}
	native, err := policy.Compile(r)
	if err != nil {
		panic(err)
	}
	engine, err := policy.WithExtension(native, r, ext)
	if err != nil {
		panic(err)
	}
	for _, cmd := range []string{"open_vault", "plugin:biometric|status"} {
		d, _ := engine.Decide(context.Background(), policy.Request{Command: cmd, Window: "main", Webview: "main"})
		fmt.Printf("%s: allowed %v, obligations %+v\n", cmd, d.Allowed, d.Obligations)
	}
	// Output:
	// open_vault: allowed true, obligations [{Type:biometric MaxAgeS:300 Reason:Unlock your vault Binding:}]
	// plugin:biometric|status: allowed true, obligations []
}
