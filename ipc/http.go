package ipc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/capguard/capguard/acl"
	"golang.org/x/sync/semaphore"
)

// The headers of Tauri's IPC custom protocol, and capguard's page token.
const (
	HeaderCallback  = "Tauri-Callback"
	HeaderError     = "Tauri-Error"
	HeaderInvokeKey = "Tauri-Invoke-Key"
	HeaderResponse  = "Tauri-Response"
	// HeaderToken carries the token of the page that makes the call (see
	// Bridge.Bind): the bridge's only source of the caller's labels.
	HeaderToken = "Capguard-Webview-Token"
)

// Defaults of BridgeConfig.
const (
	DefaultMaxBody      = 16 << 20
	DefaultMaxPages     = 32
	DefaultMaxInflight  = 64 << 20
	DefaultMaxBodies    = 16
	DefaultBodyWait     = 5 * time.Second
	DefaultLaunchExpiry = 2 * time.Minute
)

// QueryLaunch is the query parameter that carries a launch secret in the
// URL the host opens a window with (see Bridge.Launch).
const QueryLaunch = "capguard-launch"

// MaxCommandLen bounds the command named in a request path, in bytes.
const MaxCommandLen = 1024

//go:embed tauri-internals.js
var internalsScript string

// BridgeConfig configures a Bridge.
type BridgeConfig struct {
	// URL is where pages reach the bridge's handler, as they see it, for
	// example "http://127.0.0.1:1430/ipc/": a page calls a command by
	// posting to URL + the percent-encoded command name. Required: an
	// absolute http or https URL whose path ends with "/".
	URL string
	// LocalOrigins are the origins whose pages are the app's own content
	// (scheme://host[:port], as browsers send them in the Origin header):
	// their calls are decided as local. A call from any other origin is
	// remote, decided with its origin's URL against the capabilities'
	// remote URL patterns. Nil means Tauri's own: tauri://localhost,
	// http://tauri.localhost and https://tauri.localhost.
	LocalOrigins []string
	// AllowNonLoopback lets clients that are not on the loopback interface
	// call. By default the bridge refuses them (403): it serves the
	// webviews of its own machine.
	AllowNonLoopback bool
	// MaxBody bounds a call's body in bytes (0: DefaultMaxBody).
	MaxBody int64
	// MaxPages bounds the page bindings kept per window label, and the
	// launch secrets waiting per window label: binding one more forgets
	// the oldest of the same window only, so that nothing done in one
	// window evicts the pages of another (0: DefaultMaxPages).
	MaxPages int
	// MaxInflight bounds the bytes of request bodies held at once, over
	// all calls (0: DefaultMaxInflight, at least MaxBody), and MaxBodies
	// the number of calls reading or holding a body at once (0:
	// DefaultMaxBodies). A call that cannot get its share within BodyWait
	// (0: DefaultBodyWait) is answered 503. The calls of one webview hold
	// at most half of each (at least one body and MaxBody bytes), so that
	// the pages of one webview cannot take the budget from the others.
	// Only allowed calls
	// read their bodies: the bridge decides from the path and headers
	// first.
	MaxInflight int64
	MaxBodies   int
	BodyWait    time.Duration
	// LaunchExpiry is how long a launch secret (Bridge.Launch) stays
	// usable (0: DefaultLaunchExpiry).
	LaunchExpiry time.Duration
	// CallTimeout, when positive, ends each call's context after that
	// long. A call also ends when its page goes away (the request's
	// context).
	CallTimeout time.Duration
	// OnReject, when set, is told about every request the bridge refuses
	// before the guard sees it: not from loopback, malformed, a wrong
	// invoke key, a missing or unknown page token, a token presented by a
	// page of another origin. It runs on the request's goroutine and may
	// be called concurrently. (Decisions of the guard are reported by
	// WithObserver.)
	OnReject func(Rejection)
}

// Rejection is a request the bridge refused before the guard saw it.
type Rejection struct {
	Time time.Time
	// Command is the command the request named ("" when it could not be
	// read).
	Command string
	// Origin is the request's Origin header, as sent.
	Origin string
	// Window and Webview are the labels of the page whose token the
	// request presented, when the token was known.
	Window, Webview string
	// Status and Text are the HTTP status and the text/plain body sent.
	Status int
	Text   string
}

