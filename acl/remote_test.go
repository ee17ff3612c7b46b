package acl

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestParseOriginRejectsWhatTheStandardRejects: the hosts of issue 24 and
// their relatives, which the URL standard (and the url crate Tauri reads
// page URLs with) rejects and golang.org/x/net/idna lets through. The
// differential test against the url crate itself is
// conformance/TestPageOriginsMatchTauri.
func TestParseOriginRejectsWhatTheStandardRejects(t *testing.T) {
	for _, u := range []string{
		"https://xn--bchér-kva.example/index.html", // the issue's: a punycode label with a non-ASCII letter
		"https://XN--BCHÉR-KVA.example/",
		"https://ｘｎ--bchér-kva.example/", // full-width letters map to "xn--"
		"https://xn--.example/",          // punycode of nothing
		"https://xn--abc-.example/",      // punycode of ASCII only
		"https://xn--a.example/",         // not valid punycode
		"https://a.xn--zz/",
		"https://xn--bch%C3%A9r-kva.example/", // the same, percent-encoded
		"https://xn--bcher-kva%E3%80%82xn--.example/",
	} {
		if o, err := ParseOrigin(u); err == nil {
			t.Errorf("%q read as %q", u, o.URL())
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v does not wrap ErrInvalid", u, err)
		}
	}
	for u, want := range map[string]string{
		"https://xn--bcher-kva.example/": "https://xn--bcher-kva.example/",
		"https://Bücher.example":         "https://xn--bcher-kva.example/",
		"https://xn--ls8h.la/":           "https://xn--ls8h.la/",
		"https://[::1]:8080/x":           "https://[::1]:8080/x",
		"foo://xn--bchér-kva/":           "foo://xn--bch%C3%A9r-kva/", // an opaque host: no IDNA, as in the standard
		"https://a%2Eb/":                 "https://a.b/",
	} {
		o, err := ParseOrigin(u)
		if err != nil || o.URL() != want {
			t.Errorf("%q: %q, %v; want %q", u, o.URL(), err, want)
		}
	}
	if a, b := MustOrigin("https://A.example"), MustOrigin("https://a.example/"); a != b || a.Key() != b.Key() || a.Key() == 0 {
		t.Errorf("one page URL written two ways: %+v and %+v differ", a, b)
	}
	if LocalOrigin.Key() != 0 {
		t.Error("the local origin has a key")
	}
}

// remotePatternPool are patterns of real apps, of the random tests and of
// URLPattern's syntax (which the fast matcher leaves to the URLPattern).
var remotePatternPool = []string{
	"https://*", "http://*", "https://*/*", "https://*.example.com/*", "https://a.example/*", "https://*.a.example/*",
	"http://localhost:*", "tauri://localhost", "https://a.example/admin/*", "https://tauri.app", "http://127.0.0.1:*/*",
	"https://xn--bcher-kva.example/*", "https://{a,b}.dev/:id", "https://Example.COM/A/b*c", "foo://*", "https://a.dev/*/x*y",
	"https://a.dev/(.*)?q=1#h", "https://a.dev/:p+/:q*", "https://a.dev/\\(x\\)", "https://a.dev/index.html?x=*#*",
	"http://localhost:1420", "https://*.dev:8443/api/*", "wss://*", "https://user:*@a.example/*", "https://[\\:\\:1]/*",
}

func pageURLs(rng *rand.Rand, n int) []string {
	schemes := []string{"https", "http", "wss", "tauri", "foo"}
	hosts := []string{"a.example", "b.a.example", "example.com", "x.example.com", "localhost", "127.0.0.1", "[::1]", "tauri.app",
		"a.dev", "b.dev", "xn--bcher-kva.example", "bücher.example", "A.Example.COM", "a.dev.", "", "0x7f.1", "%61.dev"}
	paths := []string{"", "/", "/x", "/admin/", "/admin/x", "/A/bzc", "/A/bc", "/x/xy", "/x/x/yy", "/(x)", "/index.html?x=1#h",
		"/?q=1#h", "?", "#", "/a?b#c", "/%7e", "/ü", "/a/../b", "/.//x", "//x"}
	out := make([]string, 0, n)
	for range n {
		u := schemes[rng.IntN(len(schemes))] + "://"
		switch rng.IntN(8) {
		case 0:
			u += "user:pw@"
		case 1:
			u += "user@"
		}
		u += hosts[rng.IntN(len(hosts))]
		switch rng.IntN(5) {
		case 0:
			u += ":1420"
		case 1:
			u += ":8443"
		case 2:
			u += ":443"
		}
		out = append(out, u+paths[rng.IntN(len(paths))])
	}
	return out
}

