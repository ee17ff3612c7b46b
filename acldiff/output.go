package acldiff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
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

// WriteOptions tune the text and markdown formats.
type WriteOptions struct {
	// Expand lists every command of a rolled-up entry in the text format
	// (markdown folds them in a details block; JSON lists every change).
	Expand bool
}

// Write writes the report in format f.
func (r *Report) Write(w io.Writer, f Format) error { return r.WriteWith(w, f, WriteOptions{}) }

// WriteWith writes the report in format f with options.
func (r *Report) WriteWith(w io.Writer, f Format, opt WriteOptions) error {
	switch f {
	case FormatText:
		return r.writeText(w, opt)
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
	s := fmt.Sprintf("%s (%d widened, %d narrowed", r.Verdict, r.Widened, r.Narrowed)
	if w := r.WorstRisk(); w != "" {
		s += ", worst risk " + string(w)
	}
	if n := len(r.NotCompared); n > 0 {
		s += fmt.Sprintf(", %d %s not compared", n, plural(n, "entry", "entries"))
	}
	return s + fmt.Sprintf("; %s → %s; targets %s)", r.Old, r.New, strings.Join(targetNames(r.Targets), ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
		return s + c.noteText()
	case KindScope:
		return fmt.Sprintf("%s%s: %s %s %s", cmd, from, c.List, pick("value added:", "value removed:"), val) + c.noteText()
	case KindGlobalScope:
		return fmt.Sprintf("global scope of %s: %s %s %s", c.Plugin, c.List, pick("value added:", "value removed:"), val) + c.noteText()
	case KindDeny:
		return cmd + pick(" is now denied", " is no longer denied") + from + " (deny entries apply to every window)"
	case KindRemote:
		return "pages from " + c.Context + pick(" can now call commands", " can no longer call any command") + c.noteText()
	case KindPlugin:
		return pick("some page can now call ", "no page can call ") + pluginName(c.Plugin) + pick("", " any more")
	case KindLabelPlugin:
		return pick("gains access to ", "loses all access to ") + pluginName(c.Plugin)
	}
	return string(c.Kind)
}

// noteText is the change's note in parentheses.
func (c *Change) noteText() string {
	if c.Note == "" {
		return ""
	}
	return " (" + c.Note + ")"
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

// targetsNote names targets when they are not all the compared ones.
func (r *Report) targetsNote(ts []acl.Target) string {
	if len(ts) == len(r.Targets) {
		return ""
	}
	return " [" + strings.Join(targetNames(ts), ", ") + " only]"
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

// riskTag is "[critical] " for a rated widening.
func riskTag(r Risk) string {
	if r == "" {
		return ""
	}
	return "[" + string(r) + "] "
}

// maxShown is how many commands of a roll-up the text format lists
// without --expand.
const maxShown = 8

// topShown is how many top risks the text and markdown formats list.
const topShown = 10

func (it *item) foldedText() string {
	if len(it.folded) == 0 {
		return ""
	}
	return fmt.Sprintf(" (also %s, which it covers)", strings.Join(quoteAll(it.folded), ", "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// where names an item's label group and plugin for lists that mix them.
func (it *item) where(g string) string {
	if it.change != nil && it.change.Plugin != "" && it.change.Kind != KindRemote {
		return g + ", " + pluginName(it.change.Plugin)
	}
	return g
}

// WriteText writes the text format (see writeText).
func (r *Report) WriteText(w io.Writer) error { return r.writeText(w, WriteOptions{}) }

// writeText writes the report for a terminal: the verdict, the top risks,
// what was not compared and the warnings, then the changes grouped by
// window (or webview) pattern and by plugin, each with its causes; "+"
// widens, "-" narrows.
func (r *Report) writeText(w io.Writer, opt WriteOptions) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "capguard diff: %s\n", r.Summary())
	groups := r.view()
	if top := r.topRisks(RiskMedium); len(top) > 0 {
		b.WriteString("\ntop risks\n")
		for i, x := range top {
			if i == topShown {
				fmt.Fprintf(&b, "  … and %d more of medium risk or above, below\n", len(top)-topShown)
				break
			}
			fmt.Fprintf(&b, "  %-8s %s: %s%s\n", x.it.risk, x.where(), x.it.describe(), r.targetsNote(x.it.targets()))
			for _, c := range x.it.causes() {
				fmt.Fprintf(&b, "           by %s\n", c.short())
			}
			if why := x.it.riskReason(); why != "" {
				fmt.Fprintf(&b, "           why: %s\n", why)
			}
		}
	}
	if ncs := r.notComparedGroups(); len(ncs) > 0 {
		b.WriteString("\nnot compared (granting nothing on the side that lacks them; build the app and commit gen/schemas to compare them)\n")
		for _, g := range ncs {
			fmt.Fprintf(&b, "  plugin %s, %s%s: %s\n", g.plugin, g.sideText(), r.targetsNote(g.targets), g.reason)
			for _, n := range g.entries {
				at := ""
				if n.File != "" {
					at = " at " + acl.Position{File: n.File, Line: n.Line, Col: n.Column}.String()
				}
				fmt.Fprintf(&b, "    %s in capability %q (%s)%s\n", n.Entry, n.Capability, n.Side, at)
			}
		}
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\nwarnings\n")
		for _, wr := range r.Warnings {
			at := ""
			if wr.File != "" && wr.Line > 0 {
				at = acl.Position{File: wr.File, Line: wr.Line, Col: wr.Column}.String() + ": "
			}
			fmt.Fprintf(&b, "  %s: %s%s\n", wr.Side, at, wr.Message)
		}
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n%s\n", g.name)
		plugin := "\x00"
		for _, it := range g.items {
			indent := "  "
			if it.change != nil {
				if it.change.Plugin != plugin {
					plugin = it.change.Plugin
					fmt.Fprintf(&b, "  %s\n", pluginName(plugin))
				}
				indent = "    "
			} else {
				plugin = "\x00"
			}
			fmt.Fprintf(&b, "%s%s %s%s%s%s\n", indent, mark(it.effect), riskTag(it.risk), it.describe(), it.foldedText(), r.targetsNote(it.targets()))
			for _, x := range it.causes() {
				fmt.Fprintf(&b, "%s    by %s\n", indent, x.short())
			}
			if it.change == nil {
				names := it.commandNames()
				shown := names
				if !opt.Expand && len(names) > maxShown {
					shown = names[:maxShown]
				}
				line := strings.Join(shown, ", ")
				if len(shown) < len(names) {
					line += fmt.Sprintf(", … and %d more (--expand lists them)", len(names)-len(shown))
				}
				fmt.Fprintf(&b, "%s    %s\n", indent, line)
			}
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

// summaryBudget bounds the markdown report: GitHub takes at most 1 MiB
// per step summary.
const summaryBudget = 900 << 10

// WriteMarkdown writes a pull-request comment or job summary: the
// verdict, the top risks, what was not compared, the warnings, a table of
// widened and narrowed counts per window pattern and plugin, and the
// changes with their causes folded in a details block (the commands of a
// rolled-up entry folded once more). It stays under GitHub's 1 MiB per
// step summary, saying so when it cuts the details.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### capguard diff: **%s**", r.Verdict)
	if wr := r.WorstRisk(); wr != "" {
		fmt.Fprintf(&b, " · worst risk **%s**", wr)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "%s → %s (targets %s): %d widened, %d narrowed.\n", mdCode(r.Old), mdCode(r.New),
		strings.Join(targetNames(r.Targets), ", "), r.Widened, r.Narrowed)
	groups := r.view()
	top := r.topRisks(RiskMedium)
	if len(top) > 0 {
		b.WriteString("\n**Top risks**\n\n| risk | where | change | why | by |\n|---|---|---|---|---|\n")
		for i, x := range top {
			if i == topShown {
				fmt.Fprintf(&b, "\n… and %d more of medium risk or above in the details below.\n", len(top)-topShown)
				break
			}
			var by []string
			for _, c := range x.it.causes() {
				by = append(by, mdCode(c.String()))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.it.risk, mdText(x.where()), mdText(x.it.describe()+r.targetsNote(x.it.targets())),
				mdText(x.it.riskReason()), strings.Join(by, "<br>"))
		}
	}
	if ncs := r.notComparedGroups(); len(ncs) > 0 {
		b.WriteString("\n**Not compared** (granting nothing on the side that lacks them; build the app and commit `gen/schemas` to compare them):\n\n")
		for _, g := range ncs {
			var es []string
			for _, n := range g.entries {
				es = append(es, mdCode(n.Entry)+" in "+mdCode(n.Capability)+" ("+n.Side+")")
			}
			fmt.Fprintf(&b, "- plugin %s, %s%s: %s — %s\n", mdCode(g.plugin), g.sideText(), mdText(r.targetsNote(g.targets)), mdText(g.reason), strings.Join(es, ", "))
		}
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n**Warnings**\n\n")
		for _, wr := range r.Warnings {
			fmt.Fprintf(&b, "- %s: %s\n", wr.Side, mdText(wr.Message))
		}
	}
	if len(r.Changes) == 0 {
		b.WriteString("\nThe effective access is the same on both sides.\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	type row struct{ group, plugin string }
	var rows []row
	counts := map[row][2]int{}
	risks := map[row]Risk{}
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
		if c.Risk.rank() > risks[k].rank() {
			risks[k] = c.Risk
		}
	}
	b.WriteString("\n| window / webview | plugin | widened | narrowed | worst risk |\n|---|---|---:|---:|---|\n")
	for _, k := range rows {
		n := counts[k]
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s |\n", mdText(k.group), mdText(k.plugin), n[0], n[1], risks[k])
	}
	fmt.Fprintf(&b, "\n<details><summary>%d %s</summary>\n", len(r.Changes), plural(len(r.Changes), "change", "changes"))
	cut := false
	for _, g := range groups {
		if b.Len() > summaryBudget {
			cut = true
			break
		}
		fmt.Fprintf(&b, "\n**%s**\n\n", mdText(g.name))
		for _, it := range g.items {
			if b.Len() > summaryBudget {
				cut = true
				break
			}
			where := ""
			if it.change != nil {
				where = mdText(pluginName(it.change.Plugin)) + ": "
			}
			fmt.Fprintf(&b, "- %s %s%s%s%s\n", mdText(string(it.effect)), mdText(riskTag(it.risk)), where, mdCode(it.describe()+it.foldedText()), mdText(r.targetsNote(it.targets())))
			for _, x := range it.causes() {
				fmt.Fprintf(&b, "  - by %s\n", mdCode(x.String()))
			}
			if it.change == nil {
				names := it.commandNames()
				fmt.Fprintf(&b, "  <details><summary>%d commands</summary>\n\n  %s\n\n  </details>\n", len(names), mdText(strings.Join(names, ", ")))
			}
		}
	}
	if cut {
		b.WriteString("\n… the rest is cut: GitHub takes at most 1 MiB per step summary (`capguard diff --format json` lists every change).\n")
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
	Kind       Kind        `json:"kind"`
	Op         Op          `json:"op"`
	Effect     Effect      `json:"effect"`
	Risk       Risk        `json:"risk,omitempty"`
	RiskReason string      `json:"risk_reason,omitempty"`
	Targets    []string    `json:"targets"`
	Command    string      `json:"command,omitempty"`
	Plugin     string      `json:"plugin,omitempty"`
	Context    string      `json:"context,omitempty"`
	Window     string      `json:"window,omitempty"`
	Webview    string      `json:"webview,omitempty"`
	List       string      `json:"list,omitempty"`
	Value      *acl.Value  `json:"value,omitempty"`
	Allow      []acl.Value `json:"allow,omitempty"`
	Deny       []acl.Value `json:"deny,omitempty"`
	Note       string      `json:"note,omitempty"`
	Message    string      `json:"message"`
	Causes     []jsonCause `json:"causes"`
}

type jsonNotCompared struct {
	Side       string   `json:"side"`
	Targets    []string `json:"targets"`
	Capability string   `json:"capability"`
	Entry      string   `json:"entry"`
	Plugin     string   `json:"plugin"`
	Missing    string   `json:"missing"`
	Reason     string   `json:"reason"`
	File       string   `json:"file,omitempty"`
	Line       int      `json:"line,omitempty"`
	Column     int      `json:"column,omitempty"`
}

type jsonWarning struct {
	Side    string `json:"side"`
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// WriteJSON writes the report as one JSON object (docs/diff.md describes
// every field).
func (r *Report) WriteJSON(w io.Writer) error {
	out := struct {
		Old         string            `json:"old"`
		New         string            `json:"new"`
		Targets     []string          `json:"targets"`
		Verdict     Verdict           `json:"verdict"`
		Complete    bool              `json:"complete"`
		Widened     int               `json:"widened"`
		Narrowed    int               `json:"narrowed"`
		WorstRisk   Risk              `json:"worst_risk,omitempty"`
		Risks       map[Risk]int      `json:"risks"`
		Skipped     []jsonSkip        `json:"skipped"`
		NotCompared []jsonNotCompared `json:"not_compared"`
		Warnings    []jsonWarning     `json:"warnings"`
		Changes     []jsonChange      `json:"changes"`
	}{Old: r.Old, New: r.New, Targets: targetNames(r.Targets), Verdict: r.Verdict, Complete: len(r.NotCompared) == 0,
		Widened: r.Widened, Narrowed: r.Narrowed, WorstRisk: r.WorstRisk(), Risks: r.RiskCounts(),
		Skipped: []jsonSkip{}, NotCompared: []jsonNotCompared{}, Warnings: []jsonWarning{}, Changes: []jsonChange{}}
	for _, sk := range r.Skipped {
		out.Skipped = append(out.Skipped, jsonSkip{sk.Target.String(), sk.Reason})
	}
	for _, n := range r.NotCompared {
		out.NotCompared = append(out.NotCompared, jsonNotCompared{Side: n.Side, Targets: targetNames(n.Targets), Capability: n.Capability,
			Entry: n.Entry, Plugin: n.Plugin, Missing: n.Missing, Reason: n.Reason, File: n.File, Line: n.Line, Column: n.Column})
	}
	for _, wr := range r.Warnings {
		out.Warnings = append(out.Warnings, jsonWarning(wr))
	}
	for i := range r.Changes {
		c := &r.Changes[i]
		j := jsonChange{Kind: c.Kind, Op: c.Op, Effect: c.Effect, Risk: c.Risk, RiskReason: c.RiskReason, Targets: targetNames(c.Targets),
			Command: c.Command, Plugin: c.Plugin, Context: c.Context, List: c.List, Value: c.Value, Allow: c.Allow, Deny: c.Deny,
			Note: c.Note, Message: c.Describe(), Causes: []jsonCause{}}
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

// annotationsPerKind is how many annotations of one kind (warning,
// notice) GitHub shows per step; a job shows at most 50 in all.
const annotationsPerKind = 10

// annotationBudget bounds the changes listed in one annotation's
// message (GitHub folds long ones); the job summary has them all.
const annotationBudget = 1000

// joinBounded joins the changes with "; " until the text would pass max
// bytes, then says how many were left to the job summary.
func joinBounded(changes []string, max int) string {
	var b strings.Builder
	for i, c := range changes {
		if i > 0 && b.Len()+len(c) > max {
			fmt.Fprintf(&b, "; and %d more (see the job summary)", len(changes)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c)
	}
	return b.String()
}

// annotation is the workflow command for one capability entry: every
// change the entry makes, aggregated.
type annotation struct {
	level   string // "warning" or "notice"
	at      Cause  // the entry (no file: a change without a new-side place)
	risk    Risk
	changes []string
	effect  Effect
	// summaries are the "gains access to plugin X" lines, by label group
	// and plugin: left out where the annotation lists calls of the
	// same plugin and group.
	summaries []annotationSummary
	calls     map[string]bool
}

type annotationSummary struct{ key, msg string }

// messages are the annotation's changes, summaries first where no call
// says the same.
func (a *annotation) messages() []string {
	var out []string
	for _, s := range a.summaries {
		if !a.calls[s.key] {
			out = append(out, s.msg)
		}
	}
	return append(out, a.changes...)
}

// WriteGitHub writes GitHub Actions workflow commands: one annotation per
// capability permission entry, on its line in the new side's file,
// summing up every change the entry makes (a warning for widenings,
// worst risk first; a notice for narrowings), at most ten of each kind
// (what GitHub shows per step), and a last notice with the verdict and
// how many were left to the job summary. Changes without a new-side place
// (a deny entry that disappears) are annotated without a file.
func (r *Report) WriteGitHub(w io.Writer) error {
	byEntry := map[string]*annotation{}
	var list []*annotation
	for _, g := range r.view() {
		for _, it := range g.items {
			level := "warning"
			if it.effect == EffectNarrowed {
				level = "notice"
			}
			msg := it.where(g.name) + ": " + it.describe() + it.foldedText() + r.targetsNote(it.targets())
			var places []Cause
			for _, x := range it.causes() {
				if x.Side == "new" && x.File != "" {
					x.Permission = ""
					places = append(places, x)
				}
			}
			if len(places) == 0 {
				places = []Cause{{}}
			}
			for _, at := range places {
				k := level + "\x00" + at.File + "\x00" + strconv.Itoa(at.Line) + "\x00" + strconv.Itoa(at.Column) + "\x00" + at.Capability + "\x00" + at.Entry
				a := byEntry[k]
				if a == nil {
					a = &annotation{level: level, at: at, effect: it.effect}
					byEntry[k] = a
					list = append(list, a)
				}
				key := g.name + "\x00"
				if it.change != nil {
					key += it.change.Plugin
				}
				switch {
				case it.change != nil && (it.change.Kind == KindLabelPlugin || it.change.Kind == KindPlugin):
					a.summaries = append(a.summaries, annotationSummary{key, msg})
				default:
					if a.calls == nil {
						a.calls = map[string]bool{}
					}
					a.calls[key] = true
					if it.change == nil {
						for _, c := range it.calls {
							a.calls[g.name+"\x00"+c.Plugin] = true
						}
					}
					a.changes = append(a.changes, msg)
				}
				if it.risk.rank() > a.risk.rank() {
					a.risk = it.risk
				}
			}
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].risk.rank() != list[j].risk.rank() {
			return list[i].risk.rank() > list[j].risk.rank()
		}
		return len(list[i].messages()) > len(list[j].messages())
	})
	var b bytes.Buffer
	shown := map[string]int{}
	left := 0
	if adds := r.UncomparedAdditions(); len(adds) > 0 {
		n := adds[0]
		b.WriteString("::warning")
		if n.File != "" {
			b.WriteString(" file=" + ghcmd.Property(filepath.ToSlash(n.File)))
			if n.Line > 0 {
				fmt.Fprintf(&b, ",line=%d,col=%d", n.Line, n.Column)
			}
			b.WriteString(",")
		} else {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "title=%s::%s\n", ghcmd.Property("capguard diff: not compared"),
			ghcmd.Data(fmt.Sprintf("%d %s of the new side could not be compared (%s): they may widen the access; see the job summary", len(adds), plural(len(adds), "entry", "entries"), adds[0].Reason)))
		shown["warning"]++
	}
	for _, a := range list {
		limit := annotationsPerKind
		if a.level == "notice" {
			limit-- // the last notice is the verdict
		}
		if shown[a.level] >= limit {
			left++
			continue
		}
		shown[a.level]++
		title := "capguard diff: widened"
		if a.effect == EffectNarrowed {
			title = "capguard diff: narrowed"
		}
		if a.risk != "" {
			title += " (" + string(a.risk) + ")"
		}
		msg := ""
		if a.at.Capability != "" {
			msg = fmt.Sprintf("capability %q, %s: ", a.at.Capability, a.at.Entry)
		}
		if changes := a.messages(); len(changes) == 1 {
			msg += changes[0]
		} else {
			msg += fmt.Sprintf("%d changes: %s", len(changes), joinBounded(changes, annotationBudget))
		}
		b.WriteString("::" + a.level)
		if a.at.File != "" {
			b.WriteString(" file=" + ghcmd.Property(filepath.ToSlash(a.at.File)))
			if a.at.Line > 0 {
				fmt.Fprintf(&b, ",line=%d,col=%d", a.at.Line, a.at.Column)
			}
			b.WriteString(",title=")
		} else {
			b.WriteString(" title=")
		}
		b.WriteString(ghcmd.Property(title) + "::" + ghcmd.Data(msg) + "\n")
	}
	summary := r.Summary()
	if left > 0 {
		summary += fmt.Sprintf("; %d more %s in the job summary (GitHub shows %d annotations of a kind per step)", left, plural(left, "entry", "entries"), annotationsPerKind)
	}
	b.WriteString("::notice title=capguard diff::" + ghcmd.Data(summary) + "\n")
	_, err := w.Write(b.Bytes())
	return err
}
