package capwails_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	capwails "github.com/capguard/capguard/integrations/wails"
)

// FuzzRuntimeCall sends arbitrary runtime queries and window headers from
// pages with proven tokens: the guard never panics, no binding call, call
// cancellation or event reaches Wails (the guard runs them), a call it
// answers as run was decided and allowed, and no window name reaches
// Wails.
func FuzzRuntimeCall(f *testing.F) {
	for _, seed := range []struct{ query, window, name string }{
		{"object=0&method=0&args=" + `{"call-id":"1","methodName":"` + pkg + `.VaultService.VaultInfo","args":["x"]}`, "1", ""},
		{"object=0&method=0&args=" + `{"call-id":"2","methodID":1,"args":null}`, "2", "main"},
		{"object=0&method=0&args=%7B&args=x", "1", ""},
		{"object=3&method=0&args=" + `{"name":"vault:opened","data":{"n":1}}`, "2", ""},
		{"object=6&method=1", "2", "settings"},
		{"object=10&method=0&args=" + `{"call-id":"1"}`, "1", ""},
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
		before, decided := len(fx.wails.handed()), fx.decided()
		w := httptest.NewRecorder()
		fx.handler.ServeHTTP(w, r)
		if w.Header().Get(capwails.HeaderCall) != "" {
			fx.mu.Lock()
			last := fx.decisions[len(fx.decisions)-1]
			fx.mu.Unlock()
			if fx.decided() == decided || !last.Allowed {
				t.Fatalf("a call ran without an allowed decision: %q", query)
			}
		}
		handed := fx.wails.handed()
		if len(handed) == before {
			return
		}
		got := handed[len(handed)-1]
		switch got.URL.Query().Get("object") {
		case "0", "3", "10":
			t.Fatalf("Wails was handed a call, an event or a cancellation: %q", got.URL.RawQuery)
		}
		if got.Header.Get(capwails.HeaderWindowName) != "" || w.Code != http.StatusOK {
			t.Fatalf("a window name reached Wails, or a refused request did: %q %q", name, query)
		}
	})
}
