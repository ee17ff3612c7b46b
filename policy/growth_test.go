package policy_test

import (
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/growth"
	"github.com/capguard/capguard/policy"
)

// Compiling the native engine costs time linear in the resolved ACL: 8×
// the entries may cost at most 24× (growth.Limit). The per-command label
// table once deduplicated window and webview patterns by a linear scan:
// 40,000 window globs took 9.7 s to compile, 5,000 took 0.19 s; that fails
// here (×64 for ×8 the globs).

func compileStage(tb testing.TB, c growth.Case, n int) func() {
	r := growth.Resolved(tb, c.App(n))
	return func() {
		if _, err := policy.Compile(r); err != nil {
			tb.Fatal(err)
		}
	}
}

// extensionStage adds capguard.json's obligations to a compiled engine.
func extensionStage(tb testing.TB, c growth.Case, n int) func() {
	a := c.App(n)
	r := growth.Resolved(tb, a)
	native, err := policy.Compile(r)
	if err != nil {
		tb.Fatal(err)
	}
	ext, err := acl.ParseExtension(acl.ExtensionFile, a.Files[acl.ExtensionFile])
	if err != nil {
		tb.Fatal(err)
	}
	return func() {
		if _, err := policy.WithExtension(native, r, ext); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestCompileGrowsLinearly(t *testing.T) {
	for _, c := range growth.Matrix() {
		build := compileStage
		if c.Shape.Name == "obligations" {
			build = extensionStage
		}
		t.Run(c.Name(), func(t *testing.T) {
			growth.Linear(t, c.Shape.N, func(tb testing.TB, n int) func() { return build(tb, c, n) })
		})
	}
}

func BenchmarkGrowth(b *testing.B) {
	for _, c := range growth.AllCases() {
		build := compileStage
		if c.Shape.Name == "obligations" {
			build = extensionStage
		}
		b.Run("compile/"+c.Name(), func(b *testing.B) {
			growth.Bench(b, c.Shape.N, func(tb testing.TB, n int) func() { return build(tb, c, n) })
		})
	}
}
