package acl

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dunglas/go-urlpattern"
	whatwg "github.com/nlnwa/whatwg-url/url"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// RemotePattern is a compiled remote URL pattern of a capability, with
// Tauri's defaults: a missing or empty search or hash matches anything, and
// a missing, empty or "/" pathname matches any path.
type RemotePattern struct {
	src string
	p   *urlpattern.URLPattern
	// fast is set when every component of the pattern is "*", a literal or
	// literals around "*" wildcards (nearly every real pattern): parts then
	// match the page URL's components without the URLPattern's regular
	// expressions or a parse of the URL.
	fast  bool
	parts [numParts]componentMatcher
}

// The components of a URL, in URLPattern's order.
const (
	partProtocol = iota
	partUsername
	partPassword
	partHostname
	partPort
	partPathname
	partSearch
	partHash
	numParts
)

// componentMatcher is a URLPattern component made only of literal text
// and "*" wildcards: lits are the literal pieces between the wildcards
// (one piece: no wildcard, the component must equal it; any: the component
// is "*" alone).
type componentMatcher struct {
	any  bool
	lits []string
}

// patternSpecial are the characters of URLPattern's syntax other than "*":
// a component holding one is matched with the URLPattern itself.
const patternSpecial = `\:(){}?+`

func compileComponent(pattern string) (componentMatcher, bool) {
	if pattern == "*" {
		return componentMatcher{any: true}, true
	}
	if strings.ContainsAny(pattern, patternSpecial) || strings.Contains(pattern, "**") {
		return componentMatcher{}, false
	}
	return componentMatcher{lits: strings.Split(pattern, "*")}, true
}

// match is the anchored match of lits[0] * lits[1] * ... * lits[n-1]
// (each * any text, possibly empty).
func (m *componentMatcher) match(s string) bool {
	if m.any {
		return true
	}
	n := len(m.lits)
	if n == 1 {
		return s == m.lits[0]
	}
	first, last := m.lits[0], m.lits[n-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	rest := s[len(first) : len(s)-len(last)]
	for _, mid := range m.lits[1 : n-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return true
}

// CompileRemote parses s as a WHATWG URLPattern constructor string and
// applies Tauri's defaults. Unlike Tauri, a pattern without a protocol
// ("/api/*", which Tauri lets match every origin) is an error.
func CompileRemote(s string) (*RemotePattern, error) {
	first, err := urlpattern.New(s, "", nil)
	if err != nil {
		if errors.Is(err, urlpattern.ErrNoBaseURL) {
			return nil, fmt.Errorf("%w: remote URL pattern %q has no protocol, so it would match every origin; write it in full, e.g. \"https://example.com/*\"", ErrInvalid, s)
		}
		return nil, fmt.Errorf("%w: invalid remote URL pattern %q: %s", ErrInvalid, s, patternError(err))
	}
	comp := func(v string) *string { return &v }
	init := &urlpattern.URLPatternInit{
		Protocol: comp(first.Protocol()),
		Username: comp(first.Username()),
		Password: comp(first.Password()),
		Hostname: comp(first.Hostname()),
		Port:     comp(first.Port()),
		Pathname: comp(first.Pathname()),
		Search:   comp(first.Search()),
		Hash:     comp(first.Hash()),
	}
	if *init.Search == "" {
		init.Search = comp("*")
	}
	if *init.Hash == "" {
		init.Hash = comp("*")
	}
	if *init.Pathname == "" || *init.Pathname == "/" {
		init.Pathname = comp("*")
	}
	p, err := init.New(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid remote URL pattern %q: %s", ErrInvalid, s, patternError(err))
	}
	r := &RemotePattern{src: s, p: p, fast: true}
	for i, c := range []string{p.Protocol(), p.Username(), p.Password(), p.Hostname(), p.Port(), p.Pathname(), p.Search(), p.Hash()} {
		m, ok := compileComponent(c)
		r.parts[i] = m
		r.fast = r.fast && ok
	}
	return r, nil
}

// patternError is the URLPattern library's error without the dump of its
// tokenizer's state that some of its messages end with.
func patternError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "&urlpattern."); i >= 0 {
		msg = strings.TrimRight(msg[:i], ": ") + " (not a valid URL pattern: check its brackets, braces and escapes)"
	}
	return msg
}

// String returns the pattern as written in the capability.
func (r *RemotePattern) String() string {
	if r == nil {
		return ""
	}
	return r.src
}

// URLComponents are the names of a URL pattern's components, in the
// order Components returns them.
var URLComponents = [8]string{"protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"}

