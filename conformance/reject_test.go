package conformance

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/schema"
)

// extraErrorRules are the checks `capguard validate` makes that Tauri's
// build does not (docs/validate.md): a file Tauri accepts may still get
// errors from these rules, and from no other.
var extraErrorRules = map[string]string{
	schema.RuleScope: "a scope entry that the plugin's own scope schema rejects (Tauri reads scopes only when the command runs)",
}

// mutation changes one capability (a JSON object) of an app, or adds a file.
type mutation struct {
	name string
	// edit changes the first capability of the first JSON capability file;
	// nil when add is used.
	edit func(c map[string]any)
	// add writes extra capability files (name → content) next to it.
	add func(c map[string]any) map[string]string
}

func appendPermission(p any) func(c map[string]any) {
	return func(c map[string]any) {
		list, _ := c["permissions"].([]any)
		c["permissions"] = append(list, p)
	}
}

func set(field string, v any) func(c map[string]any) {
	return func(c map[string]any) { c[field] = v }
}

// mutations are the ways a capability file goes wrong: unknown
// permissions and plugins, invalid identifiers of every class, duplicate
// identifiers, wrong field types, unknown fields, bad globs and URL
// patterns.
var mutations = []mutation{
	{name: "unknown permission", edit: appendPermission("core:window:allow-fly-away")},
	{name: "unknown plugin", edit: appendPermission("nosuchplugin:default")},
	{name: "unknown app permission", edit: appendPermission("allow-nothing-at-all")},
	{name: "identifier: upper case", edit: appendPermission("Core:default")},
	{name: "identifier: double colon", edit: appendPermission("core::default")},
	{name: "identifier: leading hyphen", edit: appendPermission("-core:default")},
	{name: "identifier: hyphen before colon", edit: appendPermission("core-:default")},
	{name: "identifier: hyphen after colon", edit: appendPermission("core:-default")},
	{name: "identifier: trailing hyphen", edit: appendPermission("core:default-")},
	{name: "identifier: tauri-plugin- prefix", edit: appendPermission("tauri-plugin-fs:default")},
	{name: "identifier: empty", edit: appendPermission("")},
	{name: "identifier: space", edit: appendPermission("core:de fault")},
	{name: "identifier: underscore", edit: appendPermission("core:allow_x")},
	{name: "identifier: too long", edit: appendPermission("core:" + strings.Repeat("a", 120))},
	{name: "identifier: three parts", edit: appendPermission("fs:a:b")},
	{name: "identifier: non-ASCII", edit: appendPermission("core:défaut")},
	{name: "capability identifier: invalid", edit: set("identifier", "Main Window")},
	{name: "capability identifier: empty", edit: set("identifier", "")},
	{name: "capability identifier: number", edit: set("identifier", 7)},
	{name: "windows: a string", edit: set("windows", "main")},
	{name: "windows: a number in the list", edit: set("windows", []any{"main", 3})},
	{name: "webviews: an object", edit: set("webviews", map[string]any{"a": 1})},
	{name: "local: a string", edit: set("local", "yes")},
	{name: "permissions: an object", edit: set("permissions", map[string]any{})},
	{name: "permissions: a number", edit: appendPermission(42)},
	{name: "permission object: no identifier", edit: appendPermission(map[string]any{"allow": []any{}})},
	{name: "permission object: allow a string", edit: appendPermission(map[string]any{"identifier": "core:default", "allow": "x"})},
	{name: "platforms: unknown", edit: set("platforms", []any{"beos"})},
	{name: "platforms: a string", edit: set("platforms", "linux")},
	{name: "remote: urls a string", edit: set("remote", map[string]any{"urls": "https://tauri.app"})},
	{name: "remote: no urls", edit: set("remote", map[string]any{})},
	{name: "remote: not a URL pattern", edit: set("remote", map[string]any{"urls": []any{"not a url"}})},
	{name: "remote: bad host", edit: set("remote", map[string]any{"urls": []any{"https://[::"}})},
	{name: "remote: bad port", edit: set("remote", map[string]any{"urls": []any{"https://tauri.app:99999"}})},
	{name: "remote: unbalanced group", edit: set("remote", map[string]any{"urls": []any{"https://tauri.app/(a"}})},
	{name: "glob: unclosed class", edit: set("windows", []any{"[main"})},
	{name: "glob: bad recursive wildcard", edit: set("windows", []any{"ma**in"})},
	{name: "glob: webview unclosed class", edit: set("webviews", []any{"w[!"})},
	{name: "unknown field", edit: set("windowz", []any{"main"})},
	{name: "description: a number", edit: set("description", 1)},
	{name: "no identifier", edit: func(c map[string]any) { delete(c, "identifier") }},
	{name: "no permissions", edit: func(c map[string]any) { delete(c, "permissions") }},
	{name: "duplicate identifier", add: func(c map[string]any) map[string]string {
		data, _ := json.Marshal(map[string]any{"identifier": c["identifier"], "windows": []any{"dup"}, "permissions": []any{}})
		return map[string]string{"zz-duplicate.json": string(data)}
	}},
	{name: "not JSON", add: func(map[string]any) map[string]string {
		return map[string]string{"zz-broken.json": `{"identifier": "broken", "permissions": [`}
	}},
	{name: "TOML: wrong type", add: func(map[string]any) map[string]string {
		return map[string]string{"zz-bad.toml": "identifier = \"t\"\nwindows = \"main\"\npermissions = []\n"}
	}},
}

