package mobile

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/capguard/capguard/native"
)

// The iOS vault and signer, on a Go stand-in for the Swift shim: a
// Keychain and a Secure Enclave of software keys whose prompting calls
// play the key script (fakekeys_test.go).

func newIOSFixture(steps ...keyStep) (*fakeIOS, *iosShim) {
	if len(steps) == 0 {
		steps = []keyStep{kSucceed}
	}
	f := &fakeIOS{typ: 2, usage: "x", keyScript: steps}
	return f, newIOSShim(f)
}

// The raw OSStatus values are written out here, from Apple's
// SecBase.h, so that a wrong constant in ios.go fails a test.
func TestIOSItemCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   native.Code
	}{
		{"errSecUserCanceled", -128, native.UserCancel},
		{"errSecAuthFailed", -25293, native.AuthenticationFailed},
		{"errSecItemNotFound", -25300, native.DataNotFound},
		{"errSecInteractionNotAllowed", -25308, native.NotInteractive},
		{"errSecNotAvailable", -25291, native.BiometryNotAvailable},
		{"errSecDecode", -26275, native.DecryptionFailed},
		{"errSecDuplicateItem outside SetData", -25299, native.InternalError},
		{"errSecMissingEntitlement", -34018, native.InternalError},
		{"errSecParam", -50, native.InternalError},
		{"unknown", -1, native.InternalError},
		{"errSecSuccess is no error code", 0, native.InternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := iosItemError(tc.status, "")
			if e.Code != tc.want || e.Message == "" {
				t.Errorf("iosItemError(%d) = %q %q, want %q with a message", tc.status, e.Code, e.Message, tc.want)
			}
		})
	}
	for status, c := range iosItemCodes {
		if !c.Known() {
			t.Errorf("%d maps to unknown code %q", status, c)
		}
	}
}

func TestIOSVaultRoundTrip(t *testing.T) {
	f, sh := newIOSFixture()
	ctx := context.Background()
	if sh.VaultBinding() != native.BoundByKey || sh.SignerBinding() != native.BoundByKey {
		t.Errorf("bindings %q %q", sh.VaultBinding(), sh.SignerBinding())
	}
	if ok, err := sh.HasData(ctx, "com.example", "token"); ok || err != nil {
		t.Fatalf("HasData = %v, %v", ok, err)
	}
	p := vp
	p.CancelTitle = "Not now"
	if err := sh.SetData(ctx, p, "com.example", "token", []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	// Added without a prompt: the item protected, its marker not.
	it := f.items[itemKey("com.example", "token")]
	mk := f.items[itemKey("capguard.stored:com.example", "token")]
	if it == nil || !it.protected || string(it.data) != "s3cret" || mk == nil || mk.protected {
		t.Fatalf("Keychain after SetData: item %+v, marker %+v", it, mk)
	}
	if ok, err := sh.HasData(ctx, "com.example", "token"); !ok || err != nil {
		t.Fatalf("HasData = %v, %v", ok, err)
	}
	data, err := sh.GetData(ctx, p, "com.example", "token")
	if err != nil || string(data) != "s3cret" {
		t.Fatalf("GetData = %q, %v", data, err)
	}
	read := f.itemCalls[len(f.itemCalls)-1]
	if read != (itemCall{"read", "com.example", "token", vp.Reason, "Not now", true}) {
		t.Errorf("ReadItem(%+v)", read)
	}

	// Replacing an item goes through SecItemUpdate, which may prompt.
	if err := sh.SetData(ctx, vp, "com.example", "token", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got := f.methods(); !slices.Contains(got, "update com.example") {
		t.Errorf("calls %q: no update", got)
	}
	if string(f.items[itemKey("com.example", "token")].data) != "new" {
		t.Error("the item was not replaced")
	}

	if err := sh.RemoveData(ctx, "com.example", "token"); err != nil {
		t.Fatal(err)
	}
	if len(f.items) != 0 {
		t.Errorf("RemoveData left %d items (item or marker)", len(f.items))
	}
	if err := sh.RemoveData(ctx, "com.example", "token"); err != nil {
		t.Errorf("removing a missing record: %v", err)
	}
	_, err = sh.GetData(ctx, vp, "com.example", "token")
	wantCode(t, err, native.DataNotFound)
}

func TestIOSVaultReadOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name string
		step keyStep
		want native.Code
	}{
		{"errSecUserCanceled", kKeyFail(errSecUserCanceled), native.UserCancel},
		{"errSecAuthFailed", kKeyFail(errSecAuthFailed), native.AuthenticationFailed},
		{"errSecInteractionNotAllowed", kKeyFail(errSecInteractionNotAllowed), native.NotInteractive},
		{"unknown OSStatus", kKeyFail(-4), native.InternalError},
		{"LAError userCancel", kFail(-2, "Canceled by user."), native.UserCancel},
		{"LAError biometryLockout", kFail(-8, ""), native.BiometryLockout},
		{"LAError unknown", kFail(-99, ""), native.SystemCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, sh := newIOSFixture()
			if err := sh.SetData(context.Background(), vp, "d", "n", []byte("secret")); err != nil {
				t.Fatal(err)
			}
			f.keyScript = []keyStep{tc.step}
			data, err := sh.GetData(context.Background(), vp, "d", "n")
			wantCode(t, err, tc.want)
			if data != nil {
				t.Errorf("data released: %q", data)
			}
			if len(f.items) != 2 {
				t.Errorf("%d items left, want the item and its marker", len(f.items))
			}
		})
	}
}

