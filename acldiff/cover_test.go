package acldiff

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
)

// randomGlob draws a glob over a small alphabet, so that patterns and
// labels meet often.
func randomGlob(r *rand.Rand) string {
	parts := []string{"a", "b", "-", "/", ".", "?", "*", "[ab]", "[!a]", "[a-c]", "main", "**"}
	var b strings.Builder
	for n := r.Intn(5); n >= 0; n-- {
		b.WriteString(parts[r.Intn(len(parts))])
	}
	return b.String()
}

func randomLabel(r *rand.Rand) string {
	const chars = "ab-/.cmainx"
	b := make([]byte, r.Intn(7))
	for i := range b {
		b[i] = chars[r.Intn(len(chars))]
	}
	return string(b)
}

// TestGlobTranslation: the translated glob matches exactly what acl's
// glob (Rust glob::Pattern's semantics, checked against Tauri) matches.
func TestGlobTranslation(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	checked := 0
	for i := 0; i < 3000; i++ {
		src := randomGlob(r)
		g, err := acl.CompileGlob(src)
		if err != nil {
			continue
		}
		p := globPattern(src, matchOpts{})
		for j := 0; j < 30; j++ {
			s := randomLabel(r)
			if got, want := p.match(s), g.Match(s); got != want {
				t.Fatalf("glob %q on %q: translated %v, acl %v", src, s, got, want)
			}
			checked++
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d checks", checked)
	}
}

// TestGlobInclusion checks inclusion answers against matching: a witness
// matches p and none of the others; "covered" survives random labels.
func TestGlobInclusion(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	var covered, notCovered int
	for i := 0; i < 2000; i++ {
		var ps []*pattern
		var gs []*acl.Glob
		for len(ps) < 1+r.Intn(3) {
			src := randomGlob(r)
			g, err := acl.CompileGlob(src)
			if err != nil {
				continue
			}
			ps, gs = append(ps, globPattern(src, matchOpts{})), append(gs, g)
		}
		res := includes(ps[0], ps[1:])
		switch {
		case res.undecided != "":
			t.Fatalf("%s: undecided: %s", ps[0].src, res.undecided)
		case res.covered:
			covered++
			for j := 0; j < 200; j++ {
				s := randomLabel(r)
				if !gs[0].Match(s) {
					continue
				}
				ok := false
				for _, g := range gs[1:] {
					ok = ok || g.Match(s)
				}
				if !ok {
					t.Fatalf("%q said covered by %v, but %q matches it and none of them", ps[0].src, srcs(ps[1:]), s)
				}
			}
		default:
			notCovered++
			if !gs[0].Match(res.witness) {
				t.Fatalf("witness %q does not match %q", res.witness, ps[0].src)
			}
			for _, g := range gs[1:] {
				if g.Match(res.witness) {
					t.Fatalf("witness %q of %q matches %q", res.witness, ps[0].src, g)
				}
			}
		}
	}
	if covered < 100 || notCovered < 100 {
		t.Fatalf("too few cases of each answer: %d covered, %d not", covered, notCovered)
	}
}

func srcs(ps []*pattern) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.src
	}
	return out
}

func TestGlobInclusionCases(t *testing.T) {
	for _, tc := range []struct {
		p       string
		qs      []string
		covered bool
	}{
		{"main-?", []string{"main-*"}, true},
		{"main-*", []string{"main-?"}, false},
		{"main", []string{"*"}, true},
		{"*", []string{"main", "main-*"}, false},
		{"main-[ab]", []string{"main-a", "main-b"}, true},
		{"main-[a-c]", []string{"main-a", "main-b"}, false},
		{"a*", []string{"a", "a?*"}, true},
		{"x/**/y", []string{"x/*"}, true}, // no literal separator: "*" crosses '/'
	} {
		var qs []*pattern
		for _, q := range tc.qs {
			qs = append(qs, globPattern(q, matchOpts{}))
		}
		if got := includes(globPattern(tc.p, matchOpts{}), qs); got.covered != tc.covered || got.undecided != "" {
			t.Errorf("%q within %v: %+v, want covered=%v", tc.p, tc.qs, got, tc.covered)
		}
	}
}

// TestPathGlobOptions: fs scope globs match with a literal separator and
// a literal leading dot (Tauri's fs scope on Unix).
func TestPathGlobOptions(t *testing.T) {
	fs := matchOpts{literalSep: true, literalDot: true}
	for _, tc := range []struct {
		glob, path string
		want       bool
	}{
		{"/home/*", "/home/u", true},
		{"/home/*", "/home/u/x", false},
		{"/home/**", "/home/u/x", true},
		{"/home/**", "/home/.ssh/id", false},
		{"/home/*", "/home/.ssh", false},
		{"/home/.*", "/home/.ssh", true},
		{"/home/?", "/home/.", false},
		{"/home/[.]x", "/home/.x", false},
		{"/a/**/b", "/a/b", true},
		{"/a/**/b", "/a/x/y/b", true},
		{"/a/**/b", "/a/xb", false},
	} {
		if got := globPattern(tc.glob, fs).match(tc.path); got != tc.want {
			t.Errorf("%q on %q: %v, want %v", tc.glob, tc.path, got, tc.want)
		}
	}
	if c := includes(globPattern("/d/*", fs), []*pattern{globPattern("/d/**", fs)}); !c.covered {
		t.Errorf("/d/* not within /d/**: %+v", c)
	}
	if c := includes(globPattern("/d/**", fs), []*pattern{globPattern("/d/*", fs)}); c.covered || c.witness == "" {
		t.Errorf("/d/** within /d/*: %+v", c)
	}
}

// TestPathCoverageByTarget: Tauri's fs scope lets wildcards match a
// leading dot on Windows only, so "/d/*" covers "/d/.env" there and not
// on Unix.
func TestPathCoverageByTarget(t *testing.T) {
	others := valueSet{}
	others.add([]acl.Value{acl.Map(acl.MapEntry{Key: "path", Value: acl.String("/d/*")})})
	v := acl.Map(acl.MapEntry{Key: "path", Value: acl.String("/d/.env")})
	for _, tc := range []struct {
		target  acl.Target
		covered bool
	}{{acl.Linux, false}, {acl.MacOS, false}, {acl.Windows, true}} {
		pc := newPatternCache()
		pc.target = tc.target
		if c := valueCovered("fs", v, others, pc); c.covered != tc.covered || c.undecided != "" {
			t.Errorf("%s: %+v, want covered=%v", tc.target, c, tc.covered)
		}
	}
}
