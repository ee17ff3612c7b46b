package acl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
	"github.com/google/go-cmp/cmp"
)

// decodeJSON reads JSON keeping number literals, so that 1 and 1.0 differ.
func decodeJSON(t testing.TB, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, data)
	}
	return v
}

// fixtureManifests builds manifests the way Tauri's resolver test does:
// one manifest per plugin folder, keyed by the plugin's name.
func fixtureManifests(t testing.TB, root string, plugins []string) Manifests {
	t.Helper()
	ms := Manifests{}
	for _, p := range plugins {
		files, err := LoadPermissionDir(filepath.Join(root, "plugins", p))
		if err != nil {
			t.Fatal(err)
		}
		ms[p] = NewManifest(files, nil)
	}
	return ms
}

// TestTauriFixtures resolves Tauri's own resolver fixtures and compares
// with the expected results.
func TestTauriFixtures(t *testing.T) {
	root := conformance.Path(t, "tauri-acl-fixtures")
	dirs, _ := filepath.Glob(filepath.Join(root, "capabilities", "*"))
	if len(dirs) != 8 {
		t.Fatalf("found %d fixtures, want 8", len(dirs))
	}
	checked := 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			var plugins []string
			data, err := os.ReadFile(filepath.Join(dir, "required-plugins.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &plugins); err != nil {
				t.Fatal(err)
			}
			paths, _ := filepath.Glob(filepath.Join(dir, "cap*"))
			caps, err := LoadCapabilities(paths...)
			if err != nil {
				t.Fatal(err)
			}
			ms := fixtureManifests(t, root, plugins)
			expected := map[Target]string{Linux: filepath.Join(root, "expected", name+".json")}
			if name == "platform-specific-permissions" {
				expected = map[Target]string{}
				for _, tg := range []Target{Linux, MacOS, Windows} {
					expected[tg] = filepath.Join(root, "expected", tg.String(), name+".json")
				}
			}
			for tg, path := range expected {
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				r, err := Resolve(ms, caps, tg)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(decodeJSON(t, want), decodeJSON(t, MarshalResolved(r))); d != "" {
					t.Errorf("%s (-want +got):\n%s", tg, d)
				}
				checked++
			}
		})
	}
	if checked != 10 {
		t.Errorf("compared %d expected files, want 10", checked)
	}
}

