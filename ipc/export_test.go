package ipc

import (
	"net"
	"testing"
	"time"
)

// WaitIdle waits until the listener made by LimitListener counts n idle
// connections (the server records a connection as idle just after it has
// written a response, so a client that has read the answer can be there
// first). It fails the test after 5 s.
func WaitIdle(t testing.TB, ln net.Listener, n int) {
	t.Helper()
	l := ln.(*limitListener)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		l.mu.Lock()
		idle := l.idle.Len()
		l.mu.Unlock()
		if idle >= n {
			return
		}
	}
	t.Fatalf("fewer than %d idle connections after 5 s", n)
}
