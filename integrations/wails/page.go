package capwails

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
)

//go:embed page.js
var pageScript []byte

// pageScriptVersion names the page script's content in its URL.
var pageScriptVersion = func() string {
	sum := sha256.Sum256(pageScript)
	return hex.EncodeToString(sum[:6])
}()

// pageConfig is what the page script of one page load is told.
type pageConfig struct {
	Token       string `json:"token"`
	Load        string `json:"load"`
	Window      string `json:"window"`
	TokenHeader string `json:"tokenHeader"`
	Base        string `json:"base"`
	RuntimePath string `json:"runtimePath"`
	// Refused, when the page got no token, says why.
	Refused string `json:"refused,omitempty"`
}

// servePage serves a page of the app and, when it is HTML served to a
// Wails window, gives it a fresh token and the script that uses it.
func (g *Guard) servePage(w http.ResponseWriter, r *http.Request, next http.Handler) {
	id, err := strconv.ParseUint(r.Header.Get(HeaderWindowID), 10, 64)
	if err != nil || id > uint64(^uint(0)) {
		next.ServeHTTP(w, r)
		return
	}
	window, ok := g.host.WindowName(uint(id))
	if !ok {
		next.ServeHTTP(w, r)
		return
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	ct := rec.header.Get("Content-Type")
	if rec.status == http.StatusOK && (strings.HasPrefix(ct, "text/html") || (ct == "" && looksLikeHTML(body))) {
		cfg := pageConfig{Window: window, TokenHeader: HeaderToken, Base: g.path, RuntimePath: RuntimePath}
		if site := g.foreignSite(r); site != "" {
			// Loaded by another site (a link, a frame, a fetch of a remote
			// page): no token, so nothing it loads can call.
			cfg.Refused = "capguard: this page was loaded from " + site + ", another site: it may not call the app (open it from the app)"
		} else {
			d, err := g.docs.issue(uint(id), window)
			if err != nil {
				writeText(w, http.StatusInternalServerError, err.Error())
				return
			}
			cfg.Token, cfg.Load = d.token, d.load
		}
		body = injectScript(body, g.scriptTag(cfg, cspNonce(rec.header)))
		rec.header.Set("Content-Type", "text/html; charset=utf-8")
		rec.header.Set("Cache-Control", "no-store")
		rec.header.Del("Content-Length")
		rec.header.Del("Etag")
		rec.header.Del("Last-Modified")
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// foreignSite is the origin of another site that loaded the page (its
// Referer or Origin), or "".
func (g *Guard) foreignSite(r *http.Request) string {
	for _, v := range []string{r.Header.Get("Origin"), r.Header.Get("Referer")} {
		if v == "" {
			continue
		}
		o := originOfURL(v)
		if o == "" {
			if v == "null" {
				return "an opaque origin"
			}
			return strconv.Quote(v)
		}
		if !g.local[o] {
			return o
		}
	}
	return ""
}

// scriptTag is the element that loads the page script, first in the
// page: an external script of the app's own origin (allowed by a
// Content-Security-Policy with 'self'), carrying the page's nonce when the
// policy names one.
func (g *Guard) scriptTag(cfg pageConfig, nonce string) string {
	data, _ := json.Marshal(cfg) // strings only: always encodes
	var b strings.Builder
	b.WriteString(`<script src="`)
	b.WriteString(g.path)
	b.WriteString("page.js?v=")
	b.WriteString(pageScriptVersion)
	b.WriteString(`" data-capguard="`)
	b.WriteString(html.EscapeString(string(data)))
	b.WriteByte('"')
	if nonce != "" {
		b.WriteString(` nonce="`)
		b.WriteString(nonce)
		b.WriteByte('"')
	}
	b.WriteString("></script>")
	return b.String()
}

// cspNonce finds the nonce that the response's Content-Security-Policy
// allows scripts with: 'nonce-...' in script-src-elem, else script-src,
// else default-src, of the first policy that has one.
func cspNonce(h http.Header) string {
	for _, header := range h.Values("Content-Security-Policy") {
		for _, policy := range strings.Split(header, ",") {
			directives := map[string][]string{}
			for _, d := range strings.Split(policy, ";") {
				f := strings.Fields(d)
				if len(f) == 0 {
					continue
				}
				name := strings.ToLower(f[0])
				if _, seen := directives[name]; !seen {
					directives[name] = f[1:]
				}
			}
			for _, name := range []string{"script-src-elem", "script-src", "default-src"} {
				sources, ok := directives[name]
				if !ok {
					continue
				}
				for _, s := range sources {
					if n, ok := strings.CutPrefix(s, "'nonce-"); ok && strings.HasSuffix(n, "'") && validNonce(n[:len(n)-1]) {
						return n[:len(n)-1]
					}
				}
				break // the directive that applies has no nonce
			}
		}
	}
	return ""
}

// validNonce accepts a CSP nonce's base64 (or base64url) characters.
func validNonce(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// injectScript puts script before anything else the page runs: right
// after <head ...>, else after <html ...>, else at the start.
func injectScript(body []byte, script string) []byte {
	lower := bytes.ToLower(body)
	at := 0
	for _, tag := range []string{"<head", "<html"} {
		if i := indexTag(lower, tag); i >= 0 {
			if j := bytes.IndexByte(lower[i:], '>'); j >= 0 {
				at = i + j + 1
				break
			}
		}
	}
	out := make([]byte, 0, len(body)+len(script))
	out = append(out, body[:at]...)
	out = append(out, script...)
	return append(out, body[at:]...)
}

// indexTag finds an opening tag (not <header, <html-foo).
func indexTag(b []byte, tag string) int {
	off := 0
	for {
		i := bytes.Index(b[off:], []byte(tag))
		if i < 0 {
			return -1
		}
		end := off + i + len(tag)
		if end < len(b) && (b[end] == '>' || b[end] == ' ' || b[end] == '\t' || b[end] == '\n' || b[end] == '\r' || b[end] == '/') {
			return off + i
		}
		off = end
	}
}

func looksLikeHTML(b []byte) bool {
	t := bytes.ToLower(bytes.TrimSpace(b[:min(len(b), 512)]))
	return bytes.HasPrefix(t, []byte("<!doctype html")) || bytes.HasPrefix(t, []byte("<html"))
}

// recorder holds a response so that the guard can add its script.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// serveScript serves the page script.
func (g *Guard) serveScript(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeText(w, http.StatusMethodNotAllowed, "capguard: GET the page script")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(pageScript)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(pageScript)
	}
}

// pageOf finds the document of a start or prove request: the page's own
// token, sent from its own window, by a page of the app.
func (g *Guard) pageOf(w http.ResponseWriter, r *http.Request) (*document, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeText(w, http.StatusMethodNotAllowed, "capguard: POST only")
		return nil, false
	}
	c, token, rf := g.identifyWindow(r)
	if rf == nil && token == "" {
		rf = forbidden("missing " + HeaderToken)
	}
	if rf != nil {
		g.refuse(w, r, "", c.window, rf)
		return nil, false
	}
	d, _, ok := g.docs.lookup(token)
	switch {
	case !ok:
		rf = forbidden("unknown " + HeaderToken + " (the page was forgotten: reload it)")
	case d.windowID != c.windowID:
		rf = forbidden(fmt.Sprintf("the %s was issued to window %q, not to %q", HeaderToken, d.window, c.window))
	}
	if rf != nil {
		g.refuse(w, r, "", c.window, rf)
		return nil, false
	}
	return d, true
}

// serveStart begins a page's proof that it is its window's top-level
// document: the host runs a fresh challenge in the window's top-level
// document (and nowhere else), for the page load's public id. The page
// that holds the token and receives the challenge proves with both
// (serveProve): a page in a frame holds a token but never receives the
// challenge, and the document above it receives the challenge but has no
// token.
func (g *Guard) serveStart(w http.ResponseWriter, r *http.Request) {
	d, ok := g.pageOf(w, r)
	if !ok {
		return
	}
	if _, st, _ := g.docs.lookup(d.token); st == active {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	challenge, err := g.docs.setChallenge(d)
	if err != nil {
		g.refuse(w, r, "", d.window, forbidden(err.Error()))
		return
	}
	// Both values are hex: nothing to escape.
	script := "window.__capguard_prove&&window.__capguard_prove(\"" + d.load + "\",\"" + challenge + "\")"
	if !g.host.ExecJS(d.windowID, script) {
		g.refuse(w, r, "", d.window, forbidden("the window is gone"))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// serveProve ends the proof: the page sends the challenge it received.
func (g *Guard) serveProve(w http.ResponseWriter, r *http.Request) {
	d, ok := g.pageOf(w, r)
	if !ok {
		return
	}
	var body struct {
		Challenge string `json:"challenge"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1024))
	if err != nil || json.Unmarshal(data, &body) != nil {
		g.refuse(w, r, "", d.window, &refusal{http.StatusBadRequest, `capguard: want {"challenge": "..."}`})
		return
	}
	if err := g.docs.prove(d, body.Challenge); err != nil {
		g.refuse(w, r, "", d.window, forbidden(err.Error()))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