// loadMixed loads the project's own fixture testdata/resolve/mixed.
func loadMixed(t testing.TB) (Manifests, CapabilitySet) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "resolve", "mixed")
	var keys map[string]string
	data, err := os.ReadFile(filepath.Join(dir, "manifests.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	ms := Manifests{}
	for k, sub := range keys {
		files, err := LoadPermissionDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		ms[k] = NewManifest(files, nil)
	}
	caps, err := LoadCapabilities(filepath.Join(dir, "capabilities"))
	if err != nil {
		t.Fatal(err)
	}
	return ms, caps
}

// TestMixedFixture covers deny commands, app permissions, a core: key,
// window globs, webviews, several remote URLs, a cross-plugin set,
// non-string scope values and platforms, against hand-written results.
func TestMixedFixture(t *testing.T) {
	ms, caps := loadMixed(t)
	for _, tg := range []Target{Linux, MacOS, Android} {
		t.Run(tg.String(), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("..", "testdata", "resolve", "mixed", "expected-"+tg.String()+".json"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Resolve(ms, caps, tg)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(decodeJSON(t, want), decodeJSON(t, MarshalResolved(r))); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestDecideMixed(t *testing.T) {
	ms, caps := loadMixed(t)
	r, err := Resolve(ms, caps, Linux)
	if err != nil {
		t.Fatal(err)
	}
	kiosk := MustOrigin("https://kiosk.example.com/")
	cases := []struct {
		name            string
		req             Request
		allowed, legacy bool
		scopes          []uint64
		message         string
	}{
		{"app command, local", Request{"ping", "main", "main", LocalOrigin}, true, true, nil, "Tauri 2.11 and earlier would deny it"},
		{"deny applies in its own context", Request{"ping", "kiosk", "kiosk", kiosk}, false, false, nil, "ping explicitly denied on origin remote: https://kiosk.example.com/\n\nreferenced by: capability: kiosk, permission: deny-ping"},
		{"deny ignores labels", Request{"ping", "main", "main", kiosk}, false, false, nil, "explicitly denied"},
		{"remote url of main", Request{"ping", "main", "main", MustOrigin("https://a.example.com/x?y")}, true, true, nil, ""},
		{"remote hostname wildcard", Request{"plugin:shell|open", "main", "main", MustOrigin("https://deep.sub.b.dev/")}, true, false, nil, "allowed"},
		{"unknown remote", Request{"plugin:shell|open", "main", "main", MustOrigin("https://evil.example.org/")}, false, false, nil,
			"shell.open not allowed on window \"main\", webview \"main\", URL: https://evil.example.org/\n\nallowed on: [windows: \"main\", \"pop-*\", webviews: \"embed\", URL: local], [windows: \"main\", \"pop-*\", webviews: \"embed\", URL: https://a.example.com/*], [windows: \"main\", \"pop-*\", webviews: \"embed\", URL: https://*.b.dev]\n\nreferenced by: capability: main, permission: allow-open || capability: main, permission: allow-open || capability: main, permission: allow-open"},
		{"explicit deny", Request{"plugin:shell|spawn", "main", "main", LocalOrigin}, false, false, nil, "shell.spawn explicitly denied on origin local\n\nreferenced by: capability: main, permission: deny-spawn"},
		{"window glob", Request{"plugin:fs|read_file", "pop-up", "pop-up", LocalOrigin}, true, false, []uint64{1, 2}, "allowed"},
		{"window glob needs the hyphen", Request{"plugin:fs|read_file", "popup", "popup", LocalOrigin}, false, false, nil, "fs.read_file not allowed on window \"popup\""},
		{"webview label", Request{"plugin:window|close", "other", "embed", LocalOrigin}, true, false, nil, "allowed"},
		{"platform-limited permission", Request{"plugin:fs|write_file", "main", "main", LocalOrigin}, false, false, nil, "fs.write_file not allowed. Permissions associated with this command: fs:allow-write"},
		{"command known to a manifest", Request{"plugin:shell|spawn", "x", "x", MustOrigin("https://nowhere.example/")}, false, false, nil, "shell.spawn not allowed. Command not found"},
		{"core plugin", Request{"plugin:window|minimize", "main", "main", LocalOrigin}, false, false, nil, "window.minimize not allowed. Command not found"},
		{"unknown plugin", Request{"plugin:dialog|open", "main", "main", LocalOrigin}, false, false, nil, "dialog.open not allowed. Plugin not found"},
		{"empty window label", Request{"ping", "", "main", LocalOrigin}, false, false, nil, "no window or webview label"},
		{"empty webview label", Request{"ping", "main", "", LocalOrigin}, false, false, nil, "no window or webview label"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := r.Decide(c.req)
			if d.Allowed != c.allowed || d.LegacyDenied != c.legacy {
				t.Errorf("allowed=%v legacy=%v, want %v %v (%s)", d.Allowed, d.LegacyDenied, c.allowed, c.legacy, d.Message)
			}
			if !cmp.Equal(d.ScopeIDs(), c.scopes) {
				t.Errorf("scope ids %v, want %v", d.ScopeIDs(), c.scopes)
			}
			if !strings.Contains(d.Message, c.message) {
				t.Errorf("message\n%s\ndoes not contain\n%s", d.Message, c.message)
			}
		})
	}
}

func TestPermissionDetail(t *testing.T) {
	// A command no capability grants: Tauri lists the permissions that
	// would allow it, sorted, with the plugin prefix.
	p := func(id string, allow ...string) *Permission {
		return &Permission{Identifier: id, Commands: Commands{Allow: allow, Deny: []string{}}}
	}
	ms := Manifests{
		"core:window": {
			Default:     &PermissionSet{Identifier: "default", Permissions: []string{"allow-close"}},
			Permissions: map[string]*Permission{"allow-close": p("allow-close", "close"), "allow-hide": p("allow-hide", "hide")},
			Sets:        map[string]*PermissionSet{"all": {Identifier: "all", Permissions: []string{"default", "allow-hide"}}},
		},
		AppKey: {Permissions: map[string]*Permission{"allow-ping": p("allow-ping", "ping")}, Sets: map[string]*PermissionSet{}},
	}
	r, err := Resolve(ms, CapabilitySet{}, Linux)
	if err != nil {
		t.Fatal(err)
	}
	for cmd, want := range map[string]string{
		"plugin:window|close": "window.close not allowed. Permissions associated with this command: core:window:all, core:window:allow-close, core:window:default",
		"plugin:window|hide":  "window.hide not allowed. Permissions associated with this command: core:window:all, core:window:allow-hide",
		"ping":                "ping not allowed. Permissions associated with this command: allow-ping",
	} {
		if got := r.Decide(Request{cmd, "main", "main", LocalOrigin}).Message; got != want {
			t.Errorf("%s:\n got %s\nwant %s", cmd, got, want)
		}
	}
}

func TestEffective(t *testing.T) {
	ms, caps := loadMixed(t)
	r, err := Resolve(ms, caps, Linux)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range r.Effective("pop-1", "pop-1", LocalOrigin) {
		refs := make([]string, len(g.Via))
		for i, v := range g.Via {
			refs[i] = v.Capability + "/" + v.PermissionRef()
		}
		got = append(got, g.Command+" via "+strings.Join(refs, ","))
	}
	want := []string{
		"ping via main/allow-ping",
		"plugin:fs|read_file via main/fs:read-home,main/fs:read-home",
		"plugin:shell|open via main/shell:allow-open",
		"plugin:window|close via main/core:window:allow-close",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if g := r.Effective("kiosk", "kiosk", MustOrigin("https://kiosk.example.com")); len(g) != 0 {
		t.Errorf("kiosk may call %d commands, want none", len(g))
	}
}

// chainManifests builds a plugin whose set s0 includes s1 twice, s1
// includes s2 twice, and so on: 2^n paths lead to the one permission.
func chainManifests(n int) Manifests {
	m := &Manifest{Permissions: map[string]*Permission{}, Sets: map[string]*PermissionSet{}}
	m.Permissions["allow-x"] = &Permission{Identifier: "allow-x", Commands: Commands{Allow: []string{"x"}, Deny: []string{}}}
	for i := 0; i < n; i++ {
		next := fmt.Sprintf("s%d", i+1)
		if i == n-1 {
			next = "allow-x"
		}
		id := fmt.Sprintf("s%d", i)
		m.Sets[id] = &PermissionSet{Identifier: id, Description: "chain", Permissions: []string{next, next}}
	}
	return Manifests{"p": m}
}

func capWith(perms ...string) CapabilitySet {
	c := &Capability{Identifier: "c", Local: true, Windows: []string{"main"}}
	for _, p := range perms {
		c.Permissions = append(c.Permissions, PermissionEntry{Identifier: MustIdentifier(p)})
	}
	return CapabilitySet{"c": c}
}

func TestSetChainResolvesOnce(t *testing.T) {
	// Tauri would visit 2^40 paths here; each permission is resolved once.
	r, err := Resolve(chainManifests(40), capWith("p:s0"), Linux)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Allowed["plugin:p|x"]); n != 1 {
		t.Errorf("plugin:p|x has %d entries, want 1", n)
	}
	// Two entries naming the same permission still give two resolutions,
	// as in Tauri: only repeats within one entry's set graph collapse.
	r, err = Resolve(chainManifests(3), capWith("p:s0", "p:allow-x"), Linux)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Allowed["plugin:p|x"]); n != 2 {
		t.Errorf("plugin:p|x has %d entries, want 2", n)
	}
}

func TestSetCycle(t *testing.T) {
	for _, c := range []struct {
		name  string
		sets  map[string][]string
		chain string
	}{
		{"self", map[string][]string{"a": {"a"}}, "p:a -> p:a"},
		{"two", map[string][]string{"a": {"allow-x", "b"}, "b": {"a"}}, "p:a -> p:b -> p:a"},
		{"through default", map[string][]string{"a": {"default"}}, "p:a -> p:default -> p:a"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &Manifest{Permissions: map[string]*Permission{"allow-x": {Identifier: "allow-x", Commands: Commands{Allow: []string{"x"}}}}, Sets: map[string]*PermissionSet{}}
			for id, perms := range c.sets {
				m.Sets[id] = &PermissionSet{Identifier: id, Permissions: perms}
			}
			m.Default = &PermissionSet{Identifier: "default", Permissions: []string{"a"}}
			_, err := Resolve(Manifests{"p": m}, capWith("p:a"), Linux)
			if !errors.Is(err, ErrCycle) {
				t.Fatalf("want ErrCycle, got %v", err)
			}
			if !strings.Contains(err.Error(), c.chain) {
				t.Errorf("error %q does not print the cycle %q", err, c.chain)
			}
		})
	}
}

// writeApp writes files into a temporary src-tauri folder.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestResolveErrorsHavePositions(t *testing.T) {
	ms := Manifests{"fs": {
		Default:     &PermissionSet{Identifier: "default", Permissions: []string{"allow-read-file"}},
		Permissions: map[string]*Permission{"allow-read-file": {Identifier: "allow-read-file", Commands: Commands{Allow: []string{"read_file"}}}, "allow-write-file": {Identifier: "allow-write-file", Commands: Commands{Allow: []string{"write_file"}}}, "allow-read-dir": {Identifier: "allow-read-dir", Commands: Commands{Allow: []string{"read_dir"}}}},
		Sets:        map[string]*PermissionSet{},
	}}
	cases := []struct {
		name, file, content string
		kind                error
		pos                 string
		parts               []string
	}{
		{"unknown permission", "main.json", "{\n  \"identifier\": \"main\",\n  \"windows\": [\"main\"],\n  \"permissions\": [\"fs:default\", \"fs:allow-read-fil\"]\n}", ErrUnknownPermission, "main.json:4:33",
			[]string{`capability "main", permission 1`, `unknown permission "allow-read-fil" for fs`, `did you mean "fs:allow-read-file", "fs:allow-read-dir" or "fs:allow-write-file"?`}},
		{"unknown plugin", "main.toml", "identifier = \"main\"\nwindows = [\"main\"]\npermissions = [\"dialog:default\"]\n", ErrUnknownPermission, "main.toml:3:16",
			[]string{`unknown plugin "dialog"`}},
		{"bad glob", "main.json", "{\"identifier\": \"main\", \"windows\": [\"ok\", \"bad[\"], \"permissions\": [\"fs:default\"]}", ErrInvalid, "main.json:1:42",
			[]string{`invalid glob pattern "bad["`, "invalid range pattern"}},
		{"bad remote", "main.json", "{\"identifier\": \"main\", \"remote\": {\"urls\": [\"https://ok.dev\", \"https://a b/[\"]}, \"permissions\": [\"fs:default\"]}", ErrInvalid, "main.json:1:62",
			[]string{"invalid remote URL pattern"}},
		{"remote without protocol", "main.json", "{\"identifier\": \"main\", \"remote\": {\"urls\": [\"/api/*\"]}, \"permissions\": [\"fs:default\"]}", ErrInvalid, "main.json:1:44",
			[]string{"has no protocol", "would match every origin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeApp(t, map[string]string{"capabilities/" + c.file: c.content})
			app, err := LoadApp(dir, Linux)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Resolve(ms, app.Capabilities, Linux)
			wantError(t, err, c.kind, filepath.Join(dir, "capabilities", c.file)+":"+c.pos[strings.Index(c.pos, ":")+1:], c.parts...)
		})
	}
}

func TestSetEntryErrors(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"perms/p.toml": "[[set]]\nidentifier = \"s\"\ndescription = \"d\"\npermissions = [\"allow-a\", \"allow-b\"]\n\n[[set]]\nidentifier = \"bad\"\ndescription = \"d\"\npermissions = [\"no_underscores\"]\n\n[[permission]]\nidentifier = \"allow-a\"\ncommands.allow = [\"a\"]\n",
	})
	files, err := LoadPermissionDir(filepath.Join(dir, "perms"))
	if err != nil {
		t.Fatal(err)
	}
	ms := Manifests{"p": NewManifest(files, nil)}
	_, err = Resolve(ms, capWith("p:s"), Linux)
	wantError(t, err, ErrUnknownPermission, filepath.Join(dir, "perms", "p.toml")+":4:27", "permission allow-b not found from set s", `reached from capability "c", permission 0`, `"p:allow-a"`)
	_, err = Resolve(ms, capWith("p:bad"), Linux)
	wantError(t, err, ErrInvalidIdentifier, filepath.Join(dir, "perms", "p.toml")+":9:16", `permission set "p:bad"`, `"no_underscores"`)
}