// Binding is what the host knows about a page it loads: the window and
// webview it runs in, and its origin.
type Binding struct {
	// Window is the window's label. Labels are ASCII letters, digits and
	// "-", "/", ":", "_", at most MaxNameLen bytes, as Tauri requires.
	Window string
	// Webview is the webview's label; empty stands for the window's own
	// webview (the window label).
	Webview string
	// Origin is the page's origin (scheme://host[:port]); the page's token
	// is accepted only in requests whose Origin header names it, so a
	// token that leaks to another site is of no use there.
	Origin string
}

// Page is a page load the bridge knows.
type Page struct {
	// Token identifies the page's binding in its calls (HeaderToken).
	Token string
	// Script sets up window.__TAURI_INTERNALS__ for the page, so that
	// @tauri-apps/api's invoke() reaches the bridge. Run it inline (in a
	// <script> element of the page itself) before any other script, and
	// never serve it at a URL of its own: it holds the run's invoke key
	// and the page's token, and any site may load a script URL. It is safe
	// to place inside a <script> element: "<", ">" and "&" are escaped.
	Script string
}

// Bridge serves a Guarded over HTTP in the shape of Tauri's IPC custom
// protocol, so that the unmodified JavaScript of @tauri-apps/api and of
// Tauri plugins works against capguard in a browser or a webview.
//
// A call is POST /<percent-encoded command> (relative to the bridge's
// mount point) with the arguments as a JSON body (or bytes as
// application/octet-stream) and Tauri's headers (Tauri-Callback,
// Tauri-Error, Tauri-Invoke-Key, Origin), plus the page's token
// (HeaderToken). The answer is Tauri's: status 200, "Tauri-Response: ok"
// and the JSON result, or "Tauri-Response: error" and the JSON value the
// promise rejects with (RejectValue); Tauri's CORS headers on every
// answer. A request the bridge cannot accept gets a text/plain 4xx with
// Tauri's text where Tauri has one.
//
// The caller's labels never come from the request: the host binds every
// page load to its window and webview (Bind, or Launch and BindLaunch so
// that only the page loads the host opened get a token) and gives the
// page a token, which the bridge maps back to the labels. Tokens are kept
// per window, so nothing done in one window evicts another's. A call is
// decided from its path, token and Origin before its body is read; the
// bodies of allowed calls share a byte budget and a concurrency limit.
// Serve the bridge with NewServer and LimitListener to bound time and
// connections too. The invoke key is random per
// bridge. The Origin header decides whether a call is local (one of
// BridgeConfig.LocalOrigins) or remote. A Bridge is safe for concurrent
// use.
type Bridge struct {
	g        *Guarded
	cfg      BridgeConfig
	key      string
	local    map[string]bool
	maxBody  int64
	maxPages int
	bytes    *semaphore.Weighted // the in-flight body budget
	bodies   chan struct{}       // one slot per call holding a body
	// windowBodies and windowBytes are one webview's share of bodies and
	// bytes (see admit); shares holds the share of each webview that has
	// a call admitted or waiting, and forgets it when the last one ends.
	windowBodies int
	windowBytes  int64
	sharesMu     sync.Mutex
	shares       map[string]*windowShare
	freeShares   []*windowShare // unused shares, kept for reuse (at most MaxBodies)
	now          func() time.Time

	mu       sync.Mutex
	pages    map[string]pageBinding
	byWindow map[string][]string // tokens per window label, oldest first
	launches map[string]launch
	pending  map[string][]string // launch secrets per window label, oldest first
}

type pageBinding struct {
	window, webview, origin string
}

type launch struct {
	binding Binding
	expires time.Time
}

