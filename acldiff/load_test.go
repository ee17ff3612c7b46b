package acldiff

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
)

// Small apps written in memory, one behaviour of the loading each: what a
// side lacks, what Tauri's build would rebuild, what has no effect.

const (
	fsPermissions = `
[default]
permissions = ["allow-read-file"]

[[permission]]
identifier = "allow-read-file"
commands.allow = ["read_file"]

[[permission]]
identifier = "allow-write-file"
commands.allow = ["write_file"]
`
	dialogPermissions = `
[default]
permissions = ["allow-open"]

[[permission]]
identifier = "allow-open"
commands.allow = ["open"]
`
	scannerPermissions = `
[default]
permissions = ["allow-scan"]

[[permission]]
identifier = "allow-scan"
commands.allow = ["scan"]
`
)

// manifestsJSON is acl-manifests.json for plugins given by their
// permission files, as tauri-build writes it.
func manifestsJSON(t *testing.T, plugins map[string]string) string {
	t.Helper()
	ms := acl.Manifests{}
	for name, toml := range plugins {
		f, err := acl.ParsePermissionFile(name+".toml", []byte(toml))
		if err != nil {
			t.Fatal(err)
		}
		ms[name] = acl.NewManifest([]*acl.PermissionFile{f}, nil)
	}
	return string(acl.MarshalManifests(ms))
}

// memSide is a side held in memory: files relative to src-tauri.
func memSide(name string, files map[string]string) Side {
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s), Mode: 0o644}
	}
	return Side{Name: name, FS: fsys, Dir: "src-tauri"}
}

func capability(id string, perms ...string) string {
	return `{"identifier": "` + id + `", "windows": ["main"], "permissions": ["` + strings.Join(perms, `", "`) + `"]}`
}

func hasWarning(r *Report, side, text string) bool {
	for _, w := range r.Warnings {
		if w.Side == side && strings.Contains(w.Message, text) {
			return true
		}
	}
	return false
}

