package schema

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus-findings.txt from the current findings (keeping the explanations)")

const findingsFile = "testdata/corpus-findings.txt"

// corpusFinding is one line of the findings file.
type corpusFinding struct {
	app, file, at, severity, rule, message string
	why                                    string
}

func (f corpusFinding) key() string {
	return strings.Join([]string{f.app, f.file, f.at, f.severity, f.rule, f.message}, "\t")
}

// readFindings reads the findings file: one finding per line (app, file,
// line:col, severity, rule, message, tab-separated), each error followed
// by an indented "why:" line that explains it.
func readFindings(t *testing.T) []corpusFinding {
	data, err := os.ReadFile(findingsFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusFinding
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "\twhy: "):
			if len(out) == 0 {
				t.Fatalf("%s:%d: explanation before any finding", findingsFile, n)
			}
			out[len(out)-1].why = strings.TrimPrefix(line, "\twhy: ")
		default:
			p := strings.Split(line, "\t")
			if len(p) != 6 {
				t.Fatalf("%s:%d: expected 6 tab-separated fields, found %d", findingsFile, n, len(p))
			}
			out = append(out, corpusFinding{app: p[0], file: p[1], at: p[2], severity: p[3], rule: p[4], message: p[5]})
		}
	}
	return out
}

var corpusOnce struct {
	sync.Once
	reports map[string]*Report
	err     error
}

// corpusReports validates every app of the corpus once per test binary.
func corpusReports(t *testing.T) map[string]*Report {
	root := conformance.Root(t)
	apps := conformance.Apps(t)
	corpusOnce.Do(func() {
		corpusOnce.reports = map[string]*Report{}
		for _, app := range apps {
			r, err := ValidateApp(filepath.Join(root, "apps", app, "src-tauri"), Options{})
			if err != nil {
				corpusOnce.err = fmt.Errorf("%s: %w", app, err)
				return
			}
			corpusOnce.reports[app] = r
		}
	})
	if corpusOnce.err != nil {
		t.Fatal(corpusOnce.err)
	}
	return corpusOnce.reports
}

func currentFindings(t *testing.T) []corpusFinding {
	root := filepath.Join(conformance.Root(t), "apps")
	var out []corpusFinding
	reports := corpusReports(t)
	for _, app := range conformance.Apps(t) {
		prefix := filepath.Join(root, app) + string(filepath.Separator)
		for _, f := range reports[app].Findings {
			at := "-"
			if f.Pos.Line > 0 {
				at = fmt.Sprintf("%d:%d", f.Pos.Line, f.Pos.Col)
			}
			out = append(out, corpusFinding{app: app, file: filepath.ToSlash(strings.TrimPrefix(f.Pos.File, prefix)), at: at,
				severity: f.Severity.String(), rule: f.Rule, message: strings.ReplaceAll(f.Message, prefix, "")})
		}
	}
	return out
}

