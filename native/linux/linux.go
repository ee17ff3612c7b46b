// Package linux is capguard's Linux device: fingerprint authentication
// through fprintd (native/fprintd) and secrets sealed at rest by a Store,
// a TPM 2.0 (native/tpm) on machines that have one. It implements
// native.Shim and native.Vault, and with a KeyStore native.Signer.
//
// # How a secret is released
//
// SetData reads the fingers enrolled for the user (fprintd's
// ListEnrolledFingers) and seals the data bound to a digest of them and of
// the reader's name; it does not prompt (the TPM needs no authentication
// to seal). GetData
//
//  1. reads the enrolled fingers and checks, without prompting, that the
//     record exists and is bound to them: a record bound to other fingers
//     answers dataNeedsReenrollment and is removed;
//  2. runs one authentication: fprintd verifications, up to
//     Prompt.MaxAttempts, until one reports verify-match (only fprintd's
//     own signals count, see native/fprintd);
//  3. reads the enrolled fingers again and unseals with their digest: a
//     finger enrolled during the prompt invalidates the record too.
//
// Sign does the same with the step-up key: after a match, the TPM signs
// SHA-256 of the challenge.
//
// # What Linux cannot bind
//
// fprintd's match is a daemon's word, not a key operation: no key is
// unlocked by the finger, so both bindings are native.BoundByEvent. A
// process running as the user can ask the TPM to unseal as this package
// does (the binding is computable by anyone who can list the fingers),
// and a process that can read this one's memory sees the secret. What the
// TPM adds is protection at rest: the files open only on this machine's
// TPM, and only while the same fingers are enrolled. fprintd lists finger
// names, not prints: deleting a finger and enrolling someone else's print
// on the same finger is not seen.
package linux

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/fprintd"
)

// Store keeps sealed records, each bound to a binding: a 32-byte digest of
// the enrolled fingers. *tpm.Store is one. Errors carry the codes of
// native.Vault.
type Store interface {
	// Seal stores data as the record, bound to binding, replacing any
	// record of that name atomically.
	Seal(ctx context.Context, domain, name string, binding, data []byte) error
	// Check tells, without releasing anything, whether the record exists
	// and is bound to binding (DataNotFound, DataNeedsReenrollment having
	// removed it, DecryptionFailed).
	Check(ctx context.Context, domain, name string, binding []byte) error
	// Unseal returns the record's data, which must be bound to binding.
	Unseal(ctx context.Context, domain, name string, binding []byte) ([]byte, error)
	// Has tells whether the record exists.
	Has(ctx context.Context, domain, name string) (bool, error)
	// Remove deletes the record; a missing record is not an error.
	Remove(ctx context.Context, domain, name string) error
}

// KeyStore holds an EC P-256 step-up key bound to a binding. *tpm.Store is
// one.
type KeyStore interface {
	// StepUpKey returns the key's public half, PKIX DER, making one with
	// create.
	StepUpKey(ctx context.Context, binding []byte, create bool) ([]byte, error)
	// SignDigest signs a SHA-256 digest, ECDSA ASN.1 DER.
	SignDigest(ctx context.Context, binding, digest []byte) ([]byte, error)
	// DeleteStepUpKey deletes the key.
	DeleteStepUpKey(ctx context.Context) error
}

// Device is fprintd with sealed storage: a native.Shim and a native.Vault.
// It is safe for concurrent use.
type Device struct {
	reader *fprintd.Shim
	store  Store
}

// SigningDevice is a Device with a step-up key: also a native.Signer.
type SigningDevice struct {
	*Device
	keys KeyStore
}

var (
	_ native.Shim   = (*Device)(nil)
	_ native.Vault  = (*Device)(nil)
	_ native.Signer = (*SigningDevice)(nil)
)

// New returns the device that authenticates with reader and keeps secrets
// in store.
func New(reader *fprintd.Shim, store Store) (*Device, error) {
	if reader == nil || store == nil {
		return nil, errors.New("linux: New needs a reader and a store")
	}
	return &Device{reader: reader, store: store}, nil
}

// NewSigning returns the device of New with the step-up key of keys (a
// *tpm.Store is both).
func NewSigning(reader *fprintd.Shim, store Store, keys KeyStore) (*SigningDevice, error) {
	d, err := New(reader, store)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("linux: NewSigning needs a key store")
	}
	return &SigningDevice{Device: d, keys: keys}, nil
}

// Status reports fprintd's reader (see native/fprintd).
func (d *Device) Status(ctx context.Context) (native.Status, error) { return d.reader.Status(ctx) }

