package sim_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
)

var vprompt = native.Prompt{Reason: "Open your vault", MaxAttempts: 1}

func mustSet(t *testing.T, s *sim.Sim, domain, name, data string) {
	t.Helper()
	if err := s.SetData(context.Background(), vprompt, domain, name, []byte(data)); err != nil {
		t.Fatalf("SetData(%s, %s): %v", domain, name, err)
	}
}

func wantCode(t *testing.T, err error, code native.Code) {
	t.Helper()
	if !errors.Is(err, code) {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func TestVaultSetGet(t *testing.T) {
	s := sim.New(sim.Ready())
	mustSet(t, s, "com.example", "token", "s3cret")
	got, err := s.GetData(context.Background(), vprompt, "com.example", "token")
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("GetData = %q, %v; want s3cret", got, err)
	}
	if ok, err := s.HasData(context.Background(), "com.example", "token"); !ok || err != nil {
		t.Errorf("HasData = %v, %v; want true", ok, err)
	}
	// Each of set and get was one authenticated attempt.
	if n := s.Count(sim.MethodSetData) + s.Count(sim.MethodGetData); n != 2 {
		t.Errorf("%d set/get attempts logged, want 2", n)
	}
	if err := s.RemoveData(context.Background(), "com.example", "token"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.HasData(context.Background(), "com.example", "token"); ok {
		t.Error("the record is still there after RemoveData")
	}
	if err := s.RemoveData(context.Background(), "com.example", "token"); err != nil {
		t.Errorf("removing a missing record: %v, want nil", err)
	}
}

func TestVaultGetNeedsAMatch(t *testing.T) {
	for _, tc := range []struct {
		outcome sim.Outcome
		code    native.Code
	}{
		{sim.UserCancel, native.UserCancel},
		{sim.NoMatch, native.AuthenticationFailed},
		{sim.Lockout, native.BiometryLockout},
		{sim.SystemCancel, native.SystemCancel},
		{sim.HookedSuccess, native.InternalError},
	} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			s := sim.New(sim.Ready())
			mustSet(t, s, "d", "n", "secret")
			s.Push(sim.Step{Outcome: tc.outcome})
			got, err := s.GetData(context.Background(), vprompt, "d", "n")
			wantCode(t, err, tc.code)
			if got != nil {
				t.Errorf("data %q released", got)
			}
			if ok, _ := s.HasData(context.Background(), "d", "n"); !ok {
				t.Error("a failed authentication removed the record")
			}
		})
	}
}

// A hooked success passes the event-bound Authenticate, but unlocks no
// key: it can neither store, read nor sign.
func TestHookedSuccess(t *testing.T) {
	ctx := context.Background()
	s := sim.New(sim.Ready())
	mustSet(t, s, "d", "n", "secret")
	pub := stepUpKey(t, s)
	s.Push(sim.Step{Outcome: sim.HookedSuccess}, sim.Step{Outcome: sim.HookedSuccess}, sim.Step{Outcome: sim.HookedSuccess}, sim.Step{Outcome: sim.HookedSuccess})
	if err := s.Authenticate(ctx, vprompt); err != nil {
		t.Fatalf("a hooked Authenticate failed (%v): the event-bound check should be fooled", err)
	}
	if data, err := s.GetData(ctx, vprompt, "d", "n"); err == nil || data != nil {
		t.Errorf("hooked GetData = %q, %v; want no data and an error", data, err)
	}
	wantCode(t, s.SetData(ctx, vprompt, "d", "other", []byte("x")), native.InternalError)
	challenge := []byte("challenge")
	sig, err := s.Sign(ctx, vprompt, challenge)
	if err != nil {
		t.Fatalf("a hooked Sign reported %v; it should claim success", err)
	}
	digest := sha256.Sum256(challenge)
	if ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Error("a hooked Sign produced a valid signature")
	}
}

func stepUpKey(t *testing.T, s *sim.Sim) *ecdsa.PublicKey {
	t.Helper()
	der, err := s.StepUpKey(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("step-up key is %T, want *ecdsa.PublicKey", k)
	}
	return pub
}

