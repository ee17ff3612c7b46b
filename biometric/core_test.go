package biometric_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

func TestAuthenticateErrorsMatchByCode(t *testing.T) {
	cfg := sim.Ready()
	cfg.Script = steps(sim.UserCancel)
	b := biometric.New(sim.New(cfg))
	err := b.Authenticate(context.Background(), "Open the vault", biometric.AuthOptions{})
	if !errors.Is(err, biometric.UserCancel) || errors.Is(err, biometric.SystemCancel) {
		t.Fatalf("got %v", err)
	}
	var e *biometric.Error
	if !errors.As(err, &e) || e.Code != biometric.UserCancel || e.Message == "" {
		t.Errorf("errors.As: %#v", e)
	}
}

func TestAuthOptionsValidation(t *testing.T) {
	long := string(make([]rune, biometric.MaxTitleLen+1))
	for _, tc := range []struct {
		name   string
		reason string
		opts   biometric.AuthOptions
	}{
		{"empty reason", "", biometric.AuthOptions{}},
		{"blank reason", "\u00a0 ", biometric.AuthOptions{}},
		{"invalid UTF-8", "bad \xff", biometric.AuthOptions{}},
		{"too many attempts", "r", biometric.AuthOptions{MaxAttempts: biometric.MaxAttemptsLimit + 1}},
		{"negative attempts", "r", biometric.AuthOptions{MaxAttempts: -1}},
		{"long cancel title", "r", biometric.AuthOptions{CancelTitle: long}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.New(sim.Ready())
			err := biometric.New(s).Authenticate(context.Background(), tc.reason, tc.opts)
			if !errors.Is(err, biometric.ErrInvalidArgs) {
				t.Errorf("got %v", err)
			}
			if len(s.Calls()) != 0 {
				t.Error("the device was called")
			}
		})
	}
	// The limits themselves are accepted.
	s := sim.New(sim.Ready())
	max := biometric.AuthOptions{MaxAttempts: biometric.MaxAttemptsLimit, Title: string(make([]rune, biometric.MaxTitleLen))}
	if err := biometric.New(s).Authenticate(context.Background(), string(make([]rune, biometric.MaxReasonLen)), max); err != nil {
		t.Errorf("limits: %v", err)
	}
}

// TestPromptsAreSerialized runs concurrent authentications on one device
// with a latency: all succeed, and never two prompts at once.
func TestPromptsAreSerialized(t *testing.T) {
	cfg := sim.Ready()
	cfg.Latency = 200 * time.Microsecond
	s := sim.New(cfg)
	b := biometric.New(s)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- b.Authenticate(context.Background(), "r", biometric.AuthOptions{})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if s.MaxConcurrent() != 1 || s.Count(sim.MethodAuthenticate) != n {
		t.Errorf("MaxConcurrent %d, %d prompts", s.MaxConcurrent(), s.Count(sim.MethodAuthenticate))
	}
	for _, c := range s.Calls() {
		if c.Overlap {
			t.Fatal("overlapping prompt")
		}
	}
}

// hangingDevice returns a simulator whose next prompt stays up, and a
// channel that receives each prompt as it starts.
func hangingDevice() (*sim.Sim, chan native.Prompt) {
	started := make(chan native.Prompt, 16)
	cfg := sim.Ready()
	cfg.Script = steps(sim.Hang)
	cfg.OnAttempt = func(p native.Prompt) { started <- p }
	return sim.New(cfg), started
}

func TestCancelMidPromptReleasesTheDevice(t *testing.T) {
	s, started := hangingDevice()
	b := biometric.New(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Authenticate(ctx, "r", biometric.AuthOptions{}) }()
	<-started
	if s.Active() != 1 {
		t.Fatalf("Active = %d while prompting", s.Active())
	}
	cancel()
	err := <-done
	if !errors.Is(err, biometric.AppCancel) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want appCancel", err)
	}
	if s.Active() != 0 {
		t.Fatal("the prompt outlived the call")
	}
	// The device is free: the next authentication runs at once.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := b.Authenticate(ctx2, "again", biometric.AuthOptions{}); err != nil {
		t.Fatalf("next authentication: %v", err)
	}
}

