package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/capguard/capguard/internal/growth"
)

// `capguard validate` on an app costs time linear in its files: 8× the
// entries may cost at most 24× (growth.Limit); a CI job running it on a
// pull request's files cannot be held hostage by one file.

// writeApp writes the app under a new temporary directory and returns its
// src-tauri folder.
func writeApp(tb testing.TB, a *growth.App) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "src-tauri")
	for p, data := range a.Files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func cliStage(tb testing.TB, want int, args ...string) func() {
	if code := run(args, io.Discard, io.Discard); code != want {
		tb.Fatalf("capguard %v: exit code %d, want %d", args, code, want)
	}
	return func() { run(args, io.Discard, io.Discard) }
}

var cliCases = []growth.Case{
	{Shape: growth.ShapeNamed("windows"), Format: growth.FormatJSON},
	{Shape: growth.ShapeNamed("windows"), Format: growth.FormatJSON5},
	{Shape: growth.ShapeNamed("windows"), Format: growth.FormatTOML},
	{Shape: growth.ShapeNamed("capabilities"), Format: growth.FormatConf},
	{Shape: growth.ShapeNamed("permissions"), Format: growth.FormatManifests},
	{Shape: growth.ShapeNamed("sets-deep"), Format: growth.FormatManifests},
}

func validateCLI(tb testing.TB, c growth.Case, n int) func() {
	return cliStage(tb, 0, "validate", writeApp(tb, c.App(n)), "--target", "linux")
}

func TestValidateCLIGrowsLinearly(t *testing.T) {
	for _, c := range cliCases {
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return validateCLI(tb, c, n) })
		})
	}
}

func BenchmarkGrowth(b *testing.B) {
	for _, c := range cliCases {
		b.Run("validate/"+c.Name(), func(b *testing.B) {
			growth.Bench(b, c.Shape.N, func(tb testing.TB, n int) func() { return validateCLI(tb, c, n) })
		})
	}
}
