package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
)

// benchApp is the app the single-app benchmarks use: 702 permission
// identifiers and two plugin scope schemas (fs, shell), a typical
// mid-size app of the corpus.
const benchApp = "chriswangcq__novaic-app"

type appInput struct {
	name      string
	manifests acl.Manifests
	files     []string
	data      [][]byte
	targets   []acl.Target
}

func loadAppInput(b testing.TB, app string) appInput {
	dir := filepath.Join(conformance.Root(b), "apps", app, "src-tauri")
	ms, err := acl.ReadManifests(filepath.Join(dir, "gen", "schemas", "acl-manifests.json"))
	if err != nil {
		b.Fatal(err)
	}
	// The targets capguard validate infers for the app.
	v, err := Compile(ms, CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	schemas := schemaFiles{fsys: os.DirFS(dir), dir: "gen/schemas", display: func(p string) string { return p }}
	in := appInput{name: app, manifests: ms, targets: (&Report{}).targets(nil, v, schemas, "")}
	files, _ := capabilityFiles(os.DirFS(dir), "capabilities")
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		in.files = append(in.files, f)
		in.data = append(in.data, data)
	}
	return in
}

func corpusInputs(b *testing.B) []appInput {
	var out []appInput
	for _, app := range conformance.Apps(b) {
		out = append(out, loadAppInput(b, app))
	}
	return out
}

// BenchmarkGenerate writes the schema text of one app.
func BenchmarkGenerate(b *testing.B) {
	in := loadAppInput(b, benchApp)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(in.manifests, GenerateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile generates and compiles one app's schema, as written
// (exact) and with the identifier lists as set lookups (optimized).
func BenchmarkCompile(b *testing.B) {
	in := loadAppInput(b, benchApp)
	for _, mode := range []struct {
		name string
		opts CompileOptions
	}{{"exact", CompileOptions{Exact: true}}, {"optimized", CompileOptions{}}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(in.manifests, mode.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateWarm validates one app's capability files with a
// compiled validator: the whole file check (parse, schema, identifiers,
// globs, URL patterns), and the schema validation alone.
func BenchmarkValidateWarm(b *testing.B) {
	in := loadAppInput(b, benchApp)
	for _, mode := range []struct {
		name string
		opts CompileOptions
	}{{"exact", CompileOptions{Exact: true}}, {"optimized", CompileOptions{}}} {
		v, err := Compile(in.manifests, mode.opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(mode.name+"/checks", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i, f := range in.files {
					v.CheckFile(f, in.data[i], in.targets)
				}
			}
		})
		b.Run(mode.name+"/schema-only", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i, f := range in.files {
					if _, err := v.SchemaAccepts(f, in.data[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkCorpus validates the capability files of every app of the
// corpus: with validators compiled beforehand (compile excluded), and
// compiling each app's validator in the loop (compile included).
func BenchmarkCorpus(b *testing.B) {
	inputs := corpusInputs(b)
	validators := make([]*Validator, len(inputs))
	for i, in := range inputs {
		v, err := Compile(in.manifests, CompileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		validators[i] = v
	}
	b.Run("compile-excluded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i, in := range inputs {
				for j, f := range in.files {
					validators[i].CheckFile(f, in.data[j], in.targets)
				}
			}
		}
	})
	b.Run("compile-included", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, in := range inputs {
				v, err := Compile(in.manifests, CompileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for j, f := range in.files {
					v.CheckFile(f, in.data[j], in.targets)
				}
			}
		}
	})
}

// BenchmarkValidateAppCorpus is what "capguard validate" does for every
// app: read the files, infer the target, compile, check, resolve.
func BenchmarkValidateAppCorpus(b *testing.B) {
	root := filepath.Join(conformance.Root(b), "apps")
	apps := conformance.Apps(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, app := range apps {
			if _, err := ValidateApp(filepath.Join(root, app, "src-tauri"), Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPerApp measures every app of the corpus on its own: compiling
// its validator, and validating its JSON capability files warm with the
// schema alone and with every check. schema/bench/bench.mjs runs it next
// to ajv on the same schemas and files.
func BenchmarkPerApp(b *testing.B) {
	for _, in := range corpusInputs(b) {
		var files []string
		var data [][]byte
		for i, f := range in.files {
			if filepath.Ext(f) == ".json" {
				files = append(files, f)
				data = append(data, in.data[i])
			}
		}
		if len(files) == 0 {
			continue
		}
		b.Run("compile/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(in.manifests, CompileOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		v, err := Compile(in.manifests, CompileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("schema/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i, f := range files {
					if _, err := v.SchemaAccepts(f, data[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run("checks/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i, f := range files {
					v.CheckFile(f, data[i], in.targets)
				}
			}
		})
	}
}
