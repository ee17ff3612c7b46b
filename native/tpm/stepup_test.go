package tpm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/tpm/tpmtest"
)

func parseP256(t *testing.T, der []byte) *ecdsa.PublicKey {
	t.Helper()
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("the step-up key is a %T, not EC P-256", k)
	}
	return pub
}

func TestStepUpKey(t *testing.T) {
	sw := tpmtest.Start(t)
	ctx := context.Background()
	digest := sha256.Sum256([]byte("challenge"))

	t.Run("sign and verify", func(t *testing.T) {
		s := newStore(t, sw)
		_, err := s.StepUpKey(ctx, bindingA[:], false)
		wantCode(t, err, native.DataNotFound)
		_, err = s.SignDigest(ctx, bindingA[:], digest[:])
		wantCode(t, err, native.DataNotFound)
		der, err := s.StepUpKey(ctx, bindingA[:], true)
		if err != nil {
			t.Fatal(err)
		}
		pub := parseP256(t, der)
		again, err := s.StepUpKey(ctx, bindingA[:], false)
		if err != nil || !bytes.Equal(again, der) {
			t.Fatalf("the key changed between calls: %v", err)
		}
		sig, err := s.SignDigest(ctx, bindingA[:], digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("the TPM's signature does not verify with the step-up key")
		}
		other := sha256.Sum256([]byte("another challenge"))
		if ecdsa.VerifyASN1(pub, other[:], sig) {
			t.Fatal("the signature verifies for another digest")
		}
		_, err = s.SignDigest(ctx, bindingA[:], digest[:31])
		wantCode(t, err, native.InvalidInput)
	})

	t.Run("another enrollment invalidates", func(t *testing.T) {
		s := newStore(t, sw)
		der, err := s.StepUpKey(ctx, bindingA[:], true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.SignDigest(ctx, bindingB[:], digest[:])
		wantCode(t, err, native.DataNeedsReenrollment)
		_, err = s.StepUpKey(ctx, bindingA[:], false)
		wantCode(t, err, native.DataNotFound)
		fresh, err := s.StepUpKey(ctx, bindingB[:], true)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(fresh, der) {
			t.Fatal("the new enrollment got the old key back")
		}
		// With create, an invalidated key is replaced at once.
		newer, err := s.StepUpKey(ctx, bindingA[:], true)
		if err != nil || bytes.Equal(newer, fresh) {
			t.Fatalf("StepUpKey(create) over an invalidated key = %v, same key %v", err, bytes.Equal(newer, fresh))
		}
	})

	t.Run("damaged key file is left alone", func(t *testing.T) {
		s := newStore(t, sw)
		if _, err := s.StepUpKey(ctx, bindingA[:], true); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(s.Dir(), keyFile)
		file := readFile(t, path)
		damaged := file[:len(file)-3]
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.SignDigest(ctx, bindingA[:], digest[:])
		wantCode(t, err, native.DecryptionFailed)
		_, err = s.StepUpKey(ctx, bindingA[:], true)
		wantCode(t, err, native.DecryptionFailed)
		if !bytes.Equal(readFile(t, path), damaged) {
			t.Error("the damaged key file was changed")
		}
		if err := s.DeleteStepUpKey(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = s.StepUpKey(ctx, bindingA[:], false)
		wantCode(t, err, native.DataNotFound)
		if err := s.DeleteStepUpKey(ctx); err != nil {
			t.Errorf("deleting no key: %v", err)
		}
	})

	t.Run("a cleared TPM invalidates", func(t *testing.T) {
		s := newStore(t, sw)
		if _, err := s.StepUpKey(ctx, bindingA[:], true); err != nil {
			t.Fatal(err)
		}
		sw.Clear(t)
		_, err := s.SignDigest(ctx, bindingA[:], digest[:])
		wantCode(t, err, native.DataNeedsReenrollment)
		if _, err := os.Stat(filepath.Join(s.Dir(), keyFile)); !os.IsNotExist(err) {
			t.Errorf("the key of the old storage key is still there: %v", err)
		}
	})
}
