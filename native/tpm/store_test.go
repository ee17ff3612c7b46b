package tpm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/tpm/tpmtest"
)

// The tests of this file run against a real swtpm (tpmtest.Start).

var (
	bindingA = sha256.Sum256([]byte("fingers A"))
	bindingB = sha256.Sum256([]byte("fingers B"))
)

func newStore(t *testing.T, sw *tpmtest.SWTPM) *Store {
	t.Helper()
	s, err := New(Options{Dir: filepath.Join(t.TempDir(), "vault"), Address: sw.Address})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantCode(t *testing.T, err error, code native.Code) {
	t.Helper()
	if got, ok := native.CodeOf(err); !ok || got != code {
		t.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}

// path returns the file of a record.
func (s *Store) path(domain, name string) string {
	return filepath.Join(s.opts.Dir, recordFile(native.RecordAAD(formatVersion, domain, name)))
}

func mustSeal(t *testing.T, s *Store, domain, name string, binding [32]byte, data string) {
	t.Helper()
	if err := s.Seal(context.Background(), domain, name, binding[:], []byte(data)); err != nil {
		t.Fatalf("Seal(%s, %s): %v", domain, name, err)
	}
}

func wantData(t *testing.T, s *Store, domain, name string, binding [32]byte, data string) {
	t.Helper()
	got, err := s.Unseal(context.Background(), domain, name, binding[:])
	if err != nil {
		t.Fatalf("Unseal(%s, %s): %v", domain, name, err)
	}
	if string(got) != data {
		t.Fatalf("Unseal(%s, %s) = %q, want %q", domain, name, got, data)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entries lists the directory's file names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestStore(t *testing.T) {
	sw := tpmtest.Start(t)
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "com.example.vault", "token", bindingA, "s3cret")
		wantData(t, s, "com.example.vault", "token", bindingA, "s3cret")
		if ok, err := s.Has(ctx, "com.example.vault", "token"); err != nil || !ok {
			t.Errorf("Has = %v, %v", ok, err)
		}
		if ok, err := s.Has(ctx, "com.example.vault", "other"); err != nil || ok {
			t.Errorf("Has(other) = %v, %v", ok, err)
		}
		file := readFile(t, s.path("com.example.vault", "token"))
		if bytes.Contains(file, []byte("s3cret")) {
			t.Error("the plaintext is in the file")
		}
		fi, err := os.Stat(s.path("com.example.vault", "token"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("record mode = %v, %v; want 0600", fi.Mode().Perm(), err)
		}
		di, err := os.Stat(s.Dir())
		if err != nil || di.Mode().Perm() != 0o700 {
			t.Errorf("directory mode = %v, %v; want 0700", di.Mode().Perm(), err)
		}
		if got := entries(t, s.Dir()); len(got) != 1 || !strings.HasSuffix(got[0], ".rec") {
			t.Errorf("the directory holds %q, want one record and no temporary file", got)
		}
	})

	t.Run("empty and largest data", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "empty", bindingA, "")
		wantData(t, s, "d", "empty", bindingA, "")
		big := strings.Repeat("x", native.MaxDataLen)
		mustSeal(t, s, "d", "big", bindingA, big)
		wantData(t, s, "d", "big", bindingA, big)
	})

	t.Run("replace", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "n", bindingA, "one")
		mustSeal(t, s, "d", "n", bindingA, "two")
		wantData(t, s, "d", "n", bindingA, "two")
	})

	t.Run("names that are not paths", func(t *testing.T) {
		s := newStore(t, sw)
		for _, d := range []string{".", "..", "-"} {
			mustSeal(t, s, d, "../../x", bindingA, "v"+d)
		}
		for _, d := range []string{".", "..", "-"} {
			wantData(t, s, d, "../../x", bindingA, "v"+d)
		}
		if got := entries(t, s.Dir()); len(got) != 3 {
			t.Errorf("the directory holds %q, want three records", got)
		}
		if got := entries(t, filepath.Dir(s.Dir())); len(got) != 1 {
			t.Errorf("files were written beside the store: %q", got)
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		s := newStore(t, sw)
		for _, tc := range []struct {
			name, domain, record string
			binding              []byte
			data                 []byte
		}{
			{"oversized data", "d", "n", bindingA[:], make([]byte, native.MaxDataLen+1)},
			{"slash in domain", "a/b", "n", bindingA[:], nil},
			{"empty domain", "", "n", bindingA[:], nil},
			{"empty name", "d", "", bindingA[:], nil},
			{"control character in name", "d", "a\nb", bindingA[:], nil},
			{"short binding", "d", "n", bindingA[:31], nil},
			{"no binding", "d", "n", nil, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.Seal(ctx, tc.domain, tc.record, tc.binding, tc.data), native.InvalidInput)
				_, err := s.Unseal(ctx, tc.domain, tc.record, tc.binding)
				if tc.name != "oversized data" {
					wantCode(t, err, native.InvalidInput)
				}
			})
		}
		if got := entries(t, s.Dir()); len(got) != 0 {
			t.Errorf("refused input left files: %q", got)
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t, sw)
		_, err := s.Unseal(ctx, "d", "missing", bindingA[:])
		wantCode(t, err, native.DataNotFound)
		wantCode(t, s.Check(ctx, "d", "missing", bindingA[:]), native.DataNotFound)
		if err := s.Remove(ctx, "d", "missing"); err != nil {
			t.Errorf("Remove of a missing record: %v", err)
		}
	})

	t.Run("remove", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "a", bindingA, "1")
		mustSeal(t, s, "d", "b", bindingA, "2")
		if err := s.Remove(ctx, "d", "a"); err != nil {
			t.Fatal(err)
		}
		_, err := s.Unseal(ctx, "d", "a", bindingA[:])
		wantCode(t, err, native.DataNotFound)
		wantData(t, s, "d", "b", bindingA, "2")
	})

	t.Run("another enrollment invalidates", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "a", bindingA, "1")
		mustSeal(t, s, "d", "other", bindingA, "2")
		if err := s.Check(ctx, "d", "a", bindingA[:]); err != nil {
			t.Fatalf("Check with the sealing binding: %v", err)
		}
		_, err := s.Unseal(ctx, "d", "a", bindingB[:])
		wantCode(t, err, native.DataNeedsReenrollment)
		if _, err := os.Stat(s.path("d", "a")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the invalidated record is still there: %v", err)
		}
		// Gone for good, also under the old binding; the other record is
		// untouched (it is invalidated when it is used).
		_, err = s.Unseal(ctx, "d", "a", bindingA[:])
		wantCode(t, err, native.DataNotFound)
		wantData(t, s, "d", "other", bindingA, "2")
		wantCode(t, s.Check(ctx, "d", "other", bindingB[:]), native.DataNeedsReenrollment)
	})

	t.Run("the TPM refuses another authValue", func(t *testing.T) {
		// Someone rewrites the file's binding tag (and its checksum) for
		// binding B: the tag now passes, but the TPM demands the authValue
		// the object was created with.
		s := newStore(t, sw)
		mustSeal(t, s, "d", "a", bindingA, "1")
		path := s.path("d", "a")
		b, err := decode(kindRecord, readFile(t, path))
		if err != nil {
			t.Fatal(err)
		}
		b.tag = bindingTag(bindingB[:])
		forged := b.encode(kindRecord)
		if err := os.WriteFile(path, forged, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = s.Unseal(ctx, "d", "a", bindingB[:])
		wantCode(t, err, native.DecryptionFailed)
		if !errors.Is(err, tpm2.TPMRCBadAuth) && !errors.Is(err, tpm2.TPMRCAuthFail) {
			t.Errorf("err = %v, want the TPM's refusal of the authValue as its cause", err)
		}
		if !bytes.Equal(readFile(t, path), forged) {
			t.Error("the rewritten record was not left alone")
		}
	})

	t.Run("damaged records are left alone", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "keep", bindingA, "kept")
		mustSeal(t, s, "d", "a", bindingA, "1")
		path := s.path("d", "a")
		orig := readFile(t, path)
		// flip returns orig with one byte of field f changed, its checksum
		// recomputed (fixed) or not.
		flip := func(f func(*blob) []byte, fixed bool) []byte {
			b, err := decode(kindRecord, orig)
			if err != nil {
				t.Fatal(err)
			}
			field := f(b)
			field[len(field)/2] ^= 0x40
			out := b.encode(kindRecord)
			if !fixed {
				out[len(out)-1] ^= 0xff
			}
			return out
		}
		for _, tc := range []struct {
			name string
			file []byte
		}{
			{"truncated", orig[:len(orig)/2]},
			{"truncated by one byte", orig[:len(orig)-1]},
			{"empty", nil},
			{"one byte flipped", flip(func(b *blob) []byte { return b.ciphertext }, false)},
			{"ciphertext rewritten", flip(func(b *blob) []byte { return b.ciphertext }, true)},
			{"nonce rewritten", flip(func(b *blob) []byte { return b.nonce }, true)},
			{"private area rewritten", flip(func(b *blob) []byte { return b.private }, true)},
			{"public area rewritten", flip(func(b *blob) []byte { return b.public }, true)},
			{"not a record", []byte("hello, this is not a sealed record at all, but long enough to parse")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := os.WriteFile(path, tc.file, 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := s.Unseal(ctx, "d", "a", bindingA[:])
				wantCode(t, err, native.DecryptionFailed)
				var rc tpm2.TPMRC
				if strings.Contains(tc.name, "area") && !errors.As(err, &rc) {
					t.Errorf("err = %v, want the TPM's refusal to load the object as its cause", err)
				}
				if !bytes.Equal(readFile(t, path), tc.file) {
					t.Error("the damaged record was changed")
				}
				wantData(t, s, "d", "keep", bindingA, "kept")
			})
		}
	})

	t.Run("a record copied over another does not open", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "a", bindingA, "for a")
		mustSeal(t, s, "d", "b", bindingA, "for b")
		copied := readFile(t, s.path("d", "a"))
		if err := os.WriteFile(s.path("d", "b"), copied, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Unseal(ctx, "d", "b", bindingA[:])
		wantCode(t, err, native.DecryptionFailed)
		wantData(t, s, "d", "a", bindingA, "for a")
	})

	t.Run("the records of another TPM do not open", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "a", bindingA, "1")
		other := tpmtest.Start(t)
		s2, err := New(Options{Dir: s.Dir(), Address: other.Address})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s2.Unseal(ctx, "d", "a", bindingA[:])
		wantCode(t, err, native.DataNeedsReenrollment)
		if _, err := os.Stat(s.path("d", "a")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the record of another TPM is still there: %v", err)
		}
	})

	t.Run("a record survives a reboot", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "a", bindingA, "1")
		sw.Restart(t)
		s2, err := New(Options{Dir: s.Dir(), Address: sw.Address})
		if err != nil {
			t.Fatal(err)
		}
		wantData(t, s2, "d", "a", bindingA, "1")
	})

	t.Run("unreachable TPM", func(t *testing.T) {
		s, err := New(Options{Dir: t.TempDir(), Address: "127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.Probe(ctx), native.InternalError)
		wantCode(t, s.Seal(ctx, "d", "a", bindingA[:], []byte("x")), native.InternalError)
		if got := entries(t, s.Dir()); len(got) != 0 {
			t.Errorf("a failed Seal left files: %q", got)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		s := newStore(t, sw)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		wantCode(t, s.Seal(cctx, "d", "a", bindingA[:], []byte("x")), native.AppCancel)
	})

	t.Run("concurrent use", func(t *testing.T) {
		s := newStore(t, sw)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprint("n", i)
				for j := range 3 {
					v := fmt.Sprint(i, "/", j)
					if err := s.Seal(ctx, "d", name, bindingA[:], []byte(v)); err != nil {
						errs <- err
						return
					}
					got, err := s.Unseal(ctx, "d", name, bindingA[:])
					if err != nil || string(got) != v {
						errs <- fmt.Errorf("Unseal(%s) = %q, %v; want %q", name, got, err, v)
						return
					}
					if _, err := s.Has(ctx, "d", "shared"); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	// Last: clearing the TPM changes the storage key for everyone.
	t.Run("a cleared TPM invalidates", func(t *testing.T) {
		s := newStore(t, sw)
		mustSeal(t, s, "d", "a", bindingA, "1")
		sw.Clear(t)
		_, err := s.Unseal(ctx, "d", "a", bindingA[:])
		wantCode(t, err, native.DataNeedsReenrollment)
		if !strings.Contains(err.Error(), "cleared") {
			t.Errorf("message %q does not say the TPM was cleared", err)
		}
		mustSeal(t, s, "d", "a", bindingA, "2")
		wantData(t, s, "d", "a", bindingA, "2")
	})
}

func TestNewRefusesAnOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("New on a world-writable directory: %v", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without a directory succeeded")
	}
	if _, err := New(Options{Dir: t.TempDir(), Device: "/dev/tpmrm0", Address: "127.0.0.1:2321"}); err == nil {
		t.Error("New with both a device and an address succeeded")
	}
}
