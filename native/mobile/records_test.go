package mobile

import (
	"bytes"
	"testing"

	"github.com/capguard/capguard/native"
)

// A record file that decodes is one that encode writes: the format has a
// single spelling, and nothing else is taken for a record.
func FuzzDecodeRecord(f *testing.F) {
	good := record{iv: bytes.Repeat([]byte{1}, gcmIVLen), sealed: bytes.Repeat([]byte{2}, gcmTagLen+5)}.encode()
	f.Add(good)
	f.Add(good[:len(good)-6])
	f.Add([]byte{recordVersion})
	f.Add([]byte{})
	f.Add(append([]byte{recordVersion, 16}, make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if c, _ := native.CodeOf(err); c != native.DecryptionFailed {
				t.Fatalf("decodeRecord error %v has code %q, want decryptionFailed", err, c)
			}
			return
		}
		if !bytes.Equal(r.encode(), b) {
			t.Fatalf("decodeRecord(% x) = %+v, which encodes as % x", b, r, r.encode())
		}
		if len(r.iv) != gcmIVLen || len(r.sealed) < gcmTagLen || len(r.sealed) > native.MaxDataLen+gcmTagLen {
			t.Fatalf("decodeRecord accepted a record of the wrong shape: iv %d, sealed %d", len(r.iv), len(r.sealed))
		}
	})
}
