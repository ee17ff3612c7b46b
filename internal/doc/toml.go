package doc

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// ParseTOML parses a TOML 1.0 document. go-toml checks the document first
// (syntax, duplicate keys, redefined tables), then its parser's node stream
// is folded into a positioned tree. Datetimes become Datetime nodes holding
// their RFC 3339 text.
func ParseTOML(data []byte) (*Node, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	var probe any
	if err := toml.Unmarshal(data, &probe); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, &SyntaxError{Pos: bytePos(data, line, col), Msg: strings.TrimPrefix(de.Error(), "toml: ")}
		}
		return nil, &SyntaxError{Pos: Pos{Line: 1, Col: 1}, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	b := &tomlBuilder{data: data, cols: newColumns(data)}
	b.root = &Node{Kind: Object, Pos: Pos{Offset: 0, Line: 1, Col: 1}, Members: []Member{}}
	cur := b.root
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			if err := b.keyValue(cur, e); err != nil {
				return nil, err
			}
		case unstable.Table:
			t, err := b.table(e, false)
			if err != nil {
				return nil, err
			}
			cur = t
		case unstable.ArrayTable:
			t, err := b.table(e, true)
			if err != nil {
				return nil, err
			}
			cur = t
		}
	}
	if err := p.Error(); err != nil {
		return nil, &SyntaxError{Pos: Pos{Line: 1, Col: 1}, Msg: err.Error()}
	}
	return b.root, nil
}

// bytePos turns go-toml's line and byte column into a Pos with a rune column.
func bytePos(data []byte, line, col int) Pos {
	c := newColumns(data)
	if line < 1 || line > len(c.lines) {
		return Pos{Line: max(line, 1), Col: max(col, 1)}
	}
	return c.pos(min(c.lines[line-1]+col-1, len(data)))
}

func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// markEvery is the distance, in bytes, between two of columns' marks.
const markEvery = 256

// columns turns byte offsets of a valid UTF-8 text into lines and rune
// columns, each in time independent of the length of its line (a
// one-line array of 200,000 values must not cost 200,000 line scans).
type columns struct {
	data  []byte
	lines []int // offset of each line's first byte
	ascii bool  // every byte is a rune: the column is the byte distance
	// marks[i] is the number of runes between the start of the line that
	// holds byte i*markEvery and that byte.
	marks []int
}

func newColumns(data []byte) *columns {
	c := &columns{data: data, lines: lineStarts(data), ascii: true}
	for _, ch := range data {
		if ch >= utf8.RuneSelf {
			c.ascii = false
			break
		}
	}
	if c.ascii {
		return c
	}
	c.marks = make([]int, len(data)/markEvery+1)
	runes := 0
	for i, ch := range data {
		if i%markEvery == 0 {
			c.marks[i/markEvery] = runes
		}
		switch {
		case ch == '\n':
			runes = 0
		case !utf8.RuneStart(ch):
		default:
			runes++
		}
	}
	if len(data)%markEvery == 0 {
		c.marks[len(data)/markEvery] = runes
	}
	return c
}

