package linux_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/fprintd"
	"github.com/capguard/capguard/native/fprintd/fprintdtest"
	"github.com/capguard/capguard/native/linux"
	"github.com/capguard/capguard/native/secretservice"
	"github.com/capguard/capguard/native/secretservice/sstest"
	"github.com/capguard/capguard/native/tpm"
	"github.com/capguard/capguard/native/tpm/tpmtest"
)

var (
	_ linux.Store    = (*secretservice.Store)(nil)
	_ linux.Store    = (*tpm.Store)(nil)
	_ linux.KeyStore = (*tpm.Store)(nil)
)

const (
	enrolledPrint = "capguard-print"
	otherPrint    = "someone-else"
)

func wantCode(t *testing.T, err error, code native.Code) {
	t.Helper()
	if got, ok := native.CodeOf(err); !ok || got != code {
		t.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}

// env is the real stack: fprintd with a virtual reader on a private bus,
// swtpm, and the device on both.
type env struct {
	rig   *fprintdtest.Rig
	sw    *tpmtest.SWTPM
	store *tpm.Store
	dev   *linux.SigningDevice

	mu    sync.Mutex
	ready chan struct{} // closed at the next "ready" progress
}

func newEnv(t *testing.T) *env {
	t.Helper()
	tpmtest.Require(t)
	e := &env{rig: fprintdtest.Start(t), sw: tpmtest.Start(t)}
	reader, err := fprintd.New(fprintd.Options{Address: e.rig.Address, Progress: func(_ native.Prompt, st string) {
		if st != fprintd.ProgressReady {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.ready != nil {
			close(e.ready)
			e.ready = nil
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.store, err = tpm.New(tpm.Options{Dir: filepath.Join(t.TempDir(), "vault"), Address: e.sw.Address})
	if err != nil {
		t.Fatal(err)
	}
	e.dev, err = linux.NewSigning(reader, e.store, e.store)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitReady returns a channel closed when the reader next waits for a
// finger.
func (e *env) waitReady() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ready = make(chan struct{})
	return e.ready
}

func prompt(max int) native.Prompt {
	return native.Prompt{Reason: "Open the vault", Attempt: 1, MaxAttempts: max}
}

// get runs GetData with the finger playing script and checks that the
// whole script was played and the reader is free afterwards.
func (e *env) get(t *testing.T, max int, domain, name string, script ...string) ([]byte, error) {
	t.Helper()
	e.rig.Script(script...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	data, err := e.dev.GetData(ctx, prompt(max), domain, name)
	if ctx.Err() != nil {
		t.Fatal("GetData hung until the test's deadline")
	}
	sent, left, errs := e.rig.Played()
	if len(left) > 0 || len(errs) > 0 {
		t.Errorf("the finger sent %q, left %q unsent, errors %v", sent, left, errs)
	}
	e.rig.Claimable(t)
	return data, err
}

// recordFiles lists the store's record files.
func (e *env) recordFiles(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(e.store.Dir(), "*.rec"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLinuxVault drives the Linux device against the real fprintd (with
// libfprint's virtual reader) and the real swtpm.
func TestLinuxVault(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	if e.dev.VaultBinding() != native.BoundByEvent || e.dev.SignerBinding() != native.BoundByEvent {
		t.Errorf("bindings = %q, %q; Linux can only be event-bound", e.dev.VaultBinding(), e.dev.SignerBinding())
	}

	t.Run("nothing enrolled", func(t *testing.T) {
		err := e.dev.SetData(ctx, prompt(1), "d", "n", []byte("x"))
		wantCode(t, err, native.BiometryNotEnrolled)
		if got := e.recordFiles(t); len(got) != 0 {
			t.Errorf("records written without an enrollment: %q", got)
		}
	})

	e.rig.Enroll(t, "right-index-finger", enrolledPrint)

	t.Run("set, then get after a match", func(t *testing.T) {
		if err := e.dev.SetData(ctx, prompt(1), "com.example.vault", "token", []byte("s3cret")); err != nil {
			t.Fatal(err)
		}
		if ok, err := e.dev.HasData(ctx, "com.example.vault", "token"); err != nil || !ok {
			t.Fatalf("HasData = %v, %v", ok, err)
		}
		data, err := e.get(t, 1, "com.example.vault", "token", "SCAN "+enrolledPrint)
		if err != nil || string(data) != "s3cret" {
			t.Fatalf("GetData = %q, %v", data, err)
		}
	})

	t.Run("no match releases nothing", func(t *testing.T) {
		data, err := e.get(t, 1, "com.example.vault", "token", "SCAN "+otherPrint)
		wantCode(t, err, native.AuthenticationFailed)
		if data != nil {
			t.Errorf("data released without a match: %q", data)
		}
		if ok, _ := e.dev.HasData(ctx, "com.example.vault", "token"); !ok {
			t.Error("a failed authentication removed the record")
		}
	})

	t.Run("attempts of one authentication", func(t *testing.T) {
		data, err := e.get(t, 3, "com.example.vault", "token", "SCAN "+otherPrint, "SCAN "+otherPrint, "SCAN "+enrolledPrint)
		if err != nil || string(data) != "s3cret" {
			t.Fatalf("GetData after two misses = %q, %v", data, err)
		}
		_, err = e.get(t, 2, "com.example.vault", "token", "SCAN "+otherPrint, "SCAN "+otherPrint)
		wantCode(t, err, native.AuthenticationFailed)
	})

	t.Run("cancel mid-prompt releases nothing", func(t *testing.T) {
		e.rig.Script()
		ready := e.waitReady()
		cctx, cancel := context.WithCancel(ctx)
		type result struct {
			data []byte
			err  error
		}
		done := make(chan result, 1)
		go func() {
			d, err := e.dev.GetData(cctx, prompt(1), "com.example.vault", "token")
			done <- result{d, err}
		}()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("the prompt never started")
		}
		cancel()
		select {
		case r := <-done:
			wantCode(t, r.err, native.AppCancel)
			if r.data != nil {
				t.Errorf("data released on cancel: %q", r.data)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("GetData did not return within 5s of the cancellation")
		}
		e.rig.Claimable(t)
	})

	t.Run("forged match signals release nothing", func(t *testing.T) {
		e.rig.Script()
		before := e.rig.Names(t)
		ready := e.waitReady()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type result struct {
			data []byte
			err  error
		}
		done := make(chan result, 1)
		go func() {
			d, err := e.dev.GetData(cctx, prompt(1), "com.example.vault", "token")
			done <- result{d, err}
		}()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("the prompt never started")
		}
		var fresh []string
		for _, n := range e.rig.Names(t) {
			if strings.HasPrefix(n, ":") && !slices.Contains(before, n) {
				fresh = append(fresh, n)
			}
		}
		e.rig.ForgeMatch(t, fresh...)
		select {
		case r := <-done:
			t.Fatalf("GetData returned %q, %v on a forged signal", r.data, r.err)
		case <-time.After(500 * time.Millisecond):
		}
		cancel()
		r := <-done
		wantCode(t, r.err, native.AppCancel)
		if r.data != nil {
			t.Errorf("data released: %q", r.data)
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		wantCode(t, e.dev.SetData(ctx, prompt(1), "d", "n", make([]byte, native.MaxDataLen+1)), native.InvalidInput)
		wantCode(t, e.dev.SetData(ctx, prompt(1), "com/example", "n", []byte("x")), native.InvalidInput)
		wantCode(t, e.dev.SetData(ctx, prompt(1), strings.Repeat("d", native.MaxDomainLen+1), "n", []byte("x")), native.InvalidInput)
		_, err := e.get(t, 1, "", "n")
		wantCode(t, err, native.InvalidInput)
		_, err = e.dev.HasData(ctx, "a b", "n")
		wantCode(t, err, native.InvalidInput)
		wantCode(t, e.dev.RemoveData(ctx, "d", "a\x00b"), native.InvalidInput)
	})

	t.Run("missing record: no prompt", func(t *testing.T) {
		_, err := e.get(t, 1, "com.example.vault", "missing")
		wantCode(t, err, native.DataNotFound)
	})

	t.Run("corrupted record: decryptionFailed, left alone", func(t *testing.T) {
		if err := e.dev.SetData(ctx, prompt(1), "corrupt", "n", []byte("x")); err != nil {
			t.Fatal(err)
		}
		path := newest(t, e.recordFiles(t))
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		bad := file[:len(file)-5]
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = e.get(t, 1, "corrupt", "n")
		wantCode(t, err, native.DecryptionFailed)
		if now, _ := os.ReadFile(path); !bytes.Equal(now, bad) {
			t.Error("the corrupted record was changed")
		}
		data, err := e.get(t, 1, "com.example.vault", "token", "SCAN "+enrolledPrint)
		if err != nil || string(data) != "s3cret" {
			t.Fatalf("another record after a corrupted one: %q, %v", data, err)
		}
	})

	var stepUp *ecdsa.PublicKey
	t.Run("signed step-up", func(t *testing.T) {
		_, err := e.dev.StepUpKey(ctx, false)
		wantCode(t, err, native.DataNotFound)
		der, err := e.dev.StepUpKey(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		k, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		stepUp = k.(*ecdsa.PublicKey)
		challenge := []byte("plugin:vault|open main tauri://localhost nonce")
		e.rig.Script("SCAN " + enrolledPrint)
		sig, err := e.dev.Sign(ctx, prompt(1), challenge)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256(challenge)
		if !ecdsa.VerifyASN1(stepUp, digest[:], sig) {
			t.Fatal("the signature does not verify with the step-up key")
		}
		e.rig.Script("SCAN " + otherPrint)
		sig, err = e.dev.Sign(ctx, prompt(1), challenge)
		wantCode(t, err, native.AuthenticationFailed)
		if sig != nil {
			t.Errorf("a signature without a match: %x", sig)
		}
		e.rig.Claimable(t)
	})

	t.Run("concurrent use", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprint("c", i)
				for range 2 {
					if err := e.dev.SetData(ctx, prompt(1), "conc", name, []byte(name)); err != nil {
						errs <- err
						return
					}
					if ok, err := e.dev.HasData(ctx, "conc", name); err != nil || !ok {
						errs <- fmt.Errorf("HasData(%s) = %v, %v", name, ok, err)
					}
					if _, err := e.dev.Status(ctx); err != nil {
						errs <- err
					}
				}
				if err := e.dev.RemoveData(ctx, "conc", name); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	// From here on the enrollment changes.
	t.Run("a new enrollment invalidates, without a prompt", func(t *testing.T) {
		if err := e.dev.SetData(ctx, prompt(1), "com.example.vault", "second", []byte("two")); err != nil {
			t.Fatal(err)
		}
		e.rig.Enroll(t, "left-index-finger", otherPrint)
		_, err := e.get(t, 1, "com.example.vault", "token") // no finger: no prompt may start
		wantCode(t, err, native.DataNeedsReenrollment)
		if ok, _ := e.dev.HasData(ctx, "com.example.vault", "token"); ok {
			t.Error("the invalidated record is still there")
		}
		_, err = e.get(t, 1, "com.example.vault", "token")
		wantCode(t, err, native.DataNotFound)
		// The step-up key is invalidated too.
		_, err = e.dev.Sign(ctx, prompt(1), []byte("c"))
		wantCode(t, err, native.DataNeedsReenrollment)
		der, err := e.dev.StepUpKey(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := x509.ParsePKIXPublicKey(der); k.(*ecdsa.PublicKey).Equal(stepUp) {
			t.Error("the new enrollment kept the old step-up key")
		}
		// Stored again under the new enrollment, it opens.
		if err := e.dev.SetData(ctx, prompt(1), "com.example.vault", "token", []byte("again")); err != nil {
			t.Fatal(err)
		}
		data, err := e.get(t, 1, "com.example.vault", "token", "SCAN "+enrolledPrint)
		if err != nil || string(data) != "again" {
			t.Fatalf("GetData under the new enrollment = %q, %v", data, err)
		}
	})

	t.Run("a deleted finger invalidates", func(t *testing.T) {
		e.rig.DeleteFinger(t, "left-index-finger")
		_, err := e.get(t, 1, "com.example.vault", "token")
		wantCode(t, err, native.DataNeedsReenrollment)
	})

	t.Run("the TPM's key deleted behind the app's back", func(t *testing.T) {
		if err := e.dev.SetData(ctx, prompt(1), "com.example.vault", "token", []byte("x")); err != nil {
			t.Fatal(err)
		}
		e.sw.Clear(t)
		_, err := e.get(t, 1, "com.example.vault", "token", "SCAN "+enrolledPrint)
		wantCode(t, err, native.DataNeedsReenrollment)
		if ok, _ := e.dev.HasData(ctx, "com.example.vault", "token"); ok {
			t.Error("the record of the cleared TPM is still there")
		}
	})
}

// newest returns the most recently modified of paths.
func newest(t *testing.T, paths []string) string {
	t.Helper()
	var best string
	var when time.Time
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.ModTime().After(when) || best == "" {
			best, when = p, fi.ModTime()
		}
	}
	if best == "" {
		t.Fatal("no record file")
	}
	return best
}

func TestBinding(t *testing.T) {
	a := linux.Binding("reader", []string{"right-index-finger", "left-thumb"})
	if !bytes.Equal(a, linux.Binding("reader", []string{"left-thumb", "right-index-finger"})) {
		t.Error("the binding depends on fprintd's order of the fingers")
	}
	for _, other := range [][]byte{
		linux.Binding("reader", []string{"right-index-finger"}),
		linux.Binding("another reader", []string{"right-index-finger", "left-thumb"}),
		linux.Binding("reader", []string{"right-index-finger", "left-thumb", "left-index-finger"}),
		linux.Binding("reader", []string{"right-index-fingerleft-thumb"}),
	} {
		if bytes.Equal(a, other) {
			t.Error("two enrollments share a binding")
		}
	}
}

// TestLinuxVaultOnSecretService drives the device with the Secret Service
// store (a machine without a TPM): the real fprintd and the real
// gnome-keyring on private buses.
func TestLinuxVaultOnSecretService(t *testing.T) {
	sstest.Require(t)
	rig := fprintdtest.Start(t)
	k := sstest.Start(t)
	reader, err := fprintd.New(fprintd.Options{Address: rig.Address})
	if err != nil {
		t.Fatal(err)
	}
	store, err := secretservice.New(secretservice.Options{Address: k.Address})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := linux.New(reader, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(script ...string) ([]byte, error) {
		rig.Script(script...)
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		d, err := dev.GetData(cctx, prompt(1), "com.example.vault", "token")
		if _, left, _ := rig.Played(); len(left) > 0 {
			t.Errorf("the finger was not asked for %q", left)
		}
		return d, err
	}

	rig.Enroll(t, "right-index-finger", enrolledPrint)
	if err := dev.SetData(ctx, prompt(1), "com.example.vault", "token", []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	if data, err := get("SCAN " + enrolledPrint); err != nil || string(data) != "s3cret" {
		t.Fatalf("GetData after a match = %q, %v", data, err)
	}
	data, err := get("SCAN " + otherPrint)
	wantCode(t, err, native.AuthenticationFailed)
	if data != nil {
		t.Fatalf("released without a match: %q", data)
	}
	rig.Enroll(t, "left-thumb", otherPrint)
	_, err = get() // no prompt
	wantCode(t, err, native.DataNeedsReenrollment)
	_, err = get()
	wantCode(t, err, native.DataNotFound)
	rig.Claimable(t)
}
