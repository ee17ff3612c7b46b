package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/internal/doc"
	"github.com/capguard/capguard/schema"
)

// validateJSON is the JSON output of capguard validate.
type validateJSON struct {
	Targets  []string
	Errors   int
	Warnings int
	Notes    int
	Findings []struct {
		File, Pointer, Severity, Rule, Message string
		Line, Column                           int
	}
}

func parseValidate(t *testing.T, stdout string) validateJSON {
	t.Helper()
	var v validateJSON
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("validate --format json printed invalid JSON: %v\n%s", err, stdout)
	}
	return v
}

// TestValidateCorpusCLI runs capguard validate on every app: exit 1 exactly
// for the apps with errors, and with --strict for those with warnings too.
func TestValidateCorpusCLI(t *testing.T) {
	withErrors := 0
	for _, app := range conformance.Apps(t) {
		t.Run(app, func(t *testing.T) {
			dir := conformance.Path(t, "apps", app, "src-tauri")
			stdout, stderr, code := capguard(t, "validate", dir, "--format", "json")
			v := parseValidate(t, stdout)
			wantCode := 0
			if v.Errors > 0 {
				wantCode = 1
				withErrors++
			}
			if code != wantCode || stderr != "" {
				t.Errorf("exit %d (stderr %q) with %d errors", code, stderr, v.Errors)
			}
			_, _, code = capguard(t, "validate", dir, "--strict", "--format", "json")
			if wantStrict := map[bool]int{true: 1, false: 0}[v.Errors+v.Warnings > 0]; code != wantStrict {
				t.Errorf("--strict: exit %d with %d errors and %d warnings", code, v.Errors, v.Warnings)
			}
		})
	}
	if withErrors != 1 {
		t.Errorf("%d apps with errors; the corpus has one (NicolaSpadari__nuxtor, see schema/testdata/corpus-findings.txt)", withErrors)
	}
}

func TestValidateFormatsOnNuxtor(t *testing.T) {
	dir := conformance.Path(t, "apps", "NicolaSpadari__nuxtor", "src-tauri")
	file := filepath.Join(dir, "capabilities", "main.json")
	for _, tc := range []struct {
		format, want string
	}{
		{"text", file + ":21:5: error: permissions[8].allow[0]: this allow entry does not fit the shell plugin's scope schema"},
		{"github", "::error file=" + filepath.ToSlash(file) + ",line=21,col=5,title=capguard scope::permissions[8].allow[0]"},
		{"sarif", `"ruleId": "scope"`},
		{"json", `"line": 21`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			stdout, _, code := capguard(t, "validate", dir, "--format", tc.format)
			if code != 1 || !strings.Contains(stdout, tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant it to contain %s", code, stdout, tc.want)
			}
		})
	}
}

func TestValidateUsage(t *testing.T) {
	app := conformance.Path(t, "apps", "KazBrekker1__meeqat", "src-tauri")
	caps := filepath.Join(app, "capabilities")
	manifests := filepath.Join(app, "gen", "schemas", "acl-manifests.json")
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"example app", []string{"validate"}, 0, ""},
		{"bad format", []string{"validate", app, "--format", "xml"}, 2, "--format must be"},
		{"bad target", []string{"validate", app, "--target", "macos"}, 2, `did you mean "macOS"?`},
		{"files without manifests", []string{"validate", caps}, 2, "need --manifests"},
		{"files with manifests", []string{"validate", caps, "--manifests", manifests}, 0, ""},
		{"one file with manifests", []string{"validate", filepath.Join(caps, "main.json"), "--manifests", manifests, "--target", "macOS"}, 0, ""},
		{"missing path", []string{"validate", filepath.Join(app, "nope")}, 2, "no such file"},
		{"missing manifests file", []string{"validate", caps, "--manifests", filepath.Join(app, "nope.json")}, 2, "no such file"},
		{"manifests without input", []string{"validate", "--manifests", manifests}, 2, "needs capability files"},
		{"directory without manifests", []string{"validate", filepath.Dir(manifests)}, 2, "need --manifests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := capguard(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.err)
			}
		})
	}
}

