package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/capguard/capguard/internal/doc"
	"github.com/capguard/capguard/internal/textdist"
	"github.com/capguard/capguard/native"
)

// Limits of the script format. A script is a hand-written file for a test
// or a demo; anything larger is a mistake.
const (
	// MaxScriptSize is the largest script file, in bytes (1 MiB).
	MaxScriptSize = 1 << 20
	// MaxSteps is the longest scripted queue.
	MaxSteps = 10000
	// MaxLatency is the longest latency or lockout duration.
	MaxLatency = time.Hour
	// MaxLockoutAfter is the largest lockout threshold.
	MaxLockoutAfter = 1000
)

// ErrScript is wrapped by every error about the content of a script.
var ErrScript = errors.New("invalid simulator script")

// ScriptError is a mistake in a script file, at a position.
type ScriptError struct {
	// File is the name the script was read under.
	File string
	// Line and Col are 1-based (0 when unknown); Pointer is the JSON
	// pointer of the offending value.
	Line, Col int
	Pointer   string
	Msg       string
}

// Error is "file:line:col: message (at /pointer)".
func (e *ScriptError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d:%d", e.Line, e.Col)
	}
	if e.Pointer != "" {
		return fmt.Sprintf("%s: %s (at %s)", loc, e.Msg, e.Pointer)
	}
	return loc + ": " + e.Msg
}

// Unwrap makes a ScriptError an ErrScript.
func (e *ScriptError) Unwrap() error { return ErrScript }

// ReadScript reads a script file from disk (see ParseScript).
func ReadScript(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxScriptSize+1))
	if err != nil {
		return Config{}, err
	}
	return ParseScript(path, data)
}

// ParseScript reads a simulator script: a JSON object whose fields are all
// optional and default to Ready():
//
//	{
//	  "description": "free text, ignored",
//	  "biometryType": "touchID",          // "none", "touchID", "faceID", "iris" or 0-3
//	  "available": true,
//	  "enrolled": true,
//	  "deviceCredential": true,
//	  "latency": "150ms",                 // Go duration syntax, 0 to 1h
//	  "default": "match",                 // outcome once the script is used up
//	  "script": ["no-match", {"outcome": "match", "latency": "2s"}],
//	  "lockout": {"after": 5, "duration": "30s"}
//	}
//
// Outcomes are "match", "no-match", "user-cancel", "system-cancel",
// "lockout", "timeout", "fallback", "hang" and "hooked-success". Unknown fields are errors
// (with the closest known name), so that a typo cannot silently change a
// test. Errors are *ScriptError values naming the file, line and column.
func ParseScript(name string, data []byte) (Config, error) {
	cfg := Ready()
	if len(data) > MaxScriptSize {
		return cfg, &ScriptError{File: name, Msg: fmt.Sprintf("the file is %d bytes long, larger than the %d-byte limit of a script", len(data), MaxScriptSize)}
	}
	root, err := doc.ParseJSON(data)
	if err != nil {
		var se *doc.SyntaxError
		if errors.As(err, &se) {
			return cfg, &ScriptError{File: name, Line: se.Pos.Line, Col: se.Pos.Col, Msg: "JSON syntax error: " + se.Msg}
		}
		return cfg, &ScriptError{File: name, Msg: "JSON syntax error: " + err.Error()}
	}
	p := &scriptParser{name: name}
	p.top(root, &cfg)
	if p.err != nil {
		return Ready(), p.err
	}
	return cfg, nil
}

var topFields = []string{"$schema", "description", "biometryType", "available", "enrolled", "deviceCredential", "latency", "default", "script", "lockout"}

type scriptParser struct {
	name string
	err  *ScriptError
}

func (p *scriptParser) fail(n *doc.Node, ptr, format string, args ...any) {
	if p.err != nil {
		return
	}
	p.err = &ScriptError{File: p.name, Line: n.Pos.Line, Col: n.Pos.Col, Pointer: ptr, Msg: fmt.Sprintf(format, args...)}
}

func (p *scriptParser) failKey(m doc.Member, ptr, format string, args ...any) {
	if p.err != nil {
		return
	}
	p.err = &ScriptError{File: p.name, Line: m.KeyPos.Line, Col: m.KeyPos.Col, Pointer: ptr, Msg: fmt.Sprintf(format, args...)}
}

