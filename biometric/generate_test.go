package biometric_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/gen"
)

// TestPermissionsUpToDate regenerates the plugin's permission files from
// PermissionCommands and the hand-written default.toml, in a temporary
// folder, and fails when the embedded files differ: run
// "go generate ./biometric" after changing the command list.
func TestPermissionsUpToDate(t *testing.T) {
	embedded := biometric.Permissions()
	dir := t.TempDir()
	def, err := fs.ReadFile(embedded, "default.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, gen.PermissionsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, gen.PermissionsDir, "default.toml"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (gen.Plugin{Name: biometric.Name, Commands: biometric.PermissionCommands()}).Generate(dir); err != nil {
		t.Fatal(err)
	}

	var want, got []string
	err = fs.WalkDir(os.DirFS(filepath.Join(dir, gen.PermissionsDir)), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			want = append(want, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = fs.WalkDir(embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("embedded permission files %v, generator makes %v; run go generate ./biometric (and delete files it no longer makes)", got, want)
	}
	for _, p := range want {
		fresh, err := os.ReadFile(filepath.Join(dir, gen.PermissionsDir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		old, err := fs.ReadFile(embedded, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !bytes.Equal(old, fresh) {
			t.Errorf("biometric/permissions/%s is stale; run go generate ./biometric", p)
		}
	}
}

// TestGenerateDirective checks that the go:generate line generates the
// commands PermissionCommands lists, for this plugin.
func TestGenerateDirective(t *testing.T) {
	src, err := os.ReadFile("generate.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^//go:generate go run github\.com/capguard/capguard/cmd/capguard gen plugin \. --name (\S+) --commands (\S+)$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("generate.go has no go:generate directive running capguard gen plugin")
	}
	if string(m[1]) != biometric.Name {
		t.Errorf("directive generates plugin %q, want %q", m[1], biometric.Name)
	}
	if cmds := strings.Split(string(m[2]), ","); !slices.Equal(cmds, biometric.PermissionCommands()) {
		t.Errorf("directive lists commands %v, PermissionCommands returns %v", cmds, biometric.PermissionCommands())
	}
}

// TestManifestHasGeneratedPermissions: the embedded files give the manifest
// that apps using the plugin get.
func TestManifestHasGeneratedPermissions(t *testing.T) {
	m, err := biometric.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range biometric.PermissionCommands() {
		for _, id := range []string{"allow-" + c, "deny-" + c} {
			if m.Permissions[id] == nil {
				t.Errorf("manifest lacks %s", id)
			}
		}
	}
	if m.Default == nil || !slices.Equal(m.Default.Permissions, []string{"allow-authenticate", "allow-status"}) {
		t.Errorf("default set = %+v", m.Default)
	}
}