// copyApp copies what validation and resolution read of an app folder:
// capabilities/, gen/schemas/ and the configuration files.
func copyApp(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return nil
		}
		top := strings.Split(filepath.ToSlash(rel), "/")[0]
		if top != "capabilities" && top != "gen" && !strings.HasPrefix(strings.ToLower(top), "tauri") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dst, rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// firstJSONCapability finds the first capability of the first JSON
// capability file of an app copy: its path, the parsed file and the
// capability object inside it.
func firstJSONCapability(dir string) (string, any, map[string]any) {
	files, _ := filepath.Glob(filepath.Join(dir, "capabilities", "*.json"))
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if list, ok := x["capabilities"].([]any); ok && len(list) > 0 {
				if c, ok := list[0].(map[string]any); ok {
					return f, v, c
				}
			} else if _, ok := x["identifier"]; ok {
				return f, v, x
			}
		case []any:
			if len(x) > 0 {
				if c, ok := x[0].(map[string]any); ok {
					return f, v, c
				}
			}
		}
	}
	return "", nil, nil
}

// TestRejectionsMatchTauri mutates a capability of every corpus app in
// every way of `mutations` and requires that (1) no file that Tauri's
// resolution rejects passes `capguard validate` without an error, and (2)
// every error `capguard validate` reports on a file Tauri accepts comes
// from one of the extra checks the README names. The unmutated apps are
// checked the same way.
func TestRejectionsMatchTauri(t *testing.T) {
	o := oracleFor(t, mainVersion(t))
	tmp := t.TempDir()
	var files, tauriRejects, bothReject, extra int
	byRule := map[string]int{}
	for _, app := range conformance.Apps(t) {
		src := conformance.Path(t, "apps", app, "src-tauri")
		for i, m := range append([]mutation{{name: "unmutated"}}, mutations...) {
			dir := filepath.Join(tmp, app, fmt.Sprint(i))
			copyApp(t, src, dir)
			file, doc, c := firstJSONCapability(dir)
			if c == nil && m.name != "unmutated" && m.add == nil {
				continue // no JSON capability to edit (a TOML-only app)
			}
			switch {
			case m.edit != nil:
				m.edit(c)
				data, _ := json.MarshalIndent(doc, "", "  ")
				writeFile(t, file, data)
			case m.add != nil:
				for name, text := range m.add(c) {
					writeFile(t, filepath.Join(dir, "capabilities", name), []byte(text))
				}
			}
			files++
			rep, err := schema.ValidateApp(dir, schema.Options{})
			if err != nil {
				t.Fatalf("%s / %s: validate: %v", app, m.name, err)
			}
			// Tauri's verdict on the targets the manifests were built for.
			var tauriErr string
			for _, tg := range rep.Targets {
				if a := o.do(t, map[string]any{"op": "resolve", "dir": dir, "target": tg.String()}); !a.OK {
					tauriErr = a.Error
					break
				}
			}
			errors := 0
			for _, f := range rep.Findings {
				if f.Severity == schema.Error {
					errors++
					byRule[f.Rule]++
				}
			}
			if tauriErr != "" {
				tauriRejects++
				if errors == 0 {
					t.Errorf("%s / %s: Tauri rejects it (%s) but capguard validate reports no error", app, m.name, truncate(tauriErr, 300))
				} else {
					bothReject++
				}
				continue
			}
			for _, f := range rep.Findings {
				if f.Severity != schema.Error {
					continue
				}
				if _, ok := extraErrorRules[f.Rule]; ok {
					extra++
					continue
				}
				if (f.Rule == schema.RuleGlob || f.Rule == schema.RuleRemoteURL) && inactive(c, rep.Targets) {
					// Tauri builds for one target and skips the others'
					// capabilities; capguard compiles every pattern, since
					// another target's build would fail on it.
					extra++
					continue
				}
				t.Errorf("%s / %s: Tauri accepts it, capguard validate reports %s", app, m.name, f)
			}
		}
	}
	var rules []string
	for r, n := range byRule {
		rules = append(rules, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(rules)
	t.Logf("rejections: %d capability folders (%d mutations × %d apps, and the apps themselves); Tauri rejects %d, capguard validate reports errors on %d of those; %d errors from capguard's extra checks on files Tauri accepts; errors by rule: %s",
		files, len(mutations), len(conformance.Apps(t)), tauriRejects, bothReject, extra, strings.Join(rules, ", "))
	if files < 1000 {
		t.Errorf("only %d capability folders checked, want at least 1,000", files)
	}
}

// inactive tells whether a capability (as JSON) applies to none of the
// targets: Tauri's build for those targets skips it.
func inactive(c map[string]any, targets []acl.Target) bool {
	list, ok := c["platforms"].([]any)
	if !ok {
		return false
	}
	for _, p := range list {
		for _, t := range targets {
			if p == t.String() {
				return false
			}
		}
	}
	return true
}