// NewBridge returns a bridge that serves g. It fails when the
// configuration is unusable: no Guarded, a URL that is not absolute http(s)
// ending in "/", a local origin that is not an origin.
func NewBridge(g *Guarded, cfg BridgeConfig) (*Bridge, error) {
	if g == nil {
		return nil, errors.New("ipc: NewBridge: nil Guarded (guard a router with Router.Guard)")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("ipc: NewBridge: URL %q: want an absolute http(s) URL whose path ends with \"/\", such as \"http://127.0.0.1:1430/ipc/\"", cfg.URL)
	}
	locals := cfg.LocalOrigins
	if locals == nil {
		locals = []string{"tauri://localhost", "http://tauri.localhost", "https://tauri.localhost"}
	}
	b := &Bridge{g: g, cfg: cfg, local: map[string]bool{}, pages: map[string]pageBinding{}, byWindow: map[string][]string{},
		launches: map[string]launch{}, pending: map[string][]string{}, maxBody: cfg.MaxBody, maxPages: cfg.MaxPages, now: time.Now}
	for _, o := range locals {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("ipc: NewBridge: local origin %q: %v", o, err)
		}
		b.local[n] = true
	}
	if b.maxBody <= 0 {
		b.maxBody = DefaultMaxBody
	}
	if b.maxPages <= 0 {
		b.maxPages = DefaultMaxPages
	}
	inflight := cfg.MaxInflight
	if inflight <= 0 {
		inflight = DefaultMaxInflight
	}
	b.bytes = semaphore.NewWeighted(max(inflight, b.maxBody))
	nb := cfg.MaxBodies
	if nb <= 0 {
		nb = DefaultMaxBodies
	}
	b.bodies = make(chan struct{}, nb)
	// One webview's share: half of each (at least one body and MaxBody
	// bytes), so that the pages of one webview (a remote page with one
	// allowed command) cannot hold every body slot and byte of the budget
	// while the other webviews wait.
	b.windowBodies, b.windowBytes = max(nb/2, 1), min(max(inflight/2, b.maxBody), max(inflight, b.maxBody))
	b.shares = map[string]*windowShare{}
	if b.cfg.BodyWait <= 0 {
		b.cfg.BodyWait = DefaultBodyWait
	}
	if b.cfg.LaunchExpiry <= 0 {
		b.cfg.LaunchExpiry = DefaultLaunchExpiry
	}
	if b.key, err = randomToken(); err != nil {
		return nil, err
	}
	return b, nil
}

var errNoBridge = errors.New("ipc: the Bridge was not made by NewBridge")

func randomToken() (string, error) {
	var buf [16]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("ipc: no randomness for a token: %w", err)
	}
	return hex.EncodeToString(buf[:]), nil
}

// Bind registers a page load and returns its token and the script that
// sets the page up. Call it each time the host serves the page: every load
// gets its own token. It fails on an invalid label or origin.
func (b *Bridge) Bind(p Binding) (Page, error) {
	if b == nil || b.pages == nil {
		return Page{}, errNoBridge
	}
	if p.Webview == "" {
		p.Webview = p.Window
	}
	if err := checkLabel("window", p.Window); err != nil {
		return Page{}, err
	}
	if err := checkLabel("webview", p.Webview); err != nil {
		return Page{}, err
	}
	origin, err := normalizeOrigin(p.Origin)
	if err != nil {
		return Page{}, fmt.Errorf("ipc: Bind: origin %q: %v", p.Origin, err)
	}
	token, err := randomToken()
	if err != nil {
		return Page{}, err
	}
	cfg, err := json.Marshal(struct {
		InvokeKey   string `json:"invokeKey"`
		Token       string `json:"token"`
		TokenHeader string `json:"tokenHeader"`
		URL         string `json:"url"`
		Window      string `json:"window"`
		Webview     string `json:"webview"`
	}{b.key, token, HeaderToken, b.cfg.URL, p.Window, p.Webview})
	if err != nil {
		return Page{}, err
	}
	b.mu.Lock()
	b.pages[token] = pageBinding{window: p.Window, webview: p.Webview, origin: origin}
	tokens := append(b.byWindow[p.Window], token)
	for len(tokens) > b.maxPages {
		delete(b.pages, tokens[0])
		tokens = tokens[1:]
	}
	b.byWindow[p.Window] = slices.Clip(tokens)
	b.mu.Unlock()
	return Page{Token: token, Script: strings.Replace(internalsScript, "__CAPGUARD_CONFIG__", string(cfg), 1)}, nil
}

// Unbind forgets a page's token (the page was closed): its calls are
// refused from then on.
func (b *Bridge) Unbind(token string) {
	if b == nil || b.pages == nil {
		return
	}
	b.mu.Lock()
	if p, ok := b.pages[token]; ok {
		delete(b.pages, token)
		b.byWindow[p.window] = slices.DeleteFunc(b.byWindow[p.window], func(t string) bool { return t == token })
		if len(b.byWindow[p.window]) == 0 {
			delete(b.byWindow, p.window)
		}
	}
	b.mu.Unlock()
}