// copyApp copies the files of a corpus app that validation reads.
func copyApp(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// mutation is a broken copy of a capability file: the new content, and
// the error it must give.
type mutation struct {
	name, file  string // file: relative to the app
	data        []byte
	line, col   int
	rule        string
	schemaCatch bool // whether the generated schema alone rejects it
}

// replaceAt replaces the string (or bare key) old written at offset off
// with repl, keeping the quoting style of the original; ok is false when
// old is not written plainly there.
func replaceAt(data []byte, off int, old, repl string, quote bool) ([]byte, bool) {
	for _, q := range []string{`"`, `'`, ""} {
		lit := q + old + q
		if off+len(lit) > len(data) || string(data[off:off+len(lit)]) != lit {
			continue
		}
		with := repl
		if quote {
			with = q + repl + q
		}
		out := append([]byte(nil), data[:off]...)
		out = append(out, with...)
		return append(out, data[off+len(lit):]...), true
	}
	return nil, false
}

func parseAny(name string, data []byte) (*doc.Node, error) {
	switch filepath.Ext(name) {
	case ".toml":
		return doc.ParseTOML(data)
	case ".json5":
		return doc.ParseJSON5(data)
	}
	return doc.ParseJSON(data)
}

// mutations derives broken copies of the first capability of a file,
// when it applies to one of the targets and names a permission.
func mutations(rel string, data []byte, targets []acl.Target) []mutation {
	root, err := parseAny(rel, data)
	if err != nil {
		return nil
	}
	capNode, capPtr := root, ""
	if root.Kind == doc.Array && len(root.Items) > 0 {
		capNode, capPtr = root.Items[0], "/0"
	} else if list := root.Get("capabilities"); list != nil && len(list.Items) > 0 {
		capNode, capPtr = list.Items[0], "/capabilities/0"
	}
	id, perms := capNode.Get("identifier"), capNode.Get("permissions")
	if capNode.Kind != doc.Object || id == nil || id.Kind != doc.String || perms == nil || perms.Kind != doc.Array {
		return nil
	}
	if pl := capNode.Get("platforms"); pl != nil {
		active := false
		for _, it := range pl.Items {
			for _, t := range targets {
				active = active || it.Text == t.String()
			}
		}
		if !active {
			return nil
		}
	}
	var perm *doc.Node
	for _, p := range perms.Items {
		if p.Kind == doc.String {
			perm = p
		} else if p.Kind == doc.Object && p.Get("identifier") != nil && p.Get("identifier").Kind == doc.String {
			perm = p.Get("identifier")
		}
		if perm != nil {
			break
		}
	}
	if perm == nil {
		return nil
	}
	var out []mutation
	add := func(name string, pos doc.Pos, old, repl string, quote bool, rule string, catch bool) {
		if d, ok := replaceAt(data, pos.Offset, old, repl, quote); ok {
			out = append(out, mutation{name, rel, d, pos.Line, pos.Col, rule, catch})
		}
	}
	add("unknown permission", perm.Pos, perm.Text, perm.Text+"zz", true, schema.RuleUnknownPermission, true)
	keyPos, _ := root.KeyPos(capPtr + "/permissions")
	add("misspelled field", keyPos, "permissions", "permisions", true, schema.RuleUnknownField, true)
	add("wrong type", id.Pos, id.Text, "42", false, schema.RuleSchema, true)
	for _, field := range []string{"windows", "webviews"} {
		if l := capNode.Get(field); l != nil && len(l.Items) > 0 && l.Items[0].Kind == doc.String {
			add("bad glob", l.Items[0].Pos, l.Items[0].Text, "main[", true, schema.RuleGlob, false)
			break
		}
	}
	idKey, _ := root.KeyPos(capPtr + "/identifier")
	dup := filepath.Join(filepath.Dir(rel), "zz-duplicate"+filepath.Ext(rel))
	out = append(out, mutation{"duplicate identifier", dup, data, idKey.Line, idKey.Col, schema.RuleDuplicateCapability, false})
	return out
}

// TestValidateMutations breaks a capability file of every app in five
// ways; each broken copy must make validate exit 1 with an error of the
// right rule at the right line and column, and the generated schema alone
// must reject exactly the mutations a schema can catch.
func TestValidateMutations(t *testing.T) {
	covered := map[string]int{}
	for _, app := range conformance.Apps(t) {
		t.Run(app, func(t *testing.T) {
			src := conformance.Path(t, "apps", app, "src-tauri")
			ms, err := acl.ReadManifests(filepath.Join(src, "gen", "schemas", "acl-manifests.json"))
			if err != nil {
				t.Fatal(err)
			}
			exact, err := schema.Compile(ms, schema.CompileOptions{Exact: true})
			if err != nil {
				t.Fatal(err)
			}
			fast, err := schema.Compile(ms, schema.CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			report, err := schema.ValidateApp(src, schema.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			_ = filepath.WalkDir(filepath.Join(src, "capabilities"), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, p)
				}
				return nil
			})
			sort.Strings(files)
			if len(files) == 0 {
				t.Skipf("%s has no capability files to break", app)
			}
			var muts []mutation
			schemaAccepted := false
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				rel, _ := filepath.Rel(src, f)
				if muts = mutations(rel, data, report.Targets); len(muts) > 0 {
					// The schema verdicts only tell something about files
					// the schema accepted before the mutation.
					schemaAccepted, _ = exact.SchemaAccepts(f, data)
					break
				}
			}
			if len(muts) == 0 {
				t.Fatalf("no capability of %s applies to %v and names a permission", app, report.Targets)
			}
			for _, m := range muts {
				t.Run(m.name, func(t *testing.T) {
					dir := copyApp(t, src)
					if err := os.WriteFile(filepath.Join(dir, m.file), m.data, 0o644); err != nil {
						t.Fatal(err)
					}
					stdout, stderr, code := capguard(t, "validate", dir, "--format", "json")
					if code != 1 {
						t.Fatalf("exit %d, want 1 (stderr %q)", code, stderr)
					}
					v := parseValidate(t, stdout)
					found := false
					for _, f := range v.Findings {
						if f.Severity == "error" && f.Rule == m.rule && f.Line == m.line && f.Column == m.col && strings.HasSuffix(filepath.ToSlash(f.File), filepath.ToSlash(m.file)) {
							found = true
						}
					}
					if !found {
						t.Errorf("no %s error at %s:%d:%d; findings: %+v", m.rule, m.file, m.line, m.col, v.Findings)
					}
					accepted, err := exact.SchemaAccepts(m.file, m.data)
					if err != nil {
						t.Fatal(err)
					}
					if fastAccepted, _ := fast.SchemaAccepts(m.file, m.data); fastAccepted != accepted {
						t.Errorf("the exact schema accepts it: %v, the optimized one: %v", accepted, fastAccepted)
					}
					if schemaAccepted && accepted == m.schemaCatch {
						t.Errorf("the generated schema accepts it: %v; a schema can catch this mutation: %v", accepted, m.schemaCatch)
					}
					covered[m.name]++
				})
			}
		})
	}
	for _, name := range []string{"unknown permission", "misspelled field", "wrong type", "bad glob", "duplicate identifier"} {
		if covered[name] < 33 {
			t.Errorf("mutation %q ran on %d apps only", name, covered[name])
		}
		t.Logf("%s: %d apps", name, covered[name])
	}
}

