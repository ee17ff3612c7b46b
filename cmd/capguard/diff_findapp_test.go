package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
)

// TestValidateFindsTheApp: validate without a path uses ./src-tauri, or
// the nearest folder upwards with a Tauri configuration, and says which;
// only with no app anywhere does it validate the embedded example, saying
// so. (t.Chdir: these tests change the process's working directory and
// cannot run in parallel.)
func TestValidateFindsTheApp(t *testing.T) {
	root := t.TempDir()
	copyTree(t, conformance.Path(t, "apps", "NicolaSpadari__nuxtor", "src-tauri"), filepath.Join(root, "src-tauri"))
	// nuxtor's main.json:21:5 has a scope error: seeing it proves which app
	// was validated.
	const nuxtorError = "main.json:21:5: error"
	for _, tc := range []struct {
		name, cwd, note, out string
		code                 int
	}{
		{"./src-tauri", root, "capguard: validating the app at src-tauri (the src-tauri folder of the current directory)\n", nuxtorError, 1},
		{"the app itself", filepath.Join(root, "src-tauri"), "capguard: validating the app at . (the current directory)\n", nuxtorError, 1},
		{"a folder inside the app", filepath.Join(root, "src-tauri", "capabilities"),
			"capguard: validating the app at " + filepath.Join(root, "src-tauri") + " (the nearest folder above the current directory with a Tauri configuration)\n", nuxtorError, 1},
		{"no app anywhere", t.TempDir(), "capguard: no Tauri app here (no ./src-tauri, no tauri.conf.json from the current directory upwards): validating the embedded example app examples/app/src-tauri\n", "0 errors", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(tc.cwd)
			stdout, stderr, code := capguard(t, "validate")
			if code != tc.code || stderr != tc.note || !strings.Contains(stdout, tc.out) {
				t.Errorf("exit %d, stderr %q\n%s", code, stderr, stdout)
			}
		})
	}
}

// TestDiffFindsTheApp: diff without NEW compares with the app found on
// disk, without OLD too from HEAD; a revision given alone is read at the
// app's place in the repository (an app in a subfolder, a default branch
// that is not main).
func TestDiffFindsTheApp(t *testing.T) {
	repo := t.TempDir()
	app := filepath.Join(repo, "apps", "desk", "src-tauri")
	copyTree(t, conformance.Path(t, "apps", "NicolaSpadari__nuxtor", "src-tauri"), app)
	gitIn(t, repo, "init", "-q", "-b", "trunk")
	gitIn(t, repo, "add", ".")
	gitIn(t, repo, "commit", "-q", "-m", "app")
	t.Chdir(filepath.Join(repo, "apps", "desk"))

	stdout, stderr, code := capguard(t, "diff")
	if code != 0 || !strings.HasPrefix(stdout, "capguard diff: unchanged") || stderr != "capguard: comparing the app at src-tauri (the src-tauri folder of the current directory)\n" {
		t.Fatalf("before the edit: exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	// An uncommitted edit: HEAD against the work tree.
	widenWindows(t, app)
	stdout, _, code = capguard(t, "diff")
	if code != 0 || !strings.HasPrefix(stdout, "capguard diff: widened") || !strings.Contains(stdout, "HEAD → src-tauri") {
		t.Fatalf("uncommitted edit: exit %d\n%s", code, stdout)
	}
	// Committed on a branch: the base branch alone names the old side.
	gitIn(t, repo, "checkout", "-q", "-b", "feature")
	gitIn(t, repo, "commit", "-q", "-am", "wider")
	stdout, _, code = capguard(t, "diff", "trunk", "--fail-on", "critical")
	if code != 1 || !strings.HasPrefix(stdout, "capguard diff: widened") || !strings.Contains(stdout, "trunk → src-tauri") {
		t.Fatalf("trunk: exit %d\n%s", code, stdout)
	}
	stdout, _, code = capguard(t, "diff", "trunk", "HEAD")
	if code != 0 || !strings.HasPrefix(stdout, "capguard diff: widened") || !strings.Contains(stdout, "apps/desk/src-tauri/capabilities/main.json") {
		t.Fatalf("trunk HEAD: exit %d\n%s", code, stdout)
	}
	// A revision before the app existed is an empty app.
	if err := os.WriteFile(filepath.Join(repo, "README"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, repo, "checkout", "-q", "--orphan", "empty")
	gitIn(t, repo, "rm", "-q", "-r", "--cached", "apps")
	gitIn(t, repo, "add", "README")
	gitIn(t, repo, "commit", "-q", "-m", "before the app")
	stdout, _, code = capguard(t, "diff", "empty", "feature")
	if code != 0 || !strings.HasPrefix(stdout, "capguard diff: widened") || !strings.Contains(stdout, "empty has no folder apps/desk/src-tauri: compared as an app without capabilities") {
		t.Fatalf("empty feature: exit %d\n%s", code, stdout)
	}
}
