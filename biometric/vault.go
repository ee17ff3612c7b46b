package biometric

import (
	"context"

	"github.com/capguard/capguard/native"
)

// DefaultSetDataReason is the prompt text of SetData: tauri-plugin-biometry's
// set_data takes no reason, but a device whose key needs an authentication
// to encrypt (Android's, the simulator's) prompts for it.
const DefaultSetDataReason = "Confirm that it is you to store this secret."

// The codes of the secure-storage commands beyond the eleven (see
// native.Vault).
const (
	DataNotFound          = native.DataNotFound
	DataNeedsReenrollment = native.DataNeedsReenrollment
	DecryptionFailed      = native.DecryptionFailed
	InvalidInput          = native.InvalidInput
	ScopeDenied           = native.ScopeDenied
	InternalError         = native.InternalError
	InvalidSignature      = native.InvalidSignature
)

// errNoVault is the answer of a storage call on a device that keeps no
// secrets.
var errNoVault = &Error{Code: BiometryNotAvailable, Message: "This device cannot keep secrets sealed by its biometric keys."}

// vault returns the device as a native.Vault, or an error when it is not
// one.
func (b *Biometric) vault() (native.Vault, error) {
	if b == nil || b.shim == nil {
		return nil, errNoDevice
	}
	v, ok := b.shim.(native.Vault)
	if !ok {
		return nil, errNoVault
	}
	return v, nil
}

// VaultBinding says how the device releases its secrets (native.BoundByKey
// or native.BoundByEvent), and false when it keeps none.
func (b *Biometric) VaultBinding() (native.Binding, bool) {
	v, err := b.vault()
	if err != nil {
		return "", false
	}
	return v.VaultBinding(), true
}

// SetData seals data as the record (domain, name) on the device, replacing
// any record of that name. A device whose key needs an authentication to
// encrypt prompts (with DefaultSetDataReason unless opts gives a title);
// the device is held as for Authenticate. Errors carry a code: invalidInput
// for a bad domain, name or size (native.CheckRecord, native.CheckData),
// an authentication code, or the device's storage code.
func (b *Biometric) SetData(ctx context.Context, domain, name string, data []byte, opts AuthOptions) error {
	v, err := b.vault()
	if err != nil {
		return err
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if err := native.CheckData(data); err != nil {
		return err
	}
	p, err := vaultPrompt(DefaultSetDataReason, opts)
	if err != nil {
		return err
	}
	return b.withDevice(ctx, p, func(p native.Prompt) error {
		return v.SetData(ctx, p, domain, name, data)
	})
}

// GetData prompts the user with reason and returns the record's data,
// which the device decrypts with the key that authentication unlocked.
// A missing record answers dataNotFound without a prompt; a record whose
// key was invalidated (a new enrollment) answers dataNeedsReenrollment and
// is gone.
func (b *Biometric) GetData(ctx context.Context, domain, name, reason string, opts AuthOptions) ([]byte, error) {
	v, err := b.vault()
	if err != nil {
		return nil, err
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return nil, err
	}
	p, err := vaultPrompt(reason, opts)
	if err != nil {
		return nil, err
	}
	if ok, err := v.HasData(ctx, domain, name); err != nil {
		return nil, failure(err, InternalError)
	} else if !ok {
		return nil, &Error{Code: DataNotFound, Message: "No data is stored under this domain and name."}
	}
	var data []byte
	err = b.withDevice(ctx, p, func(p native.Prompt) error {
		d, err := v.GetData(ctx, p, domain, name)
		data = d
		return err
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}

// HasData tells whether the record exists, without prompting.
func (b *Biometric) HasData(ctx context.Context, domain, name string) (bool, error) {
	v, err := b.vault()
	if err != nil {
		return false, err
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return false, err
	}
	ok, err := v.HasData(ctx, domain, name)
	if err != nil {
		return false, failure(err, InternalError)
	}
	return ok, nil
}

// RemoveData deletes the record, without prompting; a missing record is
// not an error.
func (b *Biometric) RemoveData(ctx context.Context, domain, name string) error {
	v, err := b.vault()
	if err != nil {
		return err
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if err := v.RemoveData(ctx, domain, name); err != nil {
		return failure(err, InternalError)
	}
	return nil
}

// vaultPrompt validates the options of a storage prompt. A key that a
// biometric must unlock cannot take the device credential instead
// (Android's BIOMETRIC_STRONG keys), so AllowDeviceCredential is off.
func vaultPrompt(reason string, opts AuthOptions) (native.Prompt, error) {
	opts.AllowDeviceCredential = false
	return opts.prompt(reason)
}

// withDevice runs one prompting device operation: it takes the device (one
// prompt at a time, as Authenticate), checks that biometry is usable, and
// maps the device's error onto a known code. A context that ends first
// answers appCancel, whatever the device said.
func (b *Biometric) withDevice(ctx context.Context, p native.Prompt, op func(native.Prompt) error) error {
	if err := b.take(ctx); err != nil {
		return err
	}
	defer b.release()
	if err := b.usable(ctx, p); err != nil {
		return err
	}
	p.Attempt = 1
	err := op(p)
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	if err != nil {
		return failureKnown(err, InternalError)
	}
	return nil
}

// failureKnown is failure for the storage and signing paths: it keeps a
// device's *Error whose code is Known (the eleven and the storage codes).
func failureKnown(err error, def Code) *Error {
	if e, ok := asError(err); ok && e.Code.Known() {
		return e
	}
	return &Error{Code: def, Message: err.Error(), Err: err}
}
