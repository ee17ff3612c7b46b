package ipc_test

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/capguard/capguard/ipc"
)

// TestLaunchSecretsPerWindow is issue 25's item 7 for the launch secrets:
// they wait per window label, at most MaxPages each, so that launching a
// window many times (a page that makes its window reload, or a host that
// opens many panels) forgets only that window's oldest secrets, never
// the secret another window is about to use.
func TestLaunchSecretsPerWindow(t *testing.T) {
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.MaxPages = 3 })
	mainSecret, err := f.b.Launch(ipc.Binding{Window: "main", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	var settings []string
	for range 10_000 {
		s, err := f.b.Launch(ipc.Binding{Window: "settings", Origin: settingsOrigin})
		if err != nil {
			t.Fatal(err)
		}
		settings = append(settings, s)
	}
	if _, err := f.b.BindLaunch(mainSecret, mainOrigin); err != nil {
		t.Errorf("10,000 launches of settings forgot main's secret: %v", err)
	}
	if _, err := f.b.BindLaunch(settings[len(settings)-4], settingsOrigin); !errors.Is(err, ipc.ErrLaunch) {
		t.Errorf("a secret beyond settings' bound of 3 still bound a page: %v", err)
	}
	for _, s := range settings[len(settings)-3:] {
		if _, err := f.b.BindLaunch(s, settingsOrigin); err != nil {
			t.Errorf("one of settings' last 3 secrets: %v", err)
		}
	}
}

// TestRequestHeadersAreBounded is issue 25's item 7 for the request
// headers, the input a page controls beside the body: the server made by
// NewServer reads at most 64 KiB of them (a longer Referer, or many
// headers, is answered 431 without reaching the bridge), so a page URL
// taken from Referer (what the ACL matches and the audit log records) is
// shorter than that. A call just under the bound is decided as usual, and
// the server keeps serving after a refused one.
func TestRequestHeadersAreBounded(t *testing.T) {
	f := newBridgeFixture(t, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ipc.NewServer(f.b, ipc.ServerConfig{})
	go func() { _ = srv.Serve(ipc.LimitListener(l, ipc.ServerConfig{})) }()
	defer srv.Close()
	send := func(p ipc.Page, origin string, mod func(*http.Request)) int {
		t.Helper()
		r := call(t, p, origin, "plugin:files|stat", `{}`)
		r.RequestURI = ""
		r.URL, _ = url.Parse("http://" + l.Addr().String() + r.URL.Path)
		mod(r)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		name string
		mod  func(*http.Request)
		want int
	}{
		{"a 60 KiB Referer", func(r *http.Request) { r.Header.Set("Referer", remoteOrigin+"/"+strings.Repeat("a", 60<<10)) }, http.StatusOK},
		{"a 100 KiB Referer", func(r *http.Request) { r.Header.Set("Referer", remoteOrigin+"/"+strings.Repeat("a", 100<<10)) }, http.StatusRequestHeaderFieldsTooLarge},
		{"5,000 headers", func(r *http.Request) {
			for i := range 5000 {
				r.Header.Set("X-Pad-"+strconv.Itoa(i), strings.Repeat("v", 16))
			}
		}, http.StatusRequestHeaderFieldsTooLarge},
		{"after the refusals", func(*http.Request) {}, http.StatusOK},
	} {
		if got := send(f.remote, remoteOrigin, tc.mod); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
}
