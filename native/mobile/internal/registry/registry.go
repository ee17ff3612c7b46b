// Package registry holds the device that the host app registered through
// native/mobile, for native/mobile/shim to hand to the biometric plugin.
// It exists so that the bindable package exports nothing gomobile cannot
// bind.
package registry

import (
	"sync"

	"github.com/capguard/capguard/native"
)

var (
	mu  sync.RWMutex
	cur native.Shim
)

// Set replaces the registered device (nil: none). A replaced device that
// has a Close method is closed, which dismisses its prompt.
func Set(s native.Shim) {
	mu.Lock()
	old := cur
	cur = s
	mu.Unlock()
	if c, ok := old.(interface{ Close() }); ok {
		c.Close()
	}
}

// Get returns the registered device, or nil.
func Get() native.Shim {
	mu.RLock()
	defer mu.RUnlock()
	return cur
}
