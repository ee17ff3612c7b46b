package tpm

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// The file formats of the store, version 1. Every file is
//
//	magic (8 bytes: "cgtpm" 0x00 kind version) || fields || SHA-256 of all the preceding bytes
//
// and each field is a 4-byte big-endian length and its bytes. A record
// (kind 'r') has the fields
//
//	srkName    the Name of the storage primary key it was sealed under
//	tag        SHA-256("capguard-tpm-binding" || binding): the enrollment it is bound to
//	public     TPM2B_PUBLIC of the sealed object (a keyedHash sealing an AES-256 key)
//	private    TPM2B_PRIVATE of that object, wrapped by the storage key
//	nonce      AES-GCM nonce (12 bytes)
//	ciphertext AES-256-GCM of the data, with native.RecordAAD as AAD
//
// and the step-up key (kind 'k') has srkName, tag, public and private of
// an ECC P-256 signing key. The trailing checksum tells random damage
// (decryptionFailed, the file left alone) from a record that is intact but
// bound to another enrollment or another TPM (dataNeedsReenrollment, the
// file removed). It is no defence against someone who rewrites the file:
// the TPM's own integrity checks and the AEAD are.

const (
	formatVersion = 1
	kindRecord    = 'r'
	kindKey       = 'k'
	maxField      = 1 << 20 // larger than any field of a valid file (the data is at most 64 KiB)
	checksumLen   = sha256.Size
)

func magic(kind byte) []byte { return []byte{'c', 'g', 't', 'p', 'm', 0, kind, formatVersion} }

// blob is the decoded fields of a file.
type blob struct {
	srkName, tag, public, private, nonce, ciphertext []byte
}

// errFormat marks a file that does not parse (truncated, damaged, or not
// one of ours).
var errFormat = errors.New("tpm: the file is damaged or not a capguard TPM file")

// fields returns b's fields for kind, in file order.
func (b *blob) fields(kind byte) []*[]byte {
	if kind == kindKey {
		return []*[]byte{&b.srkName, &b.tag, &b.public, &b.private}
	}
	return []*[]byte{&b.srkName, &b.tag, &b.public, &b.private, &b.nonce, &b.ciphertext}
}

// encode writes b as a file of kind.
func (b *blob) encode(kind byte) []byte {
	var out bytes.Buffer
	out.Write(magic(kind))
	for _, f := range b.fields(kind) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(*f)))
		out.Write(n[:])
		out.Write(*f)
	}
	sum := sha256.Sum256(out.Bytes())
	out.Write(sum[:])
	return out.Bytes()
}

// decode reads a file of kind. Any deviation (a wrong magic or version, a
// field running past the end, bytes left over, a checksum mismatch) is
// errFormat.
func decode(kind byte, file []byte) (*blob, error) {
	m := magic(kind)
	if len(file) < len(m)+checksumLen || !bytes.Equal(file[:len(m)], m) {
		return nil, errFormat
	}
	body, sum := file[:len(file)-checksumLen], file[len(file)-checksumLen:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return nil, errFormat
	}
	rest := body[len(m):]
	b := &blob{}
	for _, f := range b.fields(kind) {
		if len(rest) < 4 {
			return nil, errFormat
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if n > maxField || int(n) > len(rest) {
			return nil, errFormat
		}
		*f = bytes.Clone(rest[:n])
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return nil, errFormat
	}
	return b, nil
}

// bindingTag is what a file stores of the binding it was sealed for.
func bindingTag(binding []byte) []byte {
	h := sha256.New()
	h.Write([]byte("capguard-tpm-binding"))
	h.Write(binding)
	return h.Sum(nil)
}

// recordFile is the file name of a record: a digest of its AAD, so that
// no domain or name ("..", say) reaches the file system.
func recordFile(aad []byte) string {
	sum := sha256.Sum256(aad)
	return hex.EncodeToString(sum[:]) + ".rec"
}

// keyFile is the file name of the step-up key.
const keyFile = "stepup.key"
