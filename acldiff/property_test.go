package acldiff

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
)

// dirSide is a side read from a folder on disk.
func dirSide(t testing.TB, dir string) Side {
	t.Helper()
	s, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// corpusApps lists the corpus apps that have a src-tauri folder with
// manifests.
func corpusApps(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, app := range conformance.Apps(t) {
		dir := filepath.Join(conformance.Path(t, "apps", app), "src-tauri")
		if _, err := os.Stat(filepath.Join(dir, "gen", "schemas", "acl-manifests.json")); err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		out[app] = dir
	}
	return out
}

// TestSameSideUnchanged: diff A A is unchanged for every corpus app.
func TestSameSideUnchanged(t *testing.T) {
	for app, dir := range corpusApps(t) {
		t.Run(app, func(t *testing.T) {
			t.Parallel()
			s := dirSide(t, dir)
			rep, err := Compare(s, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != Unchanged || len(rep.Changes) != 0 {
				t.Fatalf("diff A A: %s, %d changes: %+v", rep.Verdict, len(rep.Changes), rep.Changes)
			}
			if len(rep.Targets) == 0 {
				t.Fatal("no targets compared")
			}
		})
	}
}
