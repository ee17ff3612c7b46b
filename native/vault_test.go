package native_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/capguard/capguard/native"
)

func TestCheckRecord(t *testing.T) {
	for _, tc := range []struct {
		name, domain, record string
		ok                   bool
	}{
		{"plain", "com.example.vault", "token", true},
		{"every allowed domain byte", "A-z_0.9", "x", true},
		{"longest domain", strings.Repeat("d", native.MaxDomainLen), "x", true},
		{"longest name", "d", strings.Repeat("n", native.MaxNameLen), true},
		{"unicode name", "d", "clé d'accès", true},
		{"empty domain", "", "x", false},
		{"empty name", "d", "", false},
		{"domain too long", strings.Repeat("d", native.MaxDomainLen+1), "x", false},
		{"name too long", "d", strings.Repeat("n", native.MaxNameLen+1), false},
		{"slash in domain", "com/example", "x", false},
		{"space in domain", "com example", "x", false},
		{"non-ASCII domain", "exämple", "x", false},
		{"NUL in name", "d", "a\x00b", false},
		{"newline in name", "d", "a\nb", false},
		{"C1 control in name", "d", "a\u0085b", false},
		{"invalid UTF-8 name", "d", "a\xffb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := native.CheckRecord(tc.domain, tc.record)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckRecord(%q, %q) = %v, want ok=%v", tc.domain, tc.record, err, tc.ok)
			}
			if err != nil && !errors.Is(err, native.InvalidInput) {
				t.Errorf("error %v does not carry code invalidInput", err)
			}
		})
	}
}

func TestCheckData(t *testing.T) {
	if err := native.CheckData(make([]byte, native.MaxDataLen)); err != nil {
		t.Errorf("the largest record is refused: %v", err)
	}
	if err := native.CheckData(make([]byte, native.MaxDataLen+1)); !errors.Is(err, native.InvalidInput) {
		t.Errorf("an oversized record: %v, want invalidInput", err)
	}
}

// Two different records never share their AAD: the length prefixes keep a
// domain's end from passing for a name's start.
func TestRecordAADIsInjective(t *testing.T) {
	pairs := [][2]string{{"ab", "c"}, {"a", "bc"}, {"a.b", "c"}, {"a", "b.c"}, {"a", ""}, {"", "a"}}
	seen := map[string][2]string{}
	for _, p := range pairs {
		for _, v := range []byte{1, 2} {
			aad := string(native.RecordAAD(v, p[0], p[1]))
			if prev, dup := seen[aad]; dup {
				t.Fatalf("records %q and %q (version %d) share an AAD", prev, p, v)
			}
			seen[aad] = p
		}
	}
	if !bytes.HasPrefix(native.RecordAAD(1, "d", "n"), []byte("capguard-vault\x00\x01")) {
		t.Errorf("the AAD does not start with the format tag and version: %q", native.RecordAAD(1, "d", "n"))
	}
}

func TestStorageCodes(t *testing.T) {
	for _, c := range native.StorageCodes() {
		if c.Valid() {
			t.Errorf("%q is a status code (Valid)", c)
		}
		if !c.Known() {
			t.Errorf("%q is not Known", c)
		}
	}
	for _, c := range native.Codes() {
		if !c.Known() {
			t.Errorf("%q is not Known", c)
		}
	}
	if native.Code("noSuchCode").Known() {
		t.Error("an unknown code is Known")
	}
	for _, b := range []native.Binding{native.BoundByKey, native.BoundByEvent} {
		if !b.Valid() {
			t.Errorf("binding %q is not Valid", b)
		}
	}
	if native.Binding("").Valid() {
		t.Error("the zero Binding is Valid")
	}
}
