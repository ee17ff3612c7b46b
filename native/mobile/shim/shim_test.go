package shim_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/mobile"
	"github.com/capguard/capguard/native/mobile/shim"
)

// android is a Go stand-in for the Kotlin shim: a fingerprint reader whose
// prompt waits until the test answers through the last reply.
type android struct {
	*demoKeystore
	mu        sync.Mutex
	reply     mobile.Reply
	shown     chan struct{}
	dismissed int
}

func (*android) Features() int        { return mobile.FeatureFingerprint }
func (*android) CanAuthenticate() int { return 0 }
func (*android) DeviceSecure() bool   { return true }
func (a *android) Show(_, _, _, _ string, _ int, _ bool, r mobile.Reply) error {
	a.mu.Lock()
	a.reply = r
	a.mu.Unlock()
	a.shown <- struct{}{}
	return nil
}
func (a *android) Dismiss() {
	a.mu.Lock()
	a.dismissed++
	a.mu.Unlock()
}

func TestNothingRegistered(t *testing.T) {
	mobile.Unregister()
	s := shim.New()
	if shim.Registered() {
		t.Fatal("Registered with nothing registered")
	}
	if _, err := s.Status(context.Background()); !errors.Is(err, native.BiometryNotAvailable) {
		t.Errorf("Status = %v, want biometryNotAvailable", err)
	}
	if err := s.Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1}); !errors.Is(err, native.BiometryNotAvailable) {
		t.Errorf("Authenticate = %v, want biometryNotAvailable", err)
	}
}

func TestRegisteredPlatform(t *testing.T) {
	a := &android{shown: make(chan struct{}, 1)}
	if err := mobile.RegisterAndroid(a); err != nil {
		t.Fatal(err)
	}
	defer mobile.Unregister()
	s := shim.New() // the zero value works as well
	if !shim.Registered() {
		t.Fatal("not Registered")
	}
	st, err := s.Status(context.Background())
	if err != nil || st != (native.Status{Type: native.TouchID, Available: true, Enrolled: true, DeviceCredential: true}) {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1})
	}()
	<-a.shown
	a.mu.Lock()
	r := a.reply
	a.mu.Unlock()
	r.Succeeded()
	if err := <-done; err != nil {
		t.Fatalf("Authenticate = %v", err)
	}

	// Registering another platform dismisses the prompt of the first.
	go func() {
		done <- s.Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1})
	}()
	<-a.shown
	if err := mobile.RegisterAndroid(&android{shown: make(chan struct{}, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, native.SystemCancel) {
		t.Errorf("prompt of the replaced platform ended with %v, want systemCancel", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dismissed != 1 {
		t.Errorf("replaced platform's prompt dismissed %d times, want 1", a.dismissed)
	}
}

func TestVaultAndSignerWithNothingRegistered(t *testing.T) {
	mobile.Unregister()
	var s native.Shim = shim.New()
	v, ok := s.(native.Vault)
	if !ok {
		t.Fatal("the shim is not a native.Vault")
	}
	sg, ok := s.(native.Signer)
	if !ok {
		t.Fatal("the shim is not a native.Signer")
	}
	// Nothing is bound while nothing is registered: the weaker claim.
	if v.VaultBinding() != native.BoundByEvent || sg.SignerBinding() != native.BoundByEvent {
		t.Errorf("bindings %q %q with nothing registered, want event", v.VaultBinding(), sg.SignerBinding())
	}
	ctx := context.Background()
	p := native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1}
	_, errGet := v.GetData(ctx, p, "d", "n")
	_, errHas := v.HasData(ctx, "d", "n")
	_, errKey := sg.StepUpKey(ctx, true)
	_, errSign := sg.Sign(ctx, p, []byte("c"))
	for name, err := range map[string]error{
		"SetData":         v.SetData(ctx, p, "d", "n", []byte("x")),
		"GetData":         errGet,
		"HasData":         errHas,
		"RemoveData":      v.RemoveData(ctx, "d", "n"),
		"StepUpKey":       errKey,
		"Sign":            errSign,
		"DeleteStepUpKey": sg.DeleteStepUpKey(ctx),
	} {
		if !errors.Is(err, native.BiometryNotAvailable) {
			t.Errorf("%s = %v, want biometryNotAvailable", name, err)
		}
	}
}

func TestVaultAndSignerOfTheRegisteredPlatform(t *testing.T) {
	a := &android{demoKeystore: newDemoKeystore(t.TempDir()), shown: make(chan struct{}, 1)}
	if err := mobile.RegisterAndroid(a); err != nil {
		t.Fatal(err)
	}
	defer mobile.Unregister()
	s := shim.New()
	if s.VaultBinding() != native.BoundByKey || s.SignerBinding() != native.BoundByKey {
		t.Errorf("bindings %q %q, want key", s.VaultBinding(), s.SignerBinding())
	}
	ctx := context.Background()
	p := native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1}
	if err := s.SetData(ctx, p, "d", "n", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.HasData(ctx, "d", "n"); !ok || err != nil {
		t.Fatalf("HasData = %v, %v", ok, err)
	}
	if data, err := s.GetData(ctx, p, "d", "n"); err != nil || string(data) != "secret" {
		t.Fatalf("GetData = %q, %v", data, err)
	}
	if err := s.RemoveData(ctx, "d", "n"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetData(ctx, p, "d", "n"); !errors.Is(err, native.DataNotFound) {
		t.Errorf("GetData after RemoveData = %v", err)
	}
	if _, err := s.StepUpKey(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(ctx, p, []byte("challenge")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStepUpKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StepUpKey(ctx, false); !errors.Is(err, native.DataNotFound) {
		t.Errorf("StepUpKey after DeleteStepUpKey = %v", err)
	}
}
