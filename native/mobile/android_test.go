package mobile

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capguard/capguard/native"
)

// The Android vault and signer, on a Go stand-in for the Kotlin shim whose
// keys are software keys that work only when the scripted prompt succeeds
// (fakekeys_test.go).

var vp = native.Prompt{Reason: "Unlock your vault", Attempt: 1, MaxAttempts: 3, ConfirmationRequired: true}

func newAndroidFixture(t *testing.T, steps ...keyStep) (*fakeAndroid, *androidShim) {
	t.Helper()
	if len(steps) == 0 {
		steps = []keyStep{kSucceed}
	}
	f := &fakeAndroid{features: FeatureFingerprint, secure: true, dir: t.TempDir(), keyScript: steps}
	return f, newAndroidShim(f)
}

func mustSet(t *testing.T, sh native.Vault, domain, name, data string) {
	t.Helper()
	if err := sh.SetData(context.Background(), vp, domain, name, []byte(data)); err != nil {
		t.Fatalf("SetData(%s, %s): %v", domain, name, err)
	}
}

func mustGet(t *testing.T, sh native.Vault, domain, name, want string) {
	t.Helper()
	got, err := sh.GetData(context.Background(), vp, domain, name)
	if err != nil || string(got) != want {
		t.Fatalf("GetData(%s, %s) = %q, %v; want %q", domain, name, got, err, want)
	}
}

func wantCode(t *testing.T, err error, code native.Code) {
	t.Helper()
	if c, _ := native.CodeOf(err); c != code {
		t.Fatalf("err = %v (code %q), want %q", err, c, code)
	}
}

// recordFile is the path of a record's file.
func recordFile(f *fakeAndroid, domain, name string) string {
	st, _ := newRecordStore(f.dir)
	return st.path(domain, name)
}

func TestAndroidVaultRoundTrip(t *testing.T) {
	f, sh := newAndroidFixture(t)
	ctx := context.Background()
	if sh.VaultBinding() != native.BoundByKey || sh.SignerBinding() != native.BoundByKey {
		t.Errorf("bindings %q %q, want key", sh.VaultBinding(), sh.SignerBinding())
	}
	if ok, err := sh.HasData(ctx, "com.example", "token"); ok || err != nil {
		t.Fatalf("HasData before SetData = %v, %v", ok, err)
	}
	mustSet(t, sh, "com.example", "token", "s3cret")
	mustGet(t, sh, "com.example", "token", "s3cret")
	if ok, err := sh.HasData(ctx, "com.example", "token"); !ok || err != nil {
		t.Fatalf("HasData after SetData = %v, %v", ok, err)
	}

	calls := f.calls()
	if len(calls) != 2 {
		t.Fatalf("%d keyed prompts, want 2", len(calls))
	}
	aad := native.RecordAAD(recordVersion, "com.example", "token")
	set, get := calls[0], calls[1]
	if set.op != OperationEncrypt || set.alias != "capguard.vault.com.example" || len(set.iv) != 0 || !bytes.Equal(set.aad, aad) || string(set.input) != "s3cret" {
		t.Errorf("set: %+v", set)
	}
	// MASTG-BEST-0036 (Go side): the prompt of a key operation allows a
	// strong biometric only, never the device credential.
	for _, c := range calls {
		if c.authenticators != AuthenticatorBiometricStrong || c.negative != "Cancel" || c.description != vp.Reason {
			t.Errorf("keyed prompt %+v: want BIOMETRIC_STRONG, a Cancel button and the reason", c)
		}
	}
	// The record on disk: the IV the cipher chose and the ciphertext, no
	// plaintext.
	b, err := os.ReadFile(recordFile(f, "com.example", "token"))
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != recordVersion || int(b[1]) != gcmIVLen || len(b) != 2+gcmIVLen+len("s3cret")+gcmTagLen || bytes.Contains(b, []byte("s3cret")) {
		t.Errorf("record file % x", b)
	}
	if get.op != OperationDecrypt || !bytes.Equal(get.iv, b[2:2+gcmIVLen]) || !bytes.Equal(get.input, b[2+gcmIVLen:]) || !bytes.Equal(get.aad, aad) {
		t.Errorf("get: %+v", get)
	}
	if len(f.generated) != 1 || f.generated[0] != "capguard.vault.com.example" {
		t.Errorf("keys made: %q, want one for the domain", f.generated)
	}

	// Replacing keeps one key; removing leaves the key.
	mustSet(t, sh, "com.example", "token", "new")
	mustGet(t, sh, "com.example", "token", "new")
	if err := sh.RemoveData(ctx, "com.example", "token"); err != nil {
		t.Fatal(err)
	}
	if err := sh.RemoveData(ctx, "com.example", "token"); err != nil {
		t.Errorf("removing a missing record: %v", err)
	}
	_, err = sh.GetData(ctx, vp, "com.example", "token")
	wantCode(t, err, native.DataNotFound)
	if len(f.generated) != 1 || len(f.calls()) != 4 {
		t.Errorf("keys made %q, %d prompts; want 1 and 4 (no prompt for a missing record)", f.generated, len(f.calls()))
	}
}

