package doc

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects the parsers accept.
// serde_json stops at the same depth ("recursion limit exceeded"), so a
// document capguard accepts is one Tauri accepts too.
const MaxDepth = 128

// ParseJSON parses strict JSON (RFC 8259), as serde_json does: no comments,
// no trailing commas, no byte order mark, no control characters in strings.
func ParseJSON(data []byte) (*Node, error) {
	return parse(data, false)
}

// ParseJSON5 parses JSON5 (https://spec.json5.org): comments, trailing
// commas, single-quoted strings, unquoted keys, hexadecimal numbers,
// Infinity and NaN.
func ParseJSON5(data []byte) (*Node, error) {
	return parse(data, true)
}

type parser struct {
	data      []byte
	i         int
	line      int
	lineStart int
	json5     bool
	depth     int
	// column cache: the column at colOff on the current line, so that long
	// single-line documents do not recount from the start of the line.
	colOff int
	col    int
}

func parse(data []byte, json5 bool) (*Node, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	p := &parser{data: data, line: 1, json5: json5, col: 1}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF && !json5 {
		return nil, syntaxErrorf(p.pos(), "the file starts with a byte order mark, which JSON parsers reject; save it as UTF-8 without BOM")
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if p.i >= len(p.data) {
		return nil, syntaxErrorf(p.pos(), "expected a value, found the end of the file")
	}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if p.i < len(p.data) {
		return nil, syntaxErrorf(p.pos(), "unexpected %s after the end of the document", p.describe())
	}
	return n, nil
}

// checkText rejects input that is not UTF-8, as Rust's read_to_string does.
func checkText(data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	line, start := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			col := utf8.RuneCount(data[start:i]) + 1
			return syntaxErrorf(Pos{Offset: i, Line: line, Col: col}, "the file is not valid UTF-8 (byte 0x%02x)", data[i])
		}
		if r == '\n' {
			line++
			start = i + 1
		}
		i += size
	}
	return nil
}

func (p *parser) pos() Pos {
	if p.colOff > p.i {
		p.colOff, p.col = p.lineStart, 1
	}
	p.col += utf8.RuneCount(p.data[p.colOff:p.i])
	p.colOff = p.i
	return Pos{Offset: p.i, Line: p.line, Col: p.col}
}

func (p *parser) newline() {
	p.line++
	p.lineStart = p.i
	p.colOff, p.col = p.i, 1
}

func (p *parser) describe() string {
	if p.i >= len(p.data) {
		return "end of file"
	}
	r, _ := utf8.DecodeRune(p.data[p.i:])
	if r < 0x20 || r == 0x7f {
		return "character " + strconv.QuoteRune(r)
	}
	return "'" + string(r) + "'"
}

func (p *parser) skipSpace() error {
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch c {
		case ' ', '\t', '\r':
			p.i++
		case '\n':
			p.i++
			p.newline()
		case '/':
			if !p.json5 {
				return syntaxErrorf(p.pos(), "comments are not allowed in JSON; use a .json5 file for comments")
			}
			if err := p.comment(); err != nil {
				return err
			}
		default:
			if !p.json5 || c < 0x80 && c != 0x0b && c != 0x0c {
				return nil
			}
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == 0x0b || r == 0x0c || r == 0xa0 || r == 0xfeff || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Zs, r) {
				p.i += size
				if r == 0x2028 || r == 0x2029 {
					p.newline()
				}
				continue
			}
			return nil
		}
	}
	return nil
}

func (p *parser) comment() error {
	start := p.pos()
	if p.i+1 >= len(p.data) {
		return syntaxErrorf(start, "unexpected '/'")
	}
	switch p.data[p.i+1] {
	case '/':
		for p.i < len(p.data) && p.data[p.i] != '\n' {
			p.i++
		}
		return nil
	case '*':
		p.i += 2
		for p.i+1 < len(p.data) {
			if p.data[p.i] == '*' && p.data[p.i+1] == '/' {
				p.i += 2
				return nil
			}
			if p.data[p.i] == '\n' {
				p.i++
				p.newline()
				continue
			}
			p.i++
		}
		return syntaxErrorf(start, "unterminated block comment")
	}
	return syntaxErrorf(start, "unexpected '/'")
}

