package fprintd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/capguard/capguard/native"
)

func TestDBusErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		code native.Code
	}{
		{"net.reactivated.Fprint.Error.PermissionDenied", native.BiometryNotAvailable},
		{"net.reactivated.Fprint.Error.AlreadyInUse", native.BiometryNotAvailable},
		{"net.reactivated.Fprint.Error.NoEnrolledPrints", native.BiometryNotEnrolled},
		{"net.reactivated.Fprint.Error.NoSuchDevice", native.BiometryNotAvailable},
		{"net.reactivated.Fprint.Error.InvalidFingername", native.InvalidContext},
		{"net.reactivated.Fprint.Error.Internal", native.SystemCancel},
		{"net.reactivated.Fprint.Error.ClaimDevice", native.SystemCancel},
		{"net.reactivated.Fprint.Error.NoActionInProgress", native.SystemCancel},
		{"net.reactivated.Fprint.Error.PrintsNotDeleted", native.SystemCancel},
		{"org.freedesktop.DBus.Error.ServiceUnknown", native.BiometryNotAvailable},
		{"org.freedesktop.DBus.Error.NameHasNoOwner", native.BiometryNotAvailable},
		{"org.freedesktop.DBus.Error.UnknownObject", native.BiometryNotAvailable},
		{"org.freedesktop.DBus.Error.UnknownMethod", native.BiometryNotAvailable},
		{"org.freedesktop.DBus.Error.AccessDenied", native.BiometryNotAvailable},
		{"org.freedesktop.DBus.Error.Disconnected", native.BiometryNotAvailable},
		{"org.freedesktop.DBus.Error.NoReply", native.SystemCancel},
		{"org.freedesktop.DBus.Error.Timeout", native.SystemCancel},
		{"com.example.Unheard.Of", native.SystemCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbusErr := dbus.Error{Name: tc.name, Body: []any{"fprintd's own words"}}
			err := callError(context.Background(), "claim the reader", dbusErr)
			var e *native.Error
			if !errors.As(err, &e) {
				t.Fatalf("callError = %T, want *native.Error", err)
			}
			if e.Code != tc.code {
				t.Errorf("code = %q, want %q", e.Code, tc.code)
			}
			if !e.Code.Valid() || e.Message == "" {
				t.Errorf("error %#v: want a valid code and a message", e)
			}
			if got := dbusName(err); got != tc.name {
				t.Errorf("the D-Bus error is not kept as the cause: dbusName = %q", got)
			}
			if !strings.Contains(e.Err.Error(), "claim the reader") {
				t.Errorf("cause %q does not say what failed", e.Err)
			}
			if noDevice := errors.Is(err, errNoDevice); noDevice != (tc.name == errNoSuchDevice) {
				t.Errorf("errors.Is(err, errNoDevice) = %v", noDevice)
			}
		})
	}
}

func TestCallErrorNotDBus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code native.Code
	}{
		{"closed connection", dbus.ErrClosed, native.BiometryNotAvailable},
		{"other", errors.New("decode: bad signature"), native.SystemCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := native.CodeOf(callError(context.Background(), "x", tc.err))
			if got != tc.code {
				t.Errorf("code = %q, want %q", got, tc.code)
			}
		})
	}
	t.Run("context ended", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := callError(ctx, "x", dbus.Error{Name: errInternal})
		if !errors.Is(err, native.AppCancel) || !errors.Is(err, context.Canceled) {
			t.Errorf("callError after cancel = %v, want appCancel caused by context.Canceled", err)
		}
	})
}

func TestVerifyOutcomes(t *testing.T) {
	for _, tc := range []struct {
		result string
		done   bool
		out    outcome
		code   native.Code
	}{
		{"verify-match", true, matched, ""},
		{"verify-no-match", true, failed, native.AuthenticationFailed},
		{"verify-retry-scan", false, keepWaiting, ""},
		{"verify-swipe-too-short", false, keepWaiting, ""},
		{"verify-finger-not-centered", false, keepWaiting, ""},
		{"verify-remove-and-retry", false, keepWaiting, ""},
		{"verify-disconnected", true, failed, native.BiometryNotAvailable},
		{"verify-unknown-error", true, failed, native.SystemCancel},
		// Results fprintd may add: hints while going on, failures at the end.
		{"verify-too-fast", false, keepWaiting, ""},
		{"verify-too-fast", true, failed, native.SystemCancel},
		{"", true, failed, native.SystemCancel},
		{"VERIFY-MATCH", true, failed, native.SystemCancel},
	} {
		name := tc.result
		if tc.done {
			name += " done"
		}
		t.Run(name, func(t *testing.T) {
			out, e := verifyOutcome(tc.result, tc.done)
			if out != tc.out {
				t.Errorf("outcome = %d, want %d", out, tc.out)
			}
			var code native.Code
			if e != nil {
				code = e.Code
				if e.Message == "" {
					t.Error("no message")
				}
			}
			if code != tc.code {
				t.Errorf("code = %q, want %q", code, tc.code)
			}
		})
	}
}

// FuzzVerifyOutcome checks that only fprintd's exact verify-match
// authenticates, and that every failure has a valid code.
func FuzzVerifyOutcome(f *testing.F) {
	for r := range verifyResults {
		f.Add(r, true)
		f.Add(r, false)
	}
	f.Add("verify-match\x00", true)
	f.Add(" verify-match", true)
	f.Fuzz(func(t *testing.T, result string, done bool) {
		out, e := verifyOutcome(result, done)
		if out == matched && result != "verify-match" {
			t.Fatalf("%q authenticates", result)
		}
		if (out == failed) != (e != nil) {
			t.Fatalf("%q: outcome %d with error %v", result, out, e)
		}
		if e != nil && !e.Code.Valid() {
			t.Fatalf("%q: invalid code %q", result, e.Code)
		}
		if out == keepWaiting && done {
			if _, known := verifyResults[result]; !known {
				t.Fatalf("unknown final result %q keeps the prompt waiting", result)
			}
		}
	})
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"any", Options{Finger: "any"}, true},
		{"a finger", Options{Finger: "left-thumb"}, true},
		{"unknown finger", Options{Finger: "left-toe"}, false},
		{"finger case", Options{Finger: "Left-Thumb"}, false},
		{"negative timeout", Options{CleanupTimeout: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("New(%+v) = %v", tc.opts, err)
			}
			if err != nil && tc.opts.Finger != "" && !strings.Contains(err.Error(), "right-index-finger") {
				t.Errorf("error %q does not list the fingers", err)
			}
			if s != nil && (s.opts.Finger == "" || s.opts.CleanupTimeout <= 0) {
				t.Errorf("defaults not applied: %+v", s.opts)
			}
		})
	}
}

func TestUnreachableBus(t *testing.T) {
	s, err := New(Options{Address: "unix:path=" + t.TempDir() + "/no-bus"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Status(ctx); !errors.Is(err, native.BiometryNotAvailable) {
		t.Errorf("Status = %v, want biometryNotAvailable", err)
	}
	if err := s.Authenticate(ctx, native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1}); !errors.Is(err, native.BiometryNotAvailable) {
		t.Errorf("Authenticate = %v, want biometryNotAvailable", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Authenticate(cctx, native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1}); !errors.Is(err, native.AppCancel) {
		t.Errorf("Authenticate with a cancelled context = %v, want appCancel", err)
	}
}
