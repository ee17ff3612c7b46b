package schema

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
)

// refusingFS fails Open and Stat of some names with fs.ErrPermission, as
// os.DirFS does for a folder of mode 000 (which root can still read, so a
// test on disk cannot show it).
type refusingFS struct {
	fstest.MapFS
	denied map[string]bool
}

func (d refusingFS) Open(name string) (fs.File, error) {
	if d.denied[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.MapFS.Open(name)
}

func (d refusingFS) Stat(name string) (fs.FileInfo, error) {
	if d.denied[name] {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrPermission}
	}
	return d.MapFS.Stat(name)
}

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
		r, err := ValidateAppFS(refusingFS{app, map[string]bool{name: true}}, "src-tauri", opts)
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
