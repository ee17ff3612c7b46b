package mobile

import (
	"fmt"
	"go/constant"
	"go/types"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// gomobile (gobind -lang=java) turns this package into a Java package
// "mobile": one Java interface per Go interface and a class Mobile with the
// constants and functions. The Kotlin shim is compiled against a copy of
// those Java files (android/src/gomobile/java/mobile), since gomobile itself
// needs the Android NDK. The tests here derive the Java declarations from
// the Go declarations by gobind's rules and check both the copy and
// contract.json against them.

// javaDir holds the Java files the Kotlin shim compiles against.
var javaDir = filepath.Join("android", "src", "gomobile", "java", "mobile")

// javaDecls are the Java declarations gobind writes for a package.
type javaDecls struct {
	// interfaces maps a Java interface to its "extends" list and its
	// methods, each "ret name(type param, ...)[ throws Exception]", in
	// gobind's order.
	interfaces map[string]javaInterface
	// functions are the package's functions, declared in the class.
	functions []string
	// constants maps a constant's name to its Java declaration
	// "type Name = value".
	constants map[string]string
}

type javaInterface struct {
	extends []string
	methods []string
}

// javaReserved are the words gobind suffixes with "_".
var javaReserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`abstract assert boolean break byte case catch char class const
		continue default do double else enum extends final finally float for goto if implements
		import instanceof int interface long native new package private protected public return
		short static strictfp super switch synchronized this throw throws transient try void
		volatile while false null true`) {
		javaReserved[w] = true
	}
}

func javaSanitize(s string) string {
	s = strings.NewReplacer("-", "_", ".", "_").Replace(s)
	if javaReserved[s] {
		s += "_"
	}
	return s
}

// lowerFirst lowers a leading run of capitals, keeping the last of them
// when a lower-case letter follows ("URLFor" is "urlFor", "IOS" is "ios"),
// as gobind names methods and functions.
func lowerFirst(s string) string {
	var conv []rune
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if !unicode.IsUpper(r) {
			if l := len(conv); l > 1 {
				conv[l-1] = unicode.ToUpper(conv[l-1])
			}
			return string(conv) + s
		}
		conv = append(conv, unicode.ToLower(r))
		s = s[n:]
	}
	return string(conv)
}

var gobindParamRE = regexp.MustCompile(`^p[0-9]*$`)

// javaParamName is gobind's name for parameter i: p<i> for an unnamed,
// blank or p<digits> parameter.
func javaParamName(params *types.Tuple, i int) string {
	name := params.At(i).Name()
	if name == "" || name[0] == '_' || gobindParamRE.MatchString(name) {
		name = fmt.Sprintf("p%d", i)
	}
	return javaSanitize(name)
}

// javaType is gobind's Java type for a Go type of pkg (bindability is
// TestExportedAPIIsBindable's business).
func javaType(pkg *types.Package, t types.Type) (string, error) {
	if isError(t) {
		return "java.lang.Exception", nil
	}
	switch u := types.Unalias(t).(type) {
	case *types.Basic:
		switch u.Kind() {
		case types.Bool, types.UntypedBool:
			return "boolean", nil
		case types.Int, types.Int64, types.UntypedInt:
			return "long", nil
		case types.Int8, types.Uint8:
			return "byte", nil
		case types.Int16:
			return "short", nil
		case types.Int32, types.UntypedRune:
			return "int", nil
		case types.Float32:
			return "float", nil
		case types.Float64, types.UntypedFloat:
			return "double", nil
		case types.String, types.UntypedString:
			return "String", nil
		}
	case *types.Slice:
		elem, err := javaType(pkg, u.Elem())
		return elem + "[]", err
	case *types.Named:
		if u.Obj().Pkg() == pkg {
			return javaTypeName(pkg, u.Obj().Name()), nil
		}
	}
	return "", fmt.Errorf("no Java type for %s", t)
}

// javaClassName is the class of the package-level declarations.
func javaClassName(pkg *types.Package) string {
	name := pkg.Name()
	return javaSanitize(strings.ToUpper(name[:1]) + name[1:])
}

// javaTypeName renames a type that would clash with the package's class.
func javaTypeName(pkg *types.Package, name string) string {
	if name == javaClassName(pkg) {
		return name + "_"
	}
	return name
}

