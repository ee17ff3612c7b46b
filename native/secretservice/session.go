package secretservice

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
)

// The Secret Service's one encrypted transfer algorithm,
// "dh-ietf1024-sha256-aes128-cbc-pkcs7": a Diffie-Hellman exchange in the
// 1024-bit MODP group of RFC 2409 (the second Oakley group), HKDF-SHA256 of
// the shared secret (no salt, no info) to a 16-byte key, and AES-128-CBC
// with PKCS#7 padding, the IV sent as the secret's parameters. It keeps
// the secret out of reach of a bus monitor; the bus itself is the user's.
const algorithm = "dh-ietf1024-sha256-aes128-cbc-pkcs7"

var (
	dhPrime = func() *big.Int {
		p, _ := new(big.Int).SetString(
			"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
				"29024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
				"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"+
				"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
				"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"+
				"FFFFFFFFFFFFFFFF", 16)
		return p
	}()
	dhGenerator = big.NewInt(2)
	dhLen       = 128 // bytes of the prime
)

// errSession marks a broken transfer (a bad server key, bad padding).
var errSession = errors.New("secretservice: the encrypted session failed")

// dh is the client's half of the exchange.
type dh struct{ priv *big.Int }

// newDH draws a private exponent.
func newDH() *dh {
	b := make([]byte, dhLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return &dh{priv: new(big.Int).SetBytes(b)}
}

// public is g^x mod p, big endian.
func (d *dh) public() []byte {
	return new(big.Int).Exp(dhGenerator, d.priv, dhPrime).Bytes()
}

// key derives the session's AES key from the service's public value.
func (d *dh) key(peer []byte) ([]byte, error) {
	y := new(big.Int).SetBytes(peer)
	// 1 < y < p-1, or the "shared" secret is predictable.
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(new(big.Int).Sub(dhPrime, big.NewInt(1))) >= 0 {
		return nil, errSession
	}
	shared := new(big.Int).Exp(y, d.priv, dhPrime).FillBytes(make([]byte, dhLen))
	return hkdf.Key(sha256.New, shared, nil, "", 16)
}

// encrypt returns a fresh IV and the AES-128-CBC of plaintext with PKCS#7
// padding.
func encrypt(key, plaintext []byte) (iv, ciphertext []byte) {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 16-byte key never fails
	}
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(n)}, n)...)
	iv = make([]byte, aes.BlockSize)
	_, _ = rand.Read(iv)
	ciphertext = make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, padded)
	clear(padded)
	return iv, ciphertext
}

// decrypt reverses encrypt.
func decrypt(key, iv, ciphertext []byte) ([]byte, error) {
	if len(iv) != aes.BlockSize || len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, errSession
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errSession
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ciphertext)
	n := int(out[len(out)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, errSession
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, errSession
		}
	}
	return out[:len(out)-n], nil
}