// ErrLaunch is wrapped by BindLaunch's error for a launch secret that is
// unknown, used already or expired.
var ErrLaunch = errors.New("ipc: unknown, used or expired launch secret")

// Launch prepares the load of a page the host is about to open and
// returns its launch secret: a random, single-use value that the host
// hands the page, for example in the URL it opens the window with
// (QueryLaunch). The server that serves the page calls BindLaunch with
// it and puts the returned script in the page; a request without a valid
// secret gets no token, so that another local process, or another page,
// that fetches a window's page learns nothing and evicts nothing. Secrets
// expire after BridgeConfig.LaunchExpiry; at most MaxPages wait per window
// (the oldest is dropped). It fails on an invalid label or origin.
func (b *Bridge) Launch(p Binding) (string, error) {
	if b == nil || b.pages == nil {
		return "", errNoBridge
	}
	if p.Webview == "" {
		p.Webview = p.Window
	}
	if err := checkLabel("window", p.Window); err != nil {
		return "", err
	}
	if err := checkLabel("webview", p.Webview); err != nil {
		return "", err
	}
	if _, err := normalizeOrigin(p.Origin); err != nil {
		return "", fmt.Errorf("ipc: Launch: origin %q: %v", p.Origin, err)
	}
	secret, err := randomToken()
	if err != nil {
		return "", err
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLaunches(now)
	b.launches[secret] = launch{binding: p, expires: now.Add(b.cfg.LaunchExpiry)}
	waiting := append(b.pending[p.Window], secret)
	for len(waiting) > b.maxPages {
		delete(b.launches, waiting[0])
		waiting = waiting[1:]
	}
	b.pending[p.Window] = slices.Clip(waiting)
	return secret, nil
}

// mustNormal normalizes an origin Launch already checked.
func mustNormal(o string) string {
	n, _ := normalizeOrigin(o)
	return n
}

// expireLaunches drops expired secrets; b.mu is held.
func (b *Bridge) expireLaunches(now time.Time) {
	for w, secrets := range b.pending {
		secrets = slices.DeleteFunc(secrets, func(s string) bool {
			l, ok := b.launches[s]
			if ok && now.After(l.expires) {
				delete(b.launches, s)
				return true
			}
			return !ok
		})
		if len(secrets) == 0 {
			delete(b.pending, w)
		} else {
			b.pending[w] = secrets
		}
	}
}

// BindLaunch binds the page load of a launch secret (see Launch), which
// it uses up, and returns the page's token and script as Bind does.
// origin is the origin the page is being served from: a secret launched
// for another origin binds nothing. An unknown, used, expired or
// misplaced secret is an error wrapping ErrLaunch, and binds nothing.
func (b *Bridge) BindLaunch(secret, origin string) (Page, error) {
	if b == nil || b.pages == nil {
		return Page{}, errNoBridge
	}
	now := b.now()
	b.mu.Lock()
	l, ok := b.launches[secret]
	if ok {
		delete(b.launches, secret)
		b.pending[l.binding.Window] = slices.DeleteFunc(b.pending[l.binding.Window], func(s string) bool { return s == secret })
	}
	b.mu.Unlock()
	if !ok || secret == "" || now.After(l.expires) {
		return Page{}, ErrLaunch
	}
	if want, err := normalizeOrigin(origin); err != nil || want != mustNormal(l.binding.Origin) {
		return Page{}, fmt.Errorf("%w: the secret was launched for a page of %s, not of %s", ErrLaunch, l.binding.Origin, origin)
	}
	return b.Bind(l.binding)
}

// checkLabel applies Tauri's label rule, restricted to ASCII.
func checkLabel(what, s string) error {
	if s == "" {
		return fmt.Errorf("ipc: Bind: the %s label is empty", what)
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("ipc: Bind: the %s label is %d bytes long, more than %d", what, len(s), MaxNameLen)
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '/' || c == ':' || c == '_') {
			return fmt.Errorf("ipc: Bind: %s label %q has %q at byte %d; labels are ASCII letters, digits, '-', '/', ':' and '_'", what, s, c, i)
		}
	}
	return nil
}

