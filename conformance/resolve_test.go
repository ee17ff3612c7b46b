package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/internal/policytest"
)

// appCase is one app folder resolved for one target.
type appCase struct {
	name   string // apps/<app>@<target> or fixtures/<fixture>@<target>
	dir    string
	target acl.Target
	// line is the tauri-utils release the app's Cargo.lock pins ("" when
	// unknown).
	line string
}

// corpusCases lists every corpus app for linux and for every target its
// capabilities name, and every Tauri resolver fixture (laid out as an app
// folder in a temporary directory, its manifests built from the fixture's
// permission files).
func corpusCases(t *testing.T) []appCase {
	t.Helper()
	var out []appCase
	for _, app := range conformance.Apps(t) {
		dir := conformance.Path(t, "apps", app, "src-tauri")
		base, err := acl.LoadApp(dir, acl.Linux)
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		targets := map[acl.Target]bool{acl.Linux: true}
		for _, set := range []acl.CapabilitySet{base.Files, base.Capabilities} {
			for _, c := range set {
				for _, p := range c.Platforms {
					targets[p] = true
				}
			}
		}
		line := conformance.Meta(t, app).Versions["tauri-utils"]
		for _, tg := range acl.Targets {
			if targets[tg] {
				out = append(out, appCase{name: fmt.Sprintf("apps/%s@%s", app, tg), dir: dir, target: tg, line: line})
			}
		}
	}
	return append(out, fixtureCases(t)...)
}

// fixtureCases lays out Tauri's resolver fixtures as app folders.
func fixtureCases(t *testing.T) []appCase {
	t.Helper()
	tmp := t.TempDir()
	var out []appCase
	for _, f := range policytest.LoadFixtures(t) {
		dir := filepath.Join(tmp, f.Name)
		writeFile(t, filepath.Join(dir, "gen", "schemas", "acl-manifests.json"), acl.MarshalManifests(f.Manifests))
		for _, file := range f.CapFiles {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "capabilities", filepath.Base(file)), data)
		}
		for _, tg := range []acl.Target{acl.Linux, acl.MacOS, acl.Windows} {
			out = append(out, appCase{name: fmt.Sprintf("fixtures/%s@%s", f.Name, tg), dir: dir, target: tg})
		}
	}
	return out
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// capguardResolve resolves an app folder with capguard: the resolved ACL
// as generic JSON (the form `capguard resolve --format json` prints), or
// the error.
func capguardResolve(dir string, target acl.Target) (*acl.Resolved, any, error) {
	app, err := acl.LoadApp(dir, target)
	if err != nil {
		return nil, nil, err
	}
	if app.Manifests == nil {
		return nil, nil, errors.New("no gen/schemas/acl-manifests.json")
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, target)
	if err != nil {
		return nil, nil, err
	}
	var v any
	if err := json.Unmarshal(acl.MarshalResolved(r), &v); err != nil {
		return nil, nil, err
	}
	return r, v, nil
}

// resolution compares capguard's resolution of one case with Tauri's on
// tauri-utils release v: "" when equal (or both reject), else a
// description of the difference.
func resolution(t *testing.T, c appCase, v string) string {
	t.Helper()
	_, mine, myErr := capguardResolve(c.dir, c.target)
	a := oracleFor(t, v).do(t, map[string]any{"op": "resolve", "dir": c.dir, "target": c.target.String()})
	switch {
	case !a.OK && myErr != nil:
		return ""
	case !a.OK:
		return fmt.Sprintf("Tauri rejects (%s), capguard resolves", a.Error)
	case myErr != nil:
		return fmt.Sprintf("capguard rejects (%v), Tauri resolves", myErr)
	}
	var theirs any
	if err := json.Unmarshal(a.Resolved, &theirs); err != nil {
		t.Fatalf("%s: oracle JSON: %v", c.name, err)
	}
	if d := cmp.Diff(theirs, mine); d != "" {
		return "resolved ACL differs (-tauri +capguard):\n" + d
	}
	return ""
}

// TestResolutionMatchesTauri resolves every corpus app and Tauri fixture
// with capguard and with tauri-utils (the app's own release, and the
// newest), and requires equal resolved ACLs field by field: commands,
// contexts, windows, webviews, scope ids and values, global scopes.
func TestResolutionMatchesTauri(t *testing.T) {
	newest := mainVersion(t)
	known := map[string]bool{}
	for _, v := range oracleVersions(t) {
		known[v] = true
	}
	cases := corpusCases(t)
	var equal, compared, rejectedBoth int
	var noLine []string
	for _, c := range cases {
		lines := []string{newest}
		switch {
		case c.line == "" || c.line == newest:
		case known[c.line]:
			lines = append(lines, c.line)
		default:
			noLine = append(noLine, c.name+" ("+c.line+")")
		}
		for _, v := range lines {
			compared++
			if d := resolution(t, c, v); d != "" {
				t.Errorf("%s on tauri-utils %s: %s", c.name, v, d)
				continue
			}
			equal++
			if _, _, err := capguardResolve(c.dir, c.target); err != nil {
				rejectedBoth++
			}
		}
	}
	sort.Strings(noLine)
	t.Logf("resolution: %d of %d (case, tauri-utils release) pairs equal over %d cases (%d rejected by both); no oracle build for the pinned release of: %s",
		equal, compared, len(cases), rejectedBoth, strings.Join(noLine, ", "))
	if compared < len(cases) {
		t.Fatalf("compared %d pairs for %d cases", compared, len(cases))
	}
}
