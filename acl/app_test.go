package acl_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/faultfs"
)

// TestLoadAppUnreadable: a file or folder of the app that exists but
// cannot be read fails the load, naming it. Read as missing, an
// unreadable tauri.conf.json would enable every capability file rather
// than the one it lists, and an unreadable manifests file would turn
// into "no manifests".
func TestLoadAppUnreadable(t *testing.T) {
	app := fstest.MapFS{
		"tauri.conf.json":                {Data: []byte(`{"app":{"security":{"capabilities":["main"]}}}`)},
		"capabilities/main.json":         {Data: []byte(`{"identifier":"main","windows":["main"],"permissions":[]}`)},
		"capabilities/wide.json":         {Data: []byte(`{"identifier":"wide","windows":["*"],"permissions":[]}`)},
		"gen/schemas/acl-manifests.json": {Data: []byte(`{}`)},
	}
	got, err := acl.LoadAppFS(app, "app", acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Capabilities["main"]; len(got.Capabilities) != 1 || !ok {
		t.Fatalf("readable app: capabilities %+v, want only main", got.Capabilities)
	}
	for _, name := range []string{"tauri.conf.json", "capabilities", "gen/schemas/acl-manifests.json"} {
		t.Run(name, func(t *testing.T) {
			fsys := faultfs.New(app, name)
			got, err := acl.LoadAppFS(fsys, "app", acl.Linux)
			if err == nil {
				t.Fatalf("loaded with %s unreadable: %d capabilities", name, len(got.Capabilities))
			}
			if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), " "+filepath.Join("app", filepath.FromSlash(name))+": ") {
				t.Errorf("error %q: want it to name %s and wrap fs.ErrPermission", err, name)
			}
		})
	}
	// A file that is not there is still simply missing.
	delete(app, "tauri.conf.json")
	got, err = acl.LoadAppFS(app, "app", acl.Linux)
	if err != nil || len(got.Capabilities) != 2 {
		t.Errorf("without a config: %v, %d capabilities, want both files", err, len(got.Capabilities))
	}
}
