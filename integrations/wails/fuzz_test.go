package capwails_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	capwails "github.com/capguard/capguard/integrations/wails"
)

// FuzzRuntimeCall sends arbitrary runtime queries and window headers from
// a page with a valid token: the guard never panics, and whatever binding
// call reaches Wails carries an allowed grant.
func FuzzRuntimeCall(f *testing.F) {
	for _, seed := range []struct{ query, window, name string }{
		{"object=0&method=0&args=" + `{"call-id":"1","methodName":"` + pkg + `.VaultService.OpenVault","args":["x"]}`, "1", ""},
		{"object=0&method=0&args=" + `{"call-id":2,"methodID":1,"args":null}`, "2", "main"},
		{"object=0&method=0&args=%7B&args=x", "1", ""},
		{"object=6&method=1", "2", "settings"},
		{"object=x", "9", ""},
	} {
		f.Add(seed.query, seed.window, seed.name)
	}
	fx := newFixture(f)
	tokens := map[string]string{"1": fx.load("1"), "2": fx.load("2")}
	f.Fuzz(func(t *testing.T, query, window, name string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = capwails.RuntimePath
		r.URL.RawQuery = query
		r.Header.Set(capwails.HeaderWindowID, window)
		if tok, ok := tokens[window]; ok {
			r.Header.Set(capwails.HeaderToken, tok)
		}
		if name != "" && !strings.ContainsAny(name, "\r\n\x00") {
			r.Header.Set(capwails.HeaderWindowName, name)
		}
		before := len(fx.wails.handed())
		w := httptest.NewRecorder()
		fx.handler.ServeHTTP(w, r)
		handed := fx.wails.handed()
		if len(handed) == before {
			if w.Code == http.StatusOK {
				t.Fatalf("200 without reaching Wails: %q", query)
			}
			return
		}
		got := handed[len(handed)-1]
		if got.URL.Query().Get("object") == "0" {
			if a := capwails.AccessFrom(got.Context()); a == nil || !a.Decision.Allowed {
				t.Fatalf("a binding call reached Wails without an allowed grant: %q", query)
			}
		}
		if got.Header.Get(capwails.HeaderWindowName) != "" {
			t.Fatalf("a window name reached Wails: %q", name)
		}
	})
}
