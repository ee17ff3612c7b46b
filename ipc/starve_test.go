package ipc_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/ipc"
)

// liveness bounds how long these tests wait for an answer. It is a
// deadline for the test, not a speed figure: without the fixes a client
// waits for the server's 60 s idle timeout or its 30 s read timeout.
const liveness = 10 * time.Second

// startServer serves f's bridge on a real loopback socket as the docs and
// the demo do (NewServer, LimitListener, cfg) and returns its address.
func startServer(t *testing.T, f *bridgeFixture, cfg ipc.ServerConfig) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ipc.NewServer(f.b, cfg)
	go func() { _ = srv.Serve(ipc.LimitListener(l, cfg)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// strangerRequest is a call of a process that has no page: refused (4xx),
// and the connection stays open for the next request (keep-alive).
const strangerRequest = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

// roundTrip writes req on c and reads one answer.
func roundTrip(c net.Conn, br *bufio.Reader, req string) (*http.Response, error) {
	if err := c.SetDeadline(time.Now().Add(liveness)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, err
}

// holdIdle opens n keep-alive connections to addr, makes one request on
// each, reads its answer and keeps the connection idle: what any local
// process can do.
func holdIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("attacker connection %d: %v", i, err)
		}
		conns = append(conns, c)
		res, err := roundTrip(c, bufio.NewReader(c), strangerRequest)
		if err != nil {
			t.Fatalf("attacker connection %d: %v", i, err)
		}
		if res.StatusCode/100 != 4 || res.Close {
			t.Fatalf("attacker connection %d: %d, close %v; want a refusal on a kept-alive connection", i, res.StatusCode, res.Close)
		}
	}
	return conns
}

// pageCall is a well-formed allowed call of page p, on the wire.
func pageCall(t *testing.T, p ipc.Page) string {
	return "POST /" + url.PathEscape("plugin:files|stat") + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" +
		"Origin: " + mainOrigin + "\r\nTauri-Callback: 1\r\nTauri-Error: 2\r\nTauri-Invoke-Key: " + invokeKey(t, p) + "\r\n" +
		ipc.HeaderToken + ": " + p.Token + "\r\n\r\n{}"
}

