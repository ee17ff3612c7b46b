package acl_test

import (
	"fmt"
	"log"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
)

// A plugin with two permissions, a capability granting one of them to the
// "main" window, and the decisions that follow.
func ExampleResolve() {
	perms, err := acl.ParsePermissionFile("fs.toml", []byte(`
[default]
permissions = ["allow-read"]

[[permission]]
identifier = "allow-read"
commands.allow = ["read_file"]

[[permission]]
identifier = "allow-write"
commands.allow = ["write_file"]
`))
	if err != nil {
		log.Fatal(err)
	}
	caps, err := acl.ParseCapabilityFile("main.json", []byte(`{
  "identifier": "main",
  "windows": ["main"],
  "permissions": ["fs:default"]
}`))
	if err != nil {
		log.Fatal(err)
	}
	manifests := acl.Manifests{"fs": acl.NewManifest([]*acl.PermissionFile{perms}, nil)}
	set := acl.CapabilitySet{}
	if err := set.Add(caps...); err != nil {
		log.Fatal(err)
	}
	r, err := acl.Resolve(manifests, set, acl.Linux)
	if err != nil {
		log.Fatal(err)
	}
	for _, req := range []acl.Request{
		{Command: "plugin:fs|read_file", Window: "main", Webview: "main", Origin: acl.LocalOrigin},
		{Command: "plugin:fs|write_file", Window: "main", Webview: "main", Origin: acl.LocalOrigin},
	} {
		d := r.Decide(req)
		fmt.Printf("%s: allowed=%v\n%s\n", req.Command, d.Allowed, d.Message)
	}
	// Output:
	// plugin:fs|read_file: allowed=true
	// allowed
	// plugin:fs|write_file: allowed=false
	// fs.write_file not allowed. Permissions associated with this command: fs:allow-write
}

// Errors name the file, line and column, and suggest the closest
// identifiers.
func ExampleResolve_unknownPermission() {
	perms, _ := acl.ParsePermissionFile("fs.toml", []byte("[[permission]]\nidentifier = \"allow-read\"\ncommands.allow = [\"read_file\"]\n"))
	caps, _ := acl.ParseCapabilityFile("main.json", []byte(`{"identifier": "main", "permissions": ["fs:allow-raed"]}`))
	_, err := acl.Resolve(acl.Manifests{"fs": acl.NewManifest([]*acl.PermissionFile{perms}, nil)}, acl.CapabilitySet{"main": caps[0]}, acl.Linux)
	fmt.Println(err)
	// Output:
	// main.json:1:40: capability "main", permission 0: unknown permission "allow-raed" for fs; did you mean "fs:allow-read"?
}

// What may a window call, and through what?
func ExampleResolved_Effective() {
	perms, _ := acl.ParsePermissionFile("app.toml", []byte("[[permission]]\nidentifier = \"allow-ping\"\ncommands.allow = [\"ping\"]\n"))
	caps, _ := acl.ParseCapabilityFile("main.toml", []byte("identifier = \"main\"\nwindows = [\"main-*\"]\npermissions = [\"allow-ping\"]\n"))
	r, _ := acl.Resolve(acl.Manifests{acl.AppKey: acl.NewManifest([]*acl.PermissionFile{perms}, nil)}, acl.CapabilitySet{"main": caps[0]}, acl.Linux)
	for _, g := range r.Effective("main-2", "main-2", acl.LocalOrigin) {
		fmt.Println(g.Command, "via", g.Via[0].Capability, g.Via[0].PermissionRef(), g.Via[0].Position())
	}
	// Output:
	// ping via main allow-ping main.toml:3:16
}

// Load a src-tauri folder (here the embedded example app), resolve it and
// decide a call.
func ExampleLoadAppFS() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		log.Fatal(err)
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		log.Fatal(err)
	}
	d := r.Decide(acl.Request{Command: "plugin:biometric|authenticate", Window: "settings", Webview: "settings", Origin: acl.LocalOrigin})
	fmt.Println(d.Allowed)
	fmt.Println(d.Message)
	// Output:
	// false
	// biometric.authenticate not allowed on window "settings", webview "settings", URL: local
	//
	// allowed on: [windows: "main", URL: local]
	//
	// referenced by: capability: main-window, permission: allow-authenticate
}