func TestSign(t *testing.T) {
	ctx := context.Background()
	s := sim.New(sim.Ready())
	if _, err := s.StepUpKey(ctx, false); !errors.Is(err, native.DataNotFound) {
		t.Fatalf("StepUpKey without a key: %v, want dataNotFound", err)
	}
	wantCode(t, func() error { _, err := s.Sign(ctx, vprompt, []byte("c")); return err }(), native.DataNotFound)
	pub := stepUpKey(t, s)
	again := stepUpKey(t, s)
	if !pub.Equal(again) {
		t.Fatal("StepUpKey(create) replaced an existing key")
	}
	challenge := []byte("capguard step-up challenge")
	sig, err := s.Sign(ctx, vprompt, challenge)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(challenge)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("the signature does not verify")
	}
	other := sha256.Sum256([]byte("another challenge"))
	if ecdsa.VerifyASN1(pub, other[:], sig) {
		t.Fatal("the signature verifies for another challenge")
	}
	s.Push(sim.Step{Outcome: sim.UserCancel})
	if sig, err := s.Sign(ctx, vprompt, challenge); !errors.Is(err, native.UserCancel) || sig != nil {
		t.Errorf("cancelled Sign = %x, %v", sig, err)
	}
	// A new enrollment invalidates the key: the next use says so and
	// deletes it.
	s.Enroll()
	wantCode(t, func() error { _, err := s.Sign(ctx, vprompt, challenge); return err }(), native.DataNeedsReenrollment)
	if _, err := s.StepUpKey(ctx, false); !errors.Is(err, native.DataNotFound) {
		t.Errorf("after invalidation StepUpKey: %v, want dataNotFound", err)
	}
	if fresh := stepUpKey(t, s); fresh.Equal(pub) {
		t.Error("the re-enrolled key is the invalidated one")
	}
	if err := s.DeleteStepUpKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StepUpKey(ctx, false); !errors.Is(err, native.DataNotFound) {
		t.Errorf("after DeleteStepUpKey: %v, want dataNotFound", err)
	}
}

func TestVaultAttemptsAndLockout(t *testing.T) {
	ctx := context.Background()
	s := sim.New(sim.Config{Type: native.TouchID, Available: true, Enrolled: true, LockoutAfter: 3})
	mustSet(t, s, "d", "n", "secret")
	s.Push(sim.Step{Outcome: sim.NoMatch}, sim.Step{Outcome: sim.Match})
	p := vprompt
	p.MaxAttempts = 3
	if got, err := s.GetData(ctx, p, "d", "n"); err != nil || string(got) != "secret" {
		t.Fatalf("a second attempt that matches: %q, %v", got, err)
	}
	s.Push(sim.Step{Outcome: sim.NoMatch}, sim.Step{Outcome: sim.NoMatch}, sim.Step{Outcome: sim.NoMatch})
	_, err := s.GetData(ctx, p, "d", "n")
	wantCode(t, err, native.AuthenticationFailed)
	_, err = s.GetData(ctx, p, "d", "n")
	wantCode(t, err, native.BiometryLockout)
	s.Unlock()
	if _, err := s.GetData(ctx, p, "d", "n"); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
}

func TestVaultInvalidation(t *testing.T) {
	ctx := context.Background()
	t.Run("new enrollment", func(t *testing.T) {
		s := sim.New(sim.Ready())
		mustSet(t, s, "a", "one", "1")
		mustSet(t, s, "a", "two", "2")
		s.Enroll()
		_, err := s.GetData(ctx, vprompt, "a", "one")
		wantCode(t, err, native.DataNeedsReenrollment)
		for _, n := range []string{"one", "two"} {
			if ok, _ := s.HasData(ctx, "a", n); ok {
				t.Errorf("record a/%s survived the invalidation of its key", n)
			}
		}
		mustSet(t, s, "a", "one", "new")
		if got, err := s.GetData(ctx, vprompt, "a", "one"); err != nil || string(got) != "new" {
			t.Errorf("stored again after re-enrollment: %q, %v", got, err)
		}
	})
	t.Run("key deleted behind the app's back", func(t *testing.T) {
		s := sim.New(sim.Ready())
		mustSet(t, s, "a", "one", "1")
		mustSet(t, s, "b", "one", "b1")
		s.DeleteKey("a")
		_, err := s.GetData(ctx, vprompt, "a", "one")
		wantCode(t, err, native.DataNeedsReenrollment)
		if ok, _ := s.HasData(ctx, "a", "one"); ok {
			t.Error("the record of a deleted key is still there")
		}
		if got, err := s.GetData(ctx, vprompt, "b", "one"); err != nil || string(got) != "b1" {
			t.Errorf("another domain's record was lost: %q, %v", got, err)
		}
	})
}

