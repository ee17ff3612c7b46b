package acldiff

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/history"
)

// TestRegenerateHistory rebuilds testdata/history from git mirrors of the
// source repositories when CAPGUARD_HISTORY_MIRRORS names their folder
// (docs/diff.md, "The real history"); without it there is nothing to do.
func TestRegenerateHistory(t *testing.T) {
	mirrors := os.Getenv("CAPGUARD_HISTORY_MIRRORS")
	if mirrors == "" {
		t.Skip("CAPGUARD_HISTORY_MIRRORS is not set: testdata/history is not regenerated")
	}
	if err := history.Regenerate(mirrors, wanted); err != nil {
		t.Fatal(err)
	}
}

// historyOptions are a pair's options.
func historyOptions(p history.Pair) Options { return Options{Plugins: p.Plugins} }

// TestHistoryReplay replays every real pair of testdata/history as two
// folders and as two commits of a repository (whose trees name an object
// the repository does not have): every pair gets an answer (a report, or
// the position of what Tauri's build would reject too; the conformance
// test checks those against Tauri), and both ways give the same report.
func TestHistoryReplay(t *testing.T) {
	h := history.Load(t)
	if len(h.Pairs) < 50 {
		t.Fatalf("only %d pairs", len(h.Pairs))
	}
	var mu sync.Mutex
	answered, rejected := 0, 0
	t.Cleanup(func() {
		t.Logf("%d pairs: %d answered with a report, %d with the position of an input Tauri's build rejects", len(h.Pairs), answered, rejected)
	})
	for _, p := range h.Pairs {
		t.Run(p.Name(), func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			var sides [2]Side
			for i, c := range []string{p.Old, p.New} {
				dir := filepath.Join(tmp, []string{"old", "new"}[i], "src-tauri")
				if h.WriteApp(t, p.Repo, c, dir) {
					sides[i] = dirSide(t, dir)
				} else {
					sides[i] = Side{Name: c, FS: os.DirFS(tmp), Dir: "src-tauri", Empty: c + " has no app folder"}
				}
			}
			fromDirs, err := CompareWith(sides[0], sides[1], historyOptions(p))
			if err != nil {
				if !acl.IsInputError(err) {
					t.Fatalf("no answer: %v", err)
				}
				mu.Lock()
				rejected++
				mu.Unlock()
			} else {
				mu.Lock()
				answered++
				mu.Unlock()
			}
			repo := h.GitRepo(t, p)
			opt := OpenOptions{Repo: repo, Plugins: p.Plugins}
			old, oerr := Open("HEAD~1:"+p.App, opt)
			if oerr != nil {
				t.Fatal(oerr)
			}
			new, oerr := Open("HEAD:"+p.App, opt)
			if oerr != nil {
				t.Fatal(oerr)
			}
			fromGit, gerr := CompareWith(old, new, historyOptions(p))
			if (err == nil) != (gerr == nil) {
				t.Fatalf("folders: %v; git: %v", err, gerr)
			}
			if err != nil {
				// The same error at the same place, but for the folder names.
				tail := func(e error) string {
					s := e.Error()
					if i := strings.LastIndex(s, "src-tauri/capabilities/"); i >= 0 {
						return s[i:]
					}
					return s
				}
				if !acl.IsInputError(gerr) || tail(err) != tail(gerr) {
					t.Errorf("folders: %v; git: %v", err, gerr)
				}
				return
			}
			if fromDirs.Verdict != fromGit.Verdict || len(fromDirs.Changes) != len(fromGit.Changes) || len(fromDirs.NotCompared) != len(fromGit.NotCompared) {
				t.Errorf("folders: %s (%d changes, %d not compared); git: %s (%d, %d)", fromDirs.Verdict, len(fromDirs.Changes), len(fromDirs.NotCompared),
					fromGit.Verdict, len(fromGit.Changes), len(fromGit.NotCompared))
			}
		})
	}
}
