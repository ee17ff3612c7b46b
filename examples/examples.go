// Package examples holds the example application that the capguard
// command uses when no directory is given: a Tauri-style src-tauri folder
// with a "main" and a "settings" window, the biometric plugin and one
// application permission (open_vault).
package examples

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"

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

// CopyTo writes the example app's src-tauri folder into dir (created if
// needed), for tools and tests that need it on disk, such as
// `capguard demo DIR --watch`.
func CopyTo(dir string) error {
	return fs.WalkDir(App(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(App(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}
