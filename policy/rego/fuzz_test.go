package rego_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
)

// FuzzUserModule builds the engine with arbitrary module text: it either
// refuses the module with a positioned ErrPolicy, or builds an engine that
// never allows a call the ACL denies.
func FuzzUserModule(f *testing.F) {
	for _, s := range []string{
		"package capguard.authz\ndeny contains \"x\" if input.window == \"settings\"",
		"package capguard.authz\nobligations contains {\"type\": \"biometric\", \"max_age_s\": 300} if input.command == \"open_vault\"",
		"package capguard.authz\nallow := true",
		"package myorg\nallow := true",
		"package capguard.authz\nmatched contains 0 if true",
		"package capguard.acl\ncommands := {}",
		"package capguard.authz\ndeny contains msg if {\n\tmsg :=\n}",
		"package capguard.authz\nobligations contains \"x\" if true",
		"package capguard.authz\ndeny contains \"x\" if to_number(input.window) > 1",
		"package capguard.authz_test\ntest_x if true",
		"package capguard.authz\nimport data.capguard.acl\nn := count(acl.commands)\ndeny contains \"big\" if n > 100",
	} {
		f.Add(s)
	}
	r := exampleACL(f)
	native, err := policy.Compile(r)
	if err != nil {
		f.Fatal(err)
	}
	reqs := []policy.Request{openVault, settingsVault, settingsStatus, remoteAuth,
		{Command: "plugin:biometric|authenticate", Window: "main", Webview: "main"}, {Command: "nope", Window: "main", Webview: "main"}}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 2000 {
			return
		}
		e, err := rego.New(context.Background(), r, rego.Module{Filename: "fuzz.rego", Source: src})
		if err != nil {
			if e != nil || !errors.Is(err, rego.ErrPolicy) || !acl.IsInputError(err) {
				t.Fatalf("New: %v (engine %v): want an ErrPolicy", err, e)
			}
			return
		}
		for _, req := range reqs {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			got, err := e.Decide(ctx, req)
			cancel()
			want, _ := native.Decide(context.Background(), req)
			if got.Allowed && (err != nil || !want.Allowed) {
				t.Fatalf("%+v: the policy allowed a call the ACL denies (err %v): %+v", req, err, got)
			}
			if err != nil && got.Allowed {
				t.Fatalf("%+v: an error with an allow", req)
			}
		}
	})
}
