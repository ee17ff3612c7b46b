package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/ghcmd"
)

// errNilReport is the error of a nil Report's Write methods.
var errNilReport = errors.New("schema: no report (nil *Report)")

// Merge adds the findings, sources and targets of o to r; it does nothing
// when either is nil.
func (r *Report) Merge(o *Report) {
	if r == nil || o == nil {
		return
	}
	r.add(o.Findings...)
	for k, v := range o.sources {
		r.addSource(k, v)
	}
	r.Targets = appendTargets(r.Targets, o.Targets...)
	sort.Slice(r.Targets, func(i, j int) bool { return r.Targets[i] < r.Targets[j] })
	r.sort()
}

// WriteText writes the findings as "file:line:col: severity: message",
// each followed by the source line and a caret under the column, then a
// summary line.
func (r *Report) WriteText(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	var b bytes.Buffer
	for _, f := range r.Findings {
		b.WriteString(f.String())
		b.WriteByte('\n')
		if line, ok := r.sourceLine(f.Pos.File, f.Pos.Line); ok {
			excerpt(&b, line, f.Pos.Line, f.Pos.Col)
		}
	}
	b.WriteString(r.summary())
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Report) summary() string {
	plural := func(n int, word string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", word)
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	s := plural(r.Count(Error), "error") + ", " + plural(r.Count(Warning), "warning") + ", " + plural(r.Count(Note), "note")
	if len(r.Targets) > 0 {
		s += " (manifests checked as built for " + targetList(r.Targets) + ")"
	}
	return s
}

// sourceLine returns line n (1-based) of a file the report read.
func (r *Report) sourceLine(file string, n int) (string, bool) {
	data, ok := r.sources[file]
	if !ok || n < 1 {
		return "", false
	}
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return "", false
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return strings.TrimRight(string(data), "\r"), true
}

// excerpt writes a source line with a gutter and a caret under column col
// (counted in code points). Tabs become spaces so that the caret lines up;
// a long line is cut around the column.
func excerpt(b *bytes.Buffer, line string, n, col int) {
	runes := []rune(strings.ReplaceAll(line, "\t", " "))
	if !utf8.ValidString(line) {
		runes = []rune(strings.ToValidUTF8(strings.ReplaceAll(line, "\t", " "), "\uFFFD"))
	}
	c := max(col-1, 0)
	const width = 120
	prefix := ""
	if len(runes) > width {
		start := max(0, c-width/2)
		end := min(len(runes), start+width)
		cut := append([]rune(nil), runes[start:end]...)
		if start > 0 {
			prefix = "…"
		}
		if end < len(runes) {
			cut = append(cut, '…')
		}
		runes = cut
		c -= start
	}
	gutter := fmt.Sprintf("%5d | ", n)
	b.WriteString(gutter)
	b.WriteString(prefix)
	b.WriteString(string(runes))
	b.WriteByte('\n')
	b.WriteString(strings.Repeat(" ", len(gutter)-2))
	b.WriteString("| ")
	b.WriteString(strings.Repeat(" ", utf8.RuneCountInString(prefix)+c))
	b.WriteString("^\n")
}

// jsonFinding is a finding in the JSON output.
type jsonFinding struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Pointer  string `json:"pointer,omitempty"`
	Severity string `json:"severity"`
	Rule     string `json:"rule"`
	Message  string `json:"message"`
}

// WriteJSON writes the report as one JSON object: the targets, the counts
// and the findings.
func (r *Report) WriteJSON(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	out := struct {
		Targets  []string      `json:"targets"`
		Errors   int           `json:"errors"`
		Warnings int           `json:"warnings"`
		Notes    int           `json:"notes"`
		Findings []jsonFinding `json:"findings"`
	}{Targets: []string{}, Errors: r.Count(Error), Warnings: r.Count(Warning), Notes: r.Count(Note), Findings: []jsonFinding{}}
	for _, t := range r.Targets {
		out.Targets = append(out.Targets, t.String())
	}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, jsonFinding{File: f.Pos.File, Line: f.Pos.Line, Column: f.Pos.Col, Pointer: f.Pos.Pointer,
			Severity: f.Severity.String(), Rule: f.Rule, Message: f.Message})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteGitHub writes GitHub Actions workflow commands, one per finding
