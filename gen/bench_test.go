package gen_test

import (
	"os"
	"testing"

	"github.com/capguard/capguard/gen"
	"github.com/capguard/capguard/internal/conformance"
)

// BenchmarkPlugin measures the generator on fs, the largest real plugin
// (24 commands, 37 hand-written files), in three steps of increasing
// reach: rendering schema.json and reference.md from parsed files; Build
// (reading and parsing every file, then rendering); and Generate on an
// up-to-date copy (Build plus comparing every output with the disk).
func BenchmarkPlugin(b *testing.B) {
	src := conformance.Path(b, "plugins-workspace", "fs")
	meta := readMeta(b, src)
	p := gen.Plugin{Name: meta.Plugin, Commands: meta.Commands}
	out, err := p.Build(os.DirFS(src))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			gen.PermissionSchema(out.Permissions)
			gen.Reference(meta.Plugin, out.Permissions)
		}
	})
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		fsys := os.DirFS(src)
		for b.Loop() {
			if _, err := p.Build(fsys); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generate-up-to-date", func(b *testing.B) {
		dir := b.TempDir()
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			written, err := p.Generate(dir)
			if err != nil || len(written) != 0 {
				b.Fatalf("Generate = %v, %v", written, err)
			}
		}
	})
}