// .biometryCurrentSet: after a new enrollment the item is unreachable.
// With its marker there, that is dataNeedsReenrollment (and both go);
// without, iOS's errSecItemNotFound is all there is: dataNotFound.
func TestIOSVaultNewEnrollment(t *testing.T) {
	f, sh := newIOSFixture()
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		if err := sh.SetData(ctx, vp, "d", n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	f.enroll()
	if ok, err := sh.HasData(ctx, "d", "a"); !ok || err != nil {
		t.Fatalf("HasData of an invalidated item = %v, %v; want true (GetData reports it)", ok, err)
	}
	_, err := sh.GetData(ctx, vp, "d", "a")
	wantCode(t, err, native.DataNeedsReenrollment)
	if ok, _ := sh.HasData(ctx, "d", "a"); ok {
		t.Error("the invalidated record is still reported")
	}
	// Setting it again: the invalidated item is still in the way
	// (errSecDuplicateItem, and its update finds nothing): it is deleted
	// and added anew.
	if err := sh.SetData(ctx, vp, "d", "b", []byte("again")); err != nil {
		t.Fatal(err)
	}
	data, err := sh.GetData(ctx, vp, "d", "b")
	if err != nil || string(data) != "again" {
		t.Fatalf("GetData after setting again = %q, %v", data, err)
	}
	// Without a marker (an item set by an older version of the app).
	f.enroll()
	delete(f.items, itemKey(markerService("d"), "b"))
	_, err = sh.GetData(ctx, vp, "d", "b")
	wantCode(t, err, native.DataNotFound)
}

func TestIOSVaultSetFailures(t *testing.T) {
	ctx := context.Background()
	f, sh := newIOSFixture()
	f.statusOf = map[string]int{"add": errSecMissingEntitlement}
	err := sh.SetData(ctx, vp, "d", "n", []byte("x"))
	wantCode(t, err, native.InternalError)

	f, sh = newIOSFixture()
	if err := sh.SetData(ctx, vp, "d", "n", []byte("old")); err != nil {
		t.Fatal(err)
	}
	f.keyScript = []keyStep{kKeyFail(errSecUserCanceled)}
	wantCode(t, sh.SetData(ctx, vp, "d", "n", []byte("new")), native.UserCancel)
	if string(f.items[itemKey("d", "n")].data) != "old" {
		t.Error("a cancelled replacement changed the item")
	}
	wantCode(t, sh.SetData(ctx, vp, "", "n", nil), native.InvalidInput)
	wantCode(t, sh.SetData(ctx, vp, "d", "n", make([]byte, native.MaxDataLen+1)), native.InvalidInput)
}

func TestIOSHasDataStatuses(t *testing.T) {
	f, sh := newIOSFixture()
	f.statusOf = map[string]int{"status": errSecNotAvailable}
	_, err := sh.HasData(context.Background(), "d", "n")
	wantCode(t, err, native.BiometryNotAvailable)
	_, err = sh.HasData(context.Background(), "d/", "n")
	wantCode(t, err, native.InvalidInput)
}

func TestIOSVaultCancel(t *testing.T) {
	f, sh := newIOSFixture()
	if err := sh.SetData(context.Background(), vp, "d", "n", []byte("x")); err != nil {
		t.Fatal(err)
	}
	f.keyScript = nil
	f.shown = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sh.GetData(ctx, vp, "d", "n")
		done <- err
	}()
	<-f.shown
	cancel()
	if err := <-done; !errors.Is(err, native.AppCancel) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want appCancel", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.invalidated != 1 {
		t.Errorf("LAContext invalidated %d times, want 1", f.invalidated)
	}
}

