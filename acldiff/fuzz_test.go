package acldiff

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/capguard/capguard/acl"
)

// FuzzParseSpec: any side spec is either refused with ErrSpec or split
// into a revision git cannot read as an option and a clean relative path.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"HEAD", "main:src-tauri", "v1.2.0:apps/x/src-tauri/", "-x", "HEAD:../a", "HEAD:/abs", ":x", "a:b:c", "HEAD:."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		rev, p, hasPath, err := parseSpec(spec)
		if err != nil {
			return
		}
		if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, " \t\r\n\x00:") {
			t.Fatalf("%q: revision %q accepted", spec, rev)
		}
		if !hasPath && p != "" {
			t.Fatalf("%q: path %q without ':'", spec, p)
		}
		if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") || p == "." {
			t.Fatalf("%q: path %q accepted", spec, p)
		}
	})
}

// FuzzParseTree: ls-tree output that is not well formed gives an error,
// never a panic, and every entry returned has a path and an object name.
func FuzzParseTree(f *testing.F) {
	f.Add([]byte("100644 blob 0123abcd 12\tcapabilities/a.json\x00"))
	f.Add([]byte("160000 commit 89abcdef -\tsub\x00100644 blob 0123abcd 0\tx\x00"))
	f.Add([]byte("\t\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseTree(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Path == "" || !isHex(e.Object) || e.Size < -1 {
				t.Fatalf("bad entry %+v from %q", e, data)
			}
		}
	})
}

// FuzzCoverage: a glob acl accepts translates to a pattern that matches
// exactly what acl's glob matches; an inclusion answer is backed by its
// witness; a URL pattern is translated or refused, never a panic, and a
// witness URL matches it and not the other.
func FuzzCoverage(f *testing.F) {
	f.Add("main-*", "main-?", "main-a", "https://*.example.com", "https://app.example.com")
	f.Add("[!a]**/x", "*", ".x", "http://*:*", "http://*")
	f.Add("a[b-d]?", "a*", "ab", "https://x.com/:id", "https://x.com/(a|b)")
	f.Fuzz(func(t *testing.T, glob, other, label, url, otherURL string) {
		// Capability files are JSON, JSON5 or TOML: their strings are UTF-8.
		for _, s := range []string{glob, other, label, url, otherURL} {
			if !utf8.ValidString(s) {
				return
			}
		}
		g, err := acl.CompileGlob(glob)
		if err != nil {
			return
		}
		p := globPattern(glob, matchOpts{})
		if len(label) < 64 && p.match(label) != g.Match(label) {
			t.Fatalf("glob %q on %q: translated %v, acl %v", glob, label, p.match(label), g.Match(label))
		}
		if o, err := acl.CompileGlob(other); err == nil && len(glob)+len(other) < 40 {
			c := includes(p, []*pattern{globPattern(other, matchOpts{})})
			if c.witness != "" && (!g.Match(c.witness) || o.Match(c.witness)) {
				t.Fatalf("%q within %q: witness %q", glob, other, c.witness)
			}
			if c.covered && g.Match(label) && !o.Match(label) {
				t.Fatalf("%q said within %q, but %q matches only the first", glob, other, label)
			}
		}
		u, err := compileURL(url)
		if err != nil || len(url)+len(otherURL) > 80 {
			return
		}
		q, err := compileURL(otherURL)
		if err != nil {
			return
		}
		c := urlCoverage(u, []*urlPattern{q})
		if c.witness == "" {
			return
		}
		o, err := acl.ParseOrigin(c.witness)
		if err != nil {
			return // a witness made of characters a URL cannot hold
		}
		rp, _ := acl.CompileRemote(url)
		rq, _ := acl.CompileRemote(otherURL)
		if !rp.Match(o) && o.URL() != c.witness {
			// The witness is not a URL as a parser writes it ("a: " is
			// read as "a:"): the pattern matches only strings no page URL
			// has, and "not covered" is the cautious answer (a widening
			// reported, never one hidden).
			return
		}
		if !rp.Match(o) || rq.Match(o) {
			t.Fatalf("%q within %q: witness %q matches %v and %v", url, otherURL, c.witness, rp.Match(o), rq.Match(o))
		}
	})
}
