package schema

import (
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/textdist"
)

// Severity ranks a finding.
type Severity uint8

// The severities, most severe first. Errors are problems Tauri rejects or
// that break the app at run time; warnings are accepted by Tauri but
// deserve a look (--strict makes them fail); notes say what could not be
// checked.
const (
	Error Severity = iota
	Warning
	Note
)

// String returns "error", "warning" or "note".
func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// The rules a finding can come from; SARIF output uses them as rule ids.
const (
	RuleSyntax              = "syntax"               // the file does not parse
	RuleSchema              = "schema"               // the capability schema rejects a value
	RuleScope               = "scope"                // a plugin's scope schema rejects a scope entry
	RuleInvalid             = "invalid"              // capguard's reader rejects a value the schema accepts
	RuleUnknownField        = "unknown-field"        // a field Tauri ignores
	RuleUnknownPermission   = "unknown-permission"   // no manifest defines the permission
	RuleUnknownPlugin       = "unknown-plugin"       // the permission's plugin is not in the manifests
	RuleDuplicateCapability = "duplicate-capability" // two capabilities share an identifier
	RuleMissingCapability   = "missing-capability"   // tauri.conf.json names a capability that does not exist
	RuleGlob                = "invalid-glob"         // a window or webview pattern does not compile
	RuleRemoteURL           = "invalid-remote-url"   // a remote URL pattern does not compile
	RuleNoWindow            = "no-window"            // a capability matches no window and no webview
	RuleDuplicatePermission = "duplicate-permission" // a permission is listed twice
	RuleRemoteCommands      = "remote-commands"      // remote pages may call commands
	RuleResolve             = "resolve"              // resolving the capability fails
	RuleNotChecked          = "not-checked"          // a capability of another target than the manifests'
	RuleNoEffect            = "no-effect"            // a capability file the configuration's list leaves out
)

// Finding is one problem in, or remark about, an input file.
type Finding struct {
	Severity Severity
	Rule     string
	// Pos is where the problem is: file, line and column (1-based), and
	// the JSON pointer of the value when known.
	Pos     acl.Position
	Message string
}

// String formats the finding as "file:line:col: severity: message".
func (f Finding) String() string {
	return f.Pos.String() + ": " + f.Severity.String() + ": " + f.Message
}

// Report is the outcome of a validation: the findings, sorted by file,
// line and column, and the sources they point into (for excerpts).
type Report struct {
	Findings []Finding
	// Targets are the targets the manifests were checked for.
	Targets []acl.Target
	sources map[string][]byte
	seen    map[findingKey]bool // the findings added so far
}

// Count returns the number of findings of severity s.
func (r *Report) Count(s Severity) int {
	if r == nil {
		return 0
	}
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Failed tells whether the report should fail a build: any error, or with
// strict any warning too. A nil report fails: no report is no verdict.
func (r *Report) Failed(strict bool) bool {
	if r == nil {
		return true
	}
	return r.Count(Error) > 0 || strict && r.Count(Warning) > 0
}

// Source returns the text of a file the findings point into, when the
// validation read it.
func (r *Report) Source(file string) ([]byte, bool) {
	if r == nil {
		return nil, false
	}
	b, ok := r.sources[file]
	return b, ok
}

func (r *Report) addSource(file string, data []byte) {
	if r.sources == nil {
		r.sources = map[string][]byte{}
	}
	r.sources[file] = data
}

// findingKey is what makes two findings the same.
type findingKey struct {
	severity  Severity
	file      string
	line, col int
	message   string
}

// add appends findings, leaving out exact repeats (a set of the findings
// so far keeps it linear in their number).
func (r *Report) add(fs ...Finding) {
	if r.seen == nil {
		r.seen = make(map[findingKey]bool, len(r.Findings)+len(fs))
		for _, g := range r.Findings {
			r.seen[keyOf(g)] = true
		}
	}
	for _, f := range fs {
		if k := keyOf(f); !r.seen[k] {
			r.seen[k] = true
			r.Findings = append(r.Findings, f)
		}
	}
}

func keyOf(f Finding) findingKey {
	return findingKey{f.Severity, f.Pos.File, f.Pos.Line, f.Pos.Col, f.Message}
}

func (r *Report) sort() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Severity < b.Severity
	})
}

// fieldPath spells a JSON pointer the way a reader names a field:
// "permissions[3].allow[0]".
func fieldPath(ptr string) string {
	if ptr == "" {
		return ""
	}
	var b strings.Builder
	for i, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// closest returns up to n candidates nearest to s by edit distance,
// nearest first, leaving out any too far away to be a slip of the keyboard.
func closest(s string, candidates []string, n int) []string {
	return textdist.Closest(s, candidates, n, max(2, len(s)/3))
}

// didYouMean phrases suggestions: ` (did you mean "a" or "b"?)`, or "".
func didYouMean(c []string) string {
	if len(c) == 0 {
		return ""
	}
	q := make([]string, len(c))
	for i, s := range c {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 1 {
		return "; did you mean " + q[0] + "?"
	}
	return "; did you mean " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1] + "?"
}
