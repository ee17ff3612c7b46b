package tpm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/capguard/capguard/native"
)

// The step-up key is an ECC P-256 signing key that the TPM made and never
// lets out (fixedTPM, fixedParent, sensitiveDataOrigin), kept as its public
// and wrapped private areas in the file stepup.key of the store's
// directory. Like a record, its authValue is a binding (the enrolled
// fingers), so a new enrollment invalidates it; it signs only what the
// caller asks, after the caller's own check (native/linux: fprintd's
// match), so a signature is bound to that event, not to a key operation
// of the reader.

// stepUpTemplate is the public area of the step-up key.
var stepUpTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgECC,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM:            true,
		FixedParent:         true,
		SensitiveDataOrigin: true,
		UserWithAuth:        true,
		NoDA:                true,
		SignEncrypt:         true,
	},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
		Scheme: tpm2.TPMTECCScheme{
			Scheme:  tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256}),
		},
		CurveID: tpm2.TPMECCNistP256,
	}),
	Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
}

// StepUpKey returns the public half of the step-up key bound to binding,
// PKIX DER. Without a key, or with one bound to another binding or made
// by another storage key (which it deletes), it makes one when create is
// set and answers DataNotFound or DataNeedsReenrollment otherwise. A
// damaged key file answers DecryptionFailed and is left alone
// (DeleteStepUpKey removes it).
func (s *Store) StepUpKey(ctx context.Context, binding []byte, create bool) ([]byte, error) {
	if len(binding) != BindingLen {
		return nil, native.NewError(native.InvalidInput, msgBadBinding)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var der []byte
	err := s.withTPM(ctx, func(t transport.TPM, k *srk) error {
		b, err := s.readKey(k, binding)
		if err == nil {
			der, err = publicDER(b.public)
			return err
		}
		if c, _ := native.CodeOf(err); !create || (c != native.DataNotFound && c != native.DataNeedsReenrollment) {
			return err
		}
		rsp, err := tpm2.Create{
			ParentHandle: k.parent(tpm2.AESEncryption(128, tpm2.EncryptIn)),
			InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
				UserAuth: tpm2.TPM2BAuth{Buffer: binding},
			}},
			InPublic: tpm2.New2B(stepUpTemplate),
		}.Execute(t)
		if err != nil {
			return tpmError("make the step-up key", err)
		}
		nb := &blob{srkName: k.name.Buffer, tag: bindingTag(binding), public: tpm2.Marshal(rsp.OutPublic), private: tpm2.Marshal(rsp.OutPrivate)}
		if der, err = publicDER(nb.public); err != nil {
			return err
		}
		if err := writeAtomic(s.opts.Dir, keyFile, nb.encode(kindKey)); err != nil {
			return &native.Error{Code: native.InternalError, Message: "The step-up key could not be written.", Err: err}
		}
		return nil
	})
	return der, err
}

// SignDigest signs a SHA-256 digest with the step-up key bound to binding:
// ECDSA, ASN.1 DER, as Go's ecdsa.VerifyASN1 and Java's SHA256withECDSA
// expect. A key bound to another binding, or made by another storage key,
// is deleted (DataNeedsReenrollment); no key is DataNotFound.
func (s *Store) SignDigest(ctx context.Context, binding, digest []byte) ([]byte, error) {
	if len(binding) != BindingLen {
		return nil, native.NewError(native.InvalidInput, msgBadBinding)
	}
	if len(digest) != 32 {
		return nil, native.NewError(native.InvalidInput, msgDigestNotSHA256)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var sig []byte
	err := s.withTPM(ctx, func(t transport.TPM, k *srk) error {
		b, err := s.readKey(k, binding)
		if err != nil {
			return err
		}
		damaged := func(err error) error {
			return &native.Error{Code: native.DecryptionFailed, Message: msgKeyDamaged, Err: err}
		}
		h, err := load(t, k, b)
		if err != nil {
			return refused(err, damaged)
		}
		defer tpm2.FlushContext{FlushHandle: h.Handle}.Execute(t) //nolint:errcheck // the connection closes next
		rsp, err := tpm2.Sign{
			KeyHandle: tpm2.AuthHandle{Handle: h.Handle, Name: h.Name, Auth: k.salted(binding)},
			Digest:    tpm2.TPM2BDigest{Buffer: digest},
			InScheme: tpm2.TPMTSigScheme{
				Scheme:  tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256}),
			},
			Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
		}.Execute(t)
		if err != nil {
			return refused(err, damaged)
		}
		e, err := rsp.Signature.Signature.ECDSA()
		if err != nil {
			return tpmError("sign", err)
		}
		sig, err = asn1.Marshal(struct{ R, S *big.Int }{
			new(big.Int).SetBytes(e.SignatureR.Buffer), new(big.Int).SetBytes(e.SignatureS.Buffer),
		})
		return err
	})
	return sig, err
}