// normalizeOrigin reads an origin as browsers send it, lower-cases scheme
// and host and drops the scheme's default port.
func normalizeOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", errors.New("want scheme://host[:port]")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", errors.New("an origin has no user, path, query or fragment")
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			host = h
			if strings.Contains(h, ":") {
				host = "[" + h + "]"
			}
		}
	}
	return scheme + "://" + host, nil
}

// bodyError is a body the bridge could not read for an allowed call.
type bodyError struct{ herr *httpError }

func (e *bodyError) Error() string { return "ipc: " + e.herr.text }

// windowShare is what the calls of one webview may hold at once.
type windowShare struct {
	bodies chan struct{}
	bytes  *semaphore.Weighted
	users  int // calls admitted or waiting; guarded by Bridge.sharesMu
}

// share returns webview's share of the body budget, counting the caller
// as one of its users until it calls unshare.
func (b *Bridge) share(webview string) *windowShare {
	b.sharesMu.Lock()
	defer b.sharesMu.Unlock()
	s := b.shares[webview]
	if s == nil {
		if n := len(b.freeShares); n > 0 {
			s, b.freeShares = b.freeShares[n-1], b.freeShares[:n-1]
		} else {
			s = &windowShare{bodies: make(chan struct{}, b.windowBodies), bytes: semaphore.NewWeighted(b.windowBytes)}
		}
		b.shares[webview] = s
	}
	s.users++
	return s
}

// unshare ends a use of webview's share; the last one forgets it, so the
// map holds only the webviews with calls in progress. A forgotten share
// holds nothing (its slots and bytes are all back) and is kept for reuse,
// so that calls one after another allocate none.
func (b *Bridge) unshare(webview string, s *windowShare) {
	b.sharesMu.Lock()
	defer b.sharesMu.Unlock()
	if s.users--; s.users == 0 {
		delete(b.shares, webview)
		if len(b.freeShares) < cap(b.bodies) {
			b.freeShares = append(b.freeShares, s)
		}
	}
}

// admit waits for room to hold the request's body: a slot among
// MaxBodies and its size (Content-Length, or MaxBody when unknown) of the
// in-flight budget, within the share (half of each) of the caller's
// webview. The returned function gives them back.
func (b *Bridge) admit(r *http.Request, webview string) (func(), *httpError) {
	n := b.maxBody
	if r.ContentLength >= 0 && r.ContentLength < n {
		n = r.ContentLength
	}
	busy := &httpError{http.StatusServiceUnavailable, "the IPC bridge is busy: too many large calls at once; try again"}
	ctx, cancel := context.WithTimeout(r.Context(), b.cfg.BodyWait)
	defer cancel()
	share := b.share(webview)
	select {
	case share.bodies <- struct{}{}:
	case <-ctx.Done():
		b.unshare(webview, share)
		return nil, busy
	}
	if err := share.bytes.Acquire(ctx, n); err != nil {
		<-share.bodies
		b.unshare(webview, share)
		return nil, busy
	}
	select {
	case b.bodies <- struct{}{}:
	case <-ctx.Done():
		share.bytes.Release(n)
		<-share.bodies
		b.unshare(webview, share)
		return nil, busy
	}
	if err := b.bytes.Acquire(ctx, n); err != nil {
		<-b.bodies
		share.bytes.Release(n)
		<-share.bodies
		b.unshare(webview, share)
		return nil, busy
	}
	return func() {
		b.bytes.Release(n)
		<-b.bodies
		share.bytes.Release(n)
		<-share.bodies
		b.unshare(webview, share)
	}, nil
}

// pageURL is the URL a remote call is decided with: the page's URL when
// the request's Referer names a page of the same origin (browsers send
// only the origin to another site by default, so this is the exception),
// otherwise the origin with the path "/". Remote URL patterns with a path
// can therefore only be enforced for pages that send their full URL (see
// docs/security.md).
func pageURL(origin, referer string) string {
	if referer != "" {
		if u, err := url.Parse(referer); err == nil && u.User == nil {
			if o, err := normalizeOrigin(u.Scheme + "://" + u.Host); err == nil && o == origin {
				p := u.EscapedPath()
				if p == "" {
					p = "/"
				}
				return origin + p + queryOf(u)
			}
		}
	}
	return origin + "/"
}

