package mobile

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"sync"

	"github.com/capguard/capguard/native"
)

// androidShim is a registered Android platform: the prompt of
// Authenticate, and the vault and signer whose keys live in
// AndroidKeyStore (see the package doc).
type androidShim struct {
	*promptShim
	dev *androidDevice

	// keyMu serializes the decisions about keys: whether one exists,
	// making it, dropping it with its records.
	keyMu sync.Mutex

	storeMu sync.Mutex
	store   *recordStore // made at first use, from Android.StorageDir
}

var (
	_ native.Shim   = (*androidShim)(nil)
	_ native.Vault  = (*androidShim)(nil)
	_ native.Signer = (*androidShim)(nil)
)

func newAndroidShim(a Android) *androidShim {
	d := &androidDevice{p: a}
	return &androidShim{promptShim: newShim(d), dev: d}
}

// VaultBinding is BoundByKey: a record opens only inside the
// BiometricPrompt whose CryptoObject holds the domain's cipher.
func (a *androidShim) VaultBinding() native.Binding { return native.BoundByKey }

// SignerBinding is BoundByKey: the step-up key signs only inside the
// BiometricPrompt whose CryptoObject holds its Signature.
func (a *androidShim) SignerBinding() native.Binding { return native.BoundByKey }

// records returns the record store, asking the platform for its directory
// once.
func (a *androidShim) records() (*recordStore, error) {
	a.storeMu.Lock()
	defer a.storeMu.Unlock()
	if a.store == nil {
		st, err := newRecordStore(a.dev.p.StorageDir())
		if err != nil {
			return nil, err
		}
		a.store = st
	}
	return a.store, nil
}

// showWithKey shows the prompt of a key operation. Go decides its
// content as for Authenticate, except that a key operation takes a strong
// biometric only: BIOMETRIC_STRONG, never the device credential, and so
// always a negative button.
func (d *androidDevice) showWithKey(p native.Prompt, op int, alias string, iv, aad, input []byte, r KeyReply) error {
	negative := p.CancelTitle
	if negative == "" {
		negative = "Cancel"
	}
	title := p.Title
	if title == "" {
		title = androidTitle(androidType(d.p.Features()))
	}
	return d.p.ShowWithKey(op, alias, iv, aad, input, title, p.Subtitle, p.Reason, negative, AuthenticatorBiometricStrong, p.ConfirmationRequired, r)
}

// dropDomain removes the records of domain and deletes its key: what
// follows a key that is gone for good. The errors are joined into err's
// cause.
func (a *androidShim) dropDomain(st *recordStore, domain string, e *native.Error) error {
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if err := st.removeDomain(domain); err != nil {
		errs = append(errs, err)
	}
	if err := a.dev.p.DeleteKey(vaultAlias(domain)); err != nil {
		errs = append(errs, err)
	}
	e.Err = errors.Join(errs...)
	return e
}

// vaultKeyFailure maps a KeyFailed of a vault operation.
func (a *androidShim) vaultKeyFailure(st *recordStore, domain string, ev event) error {
	o := androidKeyOutcome(ev.code)
	e := withCause(o.vault, o.vaultMsg, ev.msg)
	if o.dropsKey {
		return a.dropDomain(st, domain, e)
	}
	return e
}

// SetData seals data under the domain's key and replaces the record. A
// domain without a key gets one; records left from a key that is gone
// (they can no longer open) are removed first.
func (a *androidShim) SetData(ctx context.Context, p native.Prompt, domain, name string, data []byte) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if err := native.CheckData(data); err != nil {
		return err
	}
	st, err := a.records()
	if err != nil {
		return err
	}
	alias := vaultAlias(domain)
	if err := a.ensureSecretKey(st, domain, alias); err != nil {
		return err
	}
	ev, err := a.keyed(ctx, p, func(r KeyReply) error {
		return a.dev.showWithKey(p, OperationEncrypt, alias, nil, native.RecordAAD(recordVersion, domain, name), data, r)
	})
	if err != nil {
		return err
	}
	if ev.kind == evKeyFailed {
		return a.vaultKeyFailure(st, domain, ev)
	}
	if len(ev.iv) != gcmIVLen || len(ev.out) != len(data)+gcmTagLen {
		return native.NewError(native.InternalError, msgWrongShape)
	}
	if ctx.Err() != nil {
		// The caller gave up while the key ran: it will report appCancel,
		// so the previous record stays.
		return native.Canceled(ctx)
	}
	return st.write(domain, name, record{iv: ev.iv, sealed: ev.out})
}

// ensureSecretKey makes the domain's key if there is none.
func (a *androidShim) ensureSecretKey(st *recordStore, domain, alias string) error {
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	has, err := a.dev.p.HasKey(alias)
	if err != nil {
		return platformError("look the key up", err)
	}
	if has {
		return nil
	}
	if err := st.removeDomain(domain); err != nil {
		return err
	}
	if err := a.dev.p.GenerateSecretKey(alias); err != nil {
		return platformError("make the key", err)
	}
	return nil
}

