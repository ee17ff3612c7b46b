package doc

import (
	"math"
	"strconv"
	"strings"
)

// Writer builds JSON text byte for byte as serde_json does: compact
// (serde_json::to_string) or pretty with a two-space indent
// (serde_json::to_string_pretty), no HTML escaping, only the escapes that
// serde_json writes, and floats in the shortest form that round-trips,
// always with a fraction or an exponent ("1.0", "1e30").
//
// Callers drive it with BeginObject/Key/.../EndObject and friends; it
// handles commas, newlines and indentation.
type Writer struct {
	b      strings.Builder
	pretty bool
	indent string
	// stack of containers: count of items written so far in each
	stack []int
	// afterKey is set between Key and the value that follows it
	afterKey bool
}

// NewWriter returns a compact writer, or a pretty one with two-space indent.
func NewWriter(pretty bool) *Writer {
	return &Writer{pretty: pretty, indent: "  "}
}

// String returns the text written so far.
func (w *Writer) String() string { return w.b.String() }

// Bytes returns the text written so far.
func (w *Writer) Bytes() []byte { return []byte(w.b.String()) }

func (w *Writer) newline() {
	w.b.WriteByte('\n')
	for range w.stack {
		w.b.WriteString(w.indent)
	}
}

// before writes what comes before a value: a comma and newline inside a
// container, nothing after a key.
func (w *Writer) before() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if len(w.stack) == 0 {
		return
	}
	top := &w.stack[len(w.stack)-1]
	if *top > 0 {
		w.b.WriteByte(',')
	}
	*top++
	if w.pretty {
		w.newline()
	}
}

func (w *Writer) open(c byte) {
	w.before()
	w.b.WriteByte(c)
	w.stack = append(w.stack, 0)
}

func (w *Writer) close(c byte) {
	n := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	if w.pretty && n > 0 {
		w.newline()
	}
	w.b.WriteByte(c)
}

// BeginObject starts an object.
func (w *Writer) BeginObject() { w.open('{') }

// EndObject ends an object.
func (w *Writer) EndObject() { w.close('}') }

// BeginArray starts an array.
func (w *Writer) BeginArray() { w.open('[') }

// EndArray ends an array.
func (w *Writer) EndArray() { w.close(']') }

// Key writes an object key; the next call writes its value.
func (w *Writer) Key(k string) {
	w.before()
	writeQuoted(&w.b, k)
	if w.pretty {
		w.b.WriteString(": ")
	} else {
		w.b.WriteByte(':')
	}
	w.afterKey = true
}

// Str writes a string value.
func (w *Writer) Str(s string) {
	w.before()
	writeQuoted(&w.b, s)
}

// Bool writes a boolean value.
func (w *Writer) Bool(v bool) {
	w.before()
	w.b.WriteString(strconv.FormatBool(v))
}

// Null writes null.
func (w *Writer) Null() {
	w.before()
	w.b.WriteString("null")
}

// Int writes an integer.
func (w *Writer) Int(v int64) {
	w.before()
	w.b.WriteString(strconv.FormatInt(v, 10))
}

// Uint writes an unsigned integer.
func (w *Writer) Uint(v uint64) {
	w.before()
	w.b.WriteString(strconv.FormatUint(v, 10))
}

// Float writes a float as serde_json does; NaN and infinities become null.
func (w *Writer) Float(v float64) {
	w.before()
	w.b.WriteString(FormatFloat(v))
}

// Raw writes pre-encoded JSON text as one value. The text must already be
// in the writer's style (compact or pretty at the right indentation).
func (w *Writer) Raw(text string) {
	w.before()
	w.b.WriteString(text)
}

// Node writes a parsed document node. Numbers are written as serde_json
// would after reading them: integers that fit 64 bits stay integers,
// everything else is a float.
func (w *Writer) Node(n *Node) {
	switch n.Kind {
	case Null:
		w.Null()
	case Bool:
		w.Bool(n.Bool)
	case String, Datetime:
		w.Str(n.Text)
	case Number:
		w.before()
		w.b.WriteString(NumberText(n))
	case Array:
		w.BeginArray()
		for _, it := range n.Items {
			w.Node(it)
		}
		w.EndArray()
	case Object:
		w.BeginObject()
		for _, m := range dedupeMembers(n.Members) {
			w.Key(m.Key)
			w.Node(m.Value)
		}
		w.EndObject()
	}
}

// dedupeMembers keeps the last value of a repeated key at the place of the
// first, as an insertion-ordered map does.
func dedupeMembers(ms []Member) []Member {
	seen := map[string]int{}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		if i, ok := seen[m.Key]; ok {
			out[i].Value = m.Value
			continue
		}
		seen[m.Key] = len(out)
		out = append(out, m)
	}
	return out
}

// NumberText is the serde_json spelling of a number node.
func NumberText(n *Node) string {
	if n.Int {
		if n.Text == "-0" {
			return "-0.0" // serde_json reads -0 as a float
		}
		if _, err := strconv.ParseInt(n.Text, 10, 64); err == nil {
			return strings.TrimPrefix(n.Text, "+")
		}
		if _, err := strconv.ParseUint(n.Text, 10, 64); err == nil {
			return n.Text
		}
	}
	return FormatFloat(n.Float())
}

// Quote returns s as a JSON string literal with serde_json's escapes.
func Quote(s string) string {
	var b strings.Builder
	writeQuoted(&b, s)
	return b.String()
}

const hexDigits = "0123456789abcdef"

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c == '\b':
			esc = `\b`
		case c == '\f':
			esc = `\f`
		case c < 0x20:
			esc = `\u00` + string(hexDigits[c>>4]) + string(hexDigits[c&0xf])
		default:
			continue
		}
		b.WriteString(s[start:i])
		b.WriteString(esc)
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// FormatFloat formats f the way Rust's ryu crate does (which serde_json
// uses): the shortest digits that round-trip, in plain notation when the
// decimal exponent is small ("100.0", "0.001"), otherwise scientific
// without a plus sign or leading zeros ("1e16", "1.5e-7"). NaN and the
// infinities become "null", as serde_json writes them.
func FormatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	// Shortest round-trip digits and exponent from strconv: "d.ddde±XX".
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expStr, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expStr)
	length := len(digits)
	// value = 0.digits * 10^kk, with kk = exp+1 (ryu's "kk").
	kk := exp + 1
	k := kk - length
	var out string
	switch {
	case 0 <= k && kk <= 16:
		out = digits + strings.Repeat("0", k) + ".0"
	case 0 < kk && kk <= 16:
		out = digits[:kk] + "." + digits[kk:]
	case -5 < kk && kk <= 0:
		out = "0." + strings.Repeat("0", -kk) + digits
	case length == 1:
		out = digits + "e" + strconv.Itoa(kk-1)
	default:
		out = digits[:1] + "." + digits[1:] + "e" + strconv.Itoa(kk-1)
	}
	return sign + out
}
