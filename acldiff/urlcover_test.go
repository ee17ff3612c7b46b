package acldiff

import (
	"testing"

	"github.com/capguard/capguard/acl"
)

func TestURLCoverage(t *testing.T) {
	for _, tc := range []struct {
		p         string
		qs        []string
		covered   bool
		undecided bool
	}{
		{"http://*", []string{"http://*:*"}, true, false},
		{"http://*:*", []string{"http://*"}, false, false},
		{"https://app.example.com", []string{"https://*.example.com"}, true, false},
		{"https://*.example.com", []string{"https://app.example.com"}, false, false},
		{"https://*archive.org", []string{"https://*.archive.org", "https://archive.org"}, false, false},
		{"https://*.archive.org", []string{"https://*archive.org"}, true, false},
		{"https://x.com/api/:id", []string{"https://x.com/api/*"}, true, false},
		{"https://x.com/api/*", []string{"https://x.com/api/:id"}, false, false},
		{"http://localhost:*/**", []string{"http://localhost:*"}, true, false},
		{"http://127.0.0.1:*", []string{"http://**"}, false, false},
		{"https://x.com/*", []string{"https://x.com/a*", "https://x.com/[!a]*"}, false, false},
		{"https://x.com/(a|b)", []string{"https://x.com/*"}, false, true},
		{"https://x.com/(a|b)", []string{"https://x.com/(a|b)"}, true, false},
	} {
		p, err := compileURL(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		var qs []*urlPattern
		var rqs []*acl.RemotePattern
		for _, q := range tc.qs {
			u, err := compileURL(q)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := acl.CompileRemote(q)
			qs, rqs = append(qs, u), append(rqs, r)
		}
		got := urlCoverage(p, qs)
		if got.covered != tc.covered || (got.undecided != "") != tc.undecided {
			t.Errorf("%s within %v: %+v", tc.p, tc.qs, got)
			continue
		}
		if got.witness != "" {
			o, err := acl.ParseOrigin(got.witness)
			if err != nil {
				t.Errorf("%s: witness %q: %v", tc.p, got.witness, err)
				continue
			}
			if rp, _ := acl.CompileRemote(tc.p); !rp.Match(o) {
				t.Errorf("witness %q does not match %s", got.witness, tc.p)
			}
			for _, q := range rqs {
				if q.Match(o) {
					t.Errorf("witness %q of %s matches %s", got.witness, tc.p, q)
				}
			}
		}
	}
}
