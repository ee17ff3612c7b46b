package ipc

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Defaults of ServerConfig.
const (
	DefaultReadHeaderTimeout   = 5 * time.Second
	DefaultReadTimeout         = 30 * time.Second
	DefaultWriteTimeout        = 3 * time.Minute
	DefaultIdleTimeout         = 60 * time.Second
	DefaultMaxConns            = 256
	DefaultPressureIdleTimeout = time.Second
	DefaultMaxConnsPerClient   = 64
)

// ServerConfig bounds what one client of the bridge's HTTP server can hold:
// time to send headers and body, time to take its answer, idle keep-alive
// time, and the number of connections open at once.
//
// At its connection bound the server keeps serving new clients: a new
// connection takes the place of the connection idle the longest (a
// keep-alive connection waiting for its next request), and from three
// quarters of the bound on, connections idle for more than
// PressureIdleTimeout, and connections that have not sent a request's
// headers in that time, are closed as new clients arrive. Only when every
// connection is in a request (each bounded by the timeouts) does a new
// client wait. See docs/security.md.
type ServerConfig struct {
	// ReadHeaderTimeout bounds the time to send the request headers,
	// ReadTimeout the time to send the whole request, body included (a
	// stalled body is cut when it runs out), WriteTimeout the time from
	// the end of the headers to the end of the answer (it includes the
	// handler: a biometric prompt must fit), IdleTimeout how long a
	// keep-alive connection may wait for its next request. Zero means the
	// Default constant; a negative value means no limit.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConns bounds the connections served at once (0: DefaultMaxConns;
	// negative: no bound). At the bound the connection idle the longest is
	// closed for a new one; when none is idle, new clients wait in the
	// listen queue.
	MaxConns int
	// PressureIdleTimeout is the idle timeout once three quarters of
	// MaxConns are open: a connection idle that long, or open that long
	// without having sent a request's headers, is closed when a new
	// client arrives (0: DefaultPressureIdleTimeout; negative: only the
	// connection idle the longest is closed, at the bound).
	PressureIdleTimeout time.Duration
	// MaxConnsPerClient bounds the connections of one client address that
	// is not a loopback address (0: DefaultMaxConnsPerClient; negative: no
	// bound): beyond it, the client's own connection idle the longest is
	// closed for the new one, or the new one is closed. Loopback clients
	// are not bounded this way: any local process can use any address of
	// 127.0.0.0/8, so the bound would tell nobody apart there.
	MaxConnsPerClient int
}

