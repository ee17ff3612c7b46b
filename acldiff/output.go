package acldiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/ghcmd"
)

// Format is an output format of a report.
type Format string

// The output formats.
const (
	FormatText     Format = "text"
	FormatMarkdown Format = "markdown"
	FormatJSON     Format = "json"
	FormatGitHub   Format = "github"
)

// Formats lists the output formats.
var Formats = []Format{FormatText, FormatMarkdown, FormatJSON, FormatGitHub}

// errNilReport is the error of a nil Report's Write methods.
var errNilReport = errors.New("acldiff: no report (nil *Report)")

// Write writes the report in format f.
func (r *Report) Write(w io.Writer, f Format) error {
	if r == nil {
		return errNilReport
	}
	switch f {
	case FormatText:
		return r.WriteText(w)
	case FormatMarkdown:
		return r.WriteMarkdown(w)
	case FormatJSON:
		return r.WriteJSON(w)
	case FormatGitHub:
		return r.WriteGitHub(w)
	}
	return fmt.Errorf("unknown format %q", f)
}

func targetNames(ts []acl.Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

// Summary is the report's one-line verdict.
func (r *Report) Summary() string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s (%d widened, %d narrowed; %s → %s; targets %s)", r.Verdict, r.Widened, r.Narrowed,
		r.Old, r.New, strings.Join(targetNames(r.Targets), ", "))
}

// group names the label a change belongs to in text output.
func (c *Change) group() string {
	switch c.LabelKind {
	case "window", "webview":
		return fmt.Sprintf("%s %q", c.LabelKind, c.Label)
	}
	return "every window and webview"
}

func pluginName(p string) string {
	if p == acl.AppKey {
		return "app commands"
	}
	if p == "" {
		return "all plugins"
	}
	return "plugin " + p
}

// Describe says what the change does, in one sentence.
func (c *Change) Describe() string {
	cmd := acl.PrettyCommand(c.Command)
	from := ""
	if c.Context != "" {
		from = " from " + contextText(c.Context)
	}
	val := ""
	if c.Value != nil {
		val = canonical(*c.Value)
	}
	add := c.Op == Added
	pick := func(a, b string) string {
		if add {
			return a
		}
		return b
	}
	switch c.Kind {
	case KindCall:
		s := pick("can now call ", "can no longer call ") + cmd + from
		if len(c.Allow) > 0 || len(c.Deny) > 0 {
			s += " (scope" + scopeText(c.Allow, c.Deny) + ")"
		}
		return s
	case KindScope:
		return fmt.Sprintf("%s%s: %s %s %s", cmd, from, c.List, pick("value added:", "value removed:"), val)
	case KindGlobalScope:
		return fmt.Sprintf("global scope of %s: %s %s %s", c.Plugin, c.List, pick("value added:", "value removed:"), val)
	case KindDeny:
		return cmd + pick(" is now denied", " is no longer denied") + from + " (deny entries apply to every window)"
	case KindRemote:
		return "pages from " + c.Context + pick(" can now call commands", " can no longer call any command")
	case KindPlugin:
		return pick("some page can now call ", "no page can call ") + pluginName(c.Plugin) + pick("", " any more")
	case KindLabelPlugin:
		return pick("gains access to ", "loses all access to ") + pluginName(c.Plugin)
	}
	return string(c.Kind)
}

func contextText(ctx string) string {
	if ctx == "local" {
		return "local pages"
	}
	return ctx
}

func scopeText(allow, deny []acl.Value) string {
	var b strings.Builder
	if len(allow) > 0 {
		b.WriteString(" allow " + valueList(allow))
	}
	if len(deny) > 0 {
		b.WriteString(" deny " + valueList(deny))
	}
	return b.String()
}

func valueList(vs []acl.Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = canonical(v)
	}
	return strings.Join(parts, ", ")
}

// targetsNote names the change's targets when they are not all compared.
func (r *Report) targetsNote(c *Change) string {
	if len(c.Targets) == len(r.Targets) {
		return ""
	}
	return " [" + strings.Join(targetNames(c.Targets), ", ") + " only]"
}