// javaSignature is gobind's declaration of a function or method, without
// modifiers.
func javaSignature(pkg *types.Package, f *types.Func) (string, error) {
	sig := f.Type().(*types.Signature)
	res := sig.Results()
	ret, throws := "void", false
	switch {
	case res.Len() == 2 && isError(res.At(1).Type()):
		throws = true
		fallthrough
	case res.Len() == 1 && !isError(res.At(0).Type()):
		t, err := javaType(pkg, res.At(0).Type())
		if err != nil {
			return "", fmt.Errorf("%s: %w", f.Name(), err)
		}
		ret = t
	case res.Len() == 1:
		throws = true
	case res.Len() == 0:
	default:
		return "", fmt.Errorf("%s: results gobind cannot bind", f.Name())
	}
	params := make([]string, sig.Params().Len())
	for i := range params {
		t, err := javaType(pkg, sig.Params().At(i).Type())
		if err != nil {
			return "", fmt.Errorf("%s: %w", f.Name(), err)
		}
		params[i] = t + " " + javaParamName(sig.Params(), i)
	}
	s := ret + " " + javaSanitize(lowerFirst(f.Name())) + "(" + strings.Join(params, ", ") + ")"
	if throws {
		s += " throws Exception"
	}
	return s, nil
}

// gobindJava derives the Java declarations of pkg's exported API.
func gobindJava(pkg *types.Package) (javaDecls, error) {
	d := javaDecls{interfaces: map[string]javaInterface{}, constants: map[string]string{}}
	scope := pkg.Scope()
	type iface struct {
		name string
		t    *types.Interface
	}
	var ifaces []iface
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.TypeName:
			if it, ok := o.Type().Underlying().(*types.Interface); ok {
				ifaces = append(ifaces, iface{name, it})
			}
		case *types.Func:
			s, err := javaSignature(pkg, o)
			if err != nil {
				return d, err
			}
			d.functions = append(d.functions, s)
		case *types.Const:
			jt, err := javaType(pkg, o.Type())
			if err != nil {
				return d, fmt.Errorf("const %s: %w", name, err)
			}
			val := o.Val().ExactString()
			if jt == "long" {
				i, exact := constant.Int64Val(o.Val())
				if !exact {
					return d, fmt.Errorf("const %s does not fit a long", name)
				}
				val = fmt.Sprintf("%dL", i)
			}
			d.constants[name] = jt + " " + name + " = " + val
		}
	}
	for _, it := range ifaces {
		var ji javaInterface
		// An interface extends the package's interfaces with fewer methods
		// that it implements.
		for _, other := range ifaces {
			if other.t.NumMethods() < it.t.NumMethods() && types.AssignableTo(it.t, other.t) {
				ji.extends = append(ji.extends, javaTypeName(pkg, other.name))
			}
		}
		ms := types.NewMethodSet(it.t)
		for i := range ms.Len() {
			m := ms.At(i).Obj().(*types.Func)
			if !m.Exported() {
				continue
			}
			s, err := javaSignature(pkg, m)
			if err != nil {
				return d, fmt.Errorf("%s.%w", it.name, err)
			}
			ji.methods = append(ji.methods, s)
		}
		d.interfaces[javaTypeName(pkg, it.name)] = ji
	}
	return d, nil
}

// thisPackage type-checks this package's non-test files.
func thisPackage(t *testing.T) *types.Package {
	t.Helper()
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
	return typeCheck(t, "github.com/capguard/capguard/native/mobile", files)
}

