package schema

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/faultfs"
)

// TestValidateUnreadable: an app folder that exists but cannot be read is
// an error, not a clean report of an app without capabilities or config.
func TestValidateUnreadable(t *testing.T) {
	app := fstest.MapFS{
		"gen/schemas/acl-manifests.json": {Data: acl.MarshalManifests(testManifests(t))},
		"capabilities/main.json":         {Data: []byte(`{"identifier": "main", "windows": ["main"], "permissions": []}`)},
		"tauri.conf.json":                {Data: []byte(`{"app": {"security": {"capabilities": ["main"]}}}`)},
	}
	opts := Options{Targets: []acl.Target{acl.Linux}}
	if r, err := ValidateAppFS(app, "src-tauri", opts); err != nil || r.Failed(false) {
		t.Fatalf("readable app: %v, %+v", err, r)
	}
	for _, name := range []string{"capabilities", "tauri.conf.json"} {
		r, err := ValidateAppFS(faultfs.New(app, name), "src-tauri", opts)
		if err != nil {
			if !errors.Is(err, fs.ErrPermission) {
				t.Errorf("%s unreadable: error %v does not say why", name, err)
			}
			continue
		}
		if !r.Failed(false) {
			t.Errorf("%s unreadable: the report passes: %+v", name, r.Findings)
		}
	}
}
