package acldiff

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/internal/history"
)

// scratchRepo makes a git repository holding a copy of nuxtor as
// src-tauri, committed twice: first as it is, then with its windows
// widened to "*". It returns the repository's folder.
func scratchRepo(t testing.TB) string {
	t.Helper()
	repo := t.TempDir()
	app := copyApp(t, filepath.Join(conformance.Path(t, "apps", nuxtor), "src-tauri"))
	if err := os.Rename(app, filepath.Join(repo, "src-tauri")); err != nil {
		t.Fatal(err)
	}
	// A large file the diff must not read.
	if err := os.WriteFile(filepath.Join(repo, "src-tauri", "icon.bin"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	history.Git(t, repo, "init", "-q", "-b", "main")
	history.Git(t, repo, "add", ".")
	history.Git(t, repo, "commit", "-q", "-m", "app")
	p := filepath.Join(repo, "src-tauri", "capabilities", "main.json")
	c := readJSON(t, p).(map[string]any)
	c["windows"] = []any{"*"}
	writeJSON(t, p, c, "  ")
	history.Git(t, repo, "commit", "-q", "-am", "every window")
	return repo
}

func TestGitSides(t *testing.T) {
	repo := scratchRepo(t)
	for _, tc := range []struct{ old, new string }{
		{"HEAD~1", "HEAD"},
		{"main~1:src-tauri", "HEAD:src-tauri/"},
		{"HEAD~1:./src-tauri", filepath.Join(repo, "src-tauri")},
	} {
		t.Run(tc.old+" "+tc.new, func(t *testing.T) {
			old, err := Open(tc.old, OpenOptions{Repo: repo})
			if err != nil {
				t.Fatal(err)
			}
			new, err := Open(tc.new, OpenOptions{Repo: repo})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := old.FS.Open("icon.bin"); err == nil {
				t.Error("the git side read a file that apps do not use")
			}
			rep, err := Compare(old, new, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != Widened || rep.Narrowed != 0 {
				t.Fatalf("verdict %s: %v", rep.Verdict, lines(rep))
			}
			want := "widened call added plugin:shell|execute ctx=local window=*"
			i := slices.IndexFunc(rep.Changes, func(c Change) bool { return line(c) == want })
			if i < 0 {
				t.Fatalf("no %q in %v", want, lines(rep))
			}
			cause := rep.Changes[i].Causes[0]
			wantFile := filepath.Join("src-tauri", "capabilities", "main.json")
			if !strings.Contains(tc.new, ":") && tc.new != "HEAD" {
				wantFile = filepath.Join(repo, wantFile)
			}
			if cause.Side != "new" || cause.File != wantFile || cause.Line == 0 {
				t.Fatalf("cause %+v, want file %s", cause, wantFile)
			}
		})
	}
	// The same revision on both sides.
	a, err := Open("HEAD", OpenOptions{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Compare(a, a, nil)
	if err != nil || rep.Verdict != Unchanged {
		t.Fatalf("HEAD against HEAD: %v, %v", rep, err)
	}
}

func TestOpenErrors(t *testing.T) {
	repo := scratchRepo(t)
	for _, tc := range []struct{ spec, want string }{
		{"no-such-rev", "no-such-rev"},
		{"HEAD:nowhere", "neither side has an app: HEAD has no folder nowhere"},
		{"HEAD:src-tauri/tauri.conf.json", "is a blob, not a folder"},
		{"--output=/tmp/x", "cannot start with '-'"},
		{"HEAD:/etc", "not absolute"},
		{"HEAD:../x", "leaves the repository"},
		{":src-tauri", "expected a directory"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := Open(tc.spec, OpenOptions{Repo: repo})
			if err == nil {
				_, err = Compare(s, s, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A repository without src-tauri at its top needs REV:path.
	bare := t.TempDir()
	history.Git(t, bare, "init", "-q")
	if err := os.WriteFile(filepath.Join(bare, "README"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	history.Git(t, bare, "add", ".")
	history.Git(t, bare, "commit", "-q", "-m", "x")
	// A revision without an app is an empty side, saying how to name the
	// folder when it has one elsewhere.
	if s, err := Open("HEAD", OpenOptions{Repo: bare}); err != nil || !strings.Contains(s.Empty, "HEAD:path/to/src-tauri") {
		t.Fatalf("side %+v, error %v", s, err)
	}
}

func TestParseTree(t *testing.T) {
	data := []byte("100644 blob 0123abcd 12\tcapabilities/a b.json\x00160000 commit 89abcdef -\tsub\x00")
	got, err := parseTree(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Path != "capabilities/a b.json" || got[0].Size != 12 || got[1].Size != -1 || got[1].Type != "commit" {
		t.Fatalf("%+v", got)
	}
	for _, bad := range []string{"100644 blob 0123abcd 12 capabilities\x00", "100644 blob xyz 12\ta\x00", "100644 blob 0123abcd -5\ta\x00", "100644 blob\ta\x00"} {
		if _, err := parseTree([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
