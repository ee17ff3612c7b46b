package ipc

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Defaults of ServerConfig.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 3 * time.Minute
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxConns          = 256
)

// ServerConfig bounds what one client of the bridge's HTTP server can hold:
// time to send headers and body, time to take its answer, idle keep-alive
// time, and the number of connections open at once.
type ServerConfig struct {
	// ReadHeaderTimeout bounds the time to send the request headers,
	// ReadTimeout the time to send the whole request, body included (a
	// stalled body is cut when it runs out), WriteTimeout the time from
	// the end of the headers to the end of the answer (it includes the
	// handler: a biometric prompt must fit), IdleTimeout how long a
	// keep-alive connection may wait for its next request. Zero means the
	// Default constant; a negative value means no limit.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConns bounds the connections served at once; further clients
	// wait in the listen queue (0: DefaultMaxConns; negative: no bound).
	MaxConns int
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
func NewServer(h http.Handler, cfg ServerConfig) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: pick(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       pick(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      pick(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       pick(cfg.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
	}
}

// LimitListener bounds the connections accepted from l at once to
// cfg.MaxConns (golang.org/x/net/netutil.LimitListener).
func LimitListener(l net.Listener, cfg ServerConfig) net.Listener {
	n := cfg.MaxConns
	if n == 0 {
		n = DefaultMaxConns
	}
	if n < 0 {
		return l
	}
	return netutil.LimitListener(l, n)
}
