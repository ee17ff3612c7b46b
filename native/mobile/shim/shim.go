// Package shim hands the mobile platform that the host app registered
// (through the bindable package native/mobile) to capguard's biometric
// plugin, as a native.Shim that is also a native.Vault (sealed secrets)
// and a native.Signer (signed step-up):
//
//	core := biometric.New(shim.New())
//
// The plugin finds the vault and the signer by asserting the shim it was
// given (shim.New().(native.Vault) holds at compile time: Shim has the
// methods). On Android and iOS both are bound by a key (native.BoundByKey):
// the record opens, and the challenge is signed, only inside the prompt
// that unlocked the key.
//
// The shim looks the platform up at each call, so it can be created
// before the host app registers its platform; until then, and after
// mobile.Unregister, the device reports no biometry (status
// biometryNotAvailable), every authentication, storage and signing call
// fails with biometryNotAvailable, and the bindings read BoundByEvent
// (the weaker claim: nothing is bound while nothing is registered).
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

var (
	_ native.Shim   = Shim{}
	_ native.Vault  = Shim{}
	_ native.Signer = Shim{}
)

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

// vault returns the registered platform as a Vault.
func vault() (native.Vault, error) {
	v, ok := registry.Get().(native.Vault)
	if !ok {
		return nil, errNone()
	}
	return v, nil
}

// signer returns the registered platform as a Signer.
func signer() (native.Signer, error) {
	s, ok := registry.Get().(native.Signer)
	if !ok {
		return nil, errNone()
	}
	return s, nil
}

// VaultBinding is the registered platform's binding (BoundByKey on
// Android and iOS), BoundByEvent while none is registered.
func (Shim) VaultBinding() native.Binding {
	if v, err := vault(); err == nil {
		return v.VaultBinding()
	}
	return native.BoundByEvent
}

// SetData seals data as the record (domain, name) on the registered
// platform.
func (Shim) SetData(ctx context.Context, p native.Prompt, domain, name string, data []byte) error {
	v, err := vault()
	if err != nil {
		return err
	}
	return v.SetData(ctx, p, domain, name, data)
}

// GetData prompts and returns the record's data from the registered
// platform.
func (Shim) GetData(ctx context.Context, p native.Prompt, domain, name string) ([]byte, error) {
	v, err := vault()
	if err != nil {
		return nil, err
	}
	return v.GetData(ctx, p, domain, name)
}

// HasData tells whether the registered platform holds the record.
func (Shim) HasData(ctx context.Context, domain, name string) (bool, error) {
	v, err := vault()
	if err != nil {
		return false, err
	}
	return v.HasData(ctx, domain, name)
}

// RemoveData deletes the record on the registered platform.
func (Shim) RemoveData(ctx context.Context, domain, name string) error {
	v, err := vault()
	if err != nil {
		return err
	}
	return v.RemoveData(ctx, domain, name)
}

// SignerBinding is the registered platform's binding (BoundByKey on
// Android and iOS), BoundByEvent while none is registered.
func (Shim) SignerBinding() native.Binding {
	if s, err := signer(); err == nil {
		return s.SignerBinding()
	}
	return native.BoundByEvent
}

// StepUpKey returns the public half of the registered platform's
// step-up key (PKIX DER), making it with create.
func (Shim) StepUpKey(ctx context.Context, create bool) ([]byte, error) {
	s, err := signer()
	if err != nil {
		return nil, err
	}
	return s.StepUpKey(ctx, create)
}

// Sign prompts and signs challenge with the registered platform's
// step-up key.
func (Shim) Sign(ctx context.Context, p native.Prompt, challenge []byte) ([]byte, error) {
	s, err := signer()
	if err != nil {
		return nil, err
	}
	return s.Sign(ctx, p, challenge)
}

// DeleteStepUpKey deletes the registered platform's step-up key.
func (Shim) DeleteStepUpKey(ctx context.Context) error {
	s, err := signer()
	if err != nil {
		return err
	}
	return s.DeleteStepUpKey(ctx)
}
