package textdist

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"allow-read-fil", "allow-read-file", 1}, {"macos", "macOS", 2}, {"abc", "abc", 0}, {"ab", "ba", 2},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", c.b, c.a, got, c.want)
		}
	}
}

func TestBoundedAndClosest(t *testing.T) {
	for _, c := range []struct {
		a, b        string
		limit, want int
	}{{"kitten", "sitting", 3, 3}, {"kitten", "sitting", 2, 3}, {"a", "abcdef", 2, 3}, {"abc", "abd", 1, 1}} {
		if got := Bounded(c.a, c.b, c.limit); got != c.want {
			t.Errorf("Bounded(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
	got := Closest("allow-red", []string{"allow-read", "allow-write", "deny-read", "allow-reads", "x"}, 2, 2)
	if len(got) != 2 || got[0] != "allow-read" || got[1] != "allow-reads" {
		t.Errorf("Closest = %v", got)
	}
}
