package tpm

import (
	"bytes"
	"testing"
)

// FuzzDecode: a file either decodes to fields that encode back to the same
// bytes, or is refused; it never panics. The TPM structures inside parse
// or are refused without a panic, too.
func FuzzDecode(f *testing.F) {
	rec := (&blob{srkName: []byte("n"), tag: make([]byte, 32), public: []byte{0, 1, 2}, private: []byte{0, 0}, nonce: make([]byte, 12), ciphertext: []byte("c")}).encode(kindRecord)
	key := (&blob{srkName: []byte("n"), tag: make([]byte, 32), public: []byte{0, 0}, private: []byte{0, 0}}).encode(kindKey)
	f.Add(rec)
	f.Add(key)
	f.Add(rec[:len(rec)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, file []byte) {
		for _, kind := range []byte{kindRecord, kindKey} {
			b, err := decode(kind, file)
			if err != nil {
				continue
			}
			if got := b.encode(kind); !bytes.Equal(got, file) {
				t.Fatalf("decode then encode changed the file:\n%x\n%x", file, got)
			}
			_, _ = unmarshalPublic(b.public)
			_, _ = unmarshalPrivate(b.private)
			_, _ = publicDER(b.public)
		}
	})
}

// FuzzTPMStructures: the TPM structures of a file (behind its checksum,
// but written by whoever can write the file) parse or are refused, never
// panic.
func FuzzTPMStructures(f *testing.F) {
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 4, 0, 0x23, 0, 0x0b})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := unmarshalPublic(b); err == nil {
			_, _ = p.Contents()
		}
		_, _ = unmarshalPrivate(b)
		_, _ = publicDER(b)
	})
}
