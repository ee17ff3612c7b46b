package secretservice

import (
	"bytes"
	"errors"
	"testing"
)

func TestFormat(t *testing.T) {
	b := bytes.Repeat([]byte{1}, 32)
	other := bytes.Repeat([]byte{2}, 32)
	v := encode("d", "n", b, []byte("data"))
	if got, err := decode("d", "n", b, v); err != nil || string(got) != "data" {
		t.Fatalf("decode = %q, %v", got, err)
	}
	if _, err := decode("d", "n", other, v); !errors.Is(err, errOtherBinding) {
		t.Errorf("another binding: %v", err)
	}
	if _, err := decode("d", "m", b, v); !errors.Is(err, errFormat) {
		t.Errorf("another name: %v", err)
	}
	for i := range v {
		bad := bytes.Clone(v)
		bad[i] ^= 1
		if _, err := decode("d", "n", b, bad); !errors.Is(err, errFormat) {
			t.Fatalf("byte %d flipped: %v, want errFormat", i, err)
		}
	}
}

func TestSessionCipher(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		msg := bytes.Repeat([]byte{'x'}, n)
		iv, ct := encrypt(key, msg)
		got, err := decrypt(key, iv, ct)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: %q, %v", n, got, err)
		}
	}
	// Both sides of an exchange derive the same key.
	a, b := newDH(), newDH()
	ka, err1 := a.key(b.public())
	kb, err2 := b.key(a.public())
	if err1 != nil || err2 != nil || !bytes.Equal(ka, kb) || len(ka) != 16 {
		t.Fatalf("keys %x, %x (%v, %v)", ka, kb, err1, err2)
	}
	for _, bad := range [][]byte{nil, {1}, dhPrime.Bytes()} {
		if _, err := a.key(bad); err == nil {
			t.Errorf("a degenerate server value %x was accepted", bad)
		}
	}
}

// FuzzDecrypt: whatever the service sends back, decryption and decoding
// answer or refuse, never panic.
func FuzzDecrypt(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 16)
	iv, ct := encrypt(key, encode("d", "n", make([]byte, 32), []byte("x")))
	f.Add(iv, ct)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, iv, ct []byte) {
		if v, err := decrypt(key, iv, ct); err == nil {
			_, _ = decode("d", "n", make([]byte, 32), v)
		}
		_, _ = decode("d", "n", make([]byte, 32), ct)
	})
}
