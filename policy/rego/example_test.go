package rego_test

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
)

// ExampleNew adds a user module to the example app's ACL: the settings
// window may not ask about biometry, and open_vault needs a fresh
// biometric authentication.
func ExampleNew() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		panic(err)
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		panic(err)
	}
	engine, err := rego.New(context.Background(), r, rego.Module{Filename: "vault.rego", Source: `
package capguard.authz

deny contains "the settings window may not ask about biometry" if input.window == "settings"

obligations contains {"type": "biometric", "max_age_s": 60} if input.command == "open_vault"
`})
	if err != nil {
		panic(err)
	}
	for _, req := range []policy.Request{
		{Command: "open_vault", Window: "main", Webview: "main"},
		{Command: "plugin:biometric|status", Window: "settings", Webview: "settings"},
		{Command: "open_vault", Window: "settings", Webview: "settings"},
	} {
		d, err := engine.Decide(context.Background(), req)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s from %s: %v %v\n  %s\n", req.Command, req.Window, d.Allowed, d.Obligations, d.Reason)
	}
	// Output:
	// open_vault from main: true [{biometric 60  }]
	//   allowed by capability "main-window" (permission allow-open-vault, local)
	// plugin:biometric|status from settings: false []
	//   denied by policy: the settings window may not ask about biometry
	// open_vault from settings: false []
	//   open_vault not allowed on this window, webview and origin; allowed on: [windows: "main", URL: local]
}

// ExampleNew_compileError shows how errors in a user module are reported.
func ExampleNew_compileError() {
	_, err := rego.New(context.Background(), &acl.Resolved{}, rego.Module{Filename: "policy.rego", Source: `package capguard.authz

deny contains msg if {
	input.window == "kiosk"
}
`})
	fmt.Println(err)
	// Output:
	// policy.rego:3:15: rego_unsafe_var_error: var msg is unsafe
}

// ExampleRunTests runs a Rego unit test of a user policy.
func ExampleRunTests() {
	results, err := rego.RunTests(context.Background(),
		rego.Module{Filename: "hours.rego", Source: `package capguard.authz

deny contains "closed" if time.clock([time.now_ns(), "UTC"])[0] >= 19
`},
		rego.Module{Filename: "hours_test.rego", Source: `package capguard.authz_test

import data.capguard.authz

test_closed_at_night if {
	authz.deny == {"closed"} with time.now_ns as time.parse_rfc3339_ns("2025-01-06T22:00:00Z")
}
`})
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Println(r.Location, r.Name, r.Pass)
	}
	// Output:
	// hours_test.rego:5:1 test_closed_at_night true
}
