// Package doc reads JSON, JSON5 and TOML documents into one positioned tree
// and writes JSON the way Rust's serde_json does.
//
// Every node remembers where it started (byte offset, line and column), so
// that the packages built on top of it can report `file:line:col` for any
// value, and can map a JSON pointer (as produced by a JSON Schema validator)
// back to a place in the source, whichever of the three formats it came from.
package doc

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the type of a node.
type Kind uint8

// The node kinds. Datetime only comes from TOML.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
	Datetime
)

// String names the kind the way error messages do ("a string", "an array").
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "a boolean"
	case Number:
		return "a number"
	case String:
		return "a string"
	case Array:
		return "an array"
	case Object:
		return "an object"
	case Datetime:
		return "a datetime"
	}
	return "an unknown value"
}

// Pos is a place in a source document. Line and Col are 1-based; Col counts
// Unicode code points, as editors do.
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// String formats the position as "line:col".
func (p Pos) String() string { return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) }

// Member is one key of an object, in source order.
type Member struct {
	Key    string
	KeyPos Pos
	Value  *Node
}

// Node is one value of a document.
type Node struct {
	Kind Kind
	Pos  Pos
	// Bool holds the value of a Bool node.
	Bool bool
	// Text holds the decoded string of a String node, the literal of a
	// Number node (as written, normalized for JSON5 and TOML so that it is
	// valid JSON or one of "NaN", "Infinity", "-Infinity"), and the
	// normalized RFC 3339 text of a Datetime node.
	Text string
	// Int tells whether a Number node is an integer literal (no fraction,
	// no exponent). JSON5 hexadecimal and TOML integers are rewritten to
	// decimal in Text.
	Int bool
	// Items are the elements of an Array node.
	Items []*Node
	// Members are the keys of an Object node, in source order. A key that
	// appears twice is kept twice; Get returns the last one, as serde does
	// for maps.
	Members []Member
}

// Get returns the value of key in an Object node (the last one if the key
// is repeated), or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := len(n.Members) - 1; i >= 0; i-- {
		if n.Members[i].Key == key {
			return n.Members[i].Value
		}
	}
	return nil
}

// Lookup follows a JSON pointer (RFC 6901) from n. It returns the deepest
// node reached and whether the whole pointer resolved; the deepest node is
// what an error about a missing property should point at.
func (n *Node) Lookup(pointer string) (*Node, bool) {
	if n == nil {
		return nil, false
	}
	if pointer == "" {
		return n, true
	}
	cur := n
	if !strings.HasPrefix(pointer, "/") {
		return cur, false
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch cur.Kind {
		case Object:
			next := cur.Get(tok)
			if next == nil {
				return cur, false
			}
			cur = next
		case Array:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(cur.Items) {
				return cur, false
			}
			cur = cur.Items[i]
		default:
			return cur, false
		}
	}
	return cur, true
}

// KeyPos returns the position of the key that leads to the node at pointer,
// when the last step of the pointer is an object key; otherwise the node's
// own position. Errors about an unknown or misspelled field read better at
// the key than at its value.
func (n *Node) KeyPos(pointer string) (Pos, bool) {
	i := strings.LastIndexByte(pointer, '/')
	if i < 0 {
		return n.Pos, false
	}
	parent, ok := n.Lookup(pointer[:i])
	if !ok || parent.Kind != Object {
		target, _ := n.Lookup(pointer)
		return target.Pos, ok
	}
	key := strings.ReplaceAll(strings.ReplaceAll(pointer[i+1:], "~1", "/"), "~0", "~")
	for j := len(parent.Members) - 1; j >= 0; j-- {
		if parent.Members[j].Key == key {
			return parent.Members[j].KeyPos, true
		}
	}
	return parent.Pos, false
}

// PointerToken escapes one reference token of a JSON pointer.
func PointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// SyntaxError is a parse error at a position of the document.
type SyntaxError struct {
	Pos Pos
	Msg string
}

func (e *SyntaxError) Error() string { return e.Pos.String() + ": " + e.Msg }

func syntaxErrorf(p Pos, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: p, Msg: fmt.Sprintf(format, args...)}
}
