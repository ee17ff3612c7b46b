package acl

import (
	"errors"
	"fmt"

	"github.com/dunglas/go-urlpattern"
	whatwg "github.com/nlnwa/whatwg-url/url"
)

// RemotePattern is a compiled remote URL pattern of a capability, with
// Tauri's defaults: a missing or empty search or hash matches anything, and
// a missing, empty or "/" pathname matches any path.
type RemotePattern struct {
	src string
	p   *urlpattern.URLPattern
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
		return nil, fmt.Errorf("%w: invalid remote URL pattern %q: %v", ErrInvalid, s, err)
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
		return nil, fmt.Errorf("%w: invalid remote URL pattern %q: %v", ErrInvalid, s, err)
	}
	return &RemotePattern{src: s, p: p}, nil
}

// String returns the pattern as written in the capability.
func (r *RemotePattern) String() string { return r.src }

// URLComponents are the names of a URL pattern's components, in the
// order Components returns them.
var URLComponents = [8]string{"protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"}

// Components returns the pattern string of each URL component, with
// Tauri's defaults applied, in the order of URLComponents. A URL matches
// the pattern when every component matches its own.
func (r *RemotePattern) Components() [8]string {
	return [8]string{r.p.Protocol(), r.p.Username(), r.p.Password(), r.p.Hostname(), r.p.Port(), r.p.Pathname(), r.p.Search(), r.p.Hash()}
}

// Match reports whether the page URL matches the pattern.
func (r *RemotePattern) Match(o Origin) bool {
	if o.IsLocal() {
		return false
	}
	return r.p.Test(o.href, "")
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
}

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
	u, err := whatwg.Parse(s)
	if err != nil {
		return Origin{}, fmt.Errorf("%w: origin %q is neither \"local\" nor an absolute URL: %v", ErrInvalid, s, err)
	}
	return Origin{href: u.Href(false)}, nil
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
