package acldiff

import (
	"strings"
	"testing"
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