func TestAndroidVaultBadInput(t *testing.T) {
	f, sh := newAndroidFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, domain, record string
		data                 []byte
	}{
		{"empty domain", "", "n", nil},
		{"parent directory as domain", "..", "n", []byte("x")},
		{"slash", "a/b", "n", nil},
		{"control character", "d", "a\nb", nil},
		{"oversized data", "d", "n", make([]byte, native.MaxDataLen+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sh.SetData(ctx, vp, tc.domain, tc.record, tc.data)
			if tc.domain == ".." {
				// ".." is a valid domain; its records stay inside the store.
				if err != nil {
					t.Fatal(err)
				}
				mustGet(t, sh, "..", "n", "x")
				if _, err := os.Stat(filepath.Join(f.dir, recordDirName, "2e2e")); err != nil {
					t.Errorf("the domain \"..\" is not kept in its own directory: %v", err)
				}
				return
			}
			wantCode(t, err, native.InvalidInput)
			_, err = sh.GetData(ctx, vp, tc.domain, tc.record)
			if tc.data == nil {
				wantCode(t, err, native.InvalidInput)
			}
		})
	}
	entries, _ := os.ReadDir(filepath.Join(f.dir, recordDirName))
	if len(entries) != 1 {
		t.Errorf("the store holds %d domains, want only \"..\"'s", len(entries))
	}
	if n := len(f.calls()); n != 2 {
		t.Errorf("%d prompts, want 2 (none for bad input)", n)
	}

	// A storage directory that is not absolute is refused.
	g := &fakeAndroid{features: FeatureFingerprint, dir: "relative/dir", keyScript: []keyStep{kSucceed}}
	wantCode(t, newAndroidShim(g).SetData(ctx, vp, "d", "n", nil), native.InternalError)
}

func TestAndroidVaultPromptOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		steps  []keyStep
		max    int
		want   native.Code
		dismis int
	}{
		{"user cancel", []keyStep{kFail(10, "Cancelled")}, 3, native.UserCancel, 0},
		{"negative button", []keyStep{kFail(13, "Not now")}, 3, native.UserCancel, 0},
		{"lockout", []keyStep{kNotRecognized, kFail(7, "Too many attempts")}, 3, native.BiometryLockout, 0},
		{"system cancel", []keyStep{kFail(5, "")}, 3, native.SystemCancel, 0},
		{"unknown prompt error", []keyStep{kFail(1000, "?")}, 3, native.SystemCancel, 0},
		{"not recognized up to the limit", []keyStep{kNotRecognized, kNotRecognized, kNotRecognized, kSucceed}, 3, native.AuthenticationFailed, 1},
		{"no attempts allowed means one", []keyStep{kNotRecognized, kSucceed}, 0, native.AuthenticationFailed, 1},
		{"two misses then a match", []keyStep{kNotRecognized, kNotRecognized, kSucceed}, 3, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, sh := newAndroidFixture(t)
			mustSet(t, sh, "d", "n", "secret")
			f.setKeyScript(tc.steps...)
			p := vp
			p.MaxAttempts = tc.max
			data, err := sh.GetData(context.Background(), p, "d", "n")
			if tc.want == "" {
				if err != nil || string(data) != "secret" {
					t.Fatalf("GetData = %q, %v", data, err)
				}
			} else {
				wantCode(t, err, tc.want)
				if data != nil {
					t.Errorf("data %q released with %v", data, err)
				}
			}
			if _, d := f.counts(); d != tc.dismis {
				t.Errorf("dismissed %d times, want %d", d, tc.dismis)
			}
			// The record is untouched: the next prompt that succeeds opens it.
			f.setKeyScript(kSucceed)
			mustGet(t, sh, "d", "n", "secret")
		})
	}
}