func TestCancelWhileWaitingForTheDevice(t *testing.T) {
	s, started := hangingDevice()
	b := biometric.New(s)
	firstCtx, cancelFirst := context.WithCancel(context.Background())
	first := make(chan error)
	go func() { first <- b.Authenticate(firstCtx, "first", biometric.AuthOptions{}) }()
	<-started

	// A second caller waits for the device and gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := b.Authenticate(ctx, "second", biometric.AuthOptions{})
	if !errors.Is(err, biometric.AppCancel) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting caller: %v", err)
	}
	if n := s.Count(sim.MethodAuthenticate); n != 1 {
		t.Fatalf("the waiting caller reached the device (%d prompts)", n)
	}
	// An already cancelled context does not even wait.
	dead, kill := context.WithCancel(context.Background())
	kill()
	if err := b.Authenticate(dead, "third", biometric.AuthOptions{}); !errors.Is(err, biometric.AppCancel) {
		t.Fatalf("cancelled context: %v", err)
	}
	cancelFirst()
	if err := <-first; !errors.Is(err, biometric.AppCancel) {
		t.Fatalf("first: %v", err)
	}
	if err := b.Authenticate(context.Background(), "fourth", biometric.AuthOptions{}); err != nil {
		t.Fatalf("after both gave up: %v", err)
	}
	if s.MaxConcurrent() != 1 {
		t.Errorf("MaxConcurrent = %d", s.MaxConcurrent())
	}
}

// TestCancelledCallsLeaveOthersServed mixes callers that give up with
// callers that wait, under -race.
func TestCancelledCallsLeaveOthersServed(t *testing.T) {
	cfg := sim.Ready()
	cfg.Latency = time.Millisecond
	s := sim.New(cfg)
	b := biometric.New(s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, canceled := 0, 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := context.Background()
			if i%2 == 1 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i%5)*time.Millisecond)
				defer cancel()
			}
			err := b.Authenticate(ctx, "r", biometric.AuthOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, biometric.AppCancel):
				canceled++
			default:
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if ok < 20 || ok+canceled != 40 {
		t.Errorf("%d succeeded, %d cancelled", ok, canceled)
	}
	if s.MaxConcurrent() != 1 || s.Active() != 0 {
		t.Errorf("MaxConcurrent %d, Active %d", s.MaxConcurrent(), s.Active())
	}
}

// A core without a device (New(nil), the zero value) answers every call
// with an error or an unavailable status: it never panics and never
// blocks (issue 25, zero values).
func TestNoDevice(t *testing.T) {
	ctx := context.Background()
	for name, b := range map[string]*biometric.Biometric{"New(nil)": biometric.New(nil), "zero value": {}, "nil pointer": nil} {
		t.Run(name, func(t *testing.T) {
			st, err := b.Status(ctx)
			if err != nil || st.IsAvailable || st.ErrorCode != biometric.BiometryNotAvailable {
				t.Errorf("Status = %+v, %v; want unavailable", st, err)
			}
			if err := b.Authenticate(ctx, "Why", biometric.AuthOptions{}); !errors.Is(err, biometric.BiometryNotAvailable) {
				t.Errorf("Authenticate: %v", err)
			}
			if err := b.SetData(ctx, "d", "n", []byte("x"), biometric.AuthOptions{}); !errors.Is(err, biometric.BiometryNotAvailable) {
				t.Errorf("SetData: %v", err)
			}
			if _, err := b.GetData(ctx, "d", "n", "Why", biometric.AuthOptions{}); !errors.Is(err, biometric.BiometryNotAvailable) {
				t.Errorf("GetData: %v", err)
			}
			if _, err := b.HasData(ctx, "d", "n"); !errors.Is(err, biometric.BiometryNotAvailable) {
				t.Errorf("HasData: %v", err)
			}
			if err := b.RemoveData(ctx, "d", "n"); !errors.Is(err, biometric.BiometryNotAvailable) {
				t.Errorf("RemoveData: %v", err)
			}
			if err := b.Register(nil); err == nil {
				t.Error("Register(nil) succeeded")
			}
			if err := b.RegisterBiometry(nil); err == nil {
				t.Error("RegisterBiometry(nil) succeeded")
			}
			inv := &ipc.Invocation{Command: "open_vault", Window: "main", Webview: "main", Origin: acl.LocalOrigin}
			if err := biometric.NewStepUp(b).Meet(ctx, inv, policy.Obligation{Type: policy.ObligationBiometric}); err == nil {
				t.Error("a StepUp without a device met an obligation")
			}
			if err := b.MeetObligation(ctx, inv, policy.Obligation{Type: policy.ObligationBiometric}); err == nil {
				t.Error("MeetObligation without a device met an obligation")
			}
		})
	}
	var s *biometric.StepUp
	if err := s.Meet(ctx, &ipc.Invocation{}, policy.Obligation{Type: policy.ObligationBiometric}); err == nil {
		t.Error("a nil StepUp met an obligation")
	}
	s.Forget()
	if s.Remembered() != 0 {
		t.Error("a nil StepUp remembers")
	}
	var zero biometric.StepUp
	if err := zero.Meet(ctx, &ipc.Invocation{}, policy.Obligation{Type: policy.ObligationBiometric}); err == nil {
		t.Error("the zero StepUp met an obligation")
	}
}