// Components returns the pattern string of each URL component, with
// Tauri's defaults applied, in the order of URLComponents. A URL matches
// the pattern when every component matches its own.
func (r *RemotePattern) Components() [8]string {
	if r == nil || r.p == nil {
		return [8]string{} // a zero pattern matches nothing
	}
	return [8]string{r.p.Protocol(), r.p.Username(), r.p.Password(), r.p.Hostname(), r.p.Port(), r.p.Pathname(), r.p.Search(), r.p.Hash()}
}

// Match reports whether the page URL matches the pattern.
func (r *RemotePattern) Match(o Origin) bool {
	if o.IsLocal() {
		return false
	}
	if r.fast && o.plain {
		parts := splitHref(o.href)
		for i := range parts {
			if !r.parts[i].match(parts[i]) {
				return false
			}
		}
		return true
	}
	return r.p.Test(o.href, "")
}

// splitHref cuts a URL as the WHATWG serializer writes it into its
// components, without the "?" and "#" and with "" for absent ones: what
// the parser gives for it when the Origin's plain flag is set (ParseOrigin
// checks it).
func splitHref(href string) (parts [numParts]string) {
	colon := strings.IndexByte(href, ':')
	if colon < 0 {
		return parts
	}
	parts[partProtocol] = href[:colon]
	rest := href[colon+1:]
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		auth := rest[:end]
		rest = rest[end:]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			user := auth[:at]
			auth = auth[at+1:]
			if c := strings.IndexByte(user, ':'); c >= 0 {
				parts[partUsername], parts[partPassword] = user[:c], user[c+1:]
			} else {
				parts[partUsername] = user
			}
		}
		host := auth
		if c := strings.LastIndexByte(auth, ':'); c >= 0 && c > strings.LastIndexByte(auth, ']') {
			host, parts[partPort] = auth[:c], auth[c+1:]
		}
		parts[partHostname] = host
	}
	if h := strings.IndexByte(rest, '#'); h >= 0 {
		parts[partHash] = rest[h+1:]
		rest = rest[:h]
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		parts[partSearch] = rest[q+1:]
		rest = rest[:q]
	}
	parts[partPathname] = rest
	return parts
}

// Origin is where an IPC call comes from: the app's local content, or a
// remote page identified by its URL.
//
// The zero Origin is no origin at all: the acl package decides it as
// local, but the guard (package ipc) refuses an invocation whose origin
// is zero, so that a transport that forgets to say where a call comes
// from fails closed. Use LocalOrigin or ParseOrigin.
type Origin struct {
	href  string // "" for local
	local bool   // set for LocalOrigin, so that it differs from the zero Origin
	// plain is set when splitHref(href) gives the parser's components:
	// RemotePattern.Match then matches them without parsing href.
	plain bool
	key   uint64 // Key
}

// originSeed seeds Key: one per process.
var originSeed = maphash.MakeSeed()

// OriginKey is the Key of the remote origin whose URL is href.
func OriginKey(href string) uint64 { return maphash.String(originSeed, href) }

// Key is a hash of a remote origin's URL (0 for the local one), the same
// for equal URLs within the process, for caches keyed by page URL.
func (o Origin) Key() uint64 { return o.key }

// LocalOrigin is the app's own content.
var LocalOrigin = Origin{local: true}

// IsZero tells whether o is the zero Origin: neither LocalOrigin nor a
// remote URL (see Origin).
func (o Origin) IsZero() bool { return o.href == "" && !o.local }

// ParseOrigin reads "local" or an absolute URL (normalized as browsers
// do: "https://Example.com" becomes "https://example.com/").
func ParseOrigin(s string) (Origin, error) {
	if s == "local" || s == "" {
		return LocalOrigin, nil
	}
	// The parser's IDNA step (golang.org/x/net/idna) is laxer than the
	// WHATWG URL standard's (UTS 46 as of Unicode 15.1, which the url crate
	// Tauri reads page URLs with implements): it takes a label "xn--bchér"
	// and rewrites it. Every domain is checked again, so that no origin
	// the standard rejects is read (a page Tauri cannot read the URL of
	// has no origin there, and nothing is allowed to it).
	var hostErr error
	p := whatwg.NewParser(whatwg.WithPreParseHostFunc(func(u *whatwg.Url, host string) string {
		if hostErr == nil && specialSchemes[u.Scheme()] {
			hostErr = checkDomain(host)
		}
		return host
	}))
	u, err := p.Parse(s)
	if err == nil {
		err = hostErr
	}
	if err != nil {
		return Origin{}, fmt.Errorf("%w: origin %q is neither \"local\" nor an absolute URL: %v", ErrInvalid, s, err)
	}
	href := u.Href(false)
	parts := splitHref(href)
	plain := parts == [numParts]string{u.Scheme(), u.Username(), u.Password(), u.Hostname(), u.Port(), u.Pathname(), u.Query(), u.Fragment()}
	return Origin{href: href, plain: plain, key: OriginKey(href)}, nil
}