func TestGomobileJavaMatchesGo(t *testing.T) {
	pkg := thisPackage(t)
	want, err := gobindJava(pkg)
	if err != nil {
		t.Fatal(err)
	}
	c := loadContract(t)

	t.Run("contract", func(t *testing.T) {
		if c.Gomobile.GoPackage != pkg.Path() || c.Gomobile.JavaPackage != pkg.Name() || c.Gomobile.JavaClass != javaClassName(pkg) {
			t.Errorf("contract names %s as Java %s.%s; gobind: %s.%s",
				c.Gomobile.GoPackage, c.Gomobile.JavaPackage, c.Gomobile.JavaClass, pkg.Name(), javaClassName(pkg))
		}
		gotNames := slices.Sorted(maps.Keys(c.Gomobile.Interfaces))
		wantNames := slices.Sorted(maps.Keys(want.interfaces))
		if !slices.Equal(gotNames, wantNames) {
			t.Errorf("contract interfaces %v, Go has %v", gotNames, wantNames)
		}
		for name, ji := range want.interfaces {
			if got := c.Gomobile.Interfaces[name]; !slices.Equal(got, ji.methods) {
				t.Errorf("interface %s:\ncontract %q\ngobind   %q", name, got, ji.methods)
			}
		}
		if !slices.Equal(c.Gomobile.Functions, want.functions) {
			t.Errorf("functions:\ncontract %q\ngobind   %q", c.Gomobile.Functions, want.functions)
		}
		gotConsts := map[string]string{}
		for name, v := range c.Gomobile.Constants {
			gotConsts[name] = fmt.Sprintf("long %s = %dL", name, v)
		}
		if !maps.Equal(gotConsts, want.constants) {
			t.Errorf("constants:\ncontract %v\ngobind   %v", gotConsts, want.constants)
		}
	})

	t.Run("java", func(t *testing.T) {
		entries, err := os.ReadDir(javaDir)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, e := range entries {
			files = append(files, e.Name())
		}
		wantFiles := []string{javaClassName(pkg) + ".java"}
		for name := range want.interfaces {
			wantFiles = append(wantFiles, name+".java")
		}
		slices.Sort(wantFiles)
		if !slices.Equal(files, wantFiles) {
			t.Errorf("%s holds %v, gobind writes %v", javaDir, files, wantFiles)
		}
		for name, ji := range want.interfaces {
			got, err := readJavaInterface(filepath.Join(javaDir, name+".java"), pkg.Name(), name)
			if err != nil {
				t.Error(err)
				continue
			}
			if !slices.Equal(got.extends, ji.extends) || !slices.Equal(got.methods, ji.methods) {
				t.Errorf("%s.java:\n has  extends %q methods %q\n want extends %q methods %q", name, got.extends, got.methods, ji.extends, ji.methods)
			}
		}
		class := javaClassName(pkg)
		funcs, consts, err := readJavaClass(filepath.Join(javaDir, class+".java"), pkg.Name(), class)
		if err != nil {
			t.Fatal(err)
		}
		// gobind's class has touch() besides the package's functions.
		wantFuncs := append([]string{"void touch()"}, want.functions...)
		if !slices.Equal(slices.Sorted(slices.Values(funcs)), slices.Sorted(slices.Values(wantFuncs))) {
			t.Errorf("%s.java functions:\n has  %q\n want %q", class, funcs, wantFuncs)
		}
		if !maps.Equal(consts, want.constants) {
			t.Errorf("%s.java constants:\n has  %v\n want %v", class, consts, want.constants)
		}
	})
}

// The derivation follows gobind on the cases its rules are about.
func TestGobindRules(t *testing.T) {
	src := `package myfmt

type Closer interface{ Close() error }
type Printer interface {
	Close() error
	Print(s string)
	URLFor(p int, _ string, new bool, data []byte) (string, error)
}
type Myfmt interface{ Name() string }
func PrintHello(p Printer) {}
func NewIOS(id int32, f float64) (Myfmt, error) { return nil, nil }
const MaxN = 3
const Label = "x"
`
	pkg := typeCheck(t, "example.com/myfmt", map[string]string{"myfmt.go": src})
	d, err := gobindJava(pkg)
	if err != nil {
		t.Fatal(err)
	}
	wantIfaces := map[string]javaInterface{
		"Closer":  {methods: []string{"void close() throws Exception"}},
		"Myfmt_":  {methods: []string{"String name()"}},
		"Printer": {extends: []string{"Closer"}, methods: []string{"void close() throws Exception", "void print(String s)", "String urlFor(long p0, String p1, boolean new_, byte[] data) throws Exception"}},
	}
	for name, w := range wantIfaces {
		if g, ok := d.interfaces[name]; !ok || !slices.Equal(g.extends, w.extends) || !slices.Equal(g.methods, w.methods) {
			t.Errorf("interface %s = %+v, want %+v", name, g, w)
		}
	}
	if len(d.interfaces) != len(wantIfaces) {
		t.Errorf("interfaces %v", d.interfaces)
	}
	wantFuncs := []string{"Myfmt_ newIOS(int id, double f) throws Exception", "void printHello(Printer p0)"}
	if !slices.Equal(d.functions, wantFuncs) {
		t.Errorf("functions %q, want %q", d.functions, wantFuncs)
	}
	wantConsts := map[string]string{"MaxN": "long MaxN = 3L", "Label": `String Label = "x"`}
	if !maps.Equal(d.constants, wantConsts) {
		t.Errorf("constants %v, want %v", d.constants, wantConsts)
	}
	for in, want := range map[string]string{"IOS": "ios", "RegisterIOS": "registerIOS", "FaceIDUsageDescription": "faceIDUsageDescription", "URLFor": "urlFor", "X": "x", "already": "already"} {
		if got := lowerFirst(in); got != want {
			t.Errorf("lowerFirst(%q) = %q, want %q", in, got, want)
		}
	}
}