// answered dials addr as a new client and makes one allowed call.
func answered(t *testing.T, addr string, p ipc.Page) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	res, err := roundTrip(c, bufio.NewReader(c), pageCall(t, p))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("no answer within %v: the server is starved", liveness)
		}
		return err
	}
	if res.StatusCode != 200 || res.Header.Get(ipc.HeaderResponse) != "ok" {
		return fmt.Errorf("answer %d %q, want 200 ok", res.StatusCode, res.Header.Get(ipc.HeaderResponse))
	}
	t.Logf("a new client answered in %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// TestIdleConnectionsCannotStarve is issue 25's item 2: a local process
// that holds DefaultMaxConns idle keep-alive connections to the bridge's
// server (built as the docs build it, with the default ServerConfig)
// does not keep a new client from being answered, even when it takes its
// connections again.
// (Before the fix the new client waited in the listen queue until the
// server's 60 s idle timeout.)
func TestIdleConnectionsCannotStarve(t *testing.T) {
	f := newBridgeFixture(t, nil)
	addr := startServer(t, f, ipc.ServerConfig{})
	for round := 0; round < 2; round++ {
		holdIdle(t, addr, ipc.DefaultMaxConns)
		for i := 0; i < 3; i++ {
			if err := answered(t, addr, f.main); err != nil {
				t.Fatalf("round %d, new client %d with %d idle connections held: %v", round, i, ipc.DefaultMaxConns, err)
			}
		}
	}
}

// TestStrangerCannotHoldAConnectionWithABody: a process without a page
// sends the headers of a call and then its body a byte at a time. The
// bridge refuses the call without reading the body, and the connection
// is closed soon after instead of being held for the server's read
// timeout (30 s) while the server discards the body.
func TestStrangerCannotHoldAConnectionWithABody(t *testing.T) {
	f := newBridgeFixture(t, nil)
	addr := startServer(t, f, ipc.ServerConfig{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	start := time.Now()
	go func() { // dribble the body, as slowly as the read timeout allows
		for {
			time.Sleep(100 * time.Millisecond)
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(liveness))
	res, err := http.ReadResponse(br, nil)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("no answer after %v: the server is reading the stranger's body", liveness)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode/100 != 4 {
		t.Errorf("status %d, want a refusal", res.StatusCode)
	}
	_, err = io.Copy(io.Discard, br)
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the stranger's connection after %v", liveness)
	}
	t.Logf("answered and closed after %v", time.Since(start).Round(time.Millisecond))
}

// TestSlowHeadersCannotStarve: a local process that keeps
// DefaultMaxConns connections open without finishing their headers (here with a generous ReadHeaderTimeout of a minute) does not
// keep a new client from being answered: once the server is under
// pressure, connections that have not sent their headers within
// PressureIdleTimeout make room for new ones.
func TestSlowHeadersCannotStarve(t *testing.T) {
	f := newBridgeFixture(t, nil)
	addr := startServer(t, f, ipc.ServerConfig{ReadHeaderTimeout: time.Minute})
	for i := 0; i < ipc.DefaultMaxConns; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := answered(t, addr, f.main); err != nil {
		t.Fatalf("a new client with %d connections sending their headers slowly: %v", ipc.DefaultMaxConns, err)
	}
}

// pipeListener hands out one end of net.Pipe connections that appear to
// come from the address a dialer chooses: a way to test clients that are
// not on loopback.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
}

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { close(l.done); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial(ip string) net.Conn {
	server, client := net.Pipe()
	l.conns <- addrConn{server, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	return client
}

// TestPerClientBound: a client that is not on loopback holds at most
// MaxConnsPerClient connections; beyond, its own idle connection makes
// room, or the new connection is closed, and another client is served.
func TestPerClientBound(t *testing.T) {
	cfg := ipc.ServerConfig{MaxConns: 8, MaxConnsPerClient: 2, PressureIdleTimeout: -1}
	l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	hold, entered := make(chan struct{}), make(chan struct{}, 2)
	srv := ipc.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-hold
		}
		_, _ = io.WriteString(w, "ok")
	}), cfg)
	lim := ipc.LimitListener(l, cfg)
	go func() { _ = srv.Serve(lim) }()
	defer srv.Close()
	defer close(hold)
	const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	use := func(c net.Conn) error {
		res, err := roundTrip(c, bufio.NewReader(c), get)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		return err
	}
	closed := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(liveness))
		_, err := c.Read(make([]byte, 1))
		return errors.Is(err, io.EOF)
	}
	a1, a2 := l.dial("192.0.2.1"), l.dial("192.0.2.1")
	for i, c := range []net.Conn{a1, a2} {
		if err := use(c); err != nil {
			t.Fatal(err)
		}
		// In this order: a1 is the one idle the longest.
		ipc.WaitIdle(t, lim, i+1)
	}
	a3 := l.dial("192.0.2.1") // takes a1's place: the client's own idle connection
	if err := use(a3); err != nil {
		t.Fatalf("the client's third connection: %v", err)
	}
	if !closed(a1) {
		t.Fatal("the client's connection idle the longest stayed open")
	}
	// a2 and a3 in a request: a fourth is closed unserved.
	for _, c := range []net.Conn{a2, a3} {
		if _, err := io.WriteString(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	<-entered
	<-entered
	if err := use(l.dial("192.0.2.1")); err == nil {
		t.Fatal("a connection beyond the client's bound was served")
	}
	if err := use(l.dial("192.0.2.2")); err != nil {
		t.Fatalf("another client: %v", err)
	}
}

// TestOneWebviewCannotHoldTheBodyBudget is issue 25's item 7 for the body
// budget: the pages of one webview (here a panel that may call one
// command) try to hold every body slot with calls whose handlers do not
// return; they get half, and a call of the main window still gets its
// body read and is answered. (Before, it waited BodyWait and got 503.)
func TestOneWebviewCannotHoldTheBodyBudget(t *testing.T) {
	hold := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	defer release()
	inside := make(chan struct{}, ipc.DefaultMaxBodies)
	f := newBridgeFixture(t, func(c *ipc.BridgeConfig) { c.BodyWait = 200 * time.Millisecond })
	panel, err := f.b.Bind(ipc.Binding{Window: "other", Webview: "panel", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	f.h.block = func() { inside <- struct{}{}; <-hold }
	results := make(chan answer, ipc.DefaultMaxBodies)
	for range ipc.DefaultMaxBodies {
		go func() { results <- serve(f.b, call(t, panel, mainOrigin, "plugin:files|stat", `{}`)) }()
	}
	// Half of the slots are the webview's share: that many calls get in,
	// the others wait for their share and are answered 503 (liveness
	// only guards against hanging when the share is missing).
	for range ipc.DefaultMaxBodies / 2 {
		<-inside
	}
	busy := 0
	for range ipc.DefaultMaxBodies / 2 {
		select {
		case a := <-results:
			if a.status == http.StatusServiceUnavailable {
				busy++
			}
		case <-time.After(liveness):
			t.Fatalf("after %v only %d of the panel's calls beyond its share were answered: the others were let in", liveness, busy)
		}
	}
	if busy != ipc.DefaultMaxBodies/2 {
		t.Errorf("%d of the panel's calls beyond its share were answered 503, want %d", busy, ipc.DefaultMaxBodies/2)
	}
	f.h.block = nil
	if a := serve(f.b, call(t, f.main, mainOrigin, "plugin:files|stat", `{}`)); a.status != 200 || a.response != "ok" {
		t.Errorf("the main window's call while the panel holds its share: %d %s", a.status, a.body)
	}
	release()
	for range ipc.DefaultMaxBodies / 2 {
		if a := <-results; a.status != 200 {
			t.Errorf("a held call of the panel: %d %s", a.status, a.body)
		}
	}
}
