package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/internal/doc"
)

// firstDiff describes where got and want part, with some context.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	line := bytes.Count(want[:i], []byte("\n")) + 1
	lo := max(0, i-120)
	return fmt.Sprintf("first difference at byte %d (line %d; lengths %d and %d):\n got: %q\nwant: %q",
		i, line, len(got), len(want), got[lo:min(len(got), i+120)], want[lo:min(len(want), i+120)])
}

// appMeta is the part of an app's meta.json this package's tests read.
type appMeta struct {
	Versions             map[string]*string `json:"versions"`
	SchemaVsACLManifests map[string]any     `json:"schema_vs_acl_manifests"`
	TauriRange           string             `json:"tauri_range_implied_by_core_permissions"`
}

func readAppMeta(t *testing.T, app string) appMeta {
	t.Helper()
	data, err := os.ReadFile(conformance.Path(t, "apps", app, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m appMeta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s/meta.json: %v", app, err)
	}
	return m
}

// tauriUtilsVersion is the tauri-utils version that built the app: the
// one of its Cargo.lock, or, for apps without a lock, the first
// tauri-utils of the Tauri range that its core permissions imply (every
// such app of the corpus is Tauri 2.6 or later, i.e. tauri-utils 2.5 or
// later, and the test fails when one is not, so that someone decides).
func tauriUtilsVersion(t *testing.T, app string, m appMeta) string {
	if v := m.Versions["tauri-utils"]; v != nil {
		return *v
	}
	first, _, _ := strings.Cut(m.TauriRange, "-")
	minor, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(first, "2."), ".x"))
	if err != nil || minor < 6 {
		t.Fatalf("%s has no Cargo.lock and its core permissions imply tauri %q: decide which schema format it has", app, m.TauriRange)
	}
	return Latest
}

// sameTokens compares two JSON texts as parsed trees, key order and
// number spelling included: the same document, whatever the whitespace.
func sameTokens(a, b []byte) bool {
	na, err := doc.ParseJSON(a)
	if err != nil {
		return false
	}
	nb, err := doc.ParseJSON(b)
	if err != nil {
		return false
	}
	var eq func(x, y *doc.Node) bool
	eq = func(x, y *doc.Node) bool {
		if x.Kind != y.Kind || x.Text != y.Text || x.Bool != y.Bool || len(x.Items) != len(y.Items) || len(x.Members) != len(y.Members) {
			return false
		}
		for i := range x.Items {
			if !eq(x.Items[i], y.Items[i]) {
				return false
			}
		}
		for i := range x.Members {
			if x.Members[i].Key != y.Members[i].Key || !eq(x.Members[i].Value, y.Members[i].Value) {
				return false
			}
		}
		return true
	}
	return eq(na, nb)
}

// scopeSchemasDiffer tells whether two schema texts have the same
// permission identifiers but different plugin scope schemas: a schema
// file written by a build whose plugins had other scope types than the
// committed acl-manifests.json records.
func scopeSchemasDiffer(got, want []byte) bool {
	type shape struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	var g, w shape
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return false
	}
	if !bytes.Equal(g.Definitions["Identifier"], w.Definitions["Identifier"]) {
		return false
	}
	return !bytes.Equal(g.Definitions["PermissionEntry"], w.Definitions["PermissionEntry"])
}

// Files that the committed acl-manifests.json cannot reproduce byte for
// byte although meta.json marks them "match" (meta.json compares only the
// permission identifiers). The test checks the reason of each.
var regenerationExceptions = map[string]string{
	// The repository's formatter rewrote gen/schemas after the build
	// (short arrays on one line, a final newline); acl-manifests.json of
	// the same folder is pretty-printed too, which tauri-build never does.
	"nostrnative__bloom/android-schema.json": "reformatted",
	"nostrnative__bloom/desktop-schema.json": "reformatted",
	"nostrnative__bloom/macOS-schema.json":   "reformatted",
	"nostrnative__bloom/mobile-schema.json":  "reformatted",
	// The mobile build ran with an older tauri-plugin-shell (scope entry
	// "Entry", definitions ShellAllowedArg/ShellAllowedArgs) than the
	// desktop build that wrote acl-manifests.json.
	"learturely__cxm/android-schema.json": "scope-schema",
	"learturely__cxm/mobile-schema.json":  "scope-schema",
}