func TestVaultDamagedRecords(t *testing.T) {
	ctx := context.Background()
	for name, damage := range map[string]func(*sim.Sim) bool{
		"corrupted": func(s *sim.Sim) bool { return s.CorruptRecord("d", "bad") },
		"truncated": func(s *sim.Sim) bool { return s.TruncateRecord("d", "bad") },
	} {
		t.Run(name, func(t *testing.T) {
			s := sim.New(sim.Ready())
			mustSet(t, s, "d", "bad", "a secret that will not open")
			mustSet(t, s, "d", "good", "kept")
			if !damage(s) {
				t.Fatal("no record to damage")
			}
			_, err := s.GetData(ctx, vprompt, "d", "bad")
			wantCode(t, err, native.DecryptionFailed)
			if ok, _ := s.HasData(ctx, "d", "bad"); !ok {
				t.Error("the damaged record was removed; it should be left for the app to remove")
			}
			if got, err := s.GetData(ctx, vprompt, "d", "good"); err != nil || string(got) != "kept" {
				t.Errorf("the other record: %q, %v", got, err)
			}
		})
	}
}

func TestVaultBadInput(t *testing.T) {
	ctx := context.Background()
	s := sim.New(sim.Ready())
	mustSet(t, s, "d", "n", "kept")
	attempts := s.Count(sim.MethodSetData)
	wantCode(t, s.SetData(ctx, vprompt, "bad domain", "n", nil), native.InvalidInput)
	wantCode(t, s.SetData(ctx, vprompt, "d", "", nil), native.InvalidInput)
	wantCode(t, s.SetData(ctx, vprompt, "d", "n", make([]byte, native.MaxDataLen+1)), native.InvalidInput)
	_, err := s.GetData(ctx, vprompt, "d/../x", "n")
	wantCode(t, err, native.InvalidInput)
	_, err = s.GetData(ctx, vprompt, "d", "missing")
	wantCode(t, err, native.DataNotFound)
	_, err = s.HasData(ctx, "", "n")
	wantCode(t, err, native.InvalidInput)
	wantCode(t, s.RemoveData(ctx, "d", string([]byte{0xff})), native.InvalidInput)
	for _, c := range s.Calls() {
		if c.Method == sim.MethodGetData && c.Prompt.Reason != "" {
			t.Errorf("a refused or missing record prompted: %+v", c)
		}
	}
	if s.Count(sim.MethodSetData) != attempts+3 {
		t.Errorf("refused SetData calls are not logged once each")
	}
	if got, err := s.GetData(ctx, vprompt, "d", "n"); err != nil || string(got) != "kept" {
		t.Errorf("bad input touched the stored record: %q, %v", got, err)
	}
}

// A vprompt that outlives its caller is dismissed, and releases nothing.
func TestVaultCancelledContext(t *testing.T) {
	s := sim.New(sim.Ready())
	mustSet(t, s, "d", "n", "secret")
	s.Push(sim.Step{Outcome: sim.Hang})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	got, err := s.GetData(ctx, vprompt, "d", "n")
	wantCode(t, err, native.AppCancel)
	if got != nil {
		t.Errorf("data %q released to a cancelled call", got)
	}
}

func TestVaultConcurrent(t *testing.T) {
	s := sim.New(sim.Ready())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("n", i)
			for j := range 20 {
				want := []byte(fmt.Sprint(i, "-", j))
				// Overlapping prompts are refused (systemCancel), as a
				// real sensor refuses them: try again.
				err := s.SetData(context.Background(), vprompt, "d", name, want)
				for errors.Is(err, native.SystemCancel) {
					err = s.SetData(context.Background(), vprompt, "d", name, want)
				}
				if err != nil {
					t.Error(err)
					return
				}
				got, err := s.GetData(context.Background(), vprompt, "d", name)
				if err != nil && !errors.Is(err, native.SystemCancel) {
					t.Error(err)
					return
				}
				if err == nil && !bytes.Equal(got, want) {
					t.Errorf("got %q, want %q", got, want)
				}
			}
		}()
	}
	wg.Wait()
	if s.Records() != 8 {
		t.Errorf("%d records, want 8", s.Records())
	}
}