// DeleteStepUpKey deletes the step-up key's file, if there is one.
func (s *Store) DeleteStepUpKey(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return native.Canceled(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := removeFile(s.opts.Dir, keyFile); err != nil {
		return &native.Error{Code: native.InternalError, Message: "The step-up key could not be deleted.", Err: err}
	}
	return nil
}

// readKey reads the step-up key's file and checks that it is bound to
// binding and to k, deleting it otherwise; mu is held.
func (s *Store) readKey(k *srk, binding []byte) (*blob, error) {
	path := filepath.Join(s.opts.Dir, keyFile)
	file, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, native.NewError(native.DataNotFound, msgKeyNotFound)
	} else if err != nil {
		return nil, &native.Error{Code: native.InternalError, Message: "The step-up key could not be read.", Err: err}
	}
	b, err := decode(kindKey, file)
	if err != nil {
		return nil, &native.Error{Code: native.DecryptionFailed, Message: msgKeyDamaged, Err: err}
	}
	switch {
	case !bytes.Equal(b.tag, bindingTag(binding)):
		return nil, removeInvalid(path, file, native.NewError(native.DataNeedsReenrollment, msgKeyReenrolled))
	case !bytes.Equal(b.srkName, k.name.Buffer):
		return nil, removeInvalid(path, file, native.NewError(native.DataNeedsReenrollment, msgKeyOtherTPM))
	}
	return b, nil
}

// publicDER returns the PKIX DER of a step-up key's public area, which
// must be an ECC P-256 ECDSA-SHA256 signing key.
func publicDER(public []byte) ([]byte, error) {
	notP256 := func(err error) error {
		return &native.Error{Code: native.DecryptionFailed, Message: msgKeyNotP256, Err: err}
	}
	p2b, err := unmarshalPublic(public)
	if err != nil {
		return nil, notP256(err)
	}
	pub, err := p2b.Contents()
	if err != nil {
		return nil, notP256(err)
	}
	if pub.Type != tpm2.TPMAlgECC || !pub.ObjectAttributes.SignEncrypt || !pub.ObjectAttributes.FixedTPM {
		return nil, notP256(nil)
	}
	parms, err := pub.Parameters.ECCDetail()
	if err != nil || parms.CurveID != tpm2.TPMECCNistP256 {
		return nil, notP256(err)
	}
	point, err := pub.Unique.ECC()
	if err != nil {
		return nil, notP256(err)
	}
	if len(point.X.Buffer) > 32 || len(point.Y.Buffer) > 32 {
		return nil, notP256(nil)
	}
	// The uncompressed point 0x04 || X || Y, each coordinate left-padded
	// to 32 bytes; parsing checks that it is on the curve.
	raw := make([]byte, 65)
	raw[0] = 4
	copy(raw[33-len(point.X.Buffer):33], point.X.Buffer)
	copy(raw[65-len(point.Y.Buffer):], point.Y.Buffer)
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, notP256(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, notP256(err)
	}
	return der, nil
}