func compare(t *testing.T, old, new Side, targets ...acl.Target) *Report {
	t.Helper()
	rep, err := Compare(old, new, targets)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestEmptyBase: a side without an app (a revision before the app's first
// Tauri commit) compares as an app without capabilities.
func TestEmptyBase(t *testing.T) {
	manifests := manifestsJSON(t, map[string]string{"fs": fsPermissions})
	old := Side{Name: "main", FS: fstest.MapFS{}, Dir: "src-tauri", Empty: "main has no src-tauri folder"}
	new := memSide("HEAD", map[string]string{"gen/schemas/acl-manifests.json": manifests, "capabilities/main.json": capability("main", "fs:default")})
	rep := compare(t, old, new, acl.Linux)
	if rep.Verdict != Widened || !slices.Contains(lines(rep), "widened call added plugin:fs|read_file ctx=local window=main") {
		t.Errorf("%s:\n%s", rep.Verdict, strings.Join(lines(rep), "\n"))
	}
	if !hasWarning(rep, "old", "main has no src-tauri folder") {
		t.Errorf("warnings %+v", rep.Warnings)
	}
	if _, err := Compare(old, old, nil); !errors.Is(err, ErrNoApp) {
		t.Errorf("two empty sides: %v", err)
	}
}

// TestManifestsFromTheOtherSide: a side without manifests, or whose
// manifests lack a plugin, takes it from the other side's, with one
// warning; the comparison is exact.
func TestManifestsFromTheOtherSide(t *testing.T) {
	both := manifestsJSON(t, map[string]string{"fs": fsPermissions, "dialog": dialogPermissions})
	onlyFS := manifestsJSON(t, map[string]string{"fs": fsPermissions})
	caps := capability("main", "fs:default", "dialog:default")
	for _, tc := range []struct {
		name     string
		old      map[string]string
		warning  string
		borrowed bool
	}{
		{"no manifests", map[string]string{"capabilities/main.json": capability("main", "fs:default")}, "has no src-tauri/gen/schemas/acl-manifests.json: the plugins its capabilities name are taken from new's", false},
		{"manifests without a plugin", map[string]string{"gen/schemas/acl-manifests.json": onlyFS, "capabilities/main.json": capability("main", "fs:default")}, "", true},
		{"manifests without a plugin the old side names", map[string]string{"gen/schemas/acl-manifests.json": onlyFS, "capabilities/main.json": caps}, "lacks plugin dialog: taken from new's manifests", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := memSide("old", tc.old)
			new := memSide("new", map[string]string{"gen/schemas/acl-manifests.json": both, "capabilities/main.json": caps})
			rep := compare(t, old, new, acl.Linux)
			want := []string{"widened label-plugin added plugin=dialog window=main", "widened call added plugin:dialog|open ctx=local window=main", "widened plugin added plugin=dialog"}
			if strings.Contains(tc.old["capabilities/main.json"], "dialog") {
				want = nil
			}
			if got := lines(rep); !slices.Equal(got, want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if len(rep.NotCompared) != 0 {
				t.Errorf("not compared: %+v", rep.NotCompared)
			}
			if tc.warning != "" && !hasWarning(rep, "old", tc.warning) {
				t.Errorf("no warning %q in %+v", tc.warning, rep.Warnings)
			}
			n := 0
			for _, w := range rep.Warnings {
				if strings.Contains(w.Message, "taken from") {
					n++
				}
			}
			if n > 1 {
				t.Errorf("%d warnings about borrowed manifests, want one: %+v", n, rep.Warnings)
			}
		})
	}
}

// TestNotComparedPerTarget: a plugin neither side's manifests have is
// left out once per entry, with the targets it was left out on, and the
// rest is compared: a desktop widening is not hidden by a mobile
// capability that names a plugin the desktop build did not list.
func TestNotComparedPerTarget(t *testing.T) {
	manifests := manifestsJSON(t, map[string]string{"fs": fsPermissions})
	mobile := `{"identifier": "mobile", "windows": ["main"], "platforms": ["android", "iOS"], "permissions": ["barcode-scanner:default"]}`
	old := memSide("old", map[string]string{"gen/schemas/acl-manifests.json": manifests, "capabilities/mobile.json": mobile,
		"capabilities/main.json": capability("main", "fs:default")})
	new := memSide("new", map[string]string{"gen/schemas/acl-manifests.json": manifests, "capabilities/mobile.json": mobile,
		"capabilities/main.json": capability("main", "fs:default", "fs:allow-write-file")})
	rep := compare(t, old, new)
	if rep.Verdict != Widened {
		t.Errorf("verdict %s", rep.Verdict)
	}
	if !slices.Contains(lines(rep), "widened call added plugin:fs|write_file ctx=local window=main") {
		t.Errorf("changes:\n%s", strings.Join(lines(rep), "\n"))
	}
	if len(rep.NotCompared) != 1 {
		t.Fatalf("not compared: %+v", rep.NotCompared)
	}
	n := rep.NotCompared[0]
	if n.Side != "both" || n.Capability != "mobile" || n.Entry != "barcode-scanner:default" || n.Plugin != "barcode-scanner" ||
		!slices.Equal(n.Targets, []acl.Target{acl.Android, acl.IOS}) || n.File != "src-tauri/capabilities/mobile.json" || n.Line != 1 {
		t.Errorf("not compared: %+v", n)
	}
	if len(rep.UncomparedAdditions()) != 0 {
		t.Errorf("an entry both sides have is not an addition: %+v", rep.UncomparedAdditions())
	}
	var b strings.Builder
	if err := rep.Write(&b, FormatText); err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "barcode-scanner") {
			named++
		}
	}
	// One line for the plugin, one for the entry.
	if named != 2 || !strings.Contains(b.String(), "plugin barcode-scanner, both sides [android, iOS only]: no manifest for plugin barcode-scanner") {
		t.Errorf("the text names the plugin more than once, or not per target:\n%s", b.String())
	}
	// The same entry new on the new side only is an addition that may widen.
	old = memSide("old", map[string]string{"gen/schemas/acl-manifests.json": manifests, "capabilities/main.json": capability("main", "fs:default")})
	if adds := compare(t, old, new).UncomparedAdditions(); len(adds) != 1 || adds[0].Side != "new" {
		t.Errorf("additions %+v", adds)
	}
}