func queryOf(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

// httpError is a refusal with its status and text.
type httpError struct {
	status int
	text   string
}

// request is a call as read from HTTP, before the token check.
type request struct {
	command  string
	origin   string // normalized
	key      string
	token    string
	callback uint32
	errorCB  uint32
	bytes    bool // an application/octet-stream body
	args     json.RawMessage
	raw      []byte
}

// parseRequest reads the path and headers of a POST request as Tauri's
// parse_invoke_request does, in the same order and with the same texts,
// but with 4xx statuses: the request, not the bridge, is at fault. On
// failure the returned request holds what was read so far (the command,
// for reports). The body is read later, by readBody, once the caller is
// known.
func (b *Bridge) parseRequest(r *http.Request) (out *request, _ *httpError) {
	bad := func(text string) *httpError { return &httpError{http.StatusBadRequest, text} }
	out = &request{}
	// net/http has decoded the path already (and refused a malformed one).
	cmd, ok := strings.CutPrefix(r.URL.Path, "/")
	switch {
	case !ok:
		return out, bad("the request path must be /<command>")
	case cmd == "":
		return out, bad("missing command: post to /<percent-encoded command>")
	case len(cmd) > MaxCommandLen:
		return out, bad(fmt.Sprintf("the command is %d bytes long, more than %d", len(cmd), MaxCommandLen))
	}
	out.command = strings.ToValidUTF8(cmd, "\uFFFD")

	contentType := "application/octet-stream"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return out, bad("unknown content type")
		}
		contentType = mt
	}
	if contentType != "application/json" && contentType != "application/octet-stream" {
		return out, &httpError{http.StatusUnsupportedMediaType, "content type " + contentType + " is not implemented"}
	}
	if len(r.Header.Values(HeaderInvokeKey)) == 0 {
		return out, bad("missing Tauri-Invoke-Key header")
	}
	out.key = r.Header.Get(HeaderInvokeKey)
	if len(r.Header.Values("Origin")) == 0 {
		return out, bad("missing Origin header")
	}
	var err error
	if out.origin, err = normalizeOrigin(r.Header.Get("Origin")); err != nil {
		return out, bad("Origin header is not a valid URL")
	}
	for _, h := range []struct {
		name, what string
		dst        *uint32
	}{{HeaderCallback, "callback", &out.callback}, {HeaderError, "error", &out.errorCB}} {
		if len(r.Header.Values(h.name)) == 0 {
			return out, bad("missing " + h.name + " header")
		}
		n, err := strconv.ParseUint(strings.TrimSpace(r.Header.Get(h.name)), 10, 32)
		if err != nil {
			return out, bad("Tauri " + h.what + " header value must be a numeric string")
		}
		*h.dst = uint32(n)
	}
	out.token = r.Header.Get(HeaderToken)
	out.bytes = contentType == "application/octet-stream"
	return out, nil
}

// readBody reads the arguments: bytes as they are, JSON checked (empty
// is {}).
func (b *Bridge) readBody(r *http.Request, out *request) *httpError {
	bad := func(text string) *httpError { return &httpError{http.StatusBadRequest, text} }
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, b.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", b.maxBody)}
		}
		return bad("reading the request body: " + err.Error())
	}
	switch {
	case out.bytes:
		out.raw = body
	case len(body) == 0:
		out.args = json.RawMessage("{}")
	default:
		if err := checkJSON(body); err != nil {
			return bad(err.Error())
		}
		out.args = body
	}
	return nil
}

// checkJSON tells whether body is one JSON value, and where it is not, in
// serde_json's words ("... at line L column C").
func checkJSON(body []byte) error {
	if json.Valid(body) {
		return nil
	}
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset)
		if off > len(body) {
			off = len(body)
		}
		line := 1 + strings.Count(string(body[:off]), "\n")
		col := off - strings.LastIndex(string(body[:off]), "\n") - 1
		return fmt.Errorf("the body is not valid JSON: %s at line %d column %d", se.Error(), line, col)
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return err
}

