package shim_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"sync"

	"github.com/capguard/capguard/native/mobile"
)

// demoKeystore plays the key half of the Kotlin shim with software keys:
// every keyed prompt succeeds at once (a user who is always recognized)
// and the key runs the operation, as AndroidKeyStore runs a CryptoObject's.
type demoKeystore struct {
	dir string

	mu  sync.Mutex
	aes map[string]cipher.AEAD
	ec  map[string]*ecdsa.PrivateKey
}

func newDemoKeystore(dir string) *demoKeystore {
	return &demoKeystore{dir: dir, aes: map[string]cipher.AEAD{}, ec: map[string]*ecdsa.PrivateKey{}}
}

func (k *demoKeystore) StorageDir() string { return k.dir }

func (k *demoKeystore) HasKey(alias string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.aes[alias] != nil || k.ec[alias] != nil, nil
}

func (k *demoKeystore) GenerateSecretKey(alias string) error {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, err := cipher.NewGCM(block)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.aes[alias] = gcm
	return err
}

func (k *demoKeystore) GenerateSigningKey(alias string) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ec[alias] = priv
	return err
}

func (k *demoKeystore) PublicKey(alias string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if priv := k.ec[alias]; priv != nil {
		return x509.MarshalPKIXPublicKey(&priv.PublicKey)
	}
	return nil, nil
}

func (k *demoKeystore) DeleteKey(alias string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.aes, alias)
	delete(k.ec, alias)
	return nil
}

func (k *demoKeystore) ShowWithKey(op int, alias string, iv, aad, input []byte, title, subtitle, description, negative string, authenticators int, confirm bool, r mobile.KeyReply) error {
	k.mu.Lock()
	gcm, priv := k.aes[alias], k.ec[alias]
	k.mu.Unlock()
	if gcm == nil && priv == nil {
		r.KeyFailed(mobile.KeyErrorMissing, "no key")
		return nil
	}
	iv, aad, input = append([]byte{}, iv...), append([]byte{}, aad...), append([]byte{}, input...)
	go func() {
		switch op {
		case mobile.OperationEncrypt:
			nonce := make([]byte, gcm.NonceSize())
			_, _ = rand.Read(nonce)
			r.Completed(nonce, gcm.Seal(nil, nonce, input, aad))
		case mobile.OperationDecrypt:
			if plain, err := gcm.Open(nil, iv, input, aad); err == nil {
				r.Completed(nil, plain)
			} else {
				r.KeyFailed(mobile.KeyErrorBadData, err.Error())
			}
		case mobile.OperationSign:
			d := sha256.Sum256(input)
			sig, _ := ecdsa.SignASN1(rand.Reader, priv, d[:])
			r.Completed(nil, sig)
		default:
			r.KeyFailed(mobile.KeyErrorRefused, errors.New("no such operation").Error())
		}
	}()
	return nil
}