func (p *parser) value() (*Node, error) {
	start := p.pos()
	c := p.data[p.i]
	switch {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"' || c == '\'' && p.json5:
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &Node{Kind: String, Pos: start, Text: s}, nil
	case c == '-' || c >= '0' && c <= '9' || p.json5 && (c == '+' || c == '.' || c == 'I' || c == 'N'):
		return p.number()
	case c == 't' || c == 'f' || c == 'n':
		for _, kw := range []struct {
			word string
			n    Node
		}{{"true", Node{Kind: Bool, Bool: true}}, {"false", Node{Kind: Bool}}, {"null", Node{Kind: Null}}} {
			if strings.HasPrefix(string(p.data[p.i:min(len(p.data), p.i+len(kw.word))]), kw.word) && !p.identAt(p.i+len(kw.word)) {
				p.i += len(kw.word)
				n := kw.n
				n.Pos = start
				return &n, nil
			}
		}
	}
	return nil, syntaxErrorf(start, "expected a value, found %s", p.describe())
}

// identAt tells whether an identifier character continues at offset i, so
// that "nullx" is not read as null followed by garbage.
func (p *parser) identAt(i int) bool {
	if i >= len(p.data) {
		return false
	}
	c := p.data[i]
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *parser) enter(start Pos) error {
	p.depth++
	if p.depth > MaxDepth {
		return syntaxErrorf(start, "nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) array() (*Node, error) {
	n := &Node{Kind: Array, Pos: p.pos()}
	if err := p.enter(n.Pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // [
	n.Items = []*Node{}
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.i >= len(p.data) {
			return nil, syntaxErrorf(p.pos(), "unterminated array opened at %s; expected ']'", n.Pos)
		}
		if p.data[p.i] == ']' {
			if len(n.Items) > 0 && !p.json5 {
				// Only reachable after a comma: "[1,]".
				return nil, syntaxErrorf(p.pos(), "trailing comma before ']' is not allowed in JSON")
			}
			p.i++
			return n, nil
		}
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Items = append(n.Items, item)
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.i >= len(p.data) {
			return nil, syntaxErrorf(p.pos(), "unterminated array opened at %s; expected ',' or ']'", n.Pos)
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return n, nil
		default:
			return nil, syntaxErrorf(p.pos(), "expected ',' or ']' in array, found %s", p.describe())
		}
	}
}

func (p *parser) object() (*Node, error) {
	n := &Node{Kind: Object, Pos: p.pos()}
	if err := p.enter(n.Pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // {
	n.Members = []Member{}
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.i >= len(p.data) {
			return nil, syntaxErrorf(p.pos(), "unterminated object opened at %s; expected '}'", n.Pos)
		}
		if p.data[p.i] == '}' {
			if len(n.Members) > 0 && !p.json5 {
				return nil, syntaxErrorf(p.pos(), "trailing comma before '}' is not allowed in JSON")
			}
			p.i++
			return n, nil
		}
		keyPos := p.pos()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, syntaxErrorf(p.pos(), "expected ':' after the key %q, found %s", key, p.describe())
		}
		p.i++
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.i >= len(p.data) {
			return nil, syntaxErrorf(p.pos(), "expected a value for the key %q, found the end of the file", key)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Members = append(n.Members, Member{Key: key, KeyPos: keyPos, Value: v})
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.i >= len(p.data) {
			return nil, syntaxErrorf(p.pos(), "unterminated object opened at %s; expected ',' or '}'", n.Pos)
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return n, nil
		default:
			return nil, syntaxErrorf(p.pos(), "expected ',' or '}' in object, found %s", p.describe())
		}
	}
}

func (p *parser) key() (string, error) {
	c := p.data[p.i]
	if c == '"' || c == '\'' && p.json5 {
		return p.str()
	}
	if !p.json5 {
		return "", syntaxErrorf(p.pos(), "expected a key in double quotes, found %s", p.describe())
	}
	// JSON5 identifier name (ECMAScript 5.1 IdentifierName).
	var b strings.Builder
	for p.i < len(p.data) {
		r, size := utf8.DecodeRune(p.data[p.i:])
		if r == '\\' {
			if p.i+1 >= len(p.data) || p.data[p.i+1] != 'u' {
				return "", syntaxErrorf(p.pos(), "invalid escape in key; only \\uXXXX is allowed")
			}
			p.i += 2
			u, err := p.hex(4)
			if err != nil {
				return "", err
			}
			r = rune(u)
			if !isIdentRune(r, b.Len() == 0) {
				return "", syntaxErrorf(p.pos(), "escaped character %q cannot appear in an unquoted key", r)
			}
			b.WriteRune(r)
			continue
		}
		if !isIdentRune(r, b.Len() == 0) {
			break
		}
		b.WriteRune(r)
		p.i += size
	}
	if b.Len() == 0 {
		return "", syntaxErrorf(p.pos(), "expected a key, found %s", p.describe())
	}
	return b.String(), nil
}

func isIdentRune(r rune, first bool) bool {
	if r == '$' || r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) {
		return true
	}
	if first {
		return false
	}
	return unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc) || r == 0x200c || r == 0x200d
}