// TestAppManifestRebuilt: an app that edits permissions/ without
// rebuilding gen/schemas is compared with the manifest Tauri's build
// would make (the committed one is stale), with a warning.
func TestAppManifestRebuilt(t *testing.T) {
	const v1 = `
[[permission]]
identifier = "vault"
commands.allow = ["open_vault"]
`
	const v2 = v1 + `
[[permission]]
identifier = "export"
commands.allow = ["export_vault"]
`
	manifests := manifestsJSON(t, map[string]string{"fs": fsPermissions, acl.AppKey: v1})
	caps := capability("main", "vault", "export")
	old := memSide("old", map[string]string{"gen/schemas/acl-manifests.json": manifests, "permissions/vault.toml": v1,
		"capabilities/main.json": capability("main", "vault")})
	new := memSide("new", map[string]string{"gen/schemas/acl-manifests.json": manifests, "permissions/vault.toml": v2,
		"capabilities/main.json": caps})
	rep := compare(t, old, new, acl.Linux)
	if rep.Verdict != Widened || !slices.Contains(lines(rep), "widened call added export_vault ctx=local window=main") {
		t.Errorf("%s:\n%s", rep.Verdict, strings.Join(lines(rep), "\n"))
	}
	if !hasWarning(rep, "new", "the app's permissions in src-tauri/gen/schemas/acl-manifests.json are stale") || hasWarning(rep, "old", "stale") {
		t.Errorf("warnings %+v", rep.Warnings)
	}
	// A permission file Tauri cannot read fails the side, at its position.
	bad := memSide("new", map[string]string{"gen/schemas/acl-manifests.json": manifests, "permissions/vault.toml": "[[permission]]\nidentifier = \"x\nx\"\n",
		"capabilities/main.json": caps})
	_, err := Compare(old, bad, nil)
	if err == nil || !acl.IsInputError(err) || !strings.Contains(err.Error(), "src-tauri/permissions/vault.toml:2:") {
		t.Errorf("invalid TOML: %v", err)
	}
}

// TestNoEffect: a capability file that the configuration's list leaves
// out changes nothing, and says so.
func TestNoEffect(t *testing.T) {
	manifests := manifestsJSON(t, map[string]string{"fs": fsPermissions})
	conf := `{"identifier": "x.y", "app": {"security": {"capabilities": ["main"]}}}`
	old := memSide("old", map[string]string{"gen/schemas/acl-manifests.json": manifests, "tauri.conf.json": conf,
		"capabilities/main.json": capability("main", "fs:default")})
	new := memSide("new", map[string]string{"gen/schemas/acl-manifests.json": manifests, "tauri.conf.json": conf,
		"capabilities/main.json": capability("main", "fs:default"), "capabilities/extra.json": capability("extra", "fs:allow-write-file")})
	rep := compare(t, old, new)
	if rep.Verdict != Unchanged {
		t.Errorf("verdict %s:\n%s", rep.Verdict, strings.Join(lines(rep), "\n"))
	}
	if !hasWarning(rep, "new", `capability "extra" has no effect: the configuration's app.security.capabilities does not list it (it is new in this change)`) {
		t.Errorf("warnings %+v", rep.Warnings)
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w.Message, "extra") && (w.File != "src-tauri/capabilities/extra.json" || w.Line != 1) {
			t.Errorf("warning not at the file: %+v", w)
		}
	}
}
