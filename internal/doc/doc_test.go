package doc

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseJSONPositions(t *testing.T) {
	src := "{\n  \"a\": [1, 2.5, \"é\"],\n  \"b\": {\"c\": null}\n}"
	n, err := ParseJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ptr       string
		line, col int
	}{
		{"", 1, 1},
		{"/a", 2, 8},
		{"/a/0", 2, 9},
		{"/a/1", 2, 12},
		{"/a/2", 2, 17},
		{"/b", 3, 8},
		{"/b/c", 3, 14},
	}
	for _, c := range cases {
		got, ok := n.Lookup(c.ptr)
		if !ok {
			t.Errorf("Lookup(%q) did not resolve", c.ptr)
			continue
		}
		if got.Pos.Line != c.line || got.Pos.Col != c.col {
			t.Errorf("Lookup(%q) at %s, want %d:%d", c.ptr, got.Pos, c.line, c.col)
		}
	}
	if p, ok := n.KeyPos("/b/c"); !ok || p.Line != 3 || p.Col != 9 {
		t.Errorf("KeyPos(/b/c) = %v %v, want 3:9", p, ok)
	}
	if _, ok := n.Lookup("/a/9"); ok {
		t.Error("Lookup(/a/9) resolved")
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, format, src string
		line, col         int
		msg               string
	}{
		{"trailing comma array", "json", "[1,\n 2,]", 2, 4, "trailing comma"},
		{"trailing comma object", "json", "{\"a\": 1,}", 1, 9, "trailing comma"},
		{"bad literal", "json", "{\n  \"a\": tru\n}", 2, 8, "expected a value"},
		{"missing colon", "json", "{\"a\" 1}", 1, 6, "expected ':'"},
		{"unterminated string", "json", "\n\n  \"abc", 3, 3, "unterminated string"},
		{"comment in json", "json", "// x\n{}", 1, 1, "comments are not allowed"},
		{"control char", "json", "\"a\tb\"", 1, 3, "control character"},
		{"leading zero", "json", "01", 1, 1, "leading zeros"},
		{"garbage after", "json", "{} x", 1, 4, "after the end"},
		{"empty", "json", "  ", 1, 3, "end of the file"},
		{"bom", "json", "\uFEFF{}", 1, 1, "byte order mark"},
		{"bad escape", "json", `"\q"`, 1, 2, "invalid escape"},
		{"lone surrogate", "json", `"\ud800"`, 1, 2, "surrogate"},
		{"out of range", "json", `1e999`, 1, 1, "out of range"},
		{"unquoted key", "json", `{a: 1}`, 1, 2, "double quotes"},
		{"column counts characters", "json", `["ééé", x]`, 1, 9, "expected a value"},
		{"json5 unterminated comment", "json5", "/* x", 1, 1, "unterminated block comment"},
		{"json5 octal", "json5", `'\01'`, 1, 2, "octal"},
		{"toml duplicate key", "toml", "a = 1\na = 2\n", 2, 1, "already defined"},
		{"toml bad value", "toml", "a = 1\nb = @\n", 2, 5, ""},
		{"toml unclosed table", "toml", "[a\nb = 1\n", 1, 3, ""},
		{"not utf8", "json", "\"a\xffb\"", 1, 3, "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			switch c.format {
			case "json":
				_, err = ParseJSON([]byte(c.src))
			case "json5":
				_, err = ParseJSON5([]byte(c.src))
			case "toml":
				_, err = ParseTOML([]byte(c.src))
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want a SyntaxError, got %v", err)
			}
			if se.Pos.Line != c.line || se.Pos.Col != c.col {
				t.Errorf("error at %s, want %d:%d (%v)", se.Pos, c.line, c.col, err)
			}
			if !strings.Contains(se.Msg, c.msg) {
				t.Errorf("message %q does not contain %q", se.Msg, c.msg)
			}
		})
	}
}