// TestGenSchemaCorpus regenerates, through the CLI, every desktop- and
// mobile-schema.json of the newest format that meta.json marks as written
// from the committed acl-manifests.json.
func TestGenSchemaCorpus(t *testing.T) {
	// Reformatted by the repository's code formatter after the build; see
	// schema.TestGenerateMatchesCorpus, which checks that only whitespace
	// differs.
	reformatted := map[string]bool{"nostrnative__bloom": true}
	n, same := 0, 0
	for _, app := range conformance.Apps(t) {
		m := conformance.Meta(t, app)
		if v := m.Versions["tauri-utils"]; v != "" {
			if f, err := schema.FormatFor(v); err != nil || f != schema.Latest {
				continue
			}
		}
		dir := conformance.Path(t, "apps", app, "src-tauri", "gen", "schemas")
		for file, target := range map[string]string{"desktop-schema.json": "linux", "mobile-schema.json": "android"} {
			if m.SchemaVsACLManifests[file] != "match" {
				continue
			}
			n++
			stdout, stderr, code := capguard(t, "gen", "schema", "--manifests", filepath.Join(dir, "acl-manifests.json"), "--target", target)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", app, code, stderr)
			}
			want, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case stdout == string(want):
				same++
			case !reformatted[app]:
				t.Errorf("%s/%s differs", app, file)
			}
		}
	}
	t.Logf("%d of %d newest-format desktop/mobile schema files byte for byte (the others were reformatted after the build)", same, n)
	if n < 30 || same+2 < n {
		t.Errorf("%d files, %d identical", n, same)
	}
}

