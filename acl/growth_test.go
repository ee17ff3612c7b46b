package acl_test

import (
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/growth"
)

// The growth tests check that reading and resolving an app costs time
// linear in the size of its files: 8× the entries (window globs, remote
// URL patterns, permissions, scope values, nested sets, capabilities,
// files, obligation rules, label length) may cost at most 24× the time
// (growth.Limit). A one-line TOML array once took 6.1 s for 40,000 window
// globs (the reader counted runes from the start of the line for every
// value); it fails here. The benchmarks (BenchmarkGrowth) measure
// every shape in every format; docs/performance.md has the figures.

func parseStage(tb testing.TB, c growth.Case, n int) func() { return growth.Parse(tb, c.App(n)) }

func loadStage(tb testing.TB, c growth.Case, n int) func() { return growth.Load(tb, c.App(n)) }

// resolveStage resolves an app already read.
func resolveStage(tb testing.TB, c growth.Case, n int) func() {
	app := growth.LoadApp(tb, c.App(n))
	return func() {
		if _, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestParseGrowsLinearly(t *testing.T) {
	for _, c := range growth.EveryFormat() {
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return parseStage(tb, c, n) })
		})
	}
}

func TestLoadGrowsLinearly(t *testing.T) {
	cases := []growth.Case{
		{Shape: growth.ShapeNamed("files"), Format: growth.FormatJSON},
		{Shape: growth.ShapeNamed("capabilities"), Format: growth.FormatConf},
		{Shape: growth.ShapeNamed("windows"), Format: growth.FormatTOML},
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return loadStage(tb, c, n) })
		})
	}
}

// TestResolveGrowsLinearly covers every shape and every format once; a chain of n nested
// permission sets once cost O(n²) (each set scanned the chain for a cycle).
func TestResolveGrowsLinearly(t *testing.T) {
	for _, c := range growth.Matrix() {
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return resolveStage(tb, c, n) })
		})
	}
}

func BenchmarkGrowth(b *testing.B) {
	for _, c := range growth.AllCases() {
		b.Run("parse/"+c.Name(), func(b *testing.B) {
			growth.Bench(b, c.Shape.N, func(tb testing.TB, n int) func() { return parseStage(tb, c, n) })
		})
		b.Run("resolve/"+c.Name(), func(b *testing.B) {
			growth.Bench(b, c.Shape.N, func(tb testing.TB, n int) func() { return resolveStage(tb, c, n) })
		})
	}
}