// String is `new capability "main", fs:default (fs:allow-read-file) at
// file:line:col`.
func (c Cause) String() string {
	s := fmt.Sprintf("%s capability %q, %s", c.Side, c.Capability, c.Entry)
	if c.Permission != c.Entry {
		s += " (" + c.Permission + ")"
	}
	if c.File != "" {
		s += " at " + acl.Position{File: c.File, Line: c.Line, Col: c.Column}.String()
	}
	return s
}

// short is String without the side (the mark tells it) when the cause
// is on the side that has the change.
func (c Cause) short() string {
	return strings.TrimPrefix(strings.TrimPrefix(c.String(), "new "), "old ")
}

func mark(e Effect) string {
	if e == EffectWidened {
		return "+"
	}
	return "-"
}

// WriteText writes the report for a terminal: the verdict, then the
// changes grouped by window (or webview) pattern and by plugin, each with
// its causes; "+" widens, "-" narrows.
func (r *Report) WriteText(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "capguard diff: %s\n", r.Summary())
	for _, sk := range r.Skipped {
		fmt.Fprintf(&b, "not compared on %s: neither side resolves there: %s\n", sk.Target, sk.Reason)
	}
	group, plugin := "", "\x00"
	for i := range r.Changes {
		c := &r.Changes[i]
		if g := c.group(); g != group {
			group, plugin = g, "\x00"
			fmt.Fprintf(&b, "\n%s\n", g)
		}
		if c.Plugin != plugin {
			plugin = c.Plugin
			fmt.Fprintf(&b, "  %s\n", pluginName(c.Plugin))
		}
		fmt.Fprintf(&b, "    %s %s%s\n", mark(c.Effect), c.Describe(), r.targetsNote(c))
		for _, x := range c.Causes {
			fmt.Fprintf(&b, "        by %s\n", x.short())
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdCode(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	return "`" + s + "`"
}

// mdText escapes what GitHub's markdown would read in a table cell.
func mdText(s string) string {
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "\n", " ").Replace(s)
}

// WriteMarkdown writes a pull-request comment: the verdict, a table of
// widened and narrowed counts per window pattern and plugin, and the
// changes with their causes folded in a details block.
func (r *Report) WriteMarkdown(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "### capguard diff: **%s**\n\n", r.Verdict)
	fmt.Fprintf(&b, "%s → %s (targets %s): %d widened, %d narrowed.\n", mdCode(r.Old), mdCode(r.New),
		strings.Join(targetNames(r.Targets), ", "), r.Widened, r.Narrowed)
	for _, sk := range r.Skipped {
		fmt.Fprintf(&b, "\nNot compared on %s: neither side resolves there (%s).\n", sk.Target, mdText(sk.Reason))
	}
	if len(r.Changes) == 0 {
		b.WriteString("\nThe effective access is the same on both sides.\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	type row struct{ group, plugin string }
	var rows []row
	counts := map[row][2]int{}
	for i := range r.Changes {
		c := &r.Changes[i]
		k := row{c.group(), pluginName(c.Plugin)}
		n, ok := counts[k]
		if !ok {
			rows = append(rows, k)
		}
		if c.Effect == EffectWidened {
			n[0]++
		} else {
			n[1]++
		}
		counts[k] = n
	}
	b.WriteString("\n| window / webview | plugin | widened | narrowed |\n|---|---|---:|---:|\n")
	for _, k := range rows {
		n := counts[k]
		fmt.Fprintf(&b, "| %s | %s | %d | %d |\n", mdText(k.group), mdText(k.plugin), n[0], n[1])
	}
	noun := "changes"
	if len(r.Changes) == 1 {
		noun = "change"
	}
	fmt.Fprintf(&b, "\n<details><summary>%d %s</summary>\n", len(r.Changes), noun)
	group := ""
	for i := range r.Changes {
		c := &r.Changes[i]
		if g := c.group(); g != group {
			group = g
			fmt.Fprintf(&b, "\n**%s**\n\n", mdText(g))
		}
		fmt.Fprintf(&b, "- %s %s: %s%s\n", mdText(string(c.Effect)), mdText(pluginName(c.Plugin)), mdCode(c.Describe()), mdText(r.targetsNote(c)))
		for _, x := range c.Causes {
			fmt.Fprintf(&b, "  - by %s\n", mdCode(x.String()))
		}
	}
	b.WriteString("\n</details>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// jsonCause and jsonChange are the JSON spellings, documented in
// docs/diff.md.
type jsonCause struct {
	Side       string `json:"side"`
	Capability string `json:"capability"`
	Entry      string `json:"entry"`
	Permission string `json:"permission"`
	File       string `json:"file,omitempty"`
	Line       int    `json:"line,omitempty"`
	Column     int    `json:"column,omitempty"`
	Pointer    string `json:"pointer,omitempty"`
}

type jsonSkip struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
}

type jsonChange struct {
	Kind    Kind        `json:"kind"`
	Op      Op          `json:"op"`
	Effect  Effect      `json:"effect"`
	Targets []string    `json:"targets"`
	Command string      `json:"command,omitempty"`
	Plugin  string      `json:"plugin,omitempty"`
	Context string      `json:"context,omitempty"`
	Window  string      `json:"window,omitempty"`
	Webview string      `json:"webview,omitempty"`
	List    string      `json:"list,omitempty"`
	Value   *acl.Value  `json:"value,omitempty"`
	Allow   []acl.Value `json:"allow,omitempty"`
	Deny    []acl.Value `json:"deny,omitempty"`
	Message string      `json:"message"`
	Causes  []jsonCause `json:"causes"`
}

// WriteJSON writes the report as one JSON object (docs/diff.md describes
// every field).
func (r *Report) WriteJSON(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	out := struct {
		Old      string       `json:"old"`
		New      string       `json:"new"`
		Targets  []string     `json:"targets"`
		Verdict  Verdict      `json:"verdict"`
		Widened  int          `json:"widened"`
		Narrowed int          `json:"narrowed"`
		Skipped  []jsonSkip   `json:"skipped"`
		Changes  []jsonChange `json:"changes"`
	}{Old: r.Old, New: r.New, Targets: targetNames(r.Targets), Verdict: r.Verdict, Widened: r.Widened, Narrowed: r.Narrowed,
		Skipped: []jsonSkip{}, Changes: []jsonChange{}}
	for _, sk := range r.Skipped {
		out.Skipped = append(out.Skipped, jsonSkip{sk.Target.String(), sk.Reason})
	}
	for i := range r.Changes {
		c := &r.Changes[i]
		j := jsonChange{Kind: c.Kind, Op: c.Op, Effect: c.Effect, Targets: targetNames(c.Targets), Command: c.Command, Plugin: c.Plugin,
			Context: c.Context, List: c.List, Value: c.Value, Allow: c.Allow, Deny: c.Deny, Message: c.Describe(), Causes: []jsonCause{}}
		switch c.LabelKind {
		case "window":
			j.Window = c.Label
		case "webview":
			j.Webview = c.Label
		}
		for _, x := range c.Causes {
			j.Causes = append(j.Causes, jsonCause(x))
		}
		out.Changes = append(out.Changes, j)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteGitHub writes GitHub Actions workflow commands: a warning on the
// line of every new-side permission entry that widens the access, a notice
// for each narrowing, and a last notice with the verdict. A change whose
// cause is only on the old side (a deny entry that disappears) is
// annotated without a file.
func (r *Report) WriteGitHub(w io.Writer) error {
	if r == nil {
		return errNilReport
	}
	var b bytes.Buffer
	for i := range r.Changes {
		c := &r.Changes[i]
		level, title := "warning", "capguard diff: widened"
		if c.Effect == EffectNarrowed {
			level, title = "notice", "capguard diff: narrowed"
		}
		msg := c.group() + ", " + pluginName(c.Plugin) + ": " + c.Describe() + r.targetsNote(c)
		placed := false
		for _, x := range c.Causes {
			if x.Side != "new" || x.File == "" {
				continue
			}
			placed = true
			b.WriteString("::" + level + " file=" + ghcmd.Property(filepath.ToSlash(x.File)))
			if x.Line > 0 {
				fmt.Fprintf(&b, ",line=%d,col=%d", x.Line, x.Column)
			}
			b.WriteString(",title=" + ghcmd.Property(title) + "::" + ghcmd.Data(msg+" (capability "+x.Capability+", "+x.Entry+")") + "\n")
		}
		if !placed {
			b.WriteString("::" + level + " title=" + ghcmd.Property(title) + "::" + ghcmd.Data(msg) + "\n")
		}
	}
	b.WriteString("::notice title=capguard diff::" + ghcmd.Data(r.Summary()) + "\n")
	_, err := w.Write(b.Bytes())
	return err
}