// The Java reader finds declarations that gobind would not write.
func TestReadJavaRejectsDrift(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write("Reply.java", "package mobile;\n/** doc */\npublic interface Reply {\n\tpublic void succeeded(); // comment\n\tpublic int extra(long a);\n}\n")
	got, err := readJavaInterface(p, "mobile", "Reply")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"void succeeded()", "int extra(long a)"}; !slices.Equal(got.methods, want) {
		t.Errorf("methods %q, want %q", got.methods, want)
	}
	p = write("Bad.java", "package mobile;\npublic interface Reply {\n\tpublic void succeeded();\n\tpublic static final int X = 1;\n}\n")
	if _, err := readJavaInterface(p, "mobile", "Reply"); err == nil || !strings.Contains(err.Error(), "Bad.java:4") {
		t.Errorf("an undeclared public member: err = %v, want one at Bad.java:4", err)
	}
	p = write("Other.java", "package other;\npublic interface Reply {}\n")
	if _, err := readJavaInterface(p, "mobile", "Reply"); err == nil {
		t.Error("a wrong package was accepted")
	}
	p = write("Mobile.java", "package mobile;\npublic abstract class Mobile {\n\tpublic static final long A = 1L;\n\tpublic static native void f(Reply r) throws Exception;\n\tpublic static void g() {\n\t}\n\tstatic Object hidden;\n}\n")
	funcs, consts, err := readJavaClass(p, "mobile", "Mobile")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"void f(Reply r) throws Exception", "void g()"}; !slices.Equal(funcs, want) {
		t.Errorf("functions %q, want %q", funcs, want)
	}
	if want := map[string]string{"A": "long A = 1L"}; !maps.Equal(consts, want) {
		t.Errorf("constants %v, want %v", consts, want)
	}
}

var (
	javaCommentRE   = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	javaPackageRE   = regexp.MustCompile(`(?m)^\s*package\s+([\w.]+)\s*;`)
	javaIfaceRE     = regexp.MustCompile(`public\s+interface\s+(\w+)(?:\s+extends\s+([\w\s,.]+?))?\s*\{`)
	javaClassRE     = regexp.MustCompile(`public\s+abstract\s+class\s+(\w+)\s*\{`)
	javaMethodRE    = regexp.MustCompile(`public\s+(?:static\s+)?(?:native\s+)?([\w.\[\]]+)\s+(\w+)\s*\(([^)]*)\)\s*(throws\s+[\w.]+\s*)?[;{]`)
	javaConstRE     = regexp.MustCompile(`public\s+static\s+final\s+([\w.\[\]]+)\s+(\w+)\s*=\s*([^;]+);`)
	javaPublicRE    = regexp.MustCompile(`\bpublic\b`)
	javaSpaceRE     = regexp.MustCompile(`\s+`)
	javaInterfaceOK = regexp.MustCompile(`^public\s+(?:[\w.\[\]]+)\s+\w+\s*\(`)
)

