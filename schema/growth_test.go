package schema_test

import (
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/growth"
	"github.com/capguard/capguard/schema"
)

// Validation costs time linear in the app's files: 8× the entries (or 8×
// the findings) may cost at most 24× (growth.Limit). Inline capabilities
// of tauri.conf.json once re-read and re-parsed the configuration for each
// capability, and each finding was compared with every earlier one: 2,000
// inline capabilities took 22 s to validate; both fail here.

var linux = []acl.Target{acl.Linux}

// compileStage compiles the capability schema of the app's manifests.
func compileStage(tb testing.TB, c growth.Case, n int) func() {
	a := c.App(n)
	ms, err := acl.ParseManifests("acl-manifests.json", a.Files["gen/schemas/acl-manifests.json"])
	if err != nil {
		tb.Fatal(err)
	}
	return func() {
		if _, err := schema.Compile(ms, schema.CompileOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
}

// checkStage checks the grown capability file with a compiled validator.
func checkStage(tb testing.TB, c growth.Case, n int) func() {
	a := c.App(n)
	ms, err := acl.ParseManifests("acl-manifests.json", a.Files["gen/schemas/acl-manifests.json"])
	if err != nil {
		tb.Fatal(err)
	}
	v, err := schema.Compile(ms, schema.CompileOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	data := a.Files[a.Grown]
	return func() { _ = v.CheckFile(a.Grown, data, linux) }
}

// validateStage is `capguard validate` on the whole app.
func validateStage(tb testing.TB, c growth.Case, n int) func() {
	a := c.App(n)
	fsys := a.FS()
	valid := c.Shape.Name != "unknown-permissions" && c.Shape.Name != "bad-windows" && c.Shape.Name != "bad-remotes"
	run := func() *schema.Report {
		rep, err := schema.ValidateAppFS(fsys, "src-tauri", schema.Options{Targets: linux})
		if err != nil {
			tb.Fatal(err)
		}
		return rep
	}
	rep := run()
	if got := rep.Count(schema.Error); valid && got != 0 || !valid && got < n/2 {
		tb.Fatalf("%s with %d entries: %d errors: %v", c.Name(), n, got, rep.Findings[:min(len(rep.Findings), 3)])
	}
	return func() { run() }
}

func TestSchemaCompileGrowsLinearly(t *testing.T) {
	for _, name := range []string{"permissions", "sets-wide", "sets-deep"} {
		c := growth.Case{Shape: growth.ShapeNamed(name), Format: growth.FormatManifests}
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return compileStage(tb, c, n) })
		})
	}
}

func TestCheckFileGrowsLinearly(t *testing.T) {
	var cases []growth.Case
	for _, f := range growth.CapabilityFormats {
		cases = append(cases, growth.Case{Shape: growth.ShapeNamed("windows"), Format: f})
	}
	for _, s := range growth.InvalidShapes {
		cases = append(cases, growth.Case{Shape: s, Format: s.Formats[0]})
	}
	cases = append(cases, growth.Case{Shape: growth.ShapeNamed("scopes"), Format: growth.FormatTOMLLines})
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return checkStage(tb, c, n) })
		})
	}
}

func TestValidateGrowsLinearly(t *testing.T) {
	cases := growth.Matrix(
		growth.Case{Shape: growth.ShapeNamed("unknown-permissions"), Format: growth.FormatJSON},
		growth.Case{Shape: growth.ShapeNamed("bad-windows"), Format: growth.FormatTOML},
	)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return validateStage(tb, c, n) })
		})
	}
}

func BenchmarkGrowth(b *testing.B) {
	cases := append(growth.AllCases(), func() []growth.Case {
		var out []growth.Case
		for _, s := range growth.InvalidShapes {
			for _, f := range s.Formats {
				out = append(out, growth.Case{Shape: s, Format: f})
			}
		}
		return out
	}()...)
	for _, c := range cases {
		if c.Format == growth.FormatManifests {
			b.Run("compile/"+c.Name(), func(b *testing.B) {
				growth.Bench(b, c.Shape.N, func(tb testing.TB, n int) func() { return compileStage(tb, c, n) })
			})
		}
		b.Run("validate/"+c.Name(), func(b *testing.B) {
			growth.Bench(b, c.Shape.N, func(tb testing.TB, n int) func() { return validateStage(tb, c, n) })
		})
	}
}