func (p *parser) hex(n int) (uint32, error) {
	if p.i+n > len(p.data) {
		return 0, syntaxErrorf(p.pos(), "expected %d hexadecimal digits", n)
	}
	var v uint32
	for k := 0; k < n; k++ {
		c := p.data[p.i+k]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			p.i += k
			return 0, syntaxErrorf(p.pos(), "invalid hexadecimal digit %s", p.describe())
		}
		v = v<<4 | uint32(d)
	}
	p.i += n
	return v, nil
}

func (p *parser) str() (string, error) {
	start := p.pos()
	quote := p.data[p.i]
	p.i++
	var b strings.Builder
	for {
		if p.i >= len(p.data) {
			return "", syntaxErrorf(start, "unterminated string")
		}
		c := p.data[p.i]
		switch {
		case c == quote:
			p.i++
			return b.String(), nil
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c == '\n' || c == '\r':
			return "", syntaxErrorf(p.pos(), "line break inside a string (opened at %s); write it as \\n", start)
		case c < 0x20 && !p.json5:
			return "", syntaxErrorf(p.pos(), "control character %s inside a string; escape it", p.describe())
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			b.WriteRune(r)
			p.i += size
		}
	}
}

func (p *parser) escape(b *strings.Builder) error {
	at := p.pos()
	p.i++ // backslash
	if p.i >= len(p.data) {
		return syntaxErrorf(at, "unterminated escape sequence")
	}
	c := p.data[p.i]
	if v, ok := simpleEscape(c); ok {
		b.WriteByte(v)
		p.i++
		return nil
	}
	if c == 'u' {
		p.i++
		u, err := p.hex(4)
		if err != nil {
			return err
		}
		r := rune(u)
		if utf16IsHigh(r) {
			if p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
				p.i += 2
				lo, err := p.hex(4)
				if err != nil {
					return err
				}
				if !utf16IsLow(rune(lo)) {
					return syntaxErrorf(at, "invalid low surrogate in \\u escape")
				}
				r = 0x10000 + (r-0xD800)<<10 + (rune(lo) - 0xDC00)
			} else if !p.json5 {
				return syntaxErrorf(at, "lone leading surrogate in \\u escape")
			} else {
				r = utf8.RuneError
			}
		} else if utf16IsLow(r) {
			if !p.json5 {
				return syntaxErrorf(at, "lone trailing surrogate in \\u escape")
			}
			r = utf8.RuneError
		}
		b.WriteRune(r)
		return nil
	}
	if !p.json5 {
		return syntaxErrorf(at, "invalid escape \\%s in string", string(rune(c)))
	}
	switch c {
	case '\'':
		b.WriteByte('\'')
	case 'v':
		b.WriteByte('\v')
	case '0':
		if p.i+1 < len(p.data) && p.data[p.i+1] >= '0' && p.data[p.i+1] <= '9' {
			return syntaxErrorf(at, "octal escapes are not allowed")
		}
		b.WriteByte(0)
	case 'x':
		p.i++
		v, err := p.hex(2)
		if err != nil {
			return err
		}
		b.WriteRune(rune(v))
		return nil
	case '\n':
		p.i++
		p.newline()
		return nil
	case '\r':
		p.i++
		if p.i < len(p.data) && p.data[p.i] == '\n' {
			p.i++
		}
		p.newline()
		return nil
	default:
		if c >= '1' && c <= '9' {
			return syntaxErrorf(at, "invalid escape \\%c in string", c)
		}
		r, size := utf8.DecodeRune(p.data[p.i:])
		if r == 0x2028 || r == 0x2029 {
			p.i += size
			return nil
		}
		b.WriteRune(r)
		p.i += size
		return nil
	}
	p.i++
	return nil
}

