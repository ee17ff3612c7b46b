package mobile

import (
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The exported API must stay bindable by gomobile, restricted further to
// what the host shims need: strings, bools, ints, byte slices, errors, and
// interfaces (declared here) made of those. No exported structs, vars,
// unsigned or float types, maps, channels, funcs or types of other
// packages.

// bindProblems lists what in pkg's exported API gomobile could not bind
// (or the rule above forbids).
func bindProblems(pkg *types.Package) []string {
	var problems []string
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Const:
			if b, ok := o.Type().Underlying().(*types.Basic); !ok || b.Info()&(types.IsInteger|types.IsString|types.IsBoolean) == 0 || b.Info()&types.IsUnsigned != 0 {
				problems = append(problems, fmt.Sprintf("const %s has type %s", name, o.Type()))
			} else if _, named := o.Type().(*types.Named); named {
				problems = append(problems, fmt.Sprintf("const %s has the named type %s", name, o.Type()))
			}
		case *types.Var:
			problems = append(problems, fmt.Sprintf("var %s: gomobile binds no package variables here", name))
		case *types.Func:
			problems = append(problems, signatureProblems(pkg, name, o.Type().(*types.Signature))...)
		case *types.TypeName:
			iface, ok := o.Type().Underlying().(*types.Interface)
			if !ok || o.IsAlias() {
				problems = append(problems, fmt.Sprintf("type %s is not an interface", name))
				continue
			}
			for m := range iface.Methods() {
				if m.Exported() {
					problems = append(problems, signatureProblems(pkg, name+"."+m.Name(), m.Type().(*types.Signature))...)
				}
			}
		}
	}
	return problems
}

// signatureProblems checks a function's parameters and results: at most
// one result plus an error.
func signatureProblems(pkg *types.Package, name string, sig *types.Signature) []string {
	var problems []string
	if sig.Variadic() {
		problems = append(problems, name+" is variadic")
	}
	for v := range sig.Params().Variables() {
		if !bindable(pkg, v.Type()) {
			problems = append(problems, fmt.Sprintf("%s: parameter %s has type %s", name, v.Name(), v.Type()))
		}
	}
	res := sig.Results()
	switch {
	case res.Len() > 2:
		problems = append(problems, name+" has more than two results")
	case res.Len() == 2 && !isError(res.At(1).Type()):
		problems = append(problems, name+": a second result must be an error")
	}
	for i := range res.Len() {
		if t := res.At(i).Type(); !bindable(pkg, t) {
			problems = append(problems, fmt.Sprintf("%s: result %d has type %s", name, i, t))
		}
	}
	return problems
}

func isError(t types.Type) bool { return types.Identical(t, types.Universe.Lookup("error").Type()) }

// bindable tells whether values of type t may cross the binding.
func bindable(pkg *types.Package, t types.Type) bool {
	if isError(t) {
		return true
	}
	switch u := t.(type) {
	case *types.Basic:
		switch u.Kind() {
		case types.Bool, types.String, types.Int, types.Int8, types.Int16, types.Int32, types.Int64:
			return true
		}
		return false
	case *types.Slice:
		b, ok := u.Elem().(*types.Basic)
		return ok && b.Kind() == types.Byte
	case *types.Named:
		// Only this package's exported interfaces (checked on their own).
		_, isIface := u.Underlying().(*types.Interface)
		return isIface && u.Obj().Pkg() == pkg && u.Obj().Exported()
	}
	return false
}

// typeCheck type-checks the Go files of a package from source.
func typeCheck(t *testing.T, path string, files map[string]string) *types.Package {
	t.Helper()
	fset := token.NewFileSet()
	var parsed []*ast.File
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := parser.ParseFile(fset, n, files[n], 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}
	conf := types.Config{Importer: exportImporter(t, fset)}
	pkg, err := conf.Check(path, fset, parsed, nil)
	if err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	return pkg
}

// exportImporter imports packages from the compiler's export data, which
// `go list -export` builds (or finds in the build cache) for this package's
// dependencies.
func exportImporter(t *testing.T, fset *token.FileSet) types.Importer {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", ".").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "\t"); ok && file != "" {
			exports[path] = file
		}
	}
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(file)
	})
}

func TestExportedAPIIsBindable(t *testing.T) {
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(b)
	}
	if len(files) == 0 {
		t.Fatal("no source files")
	}
	pkg := typeCheck(t, "github.com/capguard/capguard/native/mobile", files)
	for _, p := range bindProblems(pkg) {
		t.Errorf("not bindable by gomobile: %s", p)
	}
	// The API the shims rely on is there.
	for _, name := range []string{"Android", "IOS", "Reply", "RegisterAndroid", "RegisterIOS", "Unregister"} {
		if pkg.Scope().Lookup(name) == nil {
			t.Errorf("%s is missing from the API", name)
		}
	}
}

// The checker itself finds what gomobile cannot bind.
func TestBindProblemsFindsUnbindable(t *testing.T) {
	src := `package bad

import "context"

type Config struct{ N int }
type Count uint
type Ok interface{ Name() string }
type Bad interface{ Wait(ctx context.Context) }
var Global = 1
const Max uint = 3
const Named Count = 1
func Unsigned() uint { return 0 }
func Float(f float64) {}
func Ctx(ctx context.Context) error { return nil }
func Map() map[string]int { return nil }
func Two() (int, string) { return 0, "" }
func Strings(s []string) {}
func Variadic(n ...int) {}
func Good(s string, n int64, b []byte, o Ok) (bool, error) { return false, nil }
`
	pkg := typeCheck(t, "example.com/bad", map[string]string{"bad.go": src})
	problems := bindProblems(pkg)
	for _, want := range []string{
		"type Config", "type Count", "Bad.Wait", "var Global", "const Max", "const Named",
		"Unsigned", "Float", "Ctx", "Map", "Two", "Strings", "Variadic",
	} {
		found := false
		for _, p := range problems {
			if strings.Contains(p, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem reported for %s; got %q", want, problems)
		}
	}
	for _, p := range problems {
		if strings.Contains(p, "Good") || strings.Contains(p, "type Ok") {
			t.Errorf("bindable API reported: %s", p)
		}
	}
}
