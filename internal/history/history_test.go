package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestData: every file of every tree is stored, holds the bytes of its
// blob id, and no stored object is left that no tree uses; every pair
// names its source fully.
func TestData(t *testing.T) {
	d := Load(t)
	if len(d.Pairs) == 0 {
		t.Fatal("no pairs")
	}
	used := map[string]bool{}
	for _, p := range d.Pairs {
		if p.Repo == "" || len(p.Old) != 40 || len(p.New) != 40 || p.App == "" {
			t.Errorf("pair %+v does not name its source (repository, both commits, app folder)", p)
		}
		_, oldOK := d.Tree(p.Repo, p.Old)
		_, newOK := d.Tree(p.Repo, p.New)
		if !oldOK && !newOK {
			t.Errorf("%s: neither side has the app folder", p.Name())
		}
	}
	for key, files := range d.Trees {
		for name, id := range files {
			if used[id] {
				continue
			}
			used[id] = true
			if BlobID(d.Object(t, id)) != id {
				t.Errorf("%s %s: wrong bytes", key, name)
			}
		}
	}
	entries, err := os.ReadDir(filepath.Join(d.Dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".gz"); !ok || !used[id] {
			t.Errorf("objects/%s: no tree uses it", e.Name())
		}
	}
	if len(entries) != len(used) {
		t.Errorf("%d objects stored, %d used", len(entries), len(used))
	}
}

func TestBlobID(t *testing.T) {
	// `printf 'hello\n' | git hash-object --stdin`
	if got := BlobID([]byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Fatalf("BlobID = %s", got)
	}
}