// object checks that n is an object whose keys are all known and not
// repeated, and calls f for each member.
func (p *scriptParser) object(n *doc.Node, ptr string, known []string, f func(m doc.Member, ptr string)) {
	if n.Kind != doc.Object {
		p.fail(n, ptr, "expected an object, found %s", n.Kind)
		return
	}
	seen := map[string]bool{}
	for _, m := range n.Members {
		mp := ptr + "/" + doc.PointerToken(m.Key)
		if !contains(known, m.Key) {
			msg := fmt.Sprintf("unknown field %q", m.Key)
			if s := closest(m.Key, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.failKey(m, mp, "%s; known fields: %s", msg, strings.Join(known, ", "))
			return
		}
		if seen[m.Key] {
			p.failKey(m, mp, "field %q is given twice", m.Key)
			return
		}
		seen[m.Key] = true
		f(m, mp)
		if p.err != nil {
			return
		}
	}
}

func (p *scriptParser) top(root *doc.Node, cfg *Config) {
	p.object(root, "", topFields, func(m doc.Member, ptr string) {
		v := m.Value
		switch m.Key {
		case "$schema", "description":
			p.str(v, ptr)
		case "biometryType":
			cfg.Type = p.biometry(v, ptr)
		case "available":
			cfg.Available = p.boolean(v, ptr)
		case "enrolled":
			cfg.Enrolled = p.boolean(v, ptr)
		case "deviceCredential":
			cfg.DeviceCredential = p.boolean(v, ptr)
		case "latency":
			cfg.Latency = p.duration(v, ptr)
		case "default":
			cfg.Default = p.outcome(v, ptr)
		case "script":
			cfg.Script = p.steps(v, ptr)
		case "lockout":
			p.object(v, ptr, []string{"after", "duration"}, func(m doc.Member, ptr string) {
				switch m.Key {
				case "after":
					cfg.LockoutAfter = p.integer(m.Value, ptr, 1, MaxLockoutAfter)
				case "duration":
					cfg.LockoutFor = p.duration(m.Value, ptr)
				}
			})
		}
	})
}

func (p *scriptParser) str(n *doc.Node, ptr string) string {
	if n.Kind != doc.String {
		p.fail(n, ptr, "expected a string, found %s", n.Kind)
		return ""
	}
	return n.Text
}

func (p *scriptParser) boolean(n *doc.Node, ptr string) bool {
	if n.Kind != doc.Bool {
		p.fail(n, ptr, "expected true or false, found %s", n.Kind)
		return false
	}
	return n.Bool
}

func (p *scriptParser) integer(n *doc.Node, ptr string, lo, hi int) int {
	if n.Kind != doc.Number || !n.Int {
		p.fail(n, ptr, "expected an integer from %d to %d, found %s", lo, hi, describe(n))
		return 0
	}
	v, err := strconv.ParseInt(n.Text, 10, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		p.fail(n, ptr, "expected an integer from %d to %d, found %s", lo, hi, n.Text)
		return 0
	}
	return int(v)
}

func (p *scriptParser) duration(n *doc.Node, ptr string) time.Duration {
	if n.Kind != doc.String {
		p.fail(n, ptr, `expected a duration such as "150ms" or "2s", found %s`, describe(n))
		return 0
	}
	d, err := time.ParseDuration(n.Text)
	if err != nil {
		p.fail(n, ptr, `%q is not a duration; write one such as "150ms", "2s" or "1m30s"`, n.Text)
		return 0
	}
	if d < 0 || d > MaxLatency {
		p.fail(n, ptr, "duration %s is out of range: it must be from 0 to %s", d, MaxLatency)
		return 0
	}
	return d
}

func (p *scriptParser) outcome(n *doc.Node, ptr string) Outcome {
	names := make([]string, len(outcomes))
	for i, o := range outcomes {
		names[i] = string(o)
	}
	if n.Kind != doc.String {
		p.fail(n, ptr, "expected an outcome (%s), found %s", strings.Join(names, ", "), describe(n))
		return ""
	}
	o := Outcome(n.Text)
	if !o.Valid() {
		msg := fmt.Sprintf("unknown outcome %q", n.Text)
		if s := closest(n.Text, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.fail(n, ptr, "%s; outcomes are %s", msg, strings.Join(names, ", "))
		return ""
	}
	return o
}

func (p *scriptParser) biometry(n *doc.Node, ptr string) native.BiometryType {
	const want = `expected "none", "touchID", "faceID", "iris" or 0 to 3`
	switch n.Kind {
	case doc.String:
		if t, ok := native.ParseBiometryType(n.Text); ok {
			return t
		}
		msg := fmt.Sprintf("unknown biometry type %q", n.Text)
		if s := closest(n.Text, biometryNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.fail(n, ptr, "%s; %s", msg, want)
	case doc.Number:
		return native.BiometryType(p.integer(n, ptr, 0, 3))
	default:
		p.fail(n, ptr, "%s, found %s", want, n.Kind)
	}
	return native.None
}

func biometryNames() []string {
	var out []string
	for t := native.None; t.Valid(); t++ {
		out = append(out, t.String())
	}
	return out
}

func (p *scriptParser) steps(n *doc.Node, ptr string) []Step {
	if n.Kind != doc.Array {
		p.fail(n, ptr, "expected an array of outcomes, found %s", n.Kind)
		return nil
	}
	if len(n.Items) > MaxSteps {
		p.fail(n, ptr, "the script has %d steps, more than the limit of %d", len(n.Items), MaxSteps)
		return nil
	}
	out := make([]Step, 0, len(n.Items))
	for i, it := range n.Items {
		ip := ptr + "/" + strconv.Itoa(i)
		var st Step
		if it.Kind == doc.Object {
			hasOutcome := false
			p.object(it, ip, []string{"outcome", "latency"}, func(m doc.Member, mp string) {
				switch m.Key {
				case "outcome":
					hasOutcome = true
					st.Outcome = p.outcome(m.Value, mp)
				case "latency":
					st.Latency = p.duration(m.Value, mp)
				}
			})
			if p.err == nil && !hasOutcome {
				p.fail(it, ip, `a step object needs an "outcome"`)
			}
		} else {
			st.Outcome = p.outcome(it, ip)
		}
		if p.err != nil {
			return nil
		}
		out = append(out, st)
	}
	return out
}

func describe(n *doc.Node) string {
	switch n.Kind {
	case doc.Number:
		return "the number " + n.Text
	case doc.String:
		return "the string " + strconv.Quote(n.Text)
	}
	return n.Kind.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the candidate nearest to s (case-insensitive edit
// distance of at most a third of its length, at least 2), or "".
func closest(s string, candidates []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestD := "", math.MaxInt
	ls := strings.ToLower(s)
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		d := textdist.Distance(ls, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(s)/3)
	if bestD <= limit {
		return best
	}
	return ""
}
