package doc

import (
	"testing"
)

// roundTrip checks that writing a parsed document and parsing the output
// gives the same output again, which catches writer/parser disagreements.
func roundTrip(t *testing.T, n *Node) {
	w := NewWriter(false)
	w.Node(n)
	again, err := ParseJSON(w.Bytes())
	if err != nil {
		t.Fatalf("writer produced invalid JSON %q: %v", w.String(), err)
	}
	w2 := NewWriter(false)
	w2.Node(again)
	if w.String() != w2.String() {
		t.Fatalf("unstable output:\n%s\n%s", w.String(), w2.String())
	}
	pw := NewWriter(true)
	pw.Node(n)
	if _, err := ParseJSON(pw.Bytes()); err != nil {
		t.Fatalf("pretty writer produced invalid JSON: %v", err)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"]}`, `[]`, `"\u00e9\ud83d\ude00"`, `{"a":{"b":null}}`, `-0.0e-5`, `[1,`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseJSON(data)
		if err != nil {
			return
		}
		roundTrip(t, n)
	})
}

func FuzzParseJSON5(f *testing.F) {
	for _, s := range []string{`{a:'b',}`, `[0x1f, .5, +Infinity, NaN]`, "// c\n/* d */ {}", `'\x41\
'`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseJSON5(data)
		if err != nil {
			return
		}
		roundTrip(t, n)
	})
}

func FuzzParseTOML(f *testing.F) {
	for _, s := range []string{"a = 1\n[t]\nb = [1, {c = 2}]\n", "[[x]]\ny = 1979-05-27\n", "a.b.c = 'x'\n[a.d]\n", "x = inf\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseTOML(data)
		if err != nil {
			return
		}
		roundTrip(t, n)
	})
}