// TestRemoteFastMatchIsURLPattern: the component matcher (no parse of the
// URL, no regular expressions) gives the URLPattern's answer for every
// pattern and page URL: the pool above against generated URLs, and every
// string pattern and string input of the WPT URLPattern data.
func TestRemoteFastMatchIsURLPattern(t *testing.T) {
	type pair struct{ pattern, url string }
	var pairs []pair
	for _, u := range pageURLs(rand.New(rand.NewPCG(7, 24)), 3000) {
		for _, p := range remotePatternPool {
			pairs = append(pairs, pair{p, u})
		}
	}
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "shared", "conformance", "wpt-urlpattern", "urlpatterntestdata.json"))
	if err != nil {
		t.Fatalf("the WPT URLPattern data: %v", err)
	}
	var wpt []struct {
		Pattern []json.RawMessage `json:"pattern"`
		Inputs  []json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(data, &wpt); err != nil {
		t.Fatal(err)
	}
	for _, c := range wpt {
		var p, in string
		if len(c.Pattern) == 1 && len(c.Inputs) == 1 && json.Unmarshal(c.Pattern[0], &p) == nil && json.Unmarshal(c.Inputs[0], &in) == nil {
			pairs = append(pairs, pair{p, in})
		}
	}
	compiled := map[string]*RemotePattern{}
	var compared, fast, plain int
	for _, pr := range pairs {
		r, ok := compiled[pr.pattern]
		if !ok {
			r, _ = CompileRemote(pr.pattern)
			compiled[pr.pattern] = r
		}
		o, err := ParseOrigin(pr.url)
		if r == nil || err != nil || o.IsLocal() {
			continue
		}
		compared++
		if r.fast && o.plain {
			fast++
		}
		if o.plain {
			plain++
		}
		if got, want := r.Match(o), r.p.Test(o.href, ""); got != want {
			t.Errorf("%q on %q (href %q, parts %q): fast %v, URLPattern %v", pr.pattern, pr.url, o.href, splitHref(o.href), got, want)
		}
	}
	t.Logf("%d (pattern, page) pairs: %d decided by the component matcher, %d pages split as the parser does", compared, fast, plain)
	if compared < 50000 || fast < compared/2 || plain < compared*9/10 {
		t.Errorf("%d pairs, %d fast, %d plain: the fast path is not exercised", compared, fast, plain)
	}
}

// FuzzParseOrigin: no input panics; a parsed origin reads back as itself
// (its URL parses to an equal Origin, so the page-URL cache and the
// component matcher see one URL one way); the component matcher agrees
// with the URLPattern on the pool.
func FuzzParseOrigin(f *testing.F) {
	for _, u := range append(pageURLs(rand.New(rand.NewPCG(1, 1)), 40), "https://xn--bchér-kva.example/", "web+demo:/.//not-a-host/", "https://[::1]:8080/x?y#z") {
		f.Add(u)
	}
	patterns := make([]*RemotePattern, 0, len(remotePatternPool))
	for _, p := range remotePatternPool {
		if r, err := CompileRemote(p); err == nil {
			patterns = append(patterns, r)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrigin(s)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("not an input error: %v", err)
			}
			return
		}
		if o.IsLocal() {
			return
		}
		again, err := ParseOrigin(o.URL())
		if err != nil || again != o {
			t.Fatalf("%q reads as %+v; its URL reads as %+v (%v)", s, o, again, err)
		}
		for _, r := range patterns {
			if got, want := r.Match(o), r.p.Test(o.href, ""); got != want {
				t.Fatalf("%q on %q: fast %v, URLPattern %v", r.src, o.href, got, want)
			}
		}
	})
}