// javaSource reads a Java file without its comments (kept as blanks, so
// that offsets keep their lines) and checks its package.
func javaSource(path, javaPkg string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	src := javaCommentRE.ReplaceAllStringFunc(string(b), func(c string) string {
		return strings.Map(func(r rune) rune {
			if r == '\n' {
				return r
			}
			return ' '
		}, c)
	})
	m := javaPackageRE.FindStringSubmatch(src)
	if m == nil || m[1] != javaPkg {
		return "", fmt.Errorf("%s:1: not in Java package %s", path, javaPkg)
	}
	return src, nil
}

func lineOf(src string, off int) int { return 1 + strings.Count(src[:off], "\n") }

// method normalizes a matched method declaration.
func javaMethod(m []string) string {
	var params []string
	for _, p := range strings.Split(m[3], ",") {
		if p = strings.TrimSpace(javaSpaceRE.ReplaceAllString(p, " ")); p != "" {
			params = append(params, p)
		}
	}
	s := m[1] + " " + m[2] + "(" + strings.Join(params, ", ") + ")"
	if t := strings.TrimSpace(m[4]); t != "" {
		s += " " + javaSpaceRE.ReplaceAllString(t, " ")
	}
	return s
}

// readJavaInterface reads the public interface name from path: what it
// extends and its methods in file order. Any other public declaration is
// an error with its line.
func readJavaInterface(path, javaPkg, name string) (javaInterface, error) {
	var ji javaInterface
	src, err := javaSource(path, javaPkg)
	if err != nil {
		return ji, err
	}
	h := javaIfaceRE.FindStringSubmatchIndex(src)
	if h == nil || src[h[2]:h[3]] != name {
		return ji, fmt.Errorf("%s: no public interface %s", path, name)
	}
	if h[4] >= 0 {
		for _, e := range strings.Split(src[h[4]:h[5]], ",") {
			ji.extends = append(ji.extends, strings.TrimSpace(e))
		}
	}
	known := map[int]bool{h[0]: true}
	for _, m := range javaMethodRE.FindAllStringSubmatchIndex(src, -1) {
		if !javaInterfaceOK.MatchString(src[m[0]:m[1]]) {
			continue
		}
		known[m[0]] = true
		ji.methods = append(ji.methods, javaMethod(submatches(src, m)))
	}
	for _, p := range javaPublicRE.FindAllStringIndex(src, -1) {
		if !known[p[0]] {
			return ji, fmt.Errorf("%s:%d: a public declaration gobind does not write", path, lineOf(src, p[0]))
		}
	}
	return ji, nil
}

// readJavaClass reads the public static methods (native or not: the copy
// has bodies) and constants of the class name in path.
func readJavaClass(path, javaPkg, name string) (funcs []string, consts map[string]string, err error) {
	src, err := javaSource(path, javaPkg)
	if err != nil {
		return nil, nil, err
	}
	h := javaClassRE.FindStringSubmatchIndex(src)
	if h == nil || src[h[2]:h[3]] != name {
		return nil, nil, fmt.Errorf("%s: no public abstract class %s", path, name)
	}
	known := map[int]bool{h[0]: true}
	consts = map[string]string{}
	for _, m := range javaConstRE.FindAllStringSubmatchIndex(src, -1) {
		s := submatches(src, m)
		known[m[0]] = true
		consts[s[2]] = s[1] + " " + s[2] + " = " + strings.TrimSpace(s[3])
	}
	for _, m := range javaMethodRE.FindAllStringSubmatchIndex(src, -1) {
		if !strings.Contains(src[m[0]:m[1]], "static") {
			continue
		}
		known[m[0]] = true
		funcs = append(funcs, javaMethod(submatches(src, m)))
	}
	for _, p := range javaPublicRE.FindAllStringIndex(src, -1) {
		if !known[p[0]] {
			return nil, nil, fmt.Errorf("%s:%d: a public declaration gobind does not write", path, lineOf(src, p[0]))
		}
	}
	return funcs, consts, nil
}

// submatches turns submatch indexes into strings ("" for a missing group).
func submatches(src string, m []int) []string {
	s := make([]string, len(m)/2)
	for i := range s {
		if m[2*i] >= 0 {
			s[i] = src[m[2*i]:m[2*i+1]]
		}
	}
	return s
}
