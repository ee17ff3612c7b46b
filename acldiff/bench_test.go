package acldiff

import (
	"path/filepath"
	"testing"

	"github.com/capguard/capguard/acl"

	"github.com/capguard/capguard/internal/conformance"
)

// BenchmarkCompare diffs nuxtor against a copy whose windows are "*":
// reading both sides from disk for every default target, resolving and
// comparing (what one `capguard diff DIR DIR` does), against the
// comparison alone on resolved access.
func BenchmarkCompare(b *testing.B) {
	src := filepath.Join(conformance.Path(b, "apps", nuxtor), "src-tauri")
	dir := copyApp(b, src)
	p := filepath.Join(dir, "capabilities", "main.json")
	c := readJSON(b, p).(map[string]any)
	c["windows"] = []any{"*"}
	writeJSON(b, p, c, "  ")
	old, new := dirSide(b, src), dirSide(b, dir)
	b.Run("read+resolve+compare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Compare(old, new, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compare-only", func(b *testing.B) {
		pc := newPatternCache()
		x, y := accessOf(b, old, "old", acl.Linux, pc), accessOf(b, new, "new", acl.Linux, pc)
		b.ReportAllocs()
		for b.Loop() {
			if len(compareAccess(x, y, pc)) == 0 {
				b.Fatal("no changes")
			}
		}
	})
}
