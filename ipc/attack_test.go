package ipc_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capguard/capguard/ipc"
)

// TestLaunchSecrets is issue 14's cases 2 and 8 at the bridge: tokens are
// minted only for a valid, single-use launch secret, and 10,000 foreign
// attempts (guessed secrets, and pages bound in another window) leave the
// first page able to call.
func TestLaunchSecrets(t *testing.T) {
	f := newBridgeFixture(t, nil)
	secret, err := f.b.Launch(ipc.Binding{Window: "main", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.b.BindLaunch(secret, mainOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.BindLaunch(secret, mainOrigin); !errors.Is(err, ipc.ErrLaunch) {
		t.Errorf("a used secret bound again: %v", err)
	}
	for i := 0; i < 10_000; i++ {
		if _, err := f.b.BindLaunch(fmt.Sprintf("%032x", i), mainOrigin); !errors.Is(err, ipc.ErrLaunch) {
			t.Fatalf("a guessed secret bound a page: %v", err)
		}
		if _, err := f.b.Bind(ipc.Binding{Window: "settings", Origin: settingsOrigin}); err != nil {
			t.Fatal(err)
		}
	}
	if a := serve(f.b, call(t, first, mainOrigin, "plugin:files|stat", `{}`)); a.status != 200 || a.response != "ok" {
		t.Errorf("the first page after 10,000 foreign attempts: %d %s %s", a.status, a.response, a.body)
	}
	// Secrets expire.
	g := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.LaunchExpiry = time.Millisecond })
	old, err := g.b.Launch(ipc.Binding{Window: "main", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := g.b.BindLaunch(old, mainOrigin); !errors.Is(err, ipc.ErrLaunch) {
		t.Errorf("an expired secret bound a page: %v", err)
	}
	other, err := g.b.Launch(ipc.Binding{Window: "main", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.BindLaunch(other, settingsOrigin); !errors.Is(err, ipc.ErrLaunch) {
		t.Errorf("a secret of another bridge bound a page: %v", err)
	}
	misplaced, err := f.b.Launch(ipc.Binding{Window: "main", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.BindLaunch(misplaced, settingsOrigin); !errors.Is(err, ipc.ErrLaunch) {
		t.Errorf("a secret of main's page bound a page of settings' origin: %v", err)
	}
	if _, err := g.b.Launch(ipc.Binding{Window: "bad label!", Origin: mainOrigin}); err == nil {
		t.Error("Launch accepted a bad label")
	}
}

// endless is a body of n bytes that costs no memory to send.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n)
	for i := range p[:k] {
		p[i] = ' '
	}
	e.n -= k
	return int(k), nil
}

// peakRSS resets the process's peak resident size (Linux: clear_refs 5)
// and returns a function reading how much it grew since.
func peakRSS(t *testing.T) func() int64 {
	read := func(field string) int64 {
		data, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Fatalf("reading the resident size: %v (this test needs Linux /proc)", err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(l, field+":"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				return kb << 10
			}
		}
		t.Fatalf("no %s in /proc/self/status", field)
		return 0
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak resident size: %v", err)
	}
	base := read("VmRSS")
	return func() int64 { return read("VmHWM") - base }
}

// TestBodyFloodToDeniedCommand is case 4: 64 concurrent 15 MB bodies to a
// command the caller may not call are answered without reading them: the
// process's peak resident size grows by less than 64 MiB, every call is
// denied, and no handler runs.
func TestBodyFloodToDeniedCommand(t *testing.T) {
	f := newBridgeFixture(t, nil)
	var denied atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		f.b.ServeHTTP(rec, r)
		if rec.Header().Get(ipc.HeaderResponse) == "error" {
			denied.Add(1)
		}
	}))
	defer srv.Close()
	flood := func(size int64) {
		var wg sync.WaitGroup
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// settings may not call plugin:files|stat.
				r := call(t, f.settings, settingsOrigin, "plugin:files|stat", "")
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+url.PathEscape("plugin:files|stat"), &endless{size})
				req.Header = r.Header
				req.ContentLength = size
				if res, err := srv.Client().Do(req); err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}()
		}
		wg.Wait()
	}
	// The same 64 concurrent calls with 1 KiB bodies first, so that what
	// is measured is what the bodies cost, not the connections, buffers
	// and goroutines of the first 64 calls (under -race their shadow
	// memory alone is tens of MiB).
	flood(1 << 10)
	denied.Store(0)
	grown := peakRSS(t)
	flood(15 << 20)
	g := grown()
	t.Logf("peak resident size grew by %.1f MiB for 64 × 15 MiB bodies", float64(g)/(1<<20))
	if g >= 64<<20 {
		t.Errorf("the flood raised the peak resident size by %d MiB, want under 64", g>>20)
	}
	if n := denied.Load(); n != 64 {
		t.Errorf("%d of 64 calls were denied", n)
	}
	if f.h.count() != 0 {
		t.Errorf("a handler ran %d times", f.h.count())
	}
}