func TestAppConfigSelection(t *testing.T) {
	caps := map[string]string{
		"capabilities/a.json": `{"identifier": "a", "windows": ["main"], "permissions": []}`,
		"capabilities/b.json": `{"identifier": "b", "windows": ["main"], "permissions": []}`,
	}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range caps {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	ids := func(s CapabilitySet) string {
		var out []string
		for _, c := range s.Sorted() {
			out = append(out, c.Identifier)
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name   string
		files  map[string]string
		target Target
		want   string
		err    string
	}{
		{"no config: every file", with(nil), Linux, "a,b", ""},
		{"empty list: every file", with(map[string]string{"tauri.conf.json": `{"app": {"security": {"capabilities": []}}}`}), Linux, "a,b", ""},
		{"reference and inline", with(map[string]string{"tauri.conf.json": `{"app": {"security": {"capabilities": ["b", {"identifier": "inline", "permissions": []}]}}}`}), Linux, "b,inline", ""},
		{"platform overlay replaces the list", with(map[string]string{"tauri.conf.json": `{"app": {"security": {"capabilities": ["a"]}}}`, "tauri.linux.conf.json": `{"app": {"security": {"capabilities": ["b"]}}}`}), Linux, "b", ""},
		{"overlay of another platform", with(map[string]string{"tauri.conf.json": `{"app": {"security": {"capabilities": ["a"]}}}`, "tauri.linux.conf.json": `{"app": {"security": {"capabilities": ["b"]}}}`}), MacOS, "a", ""},
		{"overlay null removes the list", with(map[string]string{"tauri.conf.json": `{"app": {"security": {"capabilities": ["a"]}}}`, "tauri.macos.conf.json": `{"app": {"security": null}}`}), MacOS, "a,b", ""},
		{"toml config", with(map[string]string{"Tauri.toml": "[app.security]\ncapabilities = [\"a\"]\n"}), Linux, "a", ""},
		{"json5 config", with(map[string]string{"tauri.conf.json5": "{app: {security: {capabilities: ['b',]}}}"}), Linux, "b", ""},
		{"json5 inside .json", with(map[string]string{"tauri.conf.json": "{app: {security: {capabilities: ['a']}}} // note"}), Linux, "a", ""},
		{"missing reference", with(map[string]string{"tauri.conf.json": "{\n  \"app\": {\"security\": {\"capabilities\": [\"c\"]}}\n}"}), Linux, "", `tauri.conf.json:2:41: capability with identifier "c" not found`},
		{"reference listed twice", with(map[string]string{"tauri.conf.json": `{"app": {"security": {"capabilities": ["a", "a"]}}}`}), Linux, "", `capability "a" is listed twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeApp(t, c.files)
			app, err := LoadApp(dir, c.target)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(app.Capabilities); got != c.want {
				t.Errorf("capabilities %s, want %s", got, c.want)
			}
			if got := ids(app.Files); got != "a,b" {
				t.Errorf("file capabilities %s, want a,b", got)
			}
		})
	}
}

// manifestsForOtherTarget lists the (app, target) pairs whose committed
// acl-manifests.json was written by a build for another target, so that
// it lacks a plugin that the capabilities active on this target name.
// Tauri only checks the capabilities of the target it builds, so these
// apps build fine; resolving them for this target needs that target's
// manifests. The test checks that the missing plugin is indeed absent.
var manifestsForOtherTarget = map[string]string{
	"AveryanAlex__IronWing/android":      "bluetooth-classic",
	"afadil__wealthfolio/macOS":          "updater",
	"afadil__wealthfolio/windows":        "updater",
	"afadil__wealthfolio/linux":          "updater",
	"darksoil-studio__dash-chat/android": "barcode-scanner",
	"darksoil-studio__dash-chat/iOS":     "barcode-scanner",
}

// sampleLabel returns a label a window pattern matches, or "" when the
// simple substitution does not find one.
func sampleLabel(g *Glob) string {
	s := strings.NewReplacer("**", "x", "*", "x", "?", "x").Replace(g.String())
	if g.Match(s) {
		return s
	}
	return ""
}

// TestCorpusResolveAndDecide resolves every app of the corpus for linux and
// for every target its capabilities name, then checks that every window a
// grant names may call the command and that an unlisted window may not.
func TestCorpusResolveAndDecide(t *testing.T) {
	const unlisted = "capguard-unlisted-window"
	seenException := map[string]bool{}
	pairs := 0
	for _, name := range conformance.Apps(t) {
		t.Run(name, func(t *testing.T) {
			dir := conformance.Path(t, "apps", name, "src-tauri")
			for _, tg := range Targets {
				app, err := LoadApp(dir, tg)
				if err != nil {
					t.Fatalf("%s: %v", tg, err)
				}
				named := tg == Linux
				for _, c := range app.Capabilities {
					for _, p := range c.Platforms {
						named = named || p == tg
					}
				}
				if !named {
					continue
				}
				r, err := Resolve(app.Manifests, app.Capabilities, tg)
				key := name + "/" + tg.String()
				if missing, ok := manifestsForOtherTarget[key]; ok {
					seenException[key] = true
					if !errors.Is(err, ErrUnknownPermission) || !strings.Contains(err.Error(), fmt.Sprintf("unknown plugin %q", missing)) {
						t.Errorf("%s: want an unknown plugin %q error, got %v", tg, missing, err)
					}
					if _, present := app.Manifests[missing]; present {
						t.Errorf("%s: %q is in the manifests after all", tg, missing)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", tg, err)
				}
				for cmd, entries := range r.Allowed {
					reachable := false
					for _, e := range entries {
						if !e.Context.IsLocal() {
							continue
						}
						for _, w := range e.Windows {
							label := sampleLabel(w)
							if label == "" {
								continue
							}
							pairs++
							if d := r.Decide(Request{cmd, label, label, LocalOrigin}); !d.Allowed {
								t.Errorf("%s: %s from window %q denied: %s", tg, cmd, label, d.Message)
							}
						}
						reachable = reachable || e.MatchesLabel(unlisted, unlisted)
					}
					d := r.Decide(Request{cmd, unlisted, unlisted, LocalOrigin})
					if d.Allowed != reachable {
						t.Errorf("%s: %s from an unlisted window: allowed=%v, want %v", tg, cmd, d.Allowed, reachable)
					}
				}
			}
		})
	}
	for key := range manifestsForOtherTarget {
		if !seenException[key] {
			t.Errorf("exception %s was not exercised", key)
		}
	}
	t.Logf("checked %d (command, window) pairs", pairs)
	if pairs < 1000 {
		t.Errorf("only %d pairs checked; the corpus has thousands", pairs)
	}
}
