package tpm

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/capguard/capguard/native"
)

// Messages of the store's errors.
const (
	msgNotFound        = "No data is stored under this domain and name."
	msgReenrolled      = "The data was sealed for another set of enrolled fingerprints; it was removed and must be stored again."
	msgOtherTPM        = "The data was sealed by a storage key this TPM no longer has (the TPM was cleared, or the file comes from another machine); it was removed and must be stored again."
	msgDamaged         = "The stored data does not open: the file is truncated, damaged, or not sealed for this domain and name."
	msgBadBinding      = "The binding must be 32 bytes."
	msgKeyNotFound     = "No step-up key exists on this device."
	msgKeyReenrolled   = "The step-up key was made for another set of enrolled fingerprints; it was deleted: enroll a new one."
	msgKeyOtherTPM     = "The step-up key was made by a storage key this TPM no longer has; it was deleted: enroll a new one."
	msgKeyDamaged      = "The step-up key's file is damaged."
	msgKeyNotP256      = "The step-up key is not an EC P-256 signing key."
	msgDigestNotSHA256 = "The digest to sign must be a SHA-256 digest (32 bytes)."
)

// sealedTemplate is the public area of a sealed AES key: a keyedHash data
// object that never leaves this TPM under another parent, opened by its
// authValue, and outside the dictionary-attack protection.
var sealedTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgKeyedHash,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM:     true,
		FixedParent:  true,
		UserWithAuth: true,
		NoDA:         true,
	},
}

// Seal stores data as the record (domain, name), bound to binding,
// replacing any record of that name atomically.
func (s *Store) Seal(ctx context.Context, domain, name string, binding, data []byte) error {
	if err := checkArgs(domain, name, binding); err != nil {
		return err
	}
	if err := native.CheckData(data); err != nil {
		return err
	}
	aad := native.RecordAAD(formatVersion, domain, name)
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	defer clear(key)
	aead := newAEAD(key)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	b := &blob{nonce: nonce, ciphertext: aead.Seal(nil, nonce, data, aad), tag: bindingTag(binding)}

	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.withTPM(ctx, func(t transport.TPM, k *srk) error {
		rsp, err := tpm2.Create{
			ParentHandle: k.parent(tpm2.AESEncryption(128, tpm2.EncryptIn)),
			InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
				UserAuth: tpm2.TPM2BAuth{Buffer: binding},
				Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: key}),
			}},
			InPublic: tpm2.New2B(sealedTemplate),
		}.Execute(t)
		if err != nil {
			return tpmError("seal the data's key", err)
		}
		b.srkName = k.name.Buffer
		b.public = tpm2.Marshal(rsp.OutPublic)
		b.private = tpm2.Marshal(rsp.OutPrivate)
		return nil
	})
	if err != nil {
		return err
	}
	if err := writeAtomic(s.opts.Dir, recordFile(aad), b.encode(kindRecord)); err != nil {
		return &native.Error{Code: native.InternalError, Message: "The sealed data could not be written.", Err: err}
	}
	return nil
}

// Check tells, without the TPM, whether the record exists and is bound to
// binding: nil, or an error with code DataNotFound, DataNeedsReenrollment
// (bound to another binding: the record is removed) or DecryptionFailed
// (the file is damaged; it is left alone). A record that passes may still
// fail to Unseal (another TPM, a file rewritten by someone).
func (s *Store) Check(ctx context.Context, domain, name string, binding []byte) error {
	if err := checkArgs(domain, name, binding); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, err := s.read(domain, name, binding)
	return err
}

// read reads and decodes the record and checks its binding tag; mu is held.
func (s *Store) read(domain, name string, binding []byte) (*blob, []byte, error) {
	path := filepath.Join(s.opts.Dir, recordFile(native.RecordAAD(formatVersion, domain, name)))
	file, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, native.NewError(native.DataNotFound, msgNotFound)
	} else if err != nil {
		return nil, nil, &native.Error{Code: native.InternalError, Message: "The sealed data could not be read.", Err: err}
	}
	b, err := decode(kindRecord, file)
	if err != nil {
		return nil, nil, &native.Error{Code: native.DecryptionFailed, Message: msgDamaged, Err: err}
	}
	if !bytes.Equal(b.tag, bindingTag(binding)) {
		return nil, nil, removeInvalid(path, file, native.NewError(native.DataNeedsReenrollment, msgReenrolled))
	}
	return b, file, nil
}