func TestAndroidVaultKeyErrors(t *testing.T) {
	c := loadContract(t)
	rows := append([]struct{ constant string }{}, struct{ constant string }{"unknown"})
	for _, r := range c.KeyErrors {
		rows = append(rows, struct{ constant string }{r.Constant})
	}
	for _, row := range rows {
		t.Run(row.constant, func(t *testing.T) {
			code := 99
			if row.constant != "unknown" {
				code = int(c.Gomobile.Constants[row.constant])
			}
			o := androidKeyOutcome(code)
			f, sh := newAndroidFixture(t)
			mustSet(t, sh, "d", "a", "A")
			mustSet(t, sh, "d", "b", "B")
			mustSet(t, sh, "other", "c", "C")
			f.setKeyScript(kKeyFail(code))
			data, err := sh.GetData(context.Background(), vp, "d", "a")
			wantCode(t, err, o.vault)
			if data != nil {
				t.Errorf("data released: %q", data)
			}
			f.setKeyScript(kSucceed)
			_, errB := sh.GetData(context.Background(), vp, "d", "b")
			ok, _ := sh.HasData(context.Background(), "d", "a")
			if o.dropsKey {
				// The domain's records are gone, and its key.
				if ok || !errors.Is(errB, native.DataNotFound) {
					t.Errorf("after %s: record a exists %v, record b: %v; want both removed", row.constant, ok, errB)
				}
				if len(f.deleted) != 1 || f.deleted[0] != "capguard.vault.d" {
					t.Errorf("keys deleted: %q", f.deleted)
				}
			} else {
				if !ok || errB != nil {
					t.Errorf("after %s: record a exists %v, record b: %v; want both kept", row.constant, ok, errB)
				}
				if len(f.deleted) != 0 {
					t.Errorf("keys deleted: %q", f.deleted)
				}
			}
			mustGet(t, sh, "other", "c", "C")
		})
	}
}

// setInvalidatedByBiometricEnrollment(true) → dataNeedsReenrollment, on
// the Go side: the shim's KeyErrorInvalidated removes the domain's
// records and key, and the domain starts again with a new key.
func TestAndroidVaultNewEnrollment(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "a", "A")
	mustSet(t, sh, "d", "b", "B")
	f.enroll()
	_, err := sh.GetData(context.Background(), vp, "d", "a")
	wantCode(t, err, native.DataNeedsReenrollment)
	for _, n := range []string{"a", "b"} {
		if ok, _ := sh.HasData(context.Background(), "d", n); ok {
			t.Errorf("record %s survived the invalidation", n)
		}
	}
	mustSet(t, sh, "d", "a", "again")
	mustGet(t, sh, "d", "a", "again")
	if len(f.generated) != 2 {
		t.Errorf("keys made %q, want a second one after the invalidation", f.generated)
	}
}