// pos returns the line and column of byte offset off.
func (c *columns) pos(off int) Pos {
	lo, hi := 0, len(c.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if c.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	start := c.lines[lo]
	if c.ascii {
		return Pos{Offset: off, Line: lo + 1, Col: off - start + 1}
	}
	col := 0
	if mark := off / markEvery * markEvery; mark > start {
		col, start = c.marks[off/markEvery], mark
	}
	for _, ch := range c.data[start:off] {
		if utf8.RuneStart(ch) {
			col++
		}
	}
	return Pos{Offset: off, Line: lo + 1, Col: col + 1}
}

type tomlBuilder struct {
	data []byte
	cols *columns
	root *Node
}

func (b *tomlBuilder) pos(off int) Pos { return b.cols.pos(off) }

// child finds or creates the table named key in parent. When the key names
// an array of tables, the last table of that array is returned, as TOML
// specifies for dotted keys and headers.
func (b *tomlBuilder) child(parent *Node, key string, keyPos Pos) *Node {
	if n := parent.Get(key); n != nil {
		if n.Kind == Array && len(n.Items) > 0 {
			return n.Items[len(n.Items)-1]
		}
		return n
	}
	n := &Node{Kind: Object, Pos: keyPos, Members: []Member{}}
	parent.Members = append(parent.Members, Member{Key: key, KeyPos: keyPos, Value: n})
	return n
}

type keyPart struct {
	name       string
	pos        Pos
	start, end int
}

func (b *tomlBuilder) keyParts(it unstable.Iterator) []keyPart {
	var parts []keyPart
	for it.Next() {
		k := it.Node()
		parts = append(parts, keyPart{name: string(k.Data), pos: b.pos(int(k.Raw.Offset)), start: int(k.Raw.Offset), end: int(k.Raw.Offset + k.Raw.Length)})
	}
	return parts
}

// headerStart finds the '[' that opens the table header whose first key
// starts at off.
func (b *tomlBuilder) headerStart(off int) int {
	i := off - 1
	for i >= 0 && (b.data[i] == ' ' || b.data[i] == '\t' || b.data[i] == '"' || b.data[i] == '\'') {
		i--
	}
	for i > 0 && b.data[i-1] == '[' {
		i--
	}
	if i < 0 || b.data[i] != '[' {
		return off
	}
	return i
}

func (b *tomlBuilder) table(e *unstable.Node, array bool) (*Node, error) {
	parts := b.keyParts(e.Key())
	header := b.pos(b.headerStart(parts[0].start))
	parent := b.root
	for _, k := range parts[:len(parts)-1] {
		parent = b.child(parent, k.name, k.pos)
	}
	last := parts[len(parts)-1]
	if !array {
		n := parent.Get(last.name)
		if n == nil {
			n = b.child(parent, last.name, last.pos)
		}
		// A table first created implicitly (by a dotted key or a deeper
		// header) is now defined: it starts at its header.
		n.Pos = header
		return n, nil
	}
	arr := parent.Get(last.name)
	if arr == nil {
		arr = &Node{Kind: Array, Pos: last.pos, Items: []*Node{}}
		parent.Members = append(parent.Members, Member{Key: last.name, KeyPos: last.pos, Value: arr})
	}
	t := &Node{Kind: Object, Pos: header, Members: []Member{}}
	arr.Items = append(arr.Items, t)
	return t, nil
}

func (b *tomlBuilder) keyValue(table *Node, e *unstable.Node) error {
	parts := b.keyParts(e.Key())
	parent := table
	for _, k := range parts[:len(parts)-1] {
		parent = b.child(parent, k.name, k.pos)
	}
	last := parts[len(parts)-1]
	v, err := b.value(e.Value(), b.valueStart(last.end))
	if err != nil {
		return err
	}
	parent.Members = append(parent.Members, Member{Key: last.name, KeyPos: last.pos, Value: v})
	return nil
}

// valueStart finds where a value begins after offset off: past blanks, the
// '=' of a key/value pair, commas and comments.
func (b *tomlBuilder) valueStart(off int) int {
	for off < len(b.data) {
		switch b.data[off] {
		case ' ', '\t', '\r', '\n', '=', ',':
			off++
		case '#':
			for off < len(b.data) && b.data[off] != '\n' {
				off++
			}
		default:
			return off
		}
	}
	return off
}

func (b *tomlBuilder) value(v *unstable.Node, start int) (*Node, error) {
	if v.Raw.Length > 0 || v.Kind == unstable.String {
		start = int(v.Raw.Offset)
	}
	pos := b.pos(start)
	switch v.Kind {
	case unstable.String:
		return &Node{Kind: String, Pos: pos, Text: string(v.Data)}, nil
	case unstable.Bool:
		return &Node{Kind: Bool, Pos: pos, Bool: string(v.Data) == "true"}, nil
	case unstable.Integer:
		text, err := tomlInteger(string(v.Data))
		if err != nil {
			return nil, syntaxErrorf(pos, "%v", err)
		}
		return &Node{Kind: Number, Pos: pos, Text: text, Int: true}, nil
	case unstable.Float:
		return &Node{Kind: Number, Pos: pos, Text: tomlFloat(string(v.Data))}, nil
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return &Node{Kind: Datetime, Pos: pos, Text: tomlDatetime(string(v.Data))}, nil
	case unstable.Array:
		n := &Node{Kind: Array, Pos: pos, Items: []*Node{}}
		next := start + 1
		it := v.Children()
		for it.Next() {
			c := it.Node()
			item, err := b.value(c, b.valueStart(next))
			if err != nil {
				return nil, err
			}
			n.Items = append(n.Items, item)
			if c.Raw.Length > 0 {
				next = int(c.Raw.Offset + c.Raw.Length)
			} else {
				next = item.Pos.Offset + 1
			}
		}
		return n, nil
	case unstable.InlineTable:
		n := &Node{Kind: Object, Pos: pos, Members: []Member{}}
		it := v.Children()
		for it.Next() {
			if err := b.keyValue(n, it.Node()); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	return nil, syntaxErrorf(pos, "unsupported TOML value")
}

// tomlInteger turns a TOML integer literal (underscores, 0x/0o/0b, sign)
// into decimal text.
func tomlInteger(s string) (string, error) {
	s = strings.ReplaceAll(s, "_", "")
	neg := false
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "0o"):
		base, s = 8, s[2:]
	case strings.HasPrefix(s, "0b"):
		base, s = 2, s[2:]
	}
	v, ok := new(big.Int).SetString(s, base)
	if !ok {
		return "", errors.New("invalid integer " + strconv.Quote(s))
	}
	if neg {
		v.Neg(v)
	}
	if !v.IsInt64() {
		return "", errors.New("integer " + v.String() + " does not fit in 64 bits")
	}
	return v.String(), nil
}

func tomlFloat(s string) string {
	s = strings.ReplaceAll(s, "_", "")
	switch strings.TrimLeft(s, "+-") {
	case "inf":
		if strings.HasPrefix(s, "-") {
			return "-Infinity"
		}
		return "Infinity"
	case "nan":
		return "NaN"
	}
	s = strings.TrimPrefix(s, "+")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return s
	}
	return s
}

// tomlDatetime normalizes a TOML datetime the way the toml crate prints
// one: 'T' between date and time, upper-case 'Z'.
func tomlDatetime(s string) string {
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') && s[4] == '-' {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	return s
}
