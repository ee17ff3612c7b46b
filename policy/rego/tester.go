package rego

import (
	"context"
	"sort"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/types"
)

// TestResult is the outcome of one Rego unit test.
type TestResult struct {
	// Package is the test's package ("data.capguard.authz_test") and Name
	// its rule ("test_denied_at_night").
	Package, Name string
	Location      acl.Position
	Pass          bool
	// Skip is set for tests named todo_test_*.
	Skip bool
	// Err is the evaluation error of a test that could not run.
	Err error
	// Output is what the test printed.
	Output   string
	Duration time.Duration
}

// RunTests runs the Rego unit tests (rules named test_*) found in the
// modules, as `opa test` does, with the built-in module loaded and
// capguard.url_match available. The data document is empty: tests provide
// an ACL with `with data.capguard.acl as ...` when they need one. A module
// that does not compile fails the run with positioned errors (ErrPolicy).
// Results are in file and line order.
func RunTests(ctx context.Context, modules ...Module) ([]TestResult, error) {
	parsed, err := parseModules(modules)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*ast.Module, len(parsed))
	for _, m := range parsed {
		byName[m.Package.Location.File] = m
	}
	runner := tester.NewRunner().
		SetDefaultRegoVersion(ast.RegoV1).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true).
		AddCustomBuiltins([]*tester.Builtin{{
			Decl: &ast.Builtin{Name: URLMatchBuiltin, Decl: types.NewFunction(types.Args(types.S, types.S), types.B)},
			Func: urlMatchFunction(nil),
		}})
	ch, err := runner.SetModules(byName).RunTests(ctx, nil)
	if err != nil {
		return nil, policyError(err)
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{
			Package:  r.Package,
			Name:     r.Name,
			Location: position(r.Location),
			Pass:     r.Pass(),
			Skip:     r.Skip,
			Err:      r.Error,
			Output:   string(r.Output),
			Duration: r.Duration,
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Location, out[j].Location
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out, nil
}