// Authenticate runs one fprintd verification (see native/fprintd).
func (d *Device) Authenticate(ctx context.Context, p native.Prompt) error {
	return d.reader.Authenticate(ctx, p)
}

// VaultBinding is BoundByEvent: the release follows fprintd's report.
func (d *Device) VaultBinding() native.Binding { return native.BoundByEvent }

// SetData seals data bound to the fingers enrolled now; it does not
// prompt.
func (d *Device) SetData(ctx context.Context, _ native.Prompt, domain, name string, data []byte) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if err := native.CheckData(data); err != nil {
		return err
	}
	b, err := d.binding(ctx)
	if err != nil {
		return err
	}
	return d.store.Seal(ctx, domain, name, b, data)
}

// GetData authenticates the user and unseals the record (see the package
// doc for the order of the checks).
func (d *Device) GetData(ctx context.Context, p native.Prompt, domain, name string) ([]byte, error) {
	if err := native.CheckRecord(domain, name); err != nil {
		return nil, err
	}
	before, err := d.binding(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.store.Check(ctx, domain, name, before); err != nil {
		return nil, err
	}
	after, err := d.authenticate(ctx, p)
	if err != nil {
		return nil, err
	}
	return d.store.Unseal(ctx, domain, name, after)
}

// HasData tells whether the record exists, without prompting.
func (d *Device) HasData(ctx context.Context, domain, name string) (bool, error) {
	if err := native.CheckRecord(domain, name); err != nil {
		return false, err
	}
	return d.store.Has(ctx, domain, name)
}

// RemoveData deletes the record, without prompting.
func (d *Device) RemoveData(ctx context.Context, domain, name string) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	return d.store.Remove(ctx, domain, name)
}

// authenticate runs one authentication of up to p.MaxAttempts fprintd
// verifications and returns the binding read after the match.
func (d *Device) authenticate(ctx context.Context, p native.Prompt) ([]byte, error) {
	attempts := max(p.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		p.Attempt, p.MaxAttempts = attempt, attempts
		err := d.reader.Authenticate(ctx, p)
		if err == nil {
			break
		}
		if c, _ := native.CodeOf(err); c != native.AuthenticationFailed || attempt >= attempts {
			return nil, err
		}
	}
	return d.binding(ctx)
}

// binding is the digest of the reader's name and the fingers enrolled for
// the user, in a fixed order: what every record is bound to.
func (d *Device) binding(ctx context.Context) ([]byte, error) {
	dev, err := d.reader.Device(ctx)
	if err != nil {
		return nil, err
	}
	if len(dev.Fingers) == 0 {
		return nil, native.NewError(native.BiometryNotEnrolled, "No fingerprint is enrolled: enroll one (fprintd-enroll) before storing secrets.")
	}
	return Binding(dev.Name, dev.Fingers), nil
}

// Binding is the digest a record is bound to: SHA-256 over a label, the
// reader's name and the enrolled fingers (sorted), each length-prefixed.
func Binding(reader string, fingers []string) []byte {
	fs := slices.Clone(fingers)
	slices.Sort(fs)
	h := sha256.New()
	put := func(s string) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put("capguard-fprintd-enrollment/1")
	put(reader)
	for _, f := range fs {
		put(f)
	}
	return h.Sum(nil)
}

// SignerBinding is BoundByEvent: the TPM signs after fprintd's report.
func (s *SigningDevice) SignerBinding() native.Binding { return native.BoundByEvent }

// StepUpKey returns the step-up key's public half (PKIX DER), bound to the
// fingers enrolled now; with create it makes one if there is none (or only
// an invalidated one). No prompt.
func (s *SigningDevice) StepUpKey(ctx context.Context, create bool) ([]byte, error) {
	b, err := s.binding(ctx)
	if err != nil {
		return nil, err
	}
	return s.keys.StepUpKey(ctx, b, create)
}

// Sign authenticates the user and signs SHA-256(challenge) with the
// step-up key.
func (s *SigningDevice) Sign(ctx context.Context, p native.Prompt, challenge []byte) ([]byte, error) {
	before, err := s.binding(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.keys.StepUpKey(ctx, before, false); err != nil {
		return nil, err
	}
	after, err := s.authenticate(ctx, p)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(challenge)
	return s.keys.SignDigest(ctx, after, digest[:])
}

// DeleteStepUpKey deletes the step-up key.
func (s *SigningDevice) DeleteStepUpKey(ctx context.Context) error {
	return s.keys.DeleteStepUpKey(ctx)
}