// specialSchemes are the WHATWG URL standard's special schemes: their
// hosts are domains (or IP addresses) and go through IDNA; other schemes
// have opaque hosts.
var specialSchemes = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true, "file": true}

// labelSeparators are the full stops UTS 46 maps to ".".
var labelSeparators = []string{"\u3002", "\uff0e", "\uff61"}

// whatwgIDNA is the URL standard's domain-to-ASCII (UTS 46 with
// CheckHyphens, VerifyDnsLength and UseSTD3ASCIIRules off, CheckBidi and
// CheckJoiners on, nontransitional).
var whatwgIDNA = idna.New(
	idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(false), idna.StrictDomainName(false),
	idna.ValidateLabels(true), idna.CheckHyphens(false), idna.CheckJoiners(true), idna.Transitional(false),
)

// errDomain is the error of a domain the URL standard rejects.
var errDomain = errors.New("invalid international domain name")

// checkDomain applies the rules of UTS 46 (section 4, "Processing", step
// 4.1, as of Unicode 15.1) that the parser's IDNA step skips, to the host
// of a special URL as written (before percent-decoding): a label that
// starts with "xn--" after mapping must be ASCII, must decode as
// punycode to a non-empty label that is not all ASCII, and that label
// must be valid (it must encode back to the same text).
func checkDomain(raw string) error {
	if raw == "" || raw[0] == '[' {
		return nil // IPv6, or no host: the parser's own checks apply
	}
	host := percentDecode(raw)
	if !utf8.ValidString(host) {
		return nil // the parser rejects it
	}
	for _, sep := range labelSeparators {
		host = strings.ReplaceAll(host, sep, ".")
	}
	for _, label := range strings.Split(host, ".") {
		m := foldLabel(label)
		if !strings.HasPrefix(m, "xn--") {
			continue
		}
		for i := 0; i < len(m); i++ {
			if m[i] >= utf8.RuneSelf {
				return fmt.Errorf("%w: label %q starts with \"xn--\" but is not ASCII", errDomain, label)
			}
		}
		decoded, err := idna.Punycode.ToUnicode(m)
		if err != nil || decoded == "" || decoded == m {
			return fmt.Errorf("%w: label %q is not valid punycode", errDomain, label)
		}
		ascii := true
		for i := 0; i < len(decoded); i++ {
			if decoded[i] >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			return fmt.Errorf("%w: label %q decodes to ASCII only", errDomain, label)
		}
		if again, err := whatwgIDNA.ToASCII(decoded); err != nil || again != m {
			return fmt.Errorf("%w: label %q decodes to %q, which is not a valid label", errDomain, label, decoded)
		}
	}
	return nil
}

// foldLabel approximates UTS 46's mapping of a label, for telling whether
// it starts with "xn--": compatibility decomposition, case folding, and the
// characters it ignores removed. The approximation errs on the strict
// side: a label it wrongly takes for a punycode label gets rejected.
func foldLabel(label string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(label) {
		switch {
		case r == '\u00ad', r == '\u034f', r == '\u200b', r == '\u2060', r == '\ufeff',
			r >= '\u180b' && r <= '\u180f', r >= '\ufe00' && r <= '\ufe0f', r >= 0xe0100 && r <= 0xe01ef:
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFKC.String(b.String())
}

// percentDecode decodes %XX sequences as the URL standard does before
// IDNA (a "%" not followed by two hex digits stays).
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// MustOrigin is ParseOrigin for known-good input; it panics otherwise.
func MustOrigin(s string) Origin {
	o, err := ParseOrigin(s)
	if err != nil {
		panic(err)
	}
	return o
}

// IsLocal tells whether the origin is the app's local content.
func (o Origin) IsLocal() bool { return o.href == "" }

// URL returns the remote page URL ("" when local).
func (o Origin) URL() string { return o.href }

// String is how Tauri prints an origin: "local" or "remote: <url>".
func (o Origin) String() string {
	if o.IsLocal() {
		return "local"
	}
	return "remote: " + o.href
}

// urlText is the origin as Tauri prints it after "URL: ".
func (o Origin) urlText() string {
	if o.IsLocal() {
		return "local"
	}
	return o.href
}

// Context is the execution context of a resolved command: local, or a
// remote URL pattern.
type Context struct {
	Remote *RemotePattern // nil: local
}

// IsLocal tells whether the context is the local one.
func (c Context) IsLocal() bool { return c.Remote == nil }

// Matches tells whether an origin falls in the context.
func (c Context) Matches(o Origin) bool {
	if c.Remote == nil {
		return o.IsLocal()
	}
	return c.Remote.Match(o)
}

// String is "local" or the remote pattern as written.
func (c Context) String() string {
	if c.Remote == nil {
		return "local"
	}
	return c.Remote.src
}
