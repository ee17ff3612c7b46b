package ghcmd

import "testing"

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, data, prop string }{
		{"a%b", "a%25b", "a%25b"},
		{"%0A", "%250A", "%250A"},
		{"line1\nline2\r", "line1%0Aline2%0D", "line1%0Aline2%0D"},
		{"C:\\x,y", "C:\\x,y", "C%3A\\x%2Cy"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	} {
		if got := Data(tc.in); got != tc.data {
			t.Errorf("Data(%q) = %q, want %q", tc.in, got, tc.data)
		}
		if got := Property(tc.in); got != tc.prop {
			t.Errorf("Property(%q) = %q, want %q", tc.in, got, tc.prop)
		}
	}
}
