package policy_test

import (
	"context"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
	"github.com/google/go-cmp/cmp"
)

// FuzzNativeDecide decides arbitrary requests on the unit ACL and compares
// with acl.Resolved.Decide.
func FuzzNativeDecide(f *testing.F) {
	for _, s := range [][4]string{
		{"plugin:fs|read", "main", "main", ""},
		{"plugin:fs|read", "x", "ext_1", "https://a.example/page"},
		{"plugin:fs|read", "x", "ext_1", "https://a.example/admin/x"},
		{"plugin:shell|open", "w", "w", "https://b.a.example/"},
		{"open_vault", "", "", "local"},
		{"", "\xff", "ext_\xff", "https://A.example/x"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	r := unitACL(f)
	n, err := policy.Compile(r)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, command, window, webview, origin string) {
		o, err := acl.ParseOrigin(origin)
		if err != nil {
			return
		}
		req := acl.Request{Command: command, Window: window, Webview: webview, Origin: o}
		want, ad := reference(r, req)
		got, err := n.Decide(context.Background(), toPolicy(req))
		if err != nil || got.Allowed != ad.Allowed || !cmp.Equal(want, got, equateEmpty) {
			t.Fatalf("%+v: %v\n%s", req, err, cmp.Diff(want, got, equateEmpty))
		}
	})
}