func TestGenSchemaWrites(t *testing.T) {
	src := conformance.Path(t, "apps", "claneys__expedition-pwa", "src-tauri")
	dir := copyApp(t, src)
	schemas := filepath.Join(dir, "gen", "schemas")
	for _, f := range []string{"android-schema.json", "mobile-schema.json"} {
		if err := os.Remove(filepath.Join(schemas, f)); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := capguard(t, "gen", "schema", dir, "--target", "android")
	if code != 0 || !strings.Contains(stdout, "wrote "+filepath.Join(schemas, "android-schema.json")) || !strings.Contains(stdout, "mobile-schema.json") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	for _, f := range []string{"android-schema.json", "mobile-schema.json"} {
		got, _ := os.ReadFile(filepath.Join(schemas, f))
		want, _ := os.ReadFile(filepath.Join(src, "gen", "schemas", f))
		if string(got) != string(want) {
			t.Errorf("%s differs from the committed one", f)
		}
	}
	// Unchanged files are left alone; desktop files were already right.
	stdout, _, code = capguard(t, "gen", "schema", dir, "--target", "linux")
	if code != 0 || stdout != "" {
		t.Errorf("regenerating unchanged desktop files: exit %d, %q", code, stdout)
	}
	out := t.TempDir()
	stdout, _, code = capguard(t, "gen", "schema", "--manifests", filepath.Join(schemas, "acl-manifests.json"), "--target", "iOS", "--out", out, "--format-version", "2.8.3")
	if code != 0 || strings.Count(stdout, "wrote ") != 2 {
		t.Errorf("--out: exit %d, %q", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"gen", "schema", dir, "--target", "ios"}, 2, `did you mean "iOS"?`},
		{[]string{"gen", "schema", dir, "--format-version", "1.6.0"}, 2, "tauri-utils 2.0.0 and later"},
		{[]string{"gen", "schema", filepath.Join(dir, "nope")}, 2, "no such file"},
		{[]string{"gen", "schema", "a", "b"}, 2, "at most 1 argument"},
	} {
		_, stderr, code := capguard(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.err)
		}
	}
	// Invalid manifests: exit 1, nothing written.
	bad := filepath.Join(t.TempDir(), "acl-manifests.json")
	if err := os.WriteFile(bad, []byte(`{"fs": {"permissions": {}, "permission_sets": {}, "global_scope_schema": {"type": "text"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	_, stderr, code = capguard(t, "gen", "schema", "--manifests", bad, "--out", outDir)
	entries, _ := os.ReadDir(outDir)
	if code != 1 || !strings.Contains(stderr, `unknown type "text"`) || len(entries) != 0 {
		t.Errorf("invalid scope schema: exit %d, %q, %d files written", code, stderr, len(entries))
	}
}
