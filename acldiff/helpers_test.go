package acldiff

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/capguard/capguard/acl"
)

// copyApp copies a src-tauri folder into a temporary folder and returns
// the copy's path.
func copyApp(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "src-tauri")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// readJSON and writeJSON edit files of a copied app.
func readJSON(t testing.TB, p string) any {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return v
}

func writeJSON(t testing.TB, p string, v any, indent string) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", indent)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// committedApp is a copy of an app whose capabilities/ folder is replaced
// by the capabilities of its gen/schemas/capabilities.json (what its last
// build compiled); ok is false when the app has no such file.
func committedApp(t testing.TB, src string) (dir string, ok bool) {
	t.Helper()
	compiled := filepath.Join(src, "gen", "schemas", "capabilities.json")
	if _, err := os.Stat(compiled); err != nil {
		return "", false
	}
	dir = copyApp(t, src)
	if err := os.RemoveAll(filepath.Join(dir, "capabilities")); err != nil {
		t.Fatal(err)
	}
	m, _ := readJSON(t, compiled).(map[string]any)
	list := []any{}
	for _, k := range sortedKeys(m) {
		list = append(list, m[k])
	}
	writeJSON(t, filepath.Join(dir, "capabilities", "compiled.json"), list, "  ")
	return dir, true
}

// accessOf resolves one side alone for one target, as Compare does.
func accessOf(t testing.TB, s Side, which string, tg acl.Target, pc *patternCache) *access {
	t.Helper()
	l := newLoader(s, which)
	app, err := l.app(tg)
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{}
	if err := l.build(inlinedPlugins(nil, l), nil, rep); err != nil {
		t.Fatal(err)
	}
	l.refs(tg, app, newLoader(Side{Empty: "none"}, "other"), rep)
	r, err := acl.Resolve(l.manifests, app.Capabilities, tg)
	if err != nil {
		t.Fatal(err)
	}
	return effective(r, which, pc)
}
