package acl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
	"github.com/google/go-cmp/cmp"
)

// headerCounts counts the [default], [[set]] and [[permission]] headers of
// TOML permission files, and the entries of JSON ones, independently of the
// parser under test.
func headerCounts(t *testing.T, path string) (defaults, sets, perms int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".json") {
		var f struct {
			Default    json.RawMessage   `json:"default"`
			Set        []json.RawMessage `json:"set"`
			Permission []json.RawMessage `json:"permission"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(f.Default) > 0 && string(f.Default) != "null" {
			defaults = 1
		}
		return defaults, len(f.Set), len(f.Permission)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "[default]":
			defaults++
		case "[[set]]":
			sets++
		case "[[permission]]":
			perms++
		}
	}
	return defaults, sets, perms
}

// TestPluginsWorkspacePermissions reads every permission file of Tauri's
// 26 official plugins and checks the counts against the file contents.
func TestPluginsWorkspacePermissions(t *testing.T) {
	plugins := conformance.Plugins(t)
	if len(plugins) != 26 {
		t.Fatalf("found %d plugins in plugins-workspace, want 26", len(plugins))
	}
	for _, name := range plugins {
		t.Run(name, func(t *testing.T) {
			dir := conformance.Path(t, "plugins-workspace", name, "permissions")
			files, err := LoadPermissionDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			paths, err := PermissionFilePaths(os.DirFS(dir), ".")
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != len(paths) || len(files) == 0 {
				t.Fatalf("read %d files of %d", len(files), len(paths))
			}
			var wantD, wantS, wantP, gotD, gotS, gotP int
			ids := map[string]bool{}
			for i, p := range paths {
				d, s, pm := headerCounts(t, filepath.Join(dir, p))
				wantD, wantS, wantP = wantD+d, wantS+s, wantP+pm
				f := files[i]
				if f.Default != nil {
					gotD++
				}
				gotS += len(f.Sets)
				gotP += len(f.Permissions)
				for _, perm := range f.Permissions {
					ids[perm.Identifier] = true
				}
			}
			if gotD != wantD || gotS != wantS || gotP != wantP {
				t.Errorf("parsed %d defaults, %d sets, %d permissions; the files hold %d, %d, %d", gotD, gotS, gotP, wantD, wantS, wantP)
			}
			m := NewManifest(files, nil)
			if len(m.Permissions) != len(ids) {
				t.Errorf("manifest has %d permissions, want %d distinct identifiers", len(m.Permissions), len(ids))
			}
			if (m.Default != nil) != (wantD > 0) {
				t.Errorf("manifest default present = %v, files have %d", m.Default != nil, wantD)
			}
		})
	}
}

// TestTauriFixturesParse reads every plugin and capability file of Tauri's
// resolver fixtures.
func TestTauriFixturesParse(t *testing.T) {
	root := conformance.Path(t, "tauri-acl-fixtures")
	plugins, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "*.toml"))
	caps, _ := filepath.Glob(filepath.Join(root, "capabilities", "*", "cap*"))
	if len(plugins) < 10 || len(caps) < 9 {
		t.Fatalf("found %d plugin files and %d capability files, fewer than the fixtures hold", len(plugins), len(caps))
	}
	for _, p := range plugins {
		if _, err := ReadPermissionFile(p); err != nil {
			t.Error(err)
		}
	}
	for _, p := range caps {
		list, err := ReadCapabilityFile(p)
		if err != nil {
			t.Error(err)
		}
		if len(list) == 0 {
			t.Errorf("%s: no capability read", p)
		}
	}
}

// manifestsExceptions lists the apps whose committed acl-manifests.json
// tauri-build did not write as it stands, and why; the test checks that
// each reason holds.
var manifestsExceptions = map[string]string{
	"nostrnative__bloom": "reformatted: the repository pretty-prints its generated files (a code formatter), Tauri writes compact JSON",
}

// TestAppManifestsRoundTrip reads every app's acl-manifests.json and
// writes it back, byte for byte.
func TestAppManifestsRoundTrip(t *testing.T) {
	apps := conformance.Apps(t)
	pass := 0
	for _, app := range apps {
		t.Run(app, func(t *testing.T) {
			path := conformance.Path(t, "apps", app, "src-tauri", "gen", "schemas", "acl-manifests.json")
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := ParseManifests(path, want)
			if err != nil {
				t.Fatal(err)
			}
			got := MarshalManifests(ms)
			reason, excepted := manifestsExceptions[app]
			if bytes.Equal(got, want) {
				if excepted {
					t.Errorf("listed as an exception (%s) but reproduces exactly: remove it from the list", reason)
				}
				pass++
				return
			}
			if !excepted {
				t.Fatalf("round trip differs at byte %d", firstDiff(got, want))
			}
			// The exception must be a formatting difference only.
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &b); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(b, a); d != "" {
				t.Errorf("exception %q claims a formatting difference, but the content differs:\n%s", reason, d)
			}
			t.Logf("does not round-trip byte for byte: %s", reason)
		})
	}
	t.Logf("acl-manifests.json round trip: %d of %d apps byte for byte", pass, len(apps))
	if pass*10 < len(apps)*9 {
		t.Errorf("only %d of %d apps round-trip; at least 90%% must", pass, len(apps))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
