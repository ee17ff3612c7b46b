// Package biometric is Tauri's biometric plugin behind capguard's guard:
// its commands, options and error codes as @tauri-apps/plugin-biometric
// expects them, and its permission files.
package biometric

import (
	"embed"
	"io/fs"

	"github.com/capguard/capguard/acl"
)

// Name is the plugin's name: its manifest key and the prefix of its
// permission identifiers and commands ("plugin:biometric|status").
const Name = "biometric"

//go:embed permissions biometry/permissions
var permissionFS embed.FS

// Permissions returns the plugin's permission folder: the hand-written
// default.toml and the files generated from its command list.
func Permissions() fs.FS {
	sub, err := fs.Sub(permissionFS, "permissions")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

// Manifest returns the plugin's ACL manifest, built from Permissions as
// Tauri's build does.
func Manifest() (*acl.Manifest, error) {
	files, err := acl.LoadPermissionFS(Permissions(), ".", func(p string) string { return "biometric/permissions/" + p })
	if err != nil {
		return nil, err
	}
	return acl.NewManifest(files, nil), nil
}