// ServeHTTP answers one request: an IPC call (POST), a CORS preflight
// (OPTIONS), or a refusal.
func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b == nil || b.g == nil {
		http.Error(w, errNoBridge.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", HeaderResponse)
	if !b.cfg.AllowNonLoopback && !isLoopback(r.RemoteAddr) {
		b.refuse(w, r, "", nil, &httpError{http.StatusForbidden, "the IPC bridge only answers clients on this machine (loopback)"})
		return
	}
	switch r.Method {
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Headers", "*")
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodPost:
	default:
		h.Set("Allow", "POST, OPTIONS")
		b.refuse(w, r, "", nil, &httpError{http.StatusMethodNotAllowed, "only POST and OPTIONS are allowed"})
		return
	}
	req, herr := b.parseRequest(r)
	if herr != nil {
		b.refuse(w, r, req.command, nil, herr)
		return
	}
	// The invoke key: a page that was not set up by this run's host.
	// Key and token are checked before the body is read, so that a
	// stranger cannot make the bridge read a large body.
	// (Tauri drops such a call without answering; capguard answers, so
	// that the promise does not hang.)
	if subtle.ConstantTimeCompare([]byte(req.key), []byte(b.key)) != 1 {
		b.refuse(w, r, req.command, nil, &httpError{http.StatusForbidden, "invalid Tauri-Invoke-Key: the page was not set up by this bridge"})
		return
	}
	if req.token == "" {
		b.refuse(w, r, req.command, nil, &httpError{http.StatusForbidden, "failed to acquire webview reference: missing " + HeaderToken + " header (the host binds every page with Bridge.Bind)"})
		return
	}
	b.mu.Lock()
	page, ok := b.pages[req.token]
	b.mu.Unlock()
	if !ok {
		b.refuse(w, r, req.command, nil, &httpError{http.StatusForbidden, "failed to acquire webview reference: unknown " + HeaderToken})
		return
	}
	if page.origin != req.origin {
		b.refuse(w, r, req.command, &page, &httpError{http.StatusForbidden, "failed to acquire webview reference: the " + HeaderToken + " belongs to a page of another origin"})
		return
	}
	origin := acl.LocalOrigin
	if !b.local[req.origin] {
		o, err := acl.ParseOrigin(pageURL(req.origin, r.Header.Get("Referer")))
		if err != nil {
			b.refuse(w, r, req.command, &page, &httpError{http.StatusBadRequest, "Origin header is not a valid URL"})
			return
		}
		origin = o
	}
	// The body is read only once the guard has allowed the call (the
	// command, the caller and the origin are known from the path and the
	// headers), under the in-flight budget.
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	load := func(inv *Invocation) error {
		rel, herr := b.admit(r, page.webview)
		release = rel
		if herr == nil {
			herr = b.readBody(r, req)
		}
		if herr != nil {
			return &bodyError{herr}
		}
		inv.Args, inv.Raw = req.args, req.raw
		return nil
	}
	ctx := r.Context()
	if b.cfg.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.CallTimeout)
		defer cancel()
	}
	result, err := b.g.Invoke(ctx, &Invocation{
		Command: req.command,
		Window:  page.window,
		Webview: page.webview,
		Origin:  origin,
		load:    load,
	})
	var be *bodyError
	if errors.As(err, &be) {
		b.refuse(w, r, req.command, &page, be.herr)
		return
	}
	if release == nil {
		cutUnreadBody(w, r)
	}
	status := "ok"
	if err != nil {
		status, result = "error", RejectValue(err)
	}
	h.Set(HeaderResponse, status)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(result)
}

func (b *Bridge) refuse(w http.ResponseWriter, r *http.Request, cmd string, page *pageBinding, e *httpError) {
	if b.cfg.OnReject != nil {
		rj := Rejection{Time: time.Now(), Command: cmd, Origin: r.Header.Get("Origin"), Status: e.status, Text: e.text}
		if page != nil {
			rj.Window, rj.Webview = page.window, page.webview
		}
		b.cfg.OnReject(rj)
	}
	cutUnreadBody(w, r)
	h := w.Header()
	h.Set("Content-Type", "text/plain") // Tauri's script compares it as is
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	_, _ = io.WriteString(w, e.text)
}

// unreadBodyWait is how long the server may go on reading the body of a
// call the bridge answered without reading it: net/http discards up to
// 256 KiB of it before it answers, to keep the connection alive, and would
// otherwise give a sender that dribbles it the whole ReadTimeout.
const unreadBodyWait = time.Second

// cutUnreadBody bounds the time the server spends discarding r's body.
func cutUnreadBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(unreadBodyWait))
	}
}

// isLoopback tells whether a request's remote address is on the loopback
// interface.
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
