package schema

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/ghcmd"
)

// sampleReport validates a small app with an error, a warning and a note.
func sampleReport(t *testing.T) (string, *Report) {
	dir := writeApp(t, map[string]string{
		"capabilities/main.json":   "{\n  \"identifier\": \"main\",\n  \"windows\": [\"main\"],\n  \"permissions\": [\"fs:default\", \"fs:raed-all\", \"fs:default\"]\n}",
		"capabilities/mobile.json": `{"identifier": "mobile", "windows": ["main"], "permissions": ["nfc:default"], "platforms": ["iOS"]}`,
	})
	r, err := ValidateApp(dir, Options{Targets: []acl.Target{acl.Linux}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(Error) != 1 || r.Count(Warning) != 1 || r.Count(Note) != 1 {
		t.Fatalf("expected an error, a warning and a note, got %v", r.Findings)
	}
	return dir, r
}

func TestWriteText(t *testing.T) {
	dir, r := sampleReport(t)
	var b bytes.Buffer
	if err := r.Write(&b, FormatText); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "capabilities", "main.json")
	want := main + `:4:33: error: unknown permission "fs:raed-all" for fs; did you mean "fs:read-all"?
    4 |   "permissions": ["fs:default", "fs:raed-all", "fs:default"]
      |                                 ^
` + main + `:4:48: warning: permissions[2] repeats permissions[0] (line 4); Tauri accepts the repeat, but the schema's uniqueItems rule rejects it and editors flag it
    4 |   "permissions": ["fs:default", "fs:raed-all", "fs:default"]
      |                                                ^
`
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("text output:\n%s\nwant it to start with:\n%s", b.String(), want)
	}
	if !strings.HasSuffix(b.String(), "\n1 error, 1 warning, 1 note (manifests checked as built for linux)\n") {
		t.Errorf("summary line missing:\n%s", b.String())
	}
}

func TestExcerptLongLinesAndTabs(t *testing.T) {
	var b bytes.Buffer
	excerpt(&b, "\tx", 7, 2)
	if got := b.String(); got != "    7 |  x\n      |  ^\n" {
		t.Errorf("tab: %q", got)
	}
	b.Reset()
	long := strings.Repeat("a", 200) + "X" + strings.Repeat("b", 200)
	excerpt(&b, long, 1, 201)
	lines := strings.Split(b.String(), "\n")
	caret := strings.IndexRune(lines[1], '^')
	if []rune(lines[0])[caret] != 'X' {
		t.Errorf("caret not under the column: %q", b.String())
	}
	if !strings.Contains(lines[0], "…") || len([]rune(lines[0])) > 140 {
		t.Errorf("long line not cut: %d runes", len([]rune(lines[0])))
	}
}

func TestWriteJSON(t *testing.T) {
	_, r := sampleReport(t)
	var b bytes.Buffer
	if err := r.Write(&b, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Targets  []string
		Errors   int
		Warnings int
		Notes    int
		Findings []struct {
			File, Pointer, Severity, Rule, Message string
			Line, Column                           int
		}
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Targets) != 1 || out.Targets[0] != "linux" || out.Errors != 1 || out.Warnings != 1 || out.Notes != 1 || len(out.Findings) != 3 {
		t.Fatalf("JSON output: %s", b.String())
	}
	f := out.Findings[0]
	if f.Line != 4 || f.Column != 33 || f.Pointer != "/permissions/1" || f.Severity != "error" || f.Rule != RuleUnknownPermission {
		t.Errorf("first finding: %+v", f)
	}
	if strings.Contains(b.String(), `\u003c`) || strings.Contains(b.String(), `\u0026`) {
		t.Errorf("HTML-escaped output")
	}
}

func TestWriteGitHub(t *testing.T) {
	dir, r := sampleReport(t)
	var b bytes.Buffer
	if err := r.Write(&b, FormatGitHub); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("expected 3 commands:\n%s", b.String())
	}
	file := ghcmd.Property(filepath.ToSlash(filepath.Join(dir, "capabilities", "main.json")))
	want := "::error file=" + file + ",line=4,col=33,title=capguard unknown-permission::unknown permission \"fs:raed-all\" for fs; did you mean \"fs:read-all\"?"
	if lines[0] != want {
		t.Errorf("\n got %s\nwant %s", lines[0], want)
	}
	if !strings.HasPrefix(lines[1], "::warning ") || !strings.HasPrefix(lines[2], "::notice ") {
		t.Errorf("severities: %q, %q", lines[1], lines[2])
	}
}

func TestWriteSARIF(t *testing.T) {
	_, r := sampleReport(t)
	var b bytes.Buffer
	if err := r.Write(&b, FormatSARIF); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct {
						ID               string
						ShortDescription struct{ Text string }
					}
				}
			}
			ColumnKind string
			Results    []struct {
				RuleID    string
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("SARIF header: %s", b.String())
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "capguard" || run.ColumnKind != "unicodeCodePoints" || len(run.Results) != 3 {
		t.Fatalf("SARIF run: %s", b.String())
	}
	res := run.Results[0]
	loc := res.Locations[0].PhysicalLocation
	if res.RuleID != RuleUnknownPermission || res.Level != "error" || loc.Region.StartLine != 4 || loc.Region.StartColumn != 33 ||
		!strings.HasPrefix(loc.ArtifactLocation.URI, "file:///") || !strings.HasSuffix(loc.ArtifactLocation.URI, "/capabilities/main.json") {
		t.Errorf("first result: %+v", res)
	}
	if len(run.Tool.Driver.Rules) != 3 {
		t.Errorf("rules: %+v", run.Tool.Driver.Rules)
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.ShortDescription.Text == "" {
			t.Errorf("rule %s has no description", rule.ID)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"src-tauri/capabilities/main.json", "src-tauri/capabilities/main.json"},
		{"a b/c#d.json", "a%20b/c%23d.json"},
	} {
		if got := fileURI(tc.in); got != tc.want {
			t.Errorf("fileURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	_, r := sampleReport(t)
	if err := r.Write(&bytes.Buffer{}, "xml"); err == nil {
		t.Error("unknown format accepted")
	}
}