type statusRecorder struct{ http.ResponseWriter }

// TestBodyBudget: the bodies of allowed calls share the in-flight budget:
// a call that cannot get its share within BodyWait is answered 503, and
// its handler does not run.
func TestBodyBudget(t *testing.T) {
	hold, inside := make(chan struct{}), make(chan struct{}, 1)
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) {
		c.MaxBody, c.MaxInflight, c.BodyWait = 1<<20, 1<<20, 20*time.Millisecond
	})
	f.h.block = func() { inside <- struct{}{}; <-hold }
	big := strings.Repeat(" ", 900<<10) + "{}"
	done := make(chan answer)
	go func() { done <- serve(f.b, call(t, f.main, mainOrigin, "plugin:files|stat", big)) }()
	<-inside
	f.h.block = nil
	if a := serve(f.b, call(t, f.main, mainOrigin, "plugin:files|stat", big)); a.status != http.StatusServiceUnavailable {
		t.Errorf("a second large body while the first is held: %d %s", a.status, a.body)
	}
	close(hold)
	if a := <-done; a.status != 200 || a.response != "ok" {
		t.Errorf("the first call: %d %s", a.status, a.body)
	}
	// With the budget back, the same call goes through.
	if a := serve(f.b, call(t, f.main, mainOrigin, "plugin:files|stat", big)); a.status != 200 || a.response != "ok" {
		t.Errorf("after the budget was released: %d %s", a.status, a.body)
	}
}

// TestStalledBodyIsCut is case 5: a client that sends the headers of an
// allowed call and one byte of its body is cut off when the read timeout
// runs out, instead of holding the connection.
func TestStalledBodyIsCut(t *testing.T) {
	f := newBridgeFixture(t, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ipc.ServerConfig{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond}
	srv := ipc.NewServer(f.b, cfg)
	go func() { _ = srv.Serve(ipc.LimitListener(l, cfg)) }()
	defer srv.Close()
	for _, tc := range []struct{ name, send string }{
		{"stalled body", "POST /" + url.PathEscape("plugin:files|stat") + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n" +
			"Origin: " + mainOrigin + "\r\nTauri-Callback: 1\r\nTauri-Error: 2\r\nTauri-Invoke-Key: " + invokeKey(t, f.main) + "\r\n" + ipc.HeaderToken + ": " + f.main.Token + "\r\n\r\n{"},
		{"stalled headers", "POST /x HTTP/1.1\r\nHost: x\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			// A bound for the test, not a speed figure: without the
			// timeouts the server would hold the connection forever.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.Copy(io.Discard, bufio.NewReader(c))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server still held the connection after 10 s")
			}
			t.Logf("cut after %v", time.Since(start).Round(time.Millisecond))
		})
	}
	if f.h.count() != 0 {
		t.Errorf("a handler ran for a stalled call")
	}
}

// TestRemoteDecidedOnPageURL is case 9: a remote call is decided on the
// page's URL when the request's Referer names a page of its origin, so
// that remote patterns with a path can match; without one, on origin + "/".
func TestRemoteDecidedOnPageURL(t *testing.T) {
	f := newBridgeFixture(t, nil)
	for _, tc := range []struct{ referer, want string }{
		{"", "remote: https://app.example.com/"},
		{remoteOrigin + "/app/page.html?x=1#frag", "remote: https://app.example.com/app/page.html?x=1"},
		{"https://other.example.com/app/page.html", "remote: https://app.example.com/"},
	} {
		r := call(t, f.remote, remoteOrigin, "plugin:files|stat", `{}`)
		if tc.referer != "" {
			r.Header.Set("Referer", tc.referer)
		}
		if a := serve(f.b, r); a.status != 200 || a.response != "ok" {
			t.Fatalf("referer %q: %d %s", tc.referer, a.status, a.body)
		}
		if got := f.h.last().Origin.String(); got != tc.want {
			t.Errorf("referer %q: decided on %s, want %s", tc.referer, got, tc.want)
		}
	}
}