// Unseal returns the data of the record (domain, name), which must be
// bound to binding. Errors carry DataNotFound, DataNeedsReenrollment (the
// record was removed), DecryptionFailed (left alone) or InternalError.
func (s *Store) Unseal(ctx context.Context, domain, name string, binding []byte) ([]byte, error) {
	if err := checkArgs(domain, name, binding); err != nil {
		return nil, err
	}
	aad := native.RecordAAD(formatVersion, domain, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, file, err := s.read(domain, name, binding)
	if err != nil {
		return nil, err
	}
	damaged := func(err error) error {
		return &native.Error{Code: native.DecryptionFailed, Message: msgDamaged, Err: err}
	}
	var key []byte
	err = s.withTPM(ctx, func(t transport.TPM, k *srk) error {
		if !bytes.Equal(b.srkName, k.name.Buffer) {
			path := filepath.Join(s.opts.Dir, recordFile(aad))
			return removeInvalid(path, file, native.NewError(native.DataNeedsReenrollment, msgOtherTPM))
		}
		h, err := load(t, k, b)
		if err != nil {
			return refused(err, damaged)
		}
		defer tpm2.FlushContext{FlushHandle: h.Handle}.Execute(t) //nolint:errcheck // the connection closes next
		rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{
			Handle: h.Handle, Name: h.Name, Auth: k.salted(binding, tpm2.AESEncryption(128, tpm2.EncryptOut)),
		}}.Execute(t)
		if err != nil {
			// The tag matched but the TPM refuses the authValue: the
			// file was rewritten by someone, not invalidated by us.
			return refused(err, damaged)
		}
		key = rsp.OutData.Buffer
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if len(key) != 32 || len(b.nonce) != 12 {
		return nil, damaged(errFormat)
	}
	data, err := newAEAD(key).Open(nil, b.nonce, b.ciphertext, aad)
	if err != nil {
		return nil, damaged(err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Has tells whether the record's file exists (it may still not open).
func (s *Store) Has(ctx context.Context, domain, name string) (bool, error) {
	if err := native.CheckRecord(domain, name); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, native.Canceled(ctx)
	}
	_, err := os.Lstat(filepath.Join(s.opts.Dir, recordFile(native.RecordAAD(formatVersion, domain, name))))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, &native.Error{Code: native.InternalError, Message: "The store could not be read.", Err: err}
	}
}

// Remove deletes the record; a record that does not exist is not an
// error.
func (s *Store) Remove(ctx context.Context, domain, name string) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return native.Canceled(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := removeFile(s.opts.Dir, recordFile(native.RecordAAD(formatVersion, domain, name))); err != nil {
		return &native.Error{Code: native.InternalError, Message: "The record could not be removed.", Err: err}
	}
	return nil
}

// load loads the sealed object (or key) of b under the storage key.
func load(t transport.TPM, k *srk, b *blob) (tpm2.NamedHandle, error) {
	pub, err := unmarshalPublic(b.public)
	if err != nil {
		return tpm2.NamedHandle{}, err
	}
	priv, err := unmarshalPrivate(b.private)
	if err != nil {
		return tpm2.NamedHandle{}, err
	}
	rsp, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: k.handle, Name: k.name, Auth: tpm2.PasswordAuth(nil)},
		InPrivate:    *priv,
		InPublic:     *pub,
	}.Execute(t)
	if err != nil {
		return tpm2.NamedHandle{}, err
	}
	return tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}, nil
}

// errUnmarshal marks a TPM structure in a file that does not parse.
var errUnmarshal = errors.New("tpm: a TPM structure in the file does not parse")

// unmarshalPublic and unmarshalPrivate read a TPM2B structure, exactly,
// from b; they never panic.
func unmarshalPublic(b []byte) (v *tpm2.TPM2BPublic, err error) {
	defer recoverUnmarshal(&err)
	v, err = tpm2.Unmarshal[tpm2.TPM2BPublic](b)
	if err == nil && !bytes.Equal(tpm2.Marshal(*v), b) {
		err = errUnmarshal
	}
	return v, wrapUnmarshal(err)
}

func unmarshalPrivate(b []byte) (v *tpm2.TPM2BPrivate, err error) {
	defer recoverUnmarshal(&err)
	v, err = tpm2.Unmarshal[tpm2.TPM2BPrivate](b)
	if err == nil && !bytes.Equal(tpm2.Marshal(*v), b) {
		err = errUnmarshal
	}
	return v, wrapUnmarshal(err)
}

func recoverUnmarshal(err *error) {
	if recover() != nil {
		*err = errUnmarshal
	}
}

func wrapUnmarshal(err error) error {
	if err == nil || errors.Is(err, errUnmarshal) {
		return err
	}
	return fmt.Errorf("%w: %w", errUnmarshal, err)
}

// refused maps the failure of a TPM command on a file's contents: the
// TPM's refusal (a response code) or a structure that does not parse is
// the file's fault (damaged); anything else (the transport) is the TPM's.
func refused(err error, damaged func(error) error) error {
	var rc tpm2.TPMRC
	if errors.Is(err, errUnmarshal) || (errors.As(err, &rc) && !rc.IsWarning()) {
		return damaged(err)
	}
	var e *native.Error
	if errors.As(err, &e) {
		return err
	}
	return tpmError("open the sealed data", err)
}

// removeInvalid removes the file at path if it still holds file (a record
// written since it was read survives), and returns e.
func removeInvalid(path string, file []byte, e *native.Error) error {
	if now, err := os.ReadFile(path); err == nil && bytes.Equal(now, file) {
		if err := removeFile(filepath.Dir(path), filepath.Base(path)); err != nil {
			e.Message += " (Removing it failed.)"
			e.Err = err
		}
	}
	return e
}

// checkArgs checks a record's names and its binding.
func checkArgs(domain, name string, binding []byte) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if len(binding) != BindingLen {
		return native.NewError(native.InvalidInput, msgBadBinding)
	}
	return nil
}

// newAEAD returns AES-256-GCM with key.
func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 32-byte key never fails
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}
