package policy_test

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
)

// ExampleCompile compiles the example app's ACL and decides three calls.
func ExampleCompile() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		panic(err)
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		panic(err)
	}
	engine, err := policy.Compile(r)
	if err != nil {
		panic(err)
	}
	for _, req := range []policy.Request{
		{Command: "plugin:biometric|authenticate", Window: "main", Webview: "main"},
		{Command: "plugin:biometric|authenticate", Window: "settings", Webview: "settings"},
		{Command: "open_vault", Window: "main", Webview: "main", Origin: acl.MustOrigin("https://evil.example/")},
	} {
		d, err := engine.Decide(context.Background(), req)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s from %s (%s): %v\n  %s\n", req.Command, req.Window, req.Origin, d.Allowed, d.Reason)
	}
	// Output:
	// plugin:biometric|authenticate from main (local): true
	//   allowed by capability "main-window" (permission biometric:allow-authenticate, local)
	// plugin:biometric|authenticate from settings (local): false
	//   biometric.authenticate not allowed on this window, webview and origin; allowed on: [windows: "main", URL: local]
	// open_vault from main (remote: https://evil.example/): false
	//   open_vault not allowed on this window, webview and origin; allowed on: [windows: "main", URL: local]
}