func TestIOSSigner(t *testing.T) {
	f, sh := newIOSFixture()
	ctx := context.Background()
	_, err := sh.StepUpKey(ctx, false)
	wantCode(t, err, native.DataNotFound)
	_, err = sh.Sign(ctx, vp, []byte("c"))
	wantCode(t, err, native.DataNotFound)
	der, err := sh.StepUpKey(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	// iOS's X9.63 point came back as PKIX DER of the same key.
	pub, err := parseStepUpKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&f.seKeys[stepUpAlias].priv.PublicKey) {
		t.Error("the PKIX key is not the Secure Enclave's")
	}
	challenge := []byte("challenge")
	sig, err := sh.Sign(ctx, vp, challenge)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(challenge)
	if !ecdsa.VerifyASN1(pub, d[:], sig) {
		t.Error("the signature does not verify")
	}
	last := f.itemCalls[len(f.itemCalls)-1]
	if last.method != "sign" || last.service != stepUpAlias || last.reason != vp.Reason {
		t.Errorf("SignWithStepUpKey(%+v)", last)
	}

	f.keyScript = []keyStep{kForge(nil, bytes.Repeat([]byte{0x30}, 70))}
	_, err = sh.Sign(ctx, vp, challenge)
	wantCode(t, err, native.InvalidSignature)
	f.keyScript = []keyStep{kFail(-2, "Canceled")}
	_, err = sh.Sign(ctx, vp, challenge)
	wantCode(t, err, native.UserCancel)

	// The key there before the prompt, not found by the signing call:
	// invalidated by a new enrollment; it is deleted.
	f.keyScript = []keyStep{kSucceed}
	f.enroll()
	_, err = sh.Sign(ctx, vp, challenge)
	wantCode(t, err, native.DataNeedsReenrollment)
	if len(f.seKeys) != 0 {
		t.Error("the invalidated key was not deleted")
	}
	if _, err := sh.StepUpKey(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := sh.DeleteStepUpKey(ctx); err != nil || len(f.seKeys) != 0 {
		t.Errorf("DeleteStepUpKey = %v, %d keys left", err, len(f.seKeys))
	}
	if err := sh.DeleteStepUpKey(ctx); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}

	// A public key that is no P-256 point.
	f.rawPublicKey = []byte{4, 1, 2, 3}
	_, err = sh.StepUpKey(ctx, false)
	wantCode(t, err, native.InternalError)
}

// An evaluation left open between attempts of Authenticate goes away
// before a Keychain prompt, as on Android.
func TestIOSKeyedAndAuthenticate(t *testing.T) {
	f, sh := newIOSFixture()
	if err := sh.SetData(context.Background(), vp, "d", "n", []byte("x")); err != nil {
		t.Fatal(err)
	}
	f.script = []step{fail(-1, "Application retry limit exceeded.")}
	p := native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 3}
	wantCode(t, sh.Authenticate(context.Background(), p), native.AuthenticationFailed)
	done := make(chan error, 1)
	go func() {
		_, err := sh.GetData(context.Background(), vp, "d", "n")
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GetData hung behind an exhausted evaluation")
	}
}
