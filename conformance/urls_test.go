package conformance

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/idna"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/policytest"
)

// hostParts are the pieces random hosts are made of: ASCII labels, IDN
// labels in several scripts (Latin with diacritics, Greek, Cyrillic,
// Arabic and Hebrew, which the bidi rule constrains, CJK, emoji, combining
// marks, joiners), characters UTS 46 maps (full-width letters, ideographic
// full stops, soft hyphens, capitals, ß and ς), characters it forbids, and
// punycode labels both valid and broken.
var hostParts = []string{
	"example", "a", "xn", "localhost", "tauri", "ab--cd", "-a", "a-", "_sub", "123", "0x1f", "09",
	"bücher", "münchen", "ÉCOLE", "straße", "ΑΒΓ", "ς", "москва", "مثال", "דוגמה", "例子", "テスト", "한국",
	"😀", "a\u0301", "\u0301a", "x\u200dy", "x\u200cy", "ｅｘａｍｐｌｅ", "a\u3002b", "a\uff0eb", "so\u00adft",
	"ǅ", "ﬁ", "Ⅻ", "㎒", "\u2163", "a\u0000b", "a b", "a<b", "a^b", "a|b", "a%b", "a\\b", "a@b", "a[b", "ab]",
	"xn--bcher-kva", "xn--mnchen-3ya", "xn--e1afmkfd", "xn--ls8h", "xn--55qx5d", "xn--bchér-kva", "xn--",
	"xn--a", "xn--abc-", "xn---", "xn--zz", "XN--BCHER-KVA", "xn--xn--a-ecp", "xn--ss-", "xn--zca", "xn--nxa",
	"xn--1ca", "xn--a-ecp", "xn--9ca", "xn--80ak6aa92e", "xn--pss", "xn--e-1ga", "xn--ls8h-", "xn--0.",
	"%41", "%2e", "%2E", "%C3%BC", "%zz", "%00", "%25", "%e2%80%8d", "%ef%bc%a1", "%c3", "%F0%9F%98%80",
}

// randomHost draws a host: a domain from the parts, or one of the IPv4 and
// IPv6 forms the WHATWG parser knows (decimal, hex, octal, fewer parts,
// overflows, trailing dots; compressed, embedded IPv4, zone ids, broken).
func randomHost(rng *rand.Rand) string {
	switch rng.IntN(8) {
	case 0:
		forms := []string{"127.0.0.1", "0x7f.1", "0177.0.0.1", "127.1", "2130706433", "4294967295", "4294967296",
			"1.2.3.4.5", "1.2.3.256", "256.1", "0x100000000", "1.2.3.", "1..2.3", "08.1.1.1", "0x.1.1.1", "1.0x", "999999999999"}
		return forms[rng.IntN(len(forms))]
	case 1:
		forms := []string{"[::1]", "[::]", "[1:2:3:4:5:6:7:8]", "[::ffff:1.2.3.4]", "[1::2::3]", "[:::]", "[fe80::1%25eth0]",
			"[1:2:3:4:5:6:7:8:9]", "[::1.2.3]", "[::1", "[0:0::1]", "[FFFF::]", "[1:2:3:4:5:6:1.2.3.4]", "[g::1]", "[::1]x"}
		return forms[rng.IntN(len(forms))]
	}
	n := 1 + rng.IntN(3)
	labels := make([]string, n)
	for i := range labels {
		labels[i] = hostParts[rng.IntN(len(hostParts))]
		if rng.IntN(6) == 0 {
			labels[i] += hostParts[rng.IntN(len(hostParts))]
		}
		if rng.IntN(8) == 0 {
			// The punycode of a Unicode label, possibly broken.
			if a, err := idna.Punycode.ToASCII(labels[i]); err == nil {
				labels[i] = a
				if rng.IntN(3) == 0 && len(a) > 5 {
					labels[i] = a[:len(a)-1]
				}
			}
		}
	}
	host := strings.Join(labels, ".")
	switch rng.IntN(10) {
	case 0:
		host += "."
	case 1:
		host = strings.ToUpper(host)
	case 2:
		host = strings.Repeat("a", 60+rng.IntN(8)) + "." + host
	}
	return host
}

// randomPageURL draws a page URL around a random host: special and
// non-special schemes, user info, ports (valid, out of range, empty),
// paths, queries and fragments.
func randomPageURL(rng *rand.Rand) string {
	schemes := []string{"https", "https", "http", "wss", "tauri", "foo", "HTTPS"}
	u := schemes[rng.IntN(len(schemes))] + "://"
	if rng.IntN(10) == 0 {
		u += "user:pw@"
	}
	u += randomHost(rng)
	switch rng.IntN(6) {
	case 0:
		u += ":8443"
	case 1:
		u += ":99999"
	case 2:
		u += ":"
	}
	paths := []string{"/", "/index.html", "", "/a/../b", "/%7euser", "/ü?x=1#f", "?q", "#h"}
	return u + paths[rng.IntN(len(paths))]
}