// A key deleted behind the app's back: dataNeedsReenrollment without a
// prompt, the records removed.
func TestAndroidVaultKeyDeletedBehindTheAppsBack(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "a", "A")
	mustSet(t, sh, "e", "x", "X")
	f.deleteBehindBack("capguard.vault.d")
	before := len(f.calls())
	_, err := sh.GetData(context.Background(), vp, "d", "a")
	wantCode(t, err, native.DataNeedsReenrollment)
	if len(f.calls()) != before {
		t.Error("a prompt was shown for a record whose key is gone")
	}
	if ok, _ := sh.HasData(context.Background(), "d", "a"); ok {
		t.Error("the record survived")
	}
	mustGet(t, sh, "e", "x", "X")

	// A key gone before a SetData: the domain's old records cannot open,
	// so they go, and the new record is sealed by a new key.
	mustSet(t, sh, "e", "y", "Y")
	f.deleteBehindBack("capguard.vault.e")
	mustSet(t, sh, "e", "z", "Z")
	mustGet(t, sh, "e", "z", "Z")
	for _, n := range []string{"x", "y"} {
		if ok, _ := sh.HasData(context.Background(), "e", n); ok {
			t.Errorf("record %s of the lost key survived", n)
		}
	}
}

func TestAndroidVaultCorruptRecords(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(b []byte) []byte
		prompt  bool // the damage shows only when the key decrypts
	}{
		{"empty file", func(b []byte) []byte { return nil }, false},
		{"truncated header", func(b []byte) []byte { return b[:1] }, false},
		{"truncated before the tag", func(b []byte) []byte { return b[:2+gcmIVLen+gcmTagLen-1] }, false},
		{"another format version", func(b []byte) []byte { b[0] = 9; return b }, false},
		{"another IV length", func(b []byte) []byte { b[1] = 16; return b }, false},
		{"oversized", func(b []byte) []byte { return append(b, make([]byte, maxRecordFile)...) }, false},
		{"truncated ciphertext", func(b []byte) []byte { return b[:len(b)-1] }, true},
		{"flipped ciphertext byte", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, true},
		{"flipped IV byte", func(b []byte) []byte { b[2] ^= 1; return b }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, sh := newAndroidFixture(t)
			mustSet(t, sh, "d", "victim", "secret data")
			mustSet(t, sh, "d", "other", "kept")
			path := recordFile(f, "d", "victim")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad := tc.corrupt(append([]byte{}, b...))
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			before := len(f.calls())
			_, err = sh.GetData(context.Background(), vp, "d", "victim")
			wantCode(t, err, native.DecryptionFailed)
			if prompted := len(f.calls()) > before; prompted != tc.prompt {
				t.Errorf("prompted %v, want %v", prompted, tc.prompt)
			}
			// Left as it is, and nothing else touched.
			if now, _ := os.ReadFile(path); !bytes.Equal(now, bad) {
				t.Error("the corrupted record was changed")
			}
			mustGet(t, sh, "d", "other", "kept")
			if len(f.deleted) != 0 {
				t.Errorf("keys deleted: %q", f.deleted)
			}
		})
	}
}

// The AAD binds a record to its domain and name: a file copied over
// another record's does not open.
func TestAndroidVaultMovedRecord(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "pin", "1234")
	mustSet(t, sh, "d", "note", "hello")
	b, err := os.ReadFile(recordFile(f, "d", "pin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recordFile(f, "d", "note"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = sh.GetData(context.Background(), vp, "d", "note")
	wantCode(t, err, native.DecryptionFailed)
}

// A write that fails loses nothing: the previous record and every other
// one are as they were, and no temporary file stays.
func TestAndroidVaultWriteFailure(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "n", "old")
	mustSet(t, sh, "d", "m", "other")
	st, err := sh.records()
	if err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.beforeRename = func(string) error { return errors.New("disk full") }
	st.mu.Unlock()
	wantCode(t, sh.SetData(context.Background(), vp, "d", "n", []byte("new")), native.InternalError)
	wantCode(t, sh.SetData(context.Background(), vp, "d", "fresh", []byte("x")), native.InternalError)
	st.mu.Lock()
	st.beforeRename = nil
	st.mu.Unlock()
	mustGet(t, sh, "d", "n", "old")
	mustGet(t, sh, "d", "m", "other")
	if ok, _ := sh.HasData(context.Background(), "d", "fresh"); ok {
		t.Error("a failed first write left a record")
	}
	entries, err := os.ReadDir(filepath.Dir(recordFile(f, "d", "n")))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// A hooked shim's success (MASTG-TEST-0327, the Go side): a result of the
// wrong shape is refused and writes nothing; a success callback without
// the key's result (KeyErrorForeignResult) releases nothing.
func TestAndroidVaultForgedSuccess(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "n", "secret")
	f.setKeyScript(kForge(make([]byte, gcmIVLen), []byte("short")))
	wantCode(t, sh.SetData(context.Background(), vp, "d", "n", []byte("replaced")), native.InternalError)
	f.setKeyScript(kForge(nil, []byte("x")))
	_, err := sh.GetData(context.Background(), vp, "d", "n")
	wantCode(t, err, native.InternalError)
	f.setKeyScript(kKeyFail(KeyErrorForeignResult))
	data, err := sh.GetData(context.Background(), vp, "d", "n")
	wantCode(t, err, native.InternalError)
	if data != nil {
		t.Errorf("released %q", data)
	}
	f.setKeyScript(kSucceed)
	mustGet(t, sh, "d", "n", "secret")
}

