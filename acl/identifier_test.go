package acl

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// The expected values in this file come from an oracle: Tauri's
// Identifier::try_from(String) (tauri-utils/src/acl/identifier.rs), run on
// each case, and the Display text of its ParseIdentifierError. They were
// not derived from the Go code.

// Tauri's ParseIdentifierError texts, as the oracle prints them.
const (
	idMsgPluginPrefix = "identifiers cannot start with tauri-plugin-"
	idMsgEmpty        = "identifiers cannot be empty"
	idMsgTooLong117   = "identifiers cannot be longer than 116, found 117"
	idMsgFormat       = "identifiers can only include lowercase ASCII, hyphens which are not leading or trailing, and a single colon if using a prefix"
	// Tauri formats the separator, a u8, with "{}": it prints '58'. This is
	// the one text capguard deliberately writes differently, with ':'.
	idMsgSeparators = "identifiers can only include a single separator ':'"
	idMsgHyphen     = "identifiers cannot have a trailing hyphen"
	idMsgNoBase     = "identifiers cannot have a prefix without a base"
)

func TestParseIdentifierOracle(t *testing.T) {
	cases := []struct {
		id        string
		hasPrefix bool
		prefix    string
		base      string
		err       string // Tauri's message; "" when the identifier is valid
	}{
		// valid, no prefix
		{"main", false, "", "main", ""},
		{"base", false, "", "base", ""},
		{"a", false, "", "a", ""},
		{"0", false, "", "0", ""},
		{"Z", false, "", "Z", ""},
		{"allow-read-file", false, "", "allow-read-file", ""},
		{"pre--fix", false, "", "pre--fix", ""},
		{"a1-b2-c3", false, "", "a1-b2-c3", ""},
		{"ABC", false, "", "ABC", ""},
		// valid, prefix:base
		{"fs:default", true, "fs", "default", ""},
		{"prefix:base", true, "prefix", "base", ""},
		{"prefix3:base", true, "prefix3", "base", ""},
		{"preFix:base", true, "preFix", "base", ""},
		{"pre--fix:base--sep", true, "pre--fix", "base--sep", ""},
		{"prefix:base--sep", true, "prefix", "base--sep", ""},
		{"a:b", true, "a", "b", ""},
		{"window-state:allow-save", true, "window-state", "allow-save", ""},
		{"shell:allow-open", true, "shell", "allow-open", ""},
		// core: exception (split at the last colon)
		{"core:default", true, "core", "default", ""},
		{"core:window:default", true, "core:window", "default", ""},
		{"core:window:allow-set-title", true, "core:window", "allow-set-title", ""},
		{"core::x", true, "core:", "x", ""},
		{"core:a:b:c", true, "core:a:b", "c", ""},
		{"core:path:", false, "", "", idMsgNoBase},
		{"core:-x", false, "", "", idMsgFormat},
		{"core-x:a:b", false, "", "", idMsgSeparators},
		{"Core:a:b", false, "", "", idMsgSeparators},
		{"cores:a:b", false, "", "", idMsgSeparators},
		{"core", false, "", "core", ""},
		{"core:", false, "", "", idMsgNoBase},
		{"core:window-:x", false, "", "", idMsgFormat},
		// starts with tauri-plugin-
		{"tauri-plugin-fs", false, "", "", idMsgPluginPrefix},
		{"tauri-plugin-", false, "", "", idMsgPluginPrefix},
		{"tauri-plugin-prefix:base", false, "", "", idMsgPluginPrefix},
		{"tauri-plugin-" + strings.Repeat("a", 120), false, "", "", idMsgPluginPrefix},
		{"tauri-plugin", false, "", "tauri-plugin", ""},
		{"tauri-plugins:x", true, "tauri-plugins", "x", ""},
		{"my-tauri-plugin-fs", false, "", "my-tauri-plugin-fs", ""},
		// empty
		{"", false, "", "", idMsgEmpty},
		// length limit (116 bytes)
		{strings.Repeat("a", 116), false, "", strings.Repeat("a", 116), ""},
		{strings.Repeat("a", 117), false, "", "", idMsgTooLong117},
		{strings.Repeat("p", 51) + ":" + strings.Repeat("b", 64), true, strings.Repeat("p", 51), strings.Repeat("b", 64), ""},
		{strings.Repeat("p", 51) + ":" + strings.Repeat("b", 65), false, "", "", idMsgTooLong117},
		{"core:" + strings.Repeat("a", 111), true, "core", strings.Repeat("a", 111), ""},
		{"core:" + strings.Repeat("a", 112), false, "", "", idMsgTooLong117},
		{"-" + strings.Repeat("a", 116), false, "", "", idMsgTooLong117},
		{strings.Repeat("é", 58), false, "", "", idMsgFormat},
		{"a" + strings.Repeat("é", 58), false, "", "", idMsgTooLong117},
		// invalid format
		{"-prefix-:-base-", false, "", "", idMsgFormat},
		{"-prefix:base", false, "", "", idMsgFormat},
		{"-a", false, "", "", idMsgFormat},
		{"prefix-:base", false, "", "", idMsgFormat},
		{"prefix:-base", false, "", "", idMsgFormat},
		{":base", false, "", "", idMsgFormat},
		{":prefix:base:", false, "", "", idMsgFormat},
		{"a b", false, "", "", idMsgFormat},
		{"a_b", false, "", "", idMsgFormat},
		{"_a", false, "", "", idMsgFormat},
		{"a_", false, "", "", idMsgFormat},
		{"fs:allow_read", false, "", "", idMsgFormat},
		{"héllo", false, "", "", idMsgFormat},
		{"💩", false, "", "", idMsgFormat},
		{"a💩", false, "", "", idMsgFormat},
		{"a.b", false, "", "", idMsgFormat},
		{"a/b", false, "", "", idMsgFormat},
		{"a*", false, "", "", idMsgFormat},
		{"a--:b", false, "", "", idMsgFormat},
		{"a:b:-c", false, "", "", idMsgSeparators},
		{"x:", false, "", "", idMsgNoBase},
		// multiple separators
		{"prefix::base", false, "", "", idMsgSeparators},
		{"a:b:c", false, "", "", idMsgSeparators},
		{"a:b:", false, "", "", idMsgSeparators},
		{"fs:read:write", false, "", "", idMsgSeparators},
		{"a:b:-", false, "", "", idMsgSeparators},
		// trailing hyphen
		{"prefix:base-", false, "", "", idMsgHyphen},
		{"a-", false, "", "", idMsgHyphen},
		{"fs:allow-", false, "", "", idMsgHyphen},
		{"a--", false, "", "", idMsgHyphen},
		{"core:window:allow-", false, "", "", idMsgHyphen},
		// prefix without base
		{"prefix:", false, "", "", idMsgNoBase},
		{"base:", false, "", "", idMsgNoBase},
		{"fs:", false, "", "", idMsgNoBase},
		{"a-b:", false, "", "", idMsgNoBase},
	}
	for _, c := range cases {
		id, err := ParseIdentifier(c.id)
		if c.err != "" {
			if err == nil {
				t.Errorf("ParseIdentifier(%q) = %v, want error %q", c.id, id, c.err)
				continue
			}
			msg := err.Error()
			if !strings.HasSuffix(msg, ": "+c.err) {
				t.Errorf("ParseIdentifier(%q): error %q does not end with Tauri's %q", c.id, msg, c.err)
			}
			if !strings.Contains(msg, strconv.Quote(c.id)) {
				t.Errorf("ParseIdentifier(%q): error %q does not name the identifier", c.id, msg)
			}
			if !errors.Is(err, ErrInvalidIdentifier) {
				t.Errorf("ParseIdentifier(%q): error does not wrap ErrInvalidIdentifier", c.id)
			}
			if !id.IsZero() {
				t.Errorf("ParseIdentifier(%q): non-zero identifier %q with an error", c.id, id)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseIdentifier(%q): unexpected error %v", c.id, err)
			continue
		}
		if id.String() != c.id {
			t.Errorf("ParseIdentifier(%q).String() = %q", c.id, id.String())
		}
		if p, ok := id.Prefix(); ok != c.hasPrefix || p != c.prefix {
			t.Errorf("ParseIdentifier(%q).Prefix() = %q, %v, want %q, %v", c.id, p, ok, c.prefix, c.hasPrefix)
		}
		if b := id.Base(); b != c.base {
			t.Errorf("ParseIdentifier(%q).Base() = %q, want %q", c.id, b, c.base)
		}
	}
}

func TestMaxIdentifierLen(t *testing.T) {
	// MAX_LEN_IDENTIFIER in tauri-utils: (64 - len("tauri-plugin-")) + 1 + 64.
	if MaxIdentifierLen != 116 {
		t.Errorf("MaxIdentifierLen = %d, want 116", MaxIdentifierLen)
	}
}

var idDiffTokens = []string{
	"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s",
	"t", "u", "v", "w", "x", "y", "z", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "-", "-",
	"-", ":", ":", ":", "_", "A", " ", "é", "💩",
}

// genIdentifierInput is the oracle's generator: an optional "core:",
// "tauri-plugin-" (or near miss) prefix, then either up to 11 random
// tokens or, rarely, 108 to 119 alphanumerics and colons to probe the
// length limit.
func genIdentifierInput(r *oracleRand) string {
	var b strings.Builder
	switch p := r.intn(100); {
	case p < 10:
		b.WriteString("core:")
	case p < 15:
		b.WriteString("tauri-plugin-")
	case p < 18:
		b.WriteString("tauri-plugin")
	case p < 20:
		b.WriteString("core")
	}
	if r.intn(100) < 4 {
		n := 108 + r.intn(12)
		for range n {
			if k := r.intn(37); k == 36 {
				b.WriteString(":")
			} else {
				b.WriteString(idDiffTokens[k])
			}
		}
	} else {
		n := r.intn(12)
		for range n {
			b.WriteString(idDiffTokens[r.intn(len(idDiffTokens))])
		}
	}
	return b.String()
}

// identifierClass is the oracle's one-letter summary of a parse: 'a' (valid,
// no prefix), 'p' (valid with a prefix) or the error variant: S tauri-plugin-
// prefix, E empty, H too long, F invalid format, M multiple separators,
// T trailing hyphen, B prefix without base.
func identifierClass(s string) (byte, error) {
	id, err := ParseIdentifier(s)
	if err != nil {
		msg := err.Error()
		for _, k := range []struct {
			class byte
			msg   string
		}{
			{'S', idMsgPluginPrefix},
			{'E', idMsgEmpty},
			{'H', "identifiers cannot be longer than 116, found " + strconv.Itoa(len(s))},
			{'F', idMsgFormat},
			{'M', idMsgSeparators},
			{'T', idMsgHyphen},
			{'B', idMsgNoBase},
		} {
			if strings.HasSuffix(msg, ": "+k.msg) {
				return k.class, nil
			}
		}
		return '?', errors.New("unknown error text " + strconv.Quote(msg))
	}
	// The oracle checked that Tauri's separator is the last colon.
	i := strings.LastIndexByte(s, ':')
	p, ok := id.Prefix()
	if !ok {
		if i >= 0 || id.Base() != s {
			return '?', errors.New("no prefix, base " + strconv.Quote(id.Base()))
		}
		return 'a', nil
	}
	if i < 0 || p != s[:i] || id.Base() != s[i+1:] {
		return '?', errors.New("prefix " + strconv.Quote(p) + ", base " + strconv.Quote(id.Base()))
	}
	return 'p', nil
}

// TestParseIdentifierDifferential compares ParseIdentifier with Tauri's
// parser on random short strings (testdata/identifier_oracle.txt).
func TestParseIdentifierDifferential(t *testing.T) {
	seed, count, hash, classes := readOracleData(t, "testdata/identifier_oracle.txt")
	if len(classes) != count {
		t.Fatalf("testdata has %d classes for %d cases", len(classes), count)
	}
	r := oracleRand(seed)
	h := newOracleHash()
	inputs := make([]string, count)
	for i := range inputs {
		inputs[i] = genIdentifierInput(&r)
		h.add(inputs[i])
	}
	if uint64(h) != hash {
		t.Fatalf("generated inputs differ from the oracle's: fnv %016x, want %016x", uint64(h), hash)
	}
	for i, s := range inputs {
		got, err := identifierClass(s)
		if err != nil {
			t.Errorf("case %d: ParseIdentifier(%q): %v", i, s, err)
		} else if got != classes[i] {
			t.Errorf("case %d: ParseIdentifier(%q): class %c, Tauri says %c", i, s, got, classes[i])
		}
	}
}
