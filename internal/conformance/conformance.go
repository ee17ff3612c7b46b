// Package conformance locates the shared conformance data (real files from
// the Tauri project and from public Tauri apps) for the tests that replay
// it. The data lives in ../shared/conformance next to the repository and is
// never copied into it.
package conformance

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// EnvVar turns the conformance tests into printed skips when set to "off",
// for clones that do not have the shared data. CI never sets it.
const EnvVar = "CAPGUARD_CONFORMANCE"

// Root returns the conformance folder: the one named by
// CAPGUARD_CONFORMANCE_DIR, else shared/conformance next to the repository
// (or next to a parent folder, or next to the repository a clone was made
// from). A missing folder fails the test, unless CAPGUARD_CONFORMANCE=off,
// which skips it with a message saying so.
func Root(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvVar) == "off" {
		t.Skipf("conformance data disabled by %s=off: this test did NOT run", EnvVar)
	}
	if dir := os.Getenv("CAPGUARD_CONFORMANCE_DIR"); dir != "" {
		return mustDir(t, dir)
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	// ../shared/conformance next to the repository; a clone made deeper
	// (e.g. a CI checkout in a subfolder) finds it further up.
	for dir := filepath.Dir(repo); ; dir = filepath.Dir(dir) {
		if st, err := os.Stat(filepath.Join(dir, "shared", "conformance")); err == nil && st.IsDir() {
			return mustDir(t, filepath.Join(dir, "shared", "conformance"))
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	// A clone elsewhere (git clone . /tmp/ci-check) finds the data next to
	// the repository it was cloned from.
	if out, err := exec.Command("git", "-C", repo, "config", "--get", "remote.origin.url").Output(); err == nil {
		origin := filepath.Clean(strings.TrimSpace(string(out)))
		if filepath.IsAbs(origin) {
			cand := filepath.Join(filepath.Dir(origin), "shared", "conformance")
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return mustDir(t, cand)
			}
		}
	}
	return mustDir(t, filepath.Join(repo, "..", "shared", "conformance"))
}

func mustDir(t testing.TB, dir string) string {
	t.Helper()
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		t.Fatalf("conformance data not found at %s (expected ../shared/conformance next to the repository; set %s=off to skip these tests explicitly): %v", dir, EnvVar, err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// Path joins elements onto the conformance root and fails if the result
// does not exist.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Root(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("conformance data %s is missing: %v", p, err)
	}
	return p
}

// Apps returns the names of the app folders under apps/, sorted.
func Apps(t testing.TB) []string {
	t.Helper()
	return subdirs(t, "apps")
}

// Plugins returns the names of the plugin folders under plugins-workspace/.
func Plugins(t testing.TB) []string {
	t.Helper()
	return subdirs(t, "plugins-workspace")
}

// subdirs lists the folders of a conformance folder, sorted, and fails
// when there are none.
func subdirs(t testing.TB, name string) []string {
	t.Helper()
	dir := Path(t, name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no folders under %s", dir)
	}
	return out
}

// AppMeta is the part of an app's meta.json the tests use.
type AppMeta struct {
	Repo                 string            `json:"repo"`
	Versions             map[string]string `json:"versions"`
	Plugins              []string          `json:"plugins"`
	SchemaFiles          []string          `json:"schema_files"`
	CapabilityFiles      []string          `json:"capability_files"`
	SchemaVsACLManifests map[string]any    `json:"schema_vs_acl_manifests"`
	SourceCapabilityIDs  []string          `json:"source_capability_ids"`
	CompiledCapabilities []string          `json:"compiled_capability_ids"`
}

// Meta reads apps/<app>/meta.json.
func Meta(t testing.TB, app string) AppMeta {
	t.Helper()
	data, err := os.ReadFile(Path(t, "apps", app, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m AppMeta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("meta.json of %s: %v", app, err)
	}
	return m
}