// The late answer of an earlier prompt never completes a new one.
func TestAndroidVaultStaleReply(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "n", "secret")
	old := f.keyReplies[0]
	f.setKeyScript() // the next prompt stays silent
	f.shown = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sh.GetData(ctx, vp, "d", "n")
		done <- err
	}()
	<-f.shown
	old.Completed(nil, []byte("forged"))
	old.KeyFailed(KeyErrorInvalidated, "late")
	select {
	case err := <-done:
		t.Fatalf("a stale reply ended the new prompt: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	wantCode(t, <-done, native.AppCancel)
	if ok, _ := sh.HasData(context.Background(), "d", "n"); !ok {
		t.Error("a stale KeyFailed removed the record")
	}
}

func TestAndroidVaultCancelAndDeadline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ctx   func() (context.Context, context.CancelFunc)
		cause error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, sh := newAndroidFixture(t)
			mustSet(t, sh, "d", "n", "secret")
			f.setKeyScript() // the user never answers
			f.shown = make(chan struct{}, 1)
			ctx, cancel := tc.ctx()
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := sh.GetData(ctx, vp, "d", "n")
				done <- err
			}()
			<-f.shown
			if tc.cause == context.Canceled {
				cancel()
			}
			err := <-done
			if !errors.Is(err, native.AppCancel) || !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want appCancel caused by %v", err, tc.cause)
			}
			if _, d := f.counts(); d != 1 {
				t.Errorf("dismissed %d times, want 1", d)
			}
		})
	}
	// A context that is already done shows nothing.
	f, sh := newAndroidFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantCode(t, sh.SetData(ctx, vp, "d", "n", nil), native.AppCancel)
	if len(f.calls()) != 0 {
		t.Error("a prompt was shown for a cancelled call")
	}
}

// A key operation and the prompt of Authenticate share the platform's
// one prompt: a prompt left open between attempts goes away first, and
// an attempt never reads a key operation's answers.
func TestAndroidKeyedAndAuthenticate(t *testing.T) {
	f, sh := newAndroidFixture(t)
	f.script = []step{notRecognized}
	p := native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 3}
	wantCode(t, sh.Authenticate(context.Background(), p), native.AuthenticationFailed)
	mustSet(t, sh, "d", "n", "secret")
	if _, d := f.counts(); d != 1 {
		t.Errorf("the prompt left open was dismissed %d times, want 1", d)
	}
	// Attempt 2 of that authentication finds the key operation's session
	// over and starts a prompt of its own.
	f.mu.Lock()
	f.script = []step{succeed}
	f.mu.Unlock()
	p.Attempt = 2
	if err := sh.Authenticate(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if shows, _ := f.counts(); shows != 2 {
		t.Errorf("%d prompts, want 2", shows)
	}
}

// Registering another platform ends the key operation's prompt.
func TestAndroidKeyedClose(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "n", "secret")
	f.setKeyScript()
	f.shown = make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := sh.GetData(context.Background(), vp, "d", "n")
		done <- err
	}()
	<-f.shown
	sh.Close()
	wantCode(t, <-done, native.SystemCancel)
	if _, d := f.counts(); d != 1 {
		t.Errorf("dismissed %d times, want 1", d)
	}
}

