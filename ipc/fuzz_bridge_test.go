package ipc_test

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
)

// watchedBody is a body that records whether anything read it.
type watchedBody struct {
	read bool
	r    io.Reader
}

func (t *watchedBody) Read(p []byte) (int, error) {
	t.read = true
	return t.r.Read(p)
}

// FuzzBridgeDecision drives well-keyed calls of the three fixture pages
// with arbitrary commands, Referers, content types and bodies: the bridge
// never panics and never answers 5xx, the handler runs exactly when the
// reference decision (acl.Resolved.Decide, on the URL the bridge decides
// with) allows the call and the body is valid, and the body of a call that
// is not allowed is never read.
func FuzzBridgeDecision(f *testing.F) {
	fx := newBridgeFixture(f, func(c *ipc.BridgeConfig) { c.MaxBody = 1 << 12 })
	res := resolveFiles(f)
	pages := []struct {
		page   ipc.Page
		origin string
		window string
	}{{fx.main, mainOrigin, "main"}, {fx.settings, settingsOrigin, "settings"}, {fx.remote, remoteOrigin, "main"}}
	f.Add(uint8(0), "plugin:files|stat", "", "application/json", `{"path":"/x"}`)
	f.Add(uint8(1), "plugin:files|stat", "", "application/json", `{}`)
	f.Add(uint8(2), "plugin:files|stat", remoteOrigin+"/app/x?y#z", "application/json", `{}`)
	f.Add(uint8(2), "plugin:files|read", "https://evil.example/x", "", "\x00\x01")
	f.Add(uint8(0), "plugin:files|write", "", "application/json; charset=utf-8", `{"path":`)
	f.Add(uint8(1), "plugin:files|read", "", "application/json", strings.Repeat("[", 5000))
	f.Fuzz(func(t *testing.T, which uint8, command, referer, ctype, body string) {
		p := pages[int(which)%len(pages)]
		if command == "" || len(command) > ipc.MaxCommandLen || strings.ContainsAny(command, "\x00") {
			return
		}
		r := call(t, p.page, p.origin, command, "")
		tw := &watchedBody{r: strings.NewReader(body)}
		r.Body = io.NopCloser(tw)
		r.ContentLength = int64(len(body))
		if ctype == "" {
			r.Header.Del("Content-Type")
		} else {
			r.Header.Set("Content-Type", ctype)
		}
		if referer != "" {
			r.Header.Set("Referer", referer)
		}
		// The URL the bridge decides with.
		origin := acl.LocalOrigin
		if p.origin == remoteOrigin {
			pageURL := remoteOrigin + "/"
			if u, err := url.Parse(referer); err == nil && referer != "" && u.User == nil && strings.EqualFold(u.Scheme+"://"+u.Host, remoteOrigin) {
				pageURL = remoteOrigin + u.EscapedPath()
				if u.EscapedPath() == "" {
					pageURL = remoteOrigin + "/"
				}
				if u.RawQuery != "" {
					pageURL += "?" + u.RawQuery
				}
			}
			o, err := acl.ParseOrigin(pageURL)
			if err != nil {
				return
			}
			origin = o
		}
		before := fx.h.count()
		a := serve(fx.b, r)
		reached := fx.h.count() - before
		if a.status >= 500 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		allowed := res.Decide(acl.Request{Command: strings.ToValidUTF8(command, "\uFFFD"), Window: p.window, Webview: p.window, Origin: origin}).Allowed
		if !allowed {
			if tw.read {
				t.Fatalf("the body of a call that is not allowed was read (%s from %s)", command, p.window)
			}
			if reached != 0 {
				t.Fatalf("the handler ran for a denied call")
			}
			return
		}
		if a.status == 200 && a.response == "ok" && reached != 1 {
			t.Fatalf("answered ok without the handler")
		}
		if reached == 1 {
			inv := fx.h.last()
			if inv.Origin != origin || inv.Window != p.window {
				t.Fatalf("the handler saw %v %s, want %v %s", inv.Origin, inv.Window, origin, p.window)
			}
			if len(inv.Args) > 0 && !json.Valid(inv.Args) {
				t.Fatalf("invalid JSON args reached the handler: %q", inv.Args)
			}
		}
	})
}
