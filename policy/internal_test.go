package policy

import (
	"context"
	"fmt"
	"testing"

	"github.com/capguard/capguard/acl"
)

// TestResultCacheBound: a command whose entries combine in more ways than
// the per-command cache holds still gets the reference decision, and the
// cache stays bounded.
func TestResultCacheBound(t *testing.T) {
	ms := acl.Manifests{"p": &acl.Manifest{
		Permissions: map[string]*acl.Permission{"allow-c": {Identifier: "allow-c", Commands: acl.Commands{Allow: []string{"c"}}}},
		Sets:        map[string]*acl.PermissionSet{},
	}}
	caps := acl.CapabilitySet{}
	const entries = 12
	for i := range entries {
		err := caps.Add(&acl.Capability{
			Identifier:  fmt.Sprintf("cap-%02d", i),
			Local:       true,
			Windows:     []string{fmt.Sprintf("w%d", i)},
			Webviews:    []string{fmt.Sprintf("v%d", i)},
			Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("p:allow-c")}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := acl.Resolve(ms, caps, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	c := n.commands["plugin:p|c"]
	if c == nil || c.general || len(c.allow) != entries {
		t.Fatalf("compiled command: %+v", c)
	}
	for i := range entries {
		for j := range entries {
			req := Request{Command: "plugin:p|c", Window: fmt.Sprintf("w%d", i), Webview: fmt.Sprintf("v%d", j)}
			got, _ := n.Decide(context.Background(), req)
			ad := r.Decide(acl.Request{Command: req.Command, Window: req.Window, Webview: req.Webview})
			want := FromEntries(r, req, ad.Matches, ad.DeniedBy)
			if !got.Allowed || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%+v: got %+v, want %+v", req, got, want)
			}
			if len(got.References) != len(ad.Matches) || (i != j && len(got.References) != 2) {
				t.Fatalf("%+v: %d references, want %d", req, len(got.References), len(ad.Matches))
			}
		}
	}
	if got := len(*c.allowed.list.Load()); got != maxCachedResults {
		t.Errorf("%d cached decisions, want the bound %d", got, maxCachedResults)
	}
}

var fastPathPatterns = []string{
	"*", "**", "main-*", "ext_*", "*-main", "*.json", "a*b", "*a*", "?*", "[a]*", "ü*", "\xff*", "*\xff", "\ufffd*",
	"a/*", "*/a", "", "main", "*?", "[!a]*", "x**", "**/x",
}

var fastPathLabels = []string{
	"", "main", "main-", "main-1", "ext_", "ext_\xff", "ext", "x-main", "-main", "a.json", "ü", "üx", "\xff", "\xffx",
	"x\xff", "\ufffd", "\ufffdx", "a/", "a/b", "b/a", "/a", "*", "main-*",
}

func checkFastPath(t *testing.T, pattern, label string) {
	t.Helper()
	g, err := acl.CompileGlob(pattern)
	if err != nil || g.IsLiteral() {
		return
	}
	kind, lit := classifyGlob(pattern)
	gm := globMask{glob: g, kind: kind, lit: lit}
	if got, want := gm.match(label), g.Match(label); got != want {
		t.Errorf("pattern %q (kind %d, literal %q) on %q: %v, acl.Glob %v", pattern, kind, lit, label, got, want)
	}
}

// TestGlobFastPath: the shortcuts for "*", "prefix*" and "*suffix" give
// acl.Glob's answers.
func TestGlobFastPath(t *testing.T) {
	fast := 0
	for _, p := range fastPathPatterns {
		if k, _ := classifyGlob(p); k != globGeneral {
			fast++
		}
		for _, l := range fastPathLabels {
			checkFastPath(t, p, l)
		}
	}
	if fast < 6 {
		t.Errorf("only %d patterns took a fast path", fast)
	}
}

func FuzzGlobFastPath(f *testing.F) {
	for i, p := range fastPathPatterns {
		f.Add(p, fastPathLabels[i%len(fastPathLabels)])
	}
	f.Fuzz(func(t *testing.T, pattern, label string) {
		if len(pattern) > 64 || len(label) > 64 {
			return
		}
		checkFastPath(t, pattern, label)
	})
}
