// Package history gives the tests the real commit pairs kept in
// acldiff/testdata/history: consecutive commits of public Tauri apps
// that change what the app's capabilities grant, each side reduced to the
// files capguard diff reads, every file stored gzipped as
// objects/<id>.gz, where id is its git blob id in the source repository
// (so that `git cat-file -p <id>` there shows the same bytes, and Object
// checks that they hash to it). The tests lay a side out as a folder, or
// both sides as two commits of a scratch repository.
package history

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// Pair is one change: commit New of Repo and its first parent Old, the
// app in folder App of the repository.
type Pair struct {
	Repo    string `json:"repo"`
	App     string `json:"app"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Subject string `json:"subject"`
	// Plugins are plugins kept in the repository: NAME → permission
	// folder relative to App (acldiff.Options.Plugins).
	Plugins map[string]string `json:"plugins,omitempty"`
}

// Name is "owner/name@<new, 12 digits>".
func (p Pair) Name() string { return p.Repo + "@" + p.New[:12] }

// Data is the pairs and, per commit, the files of its app folder.
type Data struct {
	// Dir is acldiff/testdata/history.
	Dir   string
	Pairs []Pair `json:"pairs"`
	// Trees maps "owner/name@commit" to the app's files (path in the app
	// folder → blob id); a commit without the app folder has no entry.
	Trees map[string]map[string]string `json:"trees"`
}

// Dir is the data folder, acldiff/testdata/history of this repository.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "acldiff", "testdata", "history")
}

// Load reads the pairs; missing data fails the test.
func Load(t testing.TB) *Data {
	t.Helper()
	d, err := read()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func read() (*Data, error) {
	d := &Data{Dir: dir()}
	data, err := os.ReadFile(filepath.Join(d.Dir, "pairs.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("pairs.json: %v", err)
	}
	return d, nil
}

func treeKey(repo, commit string) string { return repo + "@" + commit }

// Tree returns the app's files at a commit; ok is false when the commit
// has no app folder.
func (d *Data) Tree(repo, commit string) (files map[string]string, ok bool) {
	files, ok = d.Trees[treeKey(repo, commit)]
	return files, ok
}

// Object returns a file's bytes by blob id, checking that they are the
// blob's (git's object id is the SHA-1 of "blob <size>\x00" and the
// bytes).
func (d *Data) Object(t testing.TB, id string) []byte {
	t.Helper()
	data, err := readObject(filepath.Join(d.Dir, "objects", id+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	if got := BlobID(data); got != id {
		t.Fatalf("objects/%s.gz holds the blob %s", id, got)
	}
	return data
}

func readObject(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	data, err := io.ReadAll(z)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	return data, nil
}

// writeObject stores data gzipped, with an empty header (no name, no
// time), so that regenerating writes the same bytes.
func writeObject(p string, data []byte) error {
	var b bytes.Buffer
	z, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := z.Write(data); err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	return os.WriteFile(p, b.Bytes(), 0o644)
}

// BlobID is git's object id of a file with these bytes.
func BlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// WriteApp writes the app folder of a commit to dst; false when the
// commit has no app folder (nothing is written).
func (d *Data) WriteApp(t testing.TB, repo, commit, dst string) bool {
	t.Helper()
	files, ok := d.Tree(repo, commit)
	if !ok {
		return false
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range sortedKeys(files) {
		target := filepath.Join(dst, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, d.Object(t, files[p]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Git runs git in dir with a fixed identity and no user configuration.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Unreadable is the file each commit of GitRepo has next to the app's
// files, whose object is deleted from the repository: a tree that names
// an object the clone does not have (a partial clone, a mirror without
// its large files), which the diff must never need.
const Unreadable = "icons/large.icns"

// GitRepo makes a scratch repository whose HEAD~1 is the pair's old side
// and HEAD its new side, the app at p.App; the object of Unreadable in
// the app folder is removed. It returns the repository's folder.
func (d *Data) GitRepo(t testing.TB, p Pair) string {
	t.Helper()
	repo := t.TempDir()
	Git(t, repo, "init", "-q", "-b", "trunk")
	app := filepath.Join(repo, filepath.FromSlash(p.App))
	var missing []string
	for i, c := range []string{p.Old, p.New} {
		if err := os.RemoveAll(app); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "README"), []byte(p.Repo+"@"+c+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if d.WriteApp(t, p.Repo, c, app) {
			big := filepath.Join(app, filepath.FromSlash(Unreadable))
			if err := os.MkdirAll(filepath.Dir(big), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(big, fmt.Appendf(nil, "not read %d\n", i), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		Git(t, repo, "add", "-A", ".")
		Git(t, repo, "commit", "-q", "--allow-empty", "-m", p.Subject+" ("+c[:12]+")")
		if _, ok := d.Tree(p.Repo, c); ok {
			id := strings.TrimSpace(Git(t, repo, "rev-parse", "HEAD:"+path.Join(p.App, Unreadable)))
			missing = append(missing, id)
		}
	}
	for _, id := range missing {
		if err := os.Remove(filepath.Join(repo, ".git", "objects", id[:2], id[2:])); err != nil {
			t.Fatalf("removing the object of %s: %v", Unreadable, err)
		}
	}
	return repo
}

// Regenerate rebuilds the trees and objects of the pairs from git
// mirrors of their repositories (mirrors/<owner>+<name>/repo, or
// mirrors/<owner>+<name>), keeping the files wanted says the diff reads.
// Objects no pair uses any more are removed.
func Regenerate(mirrors string, wanted func(p string, plugins map[string]string) bool) error {
	d, err := read()
	if err != nil {
		return err
	}
	d.Trees = map[string]map[string]string{}
	used := map[string]bool{}
	if err := os.MkdirAll(filepath.Join(d.Dir, "objects"), 0o755); err != nil {
		return err
	}
	for _, p := range d.Pairs {
		gitDir := filepath.Join(mirrors, strings.Replace(p.Repo, "/", "+", 1), "repo")
		if _, err := os.Stat(gitDir); err != nil {
			gitDir = filepath.Join(mirrors, strings.Replace(p.Repo, "/", "+", 1))
		}
		run := func(args ...string) ([]byte, error) {
			cmd := exec.Command("git", append([]string{"--git-dir=" + gitDir}, args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return nil, fmt.Errorf("%s: git %s: %v: %s", p.Repo, strings.Join(args, " "), err, stderr.String())
			}
			return out, nil
		}
		parent, err := run("rev-parse", p.New+"^1")
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(string(parent)); got != p.Old {
			return fmt.Errorf("%s: the first parent of %s is %s, not %s", p.Repo, p.New, got, p.Old)
		}
		for _, c := range []string{p.Old, p.New} {
			if _, done := d.Trees[treeKey(p.Repo, c)]; done {
				continue
			}
			out, err := run("ls-tree", "-r", "-z", c+":"+p.App)
			if err != nil {
				continue // no app folder at this commit
			}
			files := map[string]string{}
			for _, rec := range strings.Split(string(out), "\x00") {
				meta, name, ok := strings.Cut(rec, "\t")
				f := strings.Fields(meta)
				if !ok || len(f) != 3 || f[1] != "blob" || f[0] == "120000" || !wanted(name, p.Plugins) {
					continue
				}
				files[name] = f[2]
				if !used[f[2]] {
					used[f[2]] = true
					data, err := run("cat-file", "blob", f[2])
					if err != nil {
						return err
					}
					if err := writeObject(filepath.Join(d.Dir, "objects", f[2]+".gz"), data); err != nil {
						return err
					}
				}
			}
			d.Trees[treeKey(p.Repo, c)] = files
		}
	}
	entries, err := os.ReadDir(filepath.Join(d.Dir, "objects"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !used[strings.TrimSuffix(e.Name(), ".gz")] || !strings.HasSuffix(e.Name(), ".gz") {
			if err := os.Remove(filepath.Join(d.Dir, "objects", e.Name())); err != nil {
				return err
			}
		}
	}
	out, err := json.MarshalIndent(struct {
		Pairs []Pair                       `json:"pairs"`
		Trees map[string]map[string]string `json:"trees"`
	}{d.Pairs, d.Trees}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.Dir, "pairs.json"), append(out, '\n'), 0o644)
}