func TestJSON5(t *testing.T) {
	src := `// comment
{
  unquoted: 'single',
  "hex": 0x1F, neg: -0x10,
  lead: .5, trail: 5., plus: +1,
  inf: -Infinity, nan: NaN,
  list: [1, 2,], /* block */
  esc: '\x41\u0042\
C',
}`
	n, err := ParseJSON5([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(false)
	w.Node(n)
	want := `{"unquoted":"single","hex":31,"neg":-16,"lead":0.5,"trail":5.0,"plus":1,"inf":null,"nan":null,"list":[1,2],"esc":"ABC"}`
	if w.String() != want {
		t.Errorf("got  %s\nwant %s", w.String(), want)
	}
	if n.Get("inf").Float() != math.Inf(-1) || !math.IsNaN(n.Get("nan").Float()) {
		t.Error("Infinity/NaN not read")
	}
}

func TestTOML(t *testing.T) {
	src := `top = "x"
dotted.key = 1_000
[t]
arr = [1, [2, 3], {y = 'z'}]
[[list]]
f = 1.5
[[list]]
f = -inf
d = 1979-05-27 07:32:00z
[t.sub]
hex = 0xff
`
	n, err := ParseTOML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(false)
	w.Node(n)
	want := `{"top":"x","dotted":{"key":1000},"t":{"arr":[1,[2,3],{"y":"z"}],"sub":{"hex":255}},"list":[{"f":1.5},{"f":null,"d":"1979-05-27T07:32:00Z"}]}`
	if w.String() != want {
		t.Errorf("got  %s\nwant %s", w.String(), want)
	}
	for _, c := range []struct {
		ptr       string
		line, col int
	}{{"/top", 1, 7}, {"/dotted/key", 2, 14}, {"/t/arr", 4, 7}, {"/t/arr/1", 4, 11}, {"/t/arr/2", 4, 19}, {"/list/1", 7, 1}, {"/list/1/d", 9, 5}, {"/t/sub", 10, 1}} {
		got, ok := n.Lookup(c.ptr)
		if !ok || got.Pos.Line != c.line || got.Pos.Col != c.col {
			t.Errorf("Lookup(%q) = %v (%v), want %d:%d", c.ptr, got.Pos, ok, c.line, c.col)
		}
	}
	if n.Get("list").Items[1].Get("d").Kind != Datetime {
		t.Error("datetime not kept as Datetime")
	}
}

func TestWriterPretty(t *testing.T) {
	n, err := ParseJSON([]byte(`{"a":[1,{"b":[]}],"c":{},"d":"<&>\u2028\u0001"}`))
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(true)
	w.Node(n)
	want := "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {},\n  \"d\": \"<&>\u2028\\u0001\"\n}"
	if w.String() != want {
		t.Errorf("got\n%s\nwant\n%s", w.String(), want)
	}
}

func TestFormatFloat(t *testing.T) {
	// Expected values are what Rust's ryu (and so serde_json) prints.
	cases := map[float64]string{
		0:                     "0.0",
		math.Copysign(0, -1):  "-0.0",
		1:                     "1.0",
		-2.5:                  "-2.5",
		0.1:                   "0.1",
		100:                   "100.0",
		1e15:                  "1000000000000000.0",
		1e16:                  "1e16",
		1.5e16:                "1.5e16",
		123456789012345678:    "1.2345678901234568e17",
		0.001:                 "0.001",
		0.0001:                "0.0001",
		0.00001:               "0.00001",
		0.000001:              "1e-6",
		1.5e-7:                "1.5e-7",
		1e300:                 "1e300",
		5e-324:                "5e-324",
		math.MaxFloat64:       "1.7976931348623157e308",
		1234.5678:             "1234.5678",
		9007199254740993:      "9007199254740992.0",
		math.NaN():            "null",
		math.Inf(1):           "null",
		0.30000000000000004:   "0.30000000000000004",
		12345678901234567e-20: "0.00012345678901234567",
		1.25e-21:              "1.25e-21",
	}
	for f, want := range cases {
		if got := FormatFloat(f); got != want {
			t.Errorf("FormatFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestNumberText(t *testing.T) {
	for src, want := range map[string]string{
		"1": "1", "-3": "-3", "18446744073709551615": "18446744073709551615",
		"18446744073709551616": "1.8446744073709552e19", "1.0": "1.0", "1e2": "100.0", "-0": "-0.0",
	} {
		n, err := ParseJSON([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if got := NumberText(n); got != want {
			t.Errorf("NumberText(%s) = %q, want %q", src, got, want)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := ParseJSON([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("want a nesting error, got %v", err)
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := ParseJSON([]byte(ok)); err != nil {
		t.Errorf("depth %d rejected: %v", MaxDepth, err)
	}
}