// (::error, ::warning, ::notice), which GitHub shows as annotations on the
// lines of the pull request.
func (r *Report) WriteGitHub(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	var b bytes.Buffer
	for _, f := range r.Findings {
		cmd := "error"
		switch f.Severity {
		case Warning:
			cmd = "warning"
		case Note:
			cmd = "notice"
		}
		b.WriteString("::" + cmd + " file=" + ghcmd.Property(filepath.ToSlash(f.Pos.File)))
		if f.Pos.Line > 0 {
			fmt.Fprintf(&b, ",line=%d,col=%d", f.Pos.Line, f.Pos.Col)
		}
		b.WriteString(",title=" + ghcmd.Property("capguard "+f.Rule))
		b.WriteString("::" + ghcmd.Data(f.Message) + "\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ruleDescriptions are the SARIF rule texts.
var ruleDescriptions = map[string]string{
	RuleSyntax:              "The file is not valid JSON, JSON5 or TOML.",
	RuleSchema:              "The capability schema that tauri-build generates rejects the value.",
	RuleScope:               "A plugin's scope schema rejects a scope entry; the plugin fails to read it at run time.",
	RuleInvalid:             "Tauri's reader rejects the value.",
	RuleUnknownField:        "A field that Tauri ignores.",
	RuleUnknownPermission:   "No plugin or application manifest defines the permission.",
	RuleUnknownPlugin:       "The permission names a plugin that the app does not use.",
	RuleDuplicateCapability: "Two capabilities share an identifier.",
	RuleMissingCapability:   "The configuration names a capability that does not exist.",
	RuleGlob:                "A window or webview pattern is not a valid glob.",
	RuleRemoteURL:           "A remote URL pattern is not a valid URLPattern.",
	RuleNoWindow:            "The capability matches no window and no webview.",
	RuleDuplicatePermission: "A permission is listed twice.",
	RuleRemoteCommands:      "Remote pages may call native commands.",
	RuleResolve:             "Resolving the capability against the manifests fails.",
	RuleNotChecked:          "Something could not be checked against the manifests.",
	RuleNoEffect:            "The capability file is not in the configuration's capability list, so it has no effect.",
}

// WriteSARIF writes the report as a SARIF 2.1.0 log, the format of code
// scanning tools (GitHub code scanning reads it).
func (r *Report) WriteSARIF(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	type message struct {
		Text string `json:"text"`
	}
	type region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	type artifact struct {
		URI string `json:"uri"`
	}
	type physical struct {
		ArtifactLocation artifact `json:"artifactLocation"`
		Region           *region  `json:"region,omitempty"`
	}
	type location struct {
		PhysicalLocation physical `json:"physicalLocation"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		Level     string     `json:"level"`
		Message   message    `json:"message"`
		Locations []location `json:"locations"`
	}
	type rule struct {
		ID               string  `json:"id"`
		ShortDescription message `json:"shortDescription"`
	}
	type driver struct {
		Name           string `json:"name"`
		InformationURI string `json:"informationUri"`
		Rules          []rule `json:"rules"`
	}
	type tool struct {
		Driver driver `json:"driver"`
	}
	type run struct {
		Tool       tool     `json:"tool"`
		ColumnKind string   `json:"columnKind"`
		Results    []result `json:"results"`
	}
	used := map[string]bool{}
	results := []result{}
	for _, f := range r.Findings {
		used[f.Rule] = true
		loc := physical{ArtifactLocation: artifact{URI: fileURI(f.Pos.File)}}
		if f.Pos.Line > 0 {
			loc.Region = &region{StartLine: f.Pos.Line, StartColumn: f.Pos.Col}
		}
		results = append(results, result{RuleID: f.Rule, Level: f.Severity.String(), Message: message{f.Message},
			Locations: []location{{PhysicalLocation: loc}}})
	}
	rules := []rule{}
	for _, id := range sortedKeys(used) {
		rules = append(rules, rule{ID: id, ShortDescription: message{ruleDescriptions[id]}})
	}
	log := struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []run  `json:"runs"`
	}{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []run{{
			Tool:       tool{Driver: driver{Name: "capguard", InformationURI: "https://github.com/capguard/capguard", Rules: rules}},
			ColumnKind: "unicodeCodePoints",
			Results:    results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// fileURI turns a path into a SARIF artifact URI: relative paths stay
// relative (to the repository root, where CI runs), absolute ones become
// file:// URIs; every segment is percent-encoded.
func fileURI(p string) string {
	slash := filepath.ToSlash(p)
	segs := strings.Split(slash, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.Join(segs, "/")
	if filepath.IsAbs(p) {
		if !strings.HasPrefix(u, "/") {
			u = "/" + u // Windows: C:/x
		}
		return "file://" + u
	}
	return u
}

// Format names an output format of Write.
type Format string

// The output formats.
const (
	FormatText   Format = "text"
	FormatJSON   Format = "json"
	FormatGitHub Format = "github"
	FormatSARIF  Format = "sarif"
)

// Write writes the report in format f.
func (r *Report) Write(w io.Writer, f Format) error {
	switch f {
	case FormatText:
		return r.WriteText(w)
	case FormatJSON:
		return r.WriteJSON(w)
	case FormatGitHub:
		return r.WriteGitHub(w)
	case FormatSARIF:
		return r.WriteSARIF(w)
	}
	return fmt.Errorf("%w: unknown output format %q (text, json, github or sarif)", acl.ErrInvalid, f)
}
