// Package shim hands the mobile platform that the host app registered
// (through the bindable package native/mobile) to capguard's biometric
// plugin, as a native.Shim:
//
//	core := biometric.New(shim.New())
//
// The shim looks the platform up at each call, so it can be created
// before the host app registers its platform; until then, and after
// mobile.Unregister, the device reports no biometry (status
// biometryNotAvailable) and every authentication fails with
// biometryNotAvailable.
package shim

import (
	"context"

	"github.com/capguard/capguard/native"
	// The bindable package registers the platform; importing it here
	// makes sure it is linked into every app that uses this shim.
	_ "github.com/capguard/capguard/native/mobile"
	"github.com/capguard/capguard/native/mobile/internal/registry"
)

// Shim is the registered mobile platform as a native.Shim. The zero
// value is ready to use and safe for concurrent use.
type Shim struct{}

var _ native.Shim = Shim{}

// New returns the shim.
func New() Shim { return Shim{} }

// Registered tells whether the host app has registered a platform.
func Registered() bool { return registry.Get() != nil }

// errNone is the answer while no platform is registered.
func errNone() error {
	return native.NewError(native.BiometryNotAvailable, "No mobile platform is registered: the host app must call mobile.RegisterAndroid or mobile.RegisterIOS at start-up.")
}

// Status reports the registered platform's status.
func (Shim) Status(ctx context.Context) (native.Status, error) {
	s := registry.Get()
	if s == nil {
		return native.Status{}, errNone()
	}
	return s.Status(ctx)
}

// Authenticate runs one attempt on the registered platform.
func (Shim) Authenticate(ctx context.Context, p native.Prompt) error {
	s := registry.Get()
	if s == nil {
		return errNone()
	}
	return s.Authenticate(ctx, p)
}
