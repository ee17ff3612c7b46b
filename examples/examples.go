// Package examples holds the example application that the capguard
// command uses when no directory is given: a Tauri-style src-tauri folder
// with a "main" and a "settings" window, the biometric plugin and one
// application permission (open_vault).
package examples

import (
	"embed"
	"io/fs"

	"github.com/capguard/capguard/acl"
)

//go:embed app/src-tauri
var appFS embed.FS

// AppDir is the name under which the embedded app appears in messages.
const AppDir = "examples/app/src-tauri"

// App returns the example app's src-tauri folder.
func App() fs.FS {
	sub, err := fs.Sub(appFS, "app/src-tauri")
	if err != nil {
		panic(err) // embedded at build time
	}
	return sub
}

// Resolve loads the example app for a target and resolves its
// capabilities against its committed acl-manifests.json: the ACL the
// examples, tests and demo run with.
func Resolve(target acl.Target) (*acl.Resolved, error) {
	app, err := acl.LoadAppFS(App(), AppDir, target)
	if err != nil {
		return nil, err
	}
	return acl.Resolve(app.Manifests, app.Capabilities, target)
}
