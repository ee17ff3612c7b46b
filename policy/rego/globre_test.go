package rego

import (
	"regexp"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/policytest"
)

// globPatterns are patterns around every rule of glob's syntax.
var globPatterns = append([]string{
	"", "a", "*", "**", "***", "?", "a*", "*a", "a/**", "**/a", "a/**/b", "**/**", "**/**/**", "a**", "**a",
	"a/**b", "[", "[]", "[]]", "[!]", "[!]]", "[!a]", "[a-c]", "[c-a]", "[!c-a]", "[a-]", "[-a]", "[!-]",
	"[a", "[!a", "[ab]]", "x[!a-c]y", "[*]", "[?]", "[/]", "[!/]", ".*", "a.b", "(a)", "a|b", `\d`, "$", "^",
	"ü*", "[ü-ü]", "\xff", "*\xff", "?\xff?", "[\xff]", "a/**/", "/**", "**/", "*/*", "*?*", "a*b*c", "**/*",
}, policytest.GlobPool...)

var globLabels = append([]string{
	"", "a", "aa", "ab", "b", "c", "a/b", "a/x/b", "a/x/y/b", "a/", "/a", "/", "//", "a//b", "x", "xay", "xdy",
	"ü", "üü", "\xff", "\xff\xff", "\xffx\xff", "\ufffd", "*", "?", "[", "]", "-", "a.b", "axb", "a\nb", "\n",
	"(a)", "a|b", "1", "$", "^", "abc", "axbxc", "a/b/c", "main", "main-1", "x/main", "a/**/b",
}, policytest.LabelEdgeCases...)

func checkGlob(t *testing.T, pattern, label string) {
	t.Helper()
	g, gerr := acl.CompileGlob(pattern)
	re, rerr := globRegexp(pattern)
	if (gerr == nil) != (rerr == nil) {
		t.Fatalf("pattern %q: acl error %v, regexp translation error %v", pattern, gerr, rerr)
	}
	if gerr != nil {
		return
	}
	rx, err := regexp.Compile(re)
	if err != nil {
		t.Fatalf("pattern %q: translation %q does not compile: %v", pattern, re, err)
	}
	want := g.Match(label)
	if g.IsLiteral() {
		// The Rego data keeps literal patterns as exact labels: the
		// translation is only used for patterns with wildcards.
		return
	}
	if got := rx.MatchString(label); got != want {
		t.Errorf("pattern %q (regexp %q) on label %q: regexp %v, acl.Glob %v", pattern, re, label, got, want)
	}
}

func TestGlobRegexp(t *testing.T) {
	for _, p := range globPatterns {
		for _, l := range globLabels {
			checkGlob(t, p, l)
		}
	}
}

func FuzzGlobRegexp(f *testing.F) {
	for i, p := range globPatterns {
		f.Add(p, globLabels[i%len(globLabels)])
	}
	f.Fuzz(func(t *testing.T, pattern, label string) {
		if len(pattern) > 64 || len(label) > 64 {
			return
		}
		checkGlob(t, pattern, label)
	})
}