// urlPatterns are the remote URL patterns the page origins are matched
// against on both sides: the wildcards that make a parser's mistake
// matter, and the pool of the random tests.
var urlPatterns = append([]string{
	"https://*", "http://*", "https://*/*", "https://*.example/*", "https://xn--bcher-kva.example/*",
	"https://127.0.0.1/*", "http://localhost:*", "foo://*",
}, policytest.RemotePool...)

type urlAnswer struct {
	OK      bool   `json:"ok"`
	Href    string `json:"href"`
	Error   string `json:"error"`
	Matches []bool `json:"matches"`
}

// TestPageOriginsMatchTauri reads 20,000 generated page URLs (IDN,
// punycode valid and broken, percent-encoding, IPv4 and IPv6 forms, mapped
// and forbidden characters) with acl.ParseOrigin and with the url crate,
// the WHATWG URL parser Tauri takes a page's origin from, and requires:
// every URL the url crate rejects, capguard rejects too (a page whose URL
// Tauri cannot read has no origin there, so nothing is allowed to it);
// every URL both read has the same href; and every remote URL pattern
// matches it on both sides alike.
func TestPageOriginsMatchTauri(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 24))
	seen := map[string]bool{}
	var urls []string
	for _, u := range []string{"https://xn--bchér-kva.example/index.html", "https://bücher.example/", "https://xn--.example/"} {
		seen[u] = true
		urls = append(urls, u)
	}
	for len(urls) < 20000 {
		if u := randomPageURL(rng); !seen[u] {
			seen[u] = true
			urls = append(urls, u)
		}
	}
	a := oracleFor(t, mainVersion(t)).do(t, map[string]any{"op": "urls", "urls": urls, "patterns": urlPatterns})
	if !a.OK || len(a.Results) != len(urls) {
		t.Fatalf("oracle: %s (%d answers for %d URLs)", a.Error, len(a.Results), len(urls))
	}
	patterns := make([]*acl.RemotePattern, len(urlPatterns))
	for i, p := range urlPatterns {
		var err error
		if patterns[i], err = acl.CompileRemote(p); err != nil {
			t.Fatal(err)
		}
	}
	var both, neither, stricter int
	var stricterExamples, bugs []string
	stricterKinds := map[string]int{}
	for i, u := range urls {
		var theirs urlAnswer
		if err := json.Unmarshal(a.Results[i], &theirs); err != nil {
			t.Fatal(err)
		}
		o, err := acl.ParseOrigin(u)
		mine := err == nil
		switch {
		case !theirs.OK && !mine:
			neither++
		case !theirs.OK:
			bugs = append(bugs, fmt.Sprintf("%q: the url crate rejects it (%s); capguard reads %q (fails open)", u, theirs.Error, o.URL()))
		case !mine:
			// capguard's parser rejects some hosts the standard reads:
			// fail closed, but each must be of a known kind.
			stricter++
			lower := strings.ToLower(theirs.Href)
			host := lower[strings.Index(lower, "//")+2:]
			host = host[:strings.IndexAny(host+"/", "/?#")]
			switch {
			case strings.Contains(host, "_"):
				stricterKinds["an underscore in a domain label (golang.org/x/net/idna's StrictDomainName)"]++
			case strings.Contains(host, "xn--xn--"):
				stricterKinds["a punycode label that decodes to a label starting with xn--"]++
			default:
				bugs = append(bugs, fmt.Sprintf("%q: the url crate reads %q, capguard rejects it (%v): stricter than the standard for no known reason", u, theirs.Href, err))
			}
			stricterExamples = append(stricterExamples, fmt.Sprintf("%q (url: %q)", u, theirs.Href))
		case o.URL() != theirs.Href:
			bugs = append(bugs, fmt.Sprintf("%q: the url crate reads %q, capguard %q", u, theirs.Href, o.URL()))
		default:
			both++
			for j, p := range patterns {
				if got := p.Match(o); got != theirs.Matches[j] {
					bugs = append(bugs, fmt.Sprintf("%q against %q: Tauri matches=%v, capguard %v", u, urlPatterns[j], theirs.Matches[j], got))
				}
			}
		}
	}
	sort.Strings(stricterExamples)
	t.Logf("%d page URLs: %d read alike by both (%d patterns each), %d rejected by both, %d rejected by capguard only (fail closed): %v, e.g. %s",
		len(urls), both, len(patterns), neither, stricter, stricterKinds, strings.Join(first(stricterExamples, 4), "; "))
	for i, b := range bugs {
		if i == 30 {
			t.Errorf("... and %d more", len(bugs)-30)
			break
		}
		t.Error(b)
	}
	if both < len(urls)/4 || neither < len(urls)/10 {
		t.Errorf("%d read by both and %d rejected by both: the generator should make plenty of each", both, neither)
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