func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }

func (p *parser) number() (*Node, error) {
	start := p.pos()
	begin := p.i
	neg := false
	if c := p.data[p.i]; c == '-' || c == '+' {
		if c == '+' && !p.json5 {
			return nil, syntaxErrorf(start, "a number cannot start with '+' in JSON")
		}
		neg = c == '-'
		p.i++
	}
	if p.json5 {
		for _, w := range []string{"Infinity", "NaN"} {
			if strings.HasPrefix(string(p.data[p.i:min(len(p.data), p.i+len(w))]), w) && !p.identAt(p.i+len(w)) {
				p.i += len(w)
				text := w
				if w == "Infinity" && neg {
					text = "-Infinity"
				}
				return &Node{Kind: Number, Pos: start, Text: text}, nil
			}
		}
		if p.i+1 < len(p.data) && p.data[p.i] == '0' && (p.data[p.i+1] == 'x' || p.data[p.i+1] == 'X') {
			p.i += 2
			ds := p.i
			for p.i < len(p.data) && isHexByte(p.data[p.i]) {
				p.i++
			}
			if p.i == ds {
				return nil, syntaxErrorf(p.pos(), "expected hexadecimal digits after 0x")
			}
			v := new(big.Int)
			v.SetString(string(p.data[ds:p.i]), 16)
			if neg {
				v.Neg(v)
			}
			if p.identAt(p.i) {
				return nil, syntaxErrorf(p.pos(), "invalid character %s in number", p.describe())
			}
			return &Node{Kind: Number, Pos: start, Text: v.String(), Int: true}, nil
		}
	}
	intStart := p.i
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	intDigits := p.i - intStart
	if intDigits == 0 && !(p.json5 && p.i < len(p.data) && p.data[p.i] == '.') {
		return nil, syntaxErrorf(p.pos(), "expected a digit, found %s", p.describe())
	}
	if intDigits > 1 && p.data[intStart] == '0' {
		return nil, syntaxErrorf(start, "numbers cannot have leading zeros")
	}
	isInt := true
	if p.i < len(p.data) && p.data[p.i] == '.' {
		isInt = false
		p.i++
		fs := p.i
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
		}
		if p.i == fs && (!p.json5 || intDigits == 0) {
			return nil, syntaxErrorf(p.pos(), "expected a digit after the decimal point, found %s", p.describe())
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		isInt = false
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		es := p.i
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
		}
		if p.i == es {
			return nil, syntaxErrorf(p.pos(), "expected a digit in the exponent, found %s", p.describe())
		}
	}
	if p.json5 && p.identAt(p.i) {
		return nil, syntaxErrorf(p.pos(), "invalid character %s in number", p.describe())
	}
	text := string(p.data[begin:p.i])
	if f, err := strconv.ParseFloat(text, 64); err != nil && math.IsInf(f, 0) {
		return nil, syntaxErrorf(start, "number %s is out of range for a 64-bit float", text)
	}
	if p.json5 {
		text = normalizeJSON5Number(text)
	}
	return &Node{Kind: Number, Pos: start, Text: text, Int: isInt}, nil
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// normalizeJSON5Number rewrites a JSON5 decimal literal into JSON syntax.
func normalizeJSON5Number(s string) string {
	s = strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	if strings.HasPrefix(body, ".") {
		body = "0" + body
	}
	if i := strings.IndexByte(body, '.'); i >= 0 && (i+1 == len(body) || body[i+1] == 'e' || body[i+1] == 'E') {
		body = body[:i+1] + "0" + body[i+1:]
	}
	if neg {
		return "-" + body
	}
	return body
}

// Float returns the value of a Number node as a float64, handling the
// JSON5 words NaN and Infinity.
func (n *Node) Float() float64 {
	switch n.Text {
	case "NaN":
		return math.NaN()
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(n.Text, 64)
	return f
}