func TestAndroidShowWithKeyFails(t *testing.T) {
	f, sh := newAndroidFixture(t)
	f.showErr = errors.New("no activity")
	err := sh.SetData(context.Background(), vp, "d", "n", []byte("x"))
	if !errors.Is(err, native.NotInteractive) || !errors.Is(err, f.showErr) {
		t.Errorf("err = %v, want notInteractive caused by the platform's error", err)
	}
	if ok, _ := sh.HasData(context.Background(), "d", "n"); ok {
		t.Error("a record was written")
	}
	f.showErr = nil
	f.keyStoreErr = errKeystore
	err = sh.SetData(context.Background(), vp, "d", "n", []byte("x"))
	if !errors.Is(err, native.InternalError) || !errors.Is(err, errKeystore) {
		t.Errorf("err = %v, want internalError caused by the keystore's", err)
	}
}

// Concurrent calls are safe (go test -race): every record read back is
// the one stored under its name, whatever the interleaving; a call whose
// prompt another replaced ends with systemCancel, never with another
// record's data.
func TestAndroidVaultConcurrency(t *testing.T) {
	f, sh := newAndroidFixture(t)
	_ = f
	const workers, rounds = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			name := fmt.Sprintf("n%d", w)
			for r := range rounds {
				want := fmt.Sprintf("%d-%d", w, r)
				err := sh.SetData(ctx, vp, "shared", name, []byte(want))
				if c, _ := native.CodeOf(err); err != nil && c != native.SystemCancel {
					errs <- fmt.Errorf("SetData: %w", err)
					continue
				}
				stored := err == nil
				got, err := sh.GetData(ctx, vp, "shared", name)
				switch c, _ := native.CodeOf(err); {
				case err == nil && stored && string(got) != want:
					errs <- fmt.Errorf("%s read %q, stored %q", name, got, want)
				case err == nil && !strings.HasPrefix(string(got), fmt.Sprintf("%d-", w)):
					errs <- fmt.Errorf("%s read another worker's %q", name, got)
				case err != nil && c != native.SystemCancel && c != native.DataNotFound:
					errs <- fmt.Errorf("GetData: %w", err)
				}
				if _, err := sh.HasData(ctx, "shared", name); err != nil {
					errs <- err
				}
				if r%3 == 2 {
					if err := sh.RemoveData(ctx, "shared", name); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(f.generated) != 1 {
		t.Errorf("keys made %q: concurrent first uses of a domain made more than one key", f.generated)
	}
}

func TestAndroidSigner(t *testing.T) {
	f, sh := newAndroidFixture(t)
	ctx := context.Background()
	_, err := sh.StepUpKey(ctx, false)
	wantCode(t, err, native.DataNotFound)
	_, err = sh.Sign(ctx, vp, []byte("c"))
	wantCode(t, err, native.DataNotFound)
	if len(f.calls()) != 0 {
		t.Error("a prompt was shown without a step-up key")
	}
	der, err := sh.StepUpKey(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := parseStepUpKey(der)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sh.StepUpKey(ctx, true)
	if err != nil || !bytes.Equal(again, der) || len(f.generated) != 1 {
		t.Fatalf("second StepUpKey = %v (same %v), keys made %q", err, bytes.Equal(again, der), f.generated)
	}
	challenge := []byte("command|window|origin|nonce")
	sig, err := sh.Sign(ctx, vp, challenge)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(challenge)
	if !ecdsa.VerifyASN1(pub, d[:], sig) {
		t.Error("the signature does not verify with the step-up key")
	}
	c := f.calls()[0]
	if c.op != OperationSign || c.alias != stepUpAlias || !bytes.Equal(c.input, challenge) || c.authenticators != AuthenticatorBiometricStrong {
		t.Errorf("sign prompt %+v", c)
	}

	// Bad input is refused before any prompt.
	for _, bad := range [][]byte{nil, make([]byte, maxChallengeLen+1)} {
		_, err := sh.Sign(ctx, vp, bad)
		wantCode(t, err, native.InvalidInput)
	}

	// A hooked shim's success without a real signature is refused here
	// already: random bytes, and a signature by another key.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherSig, _ := ecdsa.SignASN1(rand.Reader, other, d[:])
	junk := make([]byte, 72)
	_, _ = rand.Read(junk)
	for _, forged := range [][]byte{junk, otherSig, sig[:len(sig)-1]} {
		f.setKeyScript(kForge(nil, forged))
		got, err := sh.Sign(ctx, vp, challenge)
		wantCode(t, err, native.InvalidSignature)
		if got != nil {
			t.Errorf("forged signature returned: %x", got)
		}
	}
	// A signature made for another challenge.
	f.setKeyScript(kForge(nil, sig))
	_, err = sh.Sign(ctx, vp, []byte("another call"))
	wantCode(t, err, native.InvalidSignature)

	// A prompt error.
	f.setKeyScript(kFail(10, "Cancelled"))
	_, err = sh.Sign(ctx, vp, challenge)
	wantCode(t, err, native.UserCancel)

	// A new enrollment invalidates the key: dataNeedsReenrollment, and the
	// key is deleted; the next StepUpKey(true) makes a new one.
	f.setKeyScript(kSucceed)
	f.enroll()
	_, err = sh.Sign(ctx, vp, challenge)
	wantCode(t, err, native.DataNeedsReenrollment)
	_, err = sh.StepUpKey(ctx, false)
	wantCode(t, err, native.DataNotFound)
	fresh, err := sh.StepUpKey(ctx, true)
	if err != nil || bytes.Equal(fresh, der) {
		t.Errorf("StepUpKey after the invalidation = %v (same key %v)", err, bytes.Equal(fresh, der))
	}
	if err := sh.DeleteStepUpKey(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = sh.StepUpKey(ctx, false)
	wantCode(t, err, native.DataNotFound)
}

func TestAndroidSignerBadPublicKey(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, pub := range map[string][]byte{"garbage": []byte("not DER"), "P-384": p384DER} {
		t.Run(name, func(t *testing.T) {
			f, sh := newAndroidFixture(t)
			if _, err := sh.StepUpKey(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			f.publicKey = pub
			f.mu.Unlock()
			_, err := sh.StepUpKey(context.Background(), false)
			wantCode(t, err, native.InternalError)
			_, err = sh.Sign(context.Background(), vp, []byte("c"))
			wantCode(t, err, native.InternalError)
		})
	}
}

// lateContext ends between two of Go's steps: its Err reports the end
// at once, its Done channel never closes (the moment after the key's
// answer arrived and before Go acts on it, held open).
type lateContext struct {
	context.Context
	ended atomic.Bool
}

func (c *lateContext) Err() error {
	if c.ended.Load() {
		return context.Canceled
	}
	return nil
}

// A call that ends while the key ran writes nothing: the caller reports
// appCancel, and the previous record must still be there.
func TestAndroidVaultCancelledAfterTheKeyRan(t *testing.T) {
	f, sh := newAndroidFixture(t)
	mustSet(t, sh, "d", "n", "old")
	ctx := &lateContext{Context: context.Background()}
	f.setKeyScript()
	f.shown = make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- sh.SetData(ctx, vp, "d", "n", []byte("new")) }()
	<-f.shown
	f.mu.Lock()
	r, k := f.keyReplies[len(f.keyReplies)-1], f.keys["capguard.vault.d"]
	f.mu.Unlock()
	nonce := make([]byte, gcmIVLen)
	sealed := k.aead.Seal(nil, nonce, []byte("new"), native.RecordAAD(recordVersion, "d", "n"))
	ctx.ended.Store(true)
	r.Completed(nonce, sealed)
	wantCode(t, <-done, native.AppCancel)
	f.setKeyScript(kSucceed)
	f.shown = nil
	mustGet(t, sh, "d", "n", "old")
}
