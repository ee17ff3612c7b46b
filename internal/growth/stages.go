package growth

import (
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
)

// Parse returns the parse of the app's grown file with the reader of its
// kind: a capability file, the manifests, a permission file, capguard.json,
// or (tauri.conf.json) the whole app.
func Parse(tb testing.TB, a *App) func() {
	tb.Helper()
	data := a.Files[a.Grown]
	var parse func() error
	switch {
	case strings.HasPrefix(a.Grown, "capabilities/"):
		parse = func() error { _, err := acl.ParseCapabilityFile(a.Grown, data); return err }
	case a.Grown == "gen/schemas/acl-manifests.json":
		parse = func() error { _, err := acl.ParseManifests(a.Grown, data); return err }
	case strings.HasPrefix(a.Grown, "permissions/"):
		parse = func() error { _, err := acl.ParsePermissionFile(a.Grown, data); return err }
	case a.Grown == acl.ExtensionFile:
		parse = func() error { _, err := acl.ParseExtension(a.Grown, data); return err }
	default:
		return Load(tb, a)
	}
	if err := parse(); err != nil {
		tb.Fatalf("%s: %v", a.Grown, err)
	}
	return func() {
		if err := parse(); err != nil {
			tb.Fatal(err)
		}
	}
}

// Load returns the reading of the whole app (acl.LoadAppFS, for Linux).
func Load(tb testing.TB, a *App) func() {
	tb.Helper()
	fsys := a.FS()
	load := func() error { _, err := acl.LoadAppFS(fsys, "src-tauri", acl.Linux); return err }
	if err := load(); err != nil {
		tb.Fatal(err)
	}
	return func() {
		if err := load(); err != nil {
			tb.Fatal(err)
		}
	}
}

// LoadApp reads the app (for Linux).
func LoadApp(tb testing.TB, a *App) *acl.App {
	tb.Helper()
	app, err := acl.LoadAppFS(a.FS(), "src-tauri", acl.Linux)
	if err != nil {
		tb.Fatal(err)
	}
	return app
}

// Resolved reads and resolves the app (for Linux).
func Resolved(tb testing.TB, a *App) *acl.Resolved {
	tb.Helper()
	app := LoadApp(tb, a)
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// Case is one shape in one format.
type Case struct {
	Shape  Shape
	Format Format
}

// Name is "shape/format".
func (c Case) Name() string { return c.Shape.Name + "/" + string(c.Format) }

// App generates the case's app with n entries.
func (c Case) App(n int) *App { return c.Shape.App(n, c.Format) }

// AllCases lists every shape in every one of its formats (the benchmarks'
// matrix).
func AllCases() []Case {
	var out []Case
	for _, s := range Shapes {
		for _, f := range s.Formats {
			out = append(out, Case{s, f})
		}
	}
	return out
}

// FirstFormats lists every shape in its first format, and the given
// shape/format pairs besides (a test's smaller matrix: every dimension
// once, every format at least once).
func FirstFormats(extra ...Case) []Case {
	var out []Case
	for _, s := range Shapes {
		out = append(out, Case{s, s.Formats[0]})
	}
	return append(out, extra...)
}

// EveryFormat lists, for each format, one shape written in it: the cases
// that check every reader.
func EveryFormat() []Case {
	return []Case{
		{ShapeNamed("windows"), FormatJSON},
		{ShapeNamed("windows"), FormatJSON5},
		{ShapeNamed("windows"), FormatTOML},
		{ShapeNamed("windows"), FormatTOMLLines},
		{ShapeNamed("capabilities"), FormatConf},
		{ShapeNamed("permissions"), FormatManifests},
		{ShapeNamed("permissions"), FormatPermissionTOML},
		{ShapeNamed("sets-wide"), FormatPermissionTOML},
		{ShapeNamed("scopes"), FormatTOML},
		{ShapeNamed("obligations"), FormatJSON},
	}
}

// Matrix is FirstFormats and EveryFormat together, without repeats: every
// dimension once and every format at least once, plus the given cases.
func Matrix(extra ...Case) []Case {
	var out []Case
	seen := map[string]bool{}
	for _, c := range append(append(FirstFormats(), EveryFormat()...), extra...) {
		if !seen[c.Name()] {
			seen[c.Name()] = true
			out = append(out, c)
		}
	}
	return out
}
