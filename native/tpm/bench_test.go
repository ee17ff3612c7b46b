package tpm

import (
	"context"
	"testing"

	"github.com/capguard/capguard/native/tpm/tpmtest"
)

// BenchmarkStore measures a record's seal and unseal against swtpm, next to
// the cost of deriving the storage key alone (Probe), which every
// operation pays: most of a TPM operation is the TPM's, not the file's.
func BenchmarkStore(b *testing.B) {
	sw := tpmtest.Start(b)
	s, err := New(Options{Dir: b.TempDir(), Address: sw.Address})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, 1024)
	b.Run("probe", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Probe(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("seal 1KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Seal(ctx, "d", "n", bindingA[:], data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unseal 1KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Unseal(ctx, "d", "n", bindingA[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Check(ctx, "d", "n", bindingA[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