// TestCorpusFindings runs the validation of every app of the corpus and
// asserts exactly the findings recorded in testdata/corpus-findings.txt,
// each error with a one-line explanation of the real problem.
func TestCorpusFindings(t *testing.T) {
	got := currentFindings(t)
	if *update {
		writeFindings(t, got)
	}
	want := readFindings(t)
	wantKeys := map[string]bool{}
	for _, f := range want {
		wantKeys[f.key()] = true
		if f.severity == "error" && strings.TrimSpace(f.why) == "" {
			t.Errorf("%s: the error has no \"why:\" line explaining the problem", f.key())
		}
	}
	gotKeys := map[string]bool{}
	for _, f := range got {
		gotKeys[f.key()] = true
		if !wantKeys[f.key()] {
			t.Errorf("new finding (run with -update after checking it):\n  %s", f.key())
		}
	}
	for _, f := range want {
		if !gotKeys[f.key()] {
			t.Errorf("finding no longer reported:\n  %s", f.key())
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d findings, the file lists %d", len(got), len(want))
	}
	counts := map[string]int{}
	for _, f := range got {
		counts[f.severity]++
	}
	t.Logf("%d apps: %d errors, %d warnings, %d notes", len(conformance.Apps(t)), counts["error"], counts["warning"], counts["note"])
}

// writeFindings rewrites the findings file, keeping the explanations of
// the findings that remain.
func writeFindings(t *testing.T, got []corpusFinding) {
	why := map[string]string{}
	if _, err := os.Stat(findingsFile); err == nil {
		for _, f := range readFindings(t) {
			why[f.key()] = f.why
		}
	}
	var b strings.Builder
	b.WriteString(`# Every finding of "capguard validate" on the apps of ../shared/conformance/apps,
# asserted exactly by TestCorpusFindings (go test ./schema -run TestCorpusFindings -update
# rewrites it and keeps the explanations). Fields, tab-separated: app, file (relative to the
# app folder), line:col, severity, rule, message. Each error is followed by a "why:" line.
`)
	for _, f := range got {
		b.WriteString(f.key() + "\n")
		if w := why[f.key()]; w != "" {
			b.WriteString("\twhy: " + w + "\n")
		}
	}
	if err := os.WriteFile(findingsFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCorpusSchemaVerdicts validates every capability file of the corpus
// with the generated schema alone (exactly as generated, and as Compile
// optimizes it), as an editor would: both must agree on every file, and
// the files they reject must be exactly those whose findings explain why.
func TestCorpusSchemaVerdicts(t *testing.T) {
	root := filepath.Join(conformance.Root(t), "apps")
	// The files the schema rejects, and the finding that explains each.
	// (Capabilities of other targets whose permissions happen to exist in
	// the manifests, such as Sparus's mobile.json, pass the schema.)
	rejected := map[string]string{
		"AveryanAlex__IronWing/src-tauri/capabilities/mobile.json":      RuleNotChecked,          // mobile plugins, desktop manifests
		"NicolaSpadari__nuxtor/src-tauri/capabilities/main.json":        RuleScope,               // shell entry with cmd and sidecar
		"Uhuh__tts-helper/src-tauri/capabilities/migrated.json":         RuleDuplicatePermission, // uniqueItems
		"afadil__wealthfolio/src-tauri/capabilities/desktop.json":       RuleNotChecked,          // desktop plugins, iOS manifests
		"darksoil-studio__dash-chat/src-tauri/capabilities/mobile.json": RuleNotChecked,          // mobile plugins, linux manifests
		"mountain-loop__yaak/src-tauri/capabilities/capabilities.json":  RuleDuplicatePermission, // uniqueItems
		"sharkdp__numbat-app/src-tauri/capabilities/migrated.json":      RuleUnknownPermission,   // haptics:default without a default set
	}
	reports := corpusReports(t)
	seen := map[string]bool{}
	for _, app := range conformance.Apps(t) {
		dir := filepath.Join(root, app, "src-tauri")
		ms, err := acl.ReadManifests(filepath.Join(dir, "gen", "schemas", "acl-manifests.json"))
		if err != nil {
			t.Fatal(err)
		}
		exact, err := Compile(ms, CompileOptions{Exact: true})
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		fast, err := Compile(ms, CompileOptions{})
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		files, err := capabilityFiles(os.DirFS(dir), "capabilities")
		if err != nil {
			continue // no capabilities folder
		}
		for _, f := range files {
			rel := app + "/src-tauri/" + f
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			okExact, err := exact.SchemaAccepts(f, data)
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			okFast, _ := fast.SchemaAccepts(f, data)
			if okExact != okFast {
				t.Errorf("%s: exact schema accepts=%v, optimized schema accepts=%v", rel, okExact, okFast)
			}
			rule, expected := rejected[rel]
			switch {
			case okExact && expected:
				t.Errorf("%s: the schema accepts it, but the test expects a rejection explained by %s", rel, rule)
			case !okExact && !expected:
				t.Errorf("%s: the schema rejects it, and no finding explains why", rel)
			case !okExact:
				seen[rel] = true
				explained := false
				for _, fd := range reports[app].Findings {
					if fd.Rule == rule && strings.HasSuffix(filepath.ToSlash(fd.Pos.File), "/"+f) {
						explained = true
					}
				}
				if !explained {
					t.Errorf("%s: rejected by the schema, but no %s finding points into it", rel, rule)
				}
			}
		}
	}
	for rel := range rejected {
		if !seen[rel] {
			t.Errorf("%s: expected the schema to reject it", rel)
		}
	}
}