func pick(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// NewServer returns an http.Server for h with cfg's timeouts. Serve it on
// LimitListener(l, cfg) to bound its connections too:
//
//	srv := ipc.NewServer(mux, ipc.ServerConfig{})
//	go srv.Serve(ipc.LimitListener(l, ipc.ServerConfig{}))
//
// The server's ConnState hook tells LimitListener which connections are
// idle; a program that sets its own ConnState must call the one NewServer
// set from it, or the listener can no longer make room at its bound.
func NewServer(h http.Handler, cfg ServerConfig) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: pick(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       pick(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      pick(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       pick(cfg.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ConnState:         connState,
	}
}

// connState passes a connection's state to the LimitListener it came from.
func connState(c net.Conn, s http.ConnState) {
	for {
		if tc, ok := c.(*trackedConn); ok {
			tc.lim.track(tc, s)
			return
		}
		u, ok := c.(interface{ NetConn() net.Conn }) // *tls.Conn
		if !ok {
			return
		}
		c = u.NetConn()
	}
}

// LimitListener bounds the connections accepted from l at once to
// cfg.MaxConns. Served by a server from NewServer, it makes room at its
// bound by closing idle connections (see ServerConfig).
func LimitListener(l net.Listener, cfg ServerConfig) net.Listener {
	n := cfg.MaxConns
	if n == 0 {
		n = DefaultMaxConns
	}
	if n < 0 || l == nil {
		return l
	}
	per := cfg.MaxConnsPerClient
	if per == 0 {
		per = DefaultMaxConnsPerClient
	}
	if per < 0 || per > n {
		per = n
	}
	grace := cfg.PressureIdleTimeout
	if grace == 0 {
		grace = DefaultPressureIdleTimeout
	}
	return &limitListener{Listener: l, max: n, perClient: per, pressure: max(1, n*3/4), grace: grace,
		perAddr: map[string]int{}, changed: make(chan struct{}), done: make(chan struct{})}
}

// limitListener is LimitListener's listener. It accepts a connection,
// then makes room for it (or waits for room): the kernel's listen queue
// still holds the clients beyond the one being admitted.
type limitListener struct {
	net.Listener
	max, perClient, pressure int
	grace                    time.Duration // negative: no pressure timeout

	mu      sync.Mutex
	open    int
	perAddr map[string]int // open connections per non-loopback address
	idle    list.List      // idle connections, longest idle first
	fresh   list.List      // connections without a request yet, oldest first
	changed chan struct{}  // closed (and replaced) when room may have been made
	done    chan struct{}  // closed by Close
	closing sync.Once
}

// trackedConn is a connection of a limitListener.
type trackedConn struct {
	net.Conn
	lim      *limitListener
	addr     string // the client's address, "" for loopback
	since    time.Time
	elem     *list.Element // in lim.idle or lim.fresh, or nil
	released bool
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, err := l.admit(c)
		if err != nil {
			return nil, err
		}
		if tc != nil {
			return tc, nil
		}
	}
}

func (l *limitListener) Close() error {
	l.closing.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// admit makes room for c and returns it tracked, or nil when c was closed
// (its client is over its own bound), or an error when l was closed.
func (l *limitListener) admit(c net.Conn) (*trackedConn, error) {
	tc := &trackedConn{Conn: c, lim: l}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil && !ap.Addr().Unmap().IsLoopback() {
		tc.addr = ap.Addr().Unmap().String()
	}
	l.mu.Lock()
	for {
		select {
		case <-l.done:
			l.mu.Unlock()
			c.Close()
			return nil, net.ErrClosed
		default:
		}
		now := time.Now()
		if tc.addr != "" && l.perAddr[tc.addr] >= l.perClient {
			if !l.reclaimLocked(func(o *trackedConn) bool { return o.addr == tc.addr }) {
				l.mu.Unlock()
				c.Close()
				return nil, nil
			}
			continue
		}
		if l.open >= l.pressure && l.grace > 0 {
			l.sweepLocked(&l.idle, now)
			l.sweepLocked(&l.fresh, now)
		}
		if l.open < l.max {
			break
		}
		if l.reclaimLocked(nil) {
			continue
		}
		// Every connection is in a request: wait for one to end, to
		// turn idle, or for the oldest new one to run out of time.
		changed := l.changed
		var timer *time.Timer
		var expired <-chan time.Time
		if f := l.fresh.Front(); f != nil && l.grace > 0 {
			timer = time.NewTimer(max(0, f.Value.(*trackedConn).since.Add(l.grace).Sub(now)) + time.Millisecond)
			expired = timer.C
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-expired:
		case <-l.done:
		}
		if timer != nil {
			timer.Stop()
		}
		l.mu.Lock()
	}
	l.open++
	if tc.addr != "" {
		l.perAddr[tc.addr]++
	}
	l.mu.Unlock()
	return tc, nil
}

// reclaimLocked closes the connection idle the longest among those that
// match (nil: any) and tells whether there was one.
func (l *limitListener) reclaimLocked(match func(*trackedConn) bool) bool {
	for e := l.idle.Front(); e != nil; e = e.Next() {
		if o := e.Value.(*trackedConn); match == nil || match(o) {
			l.closeLocked(o)
			return true
		}
	}
	return false
}

// sweepLocked closes the connections of q (oldest first) that have been
// in it for longer than the pressure timeout.
func (l *limitListener) sweepLocked(q *list.List, now time.Time) {
	for e := q.Front(); e != nil; e = q.Front() {
		o := e.Value.(*trackedConn)
		if now.Sub(o.since) <= l.grace {
			return
		}
		l.closeLocked(o)
	}
}

// closeLocked closes o and gives its place back.
func (l *limitListener) closeLocked(o *trackedConn) {
	l.releaseLocked(o)
	_ = o.Conn.Close() // the server's goroutine sees the error and ends
}

func (l *limitListener) releaseLocked(o *trackedConn) {
	if o.released {
		return
	}
	o.released = true
	l.unlistLocked(o)
	l.open--
	if o.addr != "" {
		if l.perAddr[o.addr]--; l.perAddr[o.addr] <= 0 {
			delete(l.perAddr, o.addr)
		}
	}
	l.signalLocked()
}

func (l *limitListener) unlistLocked(o *trackedConn) {
	if o.elem != nil {
		l.idle.Remove(o.elem)
		l.fresh.Remove(o.elem)
		o.elem = nil
	}
}

func (l *limitListener) signalLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// track records a connection's state (NewServer's ConnState hook).
func (l *limitListener) track(o *trackedConn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if o.released {
		return
	}
	l.unlistLocked(o)
	switch s {
	case http.StateNew:
		o.since, o.elem = time.Now(), l.fresh.PushBack(o)
	case http.StateIdle:
		o.since, o.elem = time.Now(), l.idle.PushBack(o)
		l.signalLocked()
	}
}

func (c *trackedConn) Close() error {
	c.lim.mu.Lock()
	c.lim.releaseLocked(c)
	c.lim.mu.Unlock()
	return c.Conn.Close()
}