// TestGenerateMatchesCorpus regenerates every schema file that meta.json
// marks as written from the committed acl-manifests.json, in the format
// of the tauri-utils version that wrote it, and compares bytes.
func TestGenerateMatchesCorpus(t *testing.T) {
	type result struct {
		file, format string
		ok           bool
	}
	var results []result
	for _, app := range conformance.Apps(t) {
		m := readAppMeta(t, app)
		var files []string
		for f, v := range m.SchemaVsACLManifests {
			if v == "match" {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			continue
		}
		sort.Strings(files)
		dir := conformance.Path(t, "apps", app, "src-tauri", "gen", "schemas")
		ms, err := acl.ReadManifests(filepath.Join(dir, "acl-manifests.json"))
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		version := tauriUtilsVersion(t, app, m)
		fi, err := pickFormat(version)
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		got, err := Generate(ms, GenerateOptions{Format: version})
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		for _, f := range files {
			key := app + "/" + f
			want, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			same := bytes.Equal(got, want)
			results = append(results, result{key, formats[fi].name, same})
			reason, excepted := regenerationExceptions[key]
			switch {
			case same && excepted:
				t.Errorf("%s (tauri-utils %s, format %s) now matches byte for byte: remove it from regenerationExceptions", key, version, formats[fi].name)
			case same:
			case !excepted:
				t.Errorf("%s (tauri-utils %s, format %s) differs: %s", key, version, formats[fi].name, firstDiff(got, want))
			case reason == "reformatted" && !sameTokens(got, want):
				t.Errorf("%s was reformatted after the build, but its tokens differ too: %s", key, firstDiff(got, want))
			case reason == "scope-schema" && !scopeSchemasDiffer(got, want):
				t.Errorf("%s: expected only the plugin scope schemas to differ: %s", key, firstDiff(got, want))
			default:
				t.Logf("%s: not reproducible from the committed acl-manifests.json (%s), as expected", key, reason)
			}
		}
	}
	// Summary per format, newest first; the newest format must be complete.
	for _, f := range formats {
		var n, ok int
		for _, r := range results {
			if r.format == f.name {
				n++
				if r.ok {
					ok++
				}
			}
		}
		t.Logf("format %s: %d of %d files byte for byte", f.name, ok, n)
	}
	if len(results) < 80 {
		t.Errorf("only %d regenerable schema files found; the corpus has 87", len(results))
	}
}

// TestFormatsFromVersions pins the version boundaries of the formats.
func TestFormatsFromVersions(t *testing.T) {
	for _, tc := range []struct{ version, want string }{
		{"", "2.5.0"}, {"latest", "2.5.0"}, {"2.9.3", "2.5.0"}, {"2.5.0", "2.5.0"}, {"2.5", "2.5.0"},
		{"2.5.0-rc.1", "2.3.1"}, {"2.4.1", "2.3.1"}, {"2.4.0", "2.3.1"}, {"2.3.1", "2.3.1"}, {"2.3.0", "2.3.0"}, {"2.2.0", "2.1.0"},
		{"2.1.1", "2.1.0"}, {"2.0.6", "2.0.2"}, {"2.0.2", "2.0.2"}, {"2.0.1", "2.0.0"}, {"2.0.0", "2.0.0"},
		{"3.0.0", "2.5.0"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			i, err := pickFormat(tc.version)
			if err != nil {
				t.Fatal(err)
			}
			if formats[i].name != tc.want {
				t.Errorf("format of %q = %s, want %s", tc.version, formats[i].name, tc.want)
			}
		})
	}
	for _, bad := range []string{"2.0.0-rc.2", "1.6.0", "two", "2", "2.x", "2.01.0"} {
		t.Run("bad/"+bad, func(t *testing.T) {
			if _, err := pickFormat(bad); err == nil {
				t.Errorf("pickFormat(%q) succeeded", bad)
			}
		})
	}
}