// GetData prompts and returns the record's data, which the domain's key
// decrypts once the prompt unlocked it. A record whose file is not well
// formed answers decryptionFailed without a prompt; a domain whose key is
// gone answers dataNeedsReenrollment, and its records are removed.
func (a *androidShim) GetData(ctx context.Context, p native.Prompt, domain, name string) ([]byte, error) {
	if err := native.CheckRecord(domain, name); err != nil {
		return nil, err
	}
	st, err := a.records()
	if err != nil {
		return nil, err
	}
	rec, err := st.read(domain, name)
	if err != nil {
		return nil, err
	}
	alias := vaultAlias(domain)
	has, err := a.dev.p.HasKey(alias)
	if err != nil {
		return nil, platformError("look the key up", err)
	}
	if !has {
		return nil, a.dropDomain(st, domain, native.NewError(native.DataNeedsReenrollment, msgKeyGone))
	}
	ev, err := a.keyed(ctx, p, func(r KeyReply) error {
		return a.dev.showWithKey(p, OperationDecrypt, alias, rec.iv, native.RecordAAD(recordVersion, domain, name), rec.sealed, r)
	})
	if err != nil {
		return nil, err
	}
	if ev.kind == evKeyFailed {
		return nil, a.vaultKeyFailure(st, domain, ev)
	}
	if len(ev.out) != len(rec.sealed)-gcmTagLen {
		return nil, native.NewError(native.InternalError, msgWrongShape)
	}
	if ok, err := st.exists(domain, name); err != nil || !ok {
		return nil, native.NewError(native.DataNotFound, msgRemovedMidway)
	}
	return ev.out, nil
}

// HasData tells whether the record's file exists. It does not prompt and
// does not look at the key: a record whose key is gone exists until a
// GetData finds out.
func (a *androidShim) HasData(ctx context.Context, domain, name string) (bool, error) {
	if ctx.Err() != nil {
		return false, native.Canceled(ctx)
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return false, err
	}
	st, err := a.records()
	if err != nil {
		return false, err
	}
	return st.exists(domain, name)
}

// RemoveData deletes the record's file; the domain's key stays.
func (a *androidShim) RemoveData(ctx context.Context, domain, name string) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	st, err := a.records()
	if err != nil {
		return err
	}
	return st.remove(domain, name)
}

// stepUpKey returns the step-up key's PKIX DER and the key, or nil when
// there is none.
func (a *androidShim) stepUpKey() ([]byte, *ecdsa.PublicKey, error) {
	der, err := a.dev.p.PublicKey(stepUpAlias)
	if err != nil {
		return nil, nil, platformError("read the step-up key", err)
	}
	if len(der) == 0 {
		return nil, nil, nil
	}
	der = clone(der)
	pub, err := parseStepUpKey(der)
	if err != nil {
		return nil, nil, err
	}
	return der, pub, nil
}

// StepUpKey returns the step-up key's public half, making the key pair
// with create.
func (a *androidShim) StepUpKey(ctx context.Context, create bool) ([]byte, error) {
	if ctx.Err() != nil {
		return nil, native.Canceled(ctx)
	}
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	return stepUpKeyOrMake(a.stepUpKey, func() error {
		if err := a.dev.p.GenerateSigningKey(stepUpAlias); err != nil {
			return platformError("make the step-up key", err)
		}
		return nil
	}, create)
}

// Sign prompts and signs challenge with the step-up key, and checks the
// signature with the key's public half before returning it.
func (a *androidShim) Sign(ctx context.Context, p native.Prompt, challenge []byte) ([]byte, error) {
	pub, err := signingKey(a.stepUpKey, challenge)
	if err != nil {
		return nil, err
	}
	ev, err := a.keyed(ctx, p, func(r KeyReply) error {
		return a.dev.showWithKey(p, OperationSign, stepUpAlias, nil, nil, challenge, r)
	})
	if err != nil {
		return nil, err
	}
	if ev.kind == evKeyFailed {
		o := androidKeyOutcome(ev.code)
		e := withCause(o.signer, o.signerMsg, ev.msg)
		if o.dropsKey {
			a.keyMu.Lock()
			if err := a.dev.p.DeleteKey(stepUpAlias); err != nil {
				e.Err = errors.Join(e.Err, err)
			}
			a.keyMu.Unlock()
		}
		return nil, e
	}
	if err := verifySignature(pub, challenge, ev.out); err != nil {
		return nil, err
	}
	return ev.out, nil
}

// DeleteStepUpKey deletes the step-up key.
func (a *androidShim) DeleteStepUpKey(ctx context.Context) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	if err := a.dev.p.DeleteKey(stepUpAlias); err != nil {
		return platformError("delete the step-up key", err)
	}
	return nil
}
