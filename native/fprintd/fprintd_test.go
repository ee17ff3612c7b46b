package fprintd_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/fprintd"
	"github.com/capguard/capguard/native/fprintd/fprintdtest"
)

const (
	enrolledPrint = "capguard-print"
	otherPrint    = "someone-else"
	deviceIface   = "net.reactivated.Fprint.Device"
)

// rig is the environment of the real-fprintd test: the stack of
// fprintdtest, and the progress the shim reported.
type rig struct {
	*fprintdtest.Rig

	mu       sync.Mutex
	progress []string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return &rig{Rig: fprintdtest.New(t)}
}

// shim returns a shim on the rig's bus that records its progress.
func (r *rig) shim(t *testing.T) *fprintd.Shim {
	t.Helper()
	s, err := fprintd.New(fprintd.Options{Address: r.Address, Progress: func(_ native.Prompt, status string) {
		r.mu.Lock()
		r.progress = append(r.progress, status)
		r.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rig) takeProgress() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.progress
	r.progress = nil
	return p
}

// device is the test client's handle on the virtual device.
func (r *rig) device() dbus.BusObject { return r.Conn().Object("net.reactivated.Fprint", r.Device()) }

// authenticate runs one attempt with the finger playing script, and
// checks that the device is released afterwards.
func (r *rig) authenticate(t *testing.T, s *fprintd.Shim, script ...string) error {
	t.Helper()
	r.Script(script...)
	r.takeProgress()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := s.Authenticate(ctx, native.Prompt{Reason: "test", Attempt: 1, MaxAttempts: 1})
	if ctx.Err() != nil {
		t.Fatalf("Authenticate hung until the test's deadline; fprintd said:\n%s", r.Log())
	}
	sent, left, errs := r.Played()
	if len(errs) > 0 || len(left) > 0 {
		t.Errorf("the finger sent %q, left %q unsent, errors %v", sent, left, errs)
	}
	return err
}

// wantCode checks that err carries code (nil: success).
func wantCode(t *testing.T, err error, code native.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
		return
	}
	got, ok := native.CodeOf(err)
	if !ok || got != code {
		t.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}

// TestRealFprintd drives the real fprintd, on a private bus, with
// libfprint's virtual device: the test of record for Linux.
func TestRealFprintd(t *testing.T) {
	r := newRig(t)
	s := r.shim(t)
	ctx := context.Background()

	t.Run("fprintd not running", func(t *testing.T) {
		_, err := s.Status(ctx)
		wantCode(t, err, native.BiometryNotAvailable)
		err = s.Authenticate(ctx, native.Prompt{Reason: "test", Attempt: 1, MaxAttempts: 1})
		wantCode(t, err, native.BiometryNotAvailable)
		if !strings.Contains(err.Error(), "fprintd is not installed or not running") {
			t.Errorf("message %q does not say fprintd is missing", err)
		}
	})

	r.StartDaemon(t)

	t.Run("nothing enrolled", func(t *testing.T) {
		st, err := s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (native.Status{Type: native.TouchID, Available: true}); st != want {
			t.Errorf("Status = %+v, want %+v", st, want)
		}
		err = r.authenticate(t, s)
		wantCode(t, err, native.BiometryNotEnrolled)
		r.Claimable(t)
	})

	r.Enroll(t, "right-index-finger", enrolledPrint)

	t.Run("status", func(t *testing.T) {
		st, err := s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (native.Status{Type: native.TouchID, Available: true, Enrolled: true}); st != want {
			t.Errorf("Status = %+v, want %+v", st, want)
		}
		d, err := s.Device(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Path != string(r.Device()) || d.Name != "Virtual device for debugging" || d.ScanType != "swipe" ||
			!slices.Equal(d.Fingers, []string{"right-index-finger"}) {
			t.Errorf("Device = %+v", d)
		}
	})

	for _, tc := range []struct {
		name     string
		script   []string
		code     native.Code
		progress []string
	}{
		{"match", []string{"SCAN " + enrolledPrint}, "", []string{"ready", "verify-match"}},
		{"no match", []string{"SCAN " + otherPrint}, native.AuthenticationFailed, []string{"ready", "verify-no-match"}},
		{"retries are not attempts", []string{"RETRY 0", "RETRY 1", "RETRY 2", "RETRY 3", "SCAN " + enrolledPrint}, "",
			[]string{"ready", "verify-retry-scan", "verify-swipe-too-short", "verify-finger-not-centered", "verify-remove-and-retry", "verify-match"}},
		{"retry then no match", []string{"RETRY 0", "SCAN " + otherPrint}, native.AuthenticationFailed,
			[]string{"ready", "verify-retry-scan", "verify-no-match"}},
		{"driver error", []string{"ERROR 0"}, native.SystemCancel, []string{"ready", "verify-unknown-error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.authenticate(t, s, tc.script...)
			wantCode(t, err, tc.code)
			if got := r.takeProgress(); !slices.Equal(got, tc.progress) {
				t.Errorf("progress = %q, want %q", got, tc.progress)
			}
			r.Claimable(t)
		})
	}

	t.Run("attempts of one authentication", func(t *testing.T) {
		// What the biometric plugin does with maxAttemps 3: call again
		// after each authenticationFailed.
		r.Script("SCAN "+otherPrint, "SCAN "+otherPrint, "SCAN "+enrolledPrint)
		var codes []string
		for attempt := 1; attempt <= 3; attempt++ {
			err := s.Authenticate(ctx, native.Prompt{Reason: "test", Attempt: attempt, MaxAttempts: 3})
			c, _ := native.CodeOf(err)
			codes = append(codes, string(c))
			if err == nil {
				break
			}
		}
		if want := []string{"authenticationFailed", "authenticationFailed", ""}; !slices.Equal(codes, want) {
			t.Errorf("attempts ended with %q, want %q", codes, want)
		}
		r.Claimable(t)
	})

	t.Run("cancel mid-prompt", func(t *testing.T) {
		r.Script() // the user never touches the reader
		ready := make(chan struct{})
		sh, err := fprintd.New(fprintd.Options{Address: r.Address, Progress: func(_ native.Prompt, st string) {
			if st == fprintd.ProgressReady {
				close(ready)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- sh.Authenticate(cctx, native.Prompt{Reason: "test", Attempt: 1, MaxAttempts: 1}) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("Authenticate returned before the prompt: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("the prompt never started")
		}
		// Status works while the prompt holds the device.
		if st, err := s.Status(ctx); err != nil || !st.Available || !st.Enrolled {
			t.Errorf("Status during the prompt = %+v, %v", st, err)
		}
		// Another client cannot take the reader during the prompt.
		if err := r.device().Call(deviceIface+".Claim", 0, "").Err; err == nil {
			r.device().Call(deviceIface+".Release", 0)
			t.Error("the device was not claimed during the prompt")
		}
		cancel()
		select {
		case err := <-done:
			wantCode(t, err, native.AppCancel)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cause of %v is not context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Authenticate did not return within 5s of the cancellation")
		}
		r.Claimable(t)
	})

	t.Run("forged match signal is ignored", func(t *testing.T) {
		r.Script()
		before := r.Names(t)
		ready := make(chan struct{})
		sh, err := fprintd.New(fprintd.Options{Address: r.Address, Progress: func(_ native.Prompt, st string) {
			if st == fprintd.ProgressReady {
				close(ready)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- sh.Authenticate(cctx, native.Prompt{Reason: "test", Attempt: 1, MaxAttempts: 1}) }()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("the prompt never started")
		}
		// The shim's connection is the name that appeared on the bus.
		var victim string
		for _, n := range r.Names(t) {
			if strings.HasPrefix(n, ":") && !slices.Contains(before, n) {
				victim = n
			}
		}
		if victim == "" {
			t.Fatal("cannot find the shim's connection on the bus")
		}
		// Another client on the bus sends verify-match, broadcast and
		// directly to the shim, with fprintd's path and interface.
		if err := r.Conn().Emit(r.Device(), deviceIface+".VerifyStatus", "verify-match", true); err != nil {
			t.Fatal(err)
		}
		forged := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:        dbus.MakeVariant(r.Device()),
			dbus.FieldInterface:   dbus.MakeVariant(deviceIface),
			dbus.FieldMember:      dbus.MakeVariant("VerifyStatus"),
			dbus.FieldDestination: dbus.MakeVariant(victim),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf("", true)),
		}, Body: []any{"verify-match", true}}
		if call := r.Conn().Send(forged, nil); call.Err != nil {
			t.Fatal(call.Err)
		}
		select {
		case err := <-done:
			t.Fatalf("Authenticate returned %v on a forged signal", err)
		case <-time.After(500 * time.Millisecond):
		}
		cancel()
		wantCode(t, <-done, native.AppCancel)
		r.Claimable(t)
	})

	t.Run("reader in use", func(t *testing.T) {
		d := r.device()
		if err := d.Call(deviceIface+".Claim", 0, "").Err; err != nil {
			t.Fatal(err)
		}
		err := r.authenticate(t, s)
		d.Call(deviceIface+".Release", 0)
		wantCode(t, err, native.BiometryNotAvailable)
		if !strings.Contains(err.Error(), "in use") {
			t.Errorf("message %q does not say the reader is in use", err)
		}
	})

	t.Run("polkit refuses", func(t *testing.T) {
		r.Deny("net.reactivated.fprint.device.verify")
		defer r.Deny()
		err := r.authenticate(t, s)
		wantCode(t, err, native.BiometryNotAvailable)
		if !strings.Contains(err.Error(), "Not authorized") {
			t.Errorf("message %q does not say the user is not authorized", err)
		}
		st, err := s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Type != native.TouchID || st.Available || st.Message == "" {
			t.Errorf("Status = %+v, want a touchID reader that is not available, with a reason", st)
		}
	})
	if got := r.Actions(); !slices.Contains(got, "net.reactivated.fprint.device.verify") {
		t.Errorf("fprintd never asked polkit for net.reactivated.fprint.device.verify (asked %q)", got)
	}

	t.Run("fprintd exits mid-prompt", func(t *testing.T) {
		r.Script()
		ready := make(chan struct{})
		sh, err := fprintd.New(fprintd.Options{Address: r.Address, Progress: func(_ native.Prompt, st string) {
			if st == fprintd.ProgressReady {
				close(ready)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sh.Authenticate(ctx, native.Prompt{Reason: "test", Attempt: 1, MaxAttempts: 1}) }()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("the prompt never started")
		}
		r.StopDaemon()
		select {
		case err := <-done:
			wantCode(t, err, native.BiometryNotAvailable)
		case <-time.After(10 * time.Second):
			t.Fatal("Authenticate did not notice that fprintd exited")
		}
	})

	r.StartDaemon(t) // the enrolled print is kept in the state directory

	t.Run("disconnected mid-prompt", func(t *testing.T) {
		if _, err := s.Status(ctx); err != nil {
			t.Fatal(err)
		}
		// A protocol error is what fprintd reports as verify-disconnected
		// (a reader unplugged mid-transfer); then the reader goes away.
		err := r.authenticate(t, s, "ERROR 5")
		wantCode(t, err, native.BiometryNotAvailable)
		if got := r.takeProgress(); !slices.Equal(got, []string{"ready", "verify-disconnected"}) {
			t.Errorf("progress = %q", got)
		}
		r.Claimable(t)
		if _, err := r.Send("UNPLUG"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, err := s.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Type == native.None {
				if st.Available {
					t.Errorf("Status = %+v: available without a reader", st)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Status = %+v 5s after the reader was unplugged", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		err = s.Authenticate(ctx, native.Prompt{Reason: "test", Attempt: 1, MaxAttempts: 1})
		wantCode(t, err, native.BiometryNotAvailable)
		if !strings.Contains(err.Error(), "No fingerprint reader") {
			t.Errorf("message %q does not say there is no reader", err)
		}
	})
}
