package native_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/capguard/capguard/native"
)

// The codes of @tauri-apps/plugin-biometric 2.3.3 (guest-js/index.ts,
// Status.errorCode), in its order.
var jsCodes = []string{
	"appCancel", "authenticationFailed", "invalidContext", "notInteractive", "passcodeNotSet",
	"systemCancel", "userCancel", "userFallback", "biometryLockout", "biometryNotAvailable",
	"biometryNotEnrolled",
}

func TestCodesAreTheJavaScriptCodes(t *testing.T) {
	got := native.Codes()
	if len(got) != len(jsCodes) {
		t.Fatalf("got %d codes, want %d", len(got), len(jsCodes))
	}
	for i, c := range got {
		if string(c) != jsCodes[i] {
			t.Errorf("code %d = %q, want %q", i, c, jsCodes[i])
		}
		if !c.Valid() {
			t.Errorf("%q is not Valid", c)
		}
	}
	for _, bad := range []native.Code{"", "noDeviceCredential", "UserCancel", "userCancel "} {
		if bad.Valid() {
			t.Errorf("%q is Valid", bad)
		}
	}
}

func TestErrorMatchesByCode(t *testing.T) {
	cause := errors.New("dbus: connection refused")
	err := fmt.Errorf("prompt: %w", &native.Error{Code: native.UserCancel, Message: "Canceled.", Err: cause})
	for _, tc := range []struct {
		name   string
		target error
		want   bool
	}{
		{"own code", native.UserCancel, true},
		{"other code", native.SystemCancel, false},
		{"cause", cause, true},
		{"unrelated", errors.New("x"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(err, tc.target); got != tc.want {
				t.Errorf("errors.Is(err, %v) = %v, want %v", tc.target, got, tc.want)
			}
		})
	}
	if c, ok := native.CodeOf(err); !ok || c != native.UserCancel {
		t.Errorf("CodeOf = %q, %v", c, ok)
	}
	if _, ok := native.CodeOf(cause); ok {
		t.Error("CodeOf found a code in a plain error")
	}
}

func TestErrorJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *native.Error
		want string
	}{
		{"plain", native.NewError(native.UserCancel, "Canceled by user."), `{"message":"Canceled by user.","code":"userCancel"}`},
		{"no HTML escaping", native.NewError(native.SystemCancel, "a <b> & c"), `{"message":"a <b> & c","code":"systemCancel"}`},
		{"escapes", native.NewError(native.AppCancel, "line\n\"q\"\\"), `{"message":"line\n\"q\"\\","code":"appCancel"}`},
		{"invalid UTF-8", native.NewError(native.AppCancel, "bad \xff byte"), `{"message":"bad ` + "\uFFFD" + ` byte","code":"appCancel"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.err.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) || string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	if got := native.NewError(native.UserCancel, "Canceled.").Error(); got != "Canceled. (userCancel)" {
		t.Errorf("got %q", got)
	}
	if got := native.NewError(native.UserCancel, "").Error(); got != "userCancel" {
		t.Errorf("got %q", got)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := native.Canceled(ctx)
	if !errors.Is(err, native.AppCancel) || !errors.Is(err, context.Canceled) {
		t.Errorf("Canceled = %v: want appCancel caused by context.Canceled", err)
	}
}

func TestBiometryType(t *testing.T) {
	for i, name := range []string{"none", "touchID", "faceID", "iris"} {
		bt := native.BiometryType(i)
		if bt.String() != name || !bt.Valid() {
			t.Errorf("BiometryType(%d) = %q (valid %v), want %q", i, bt, bt.Valid(), name)
		}
		if got, ok := native.ParseBiometryType(name); !ok || got != bt {
			t.Errorf("ParseBiometryType(%q) = %v, %v", name, got, ok)
		}
	}
	if native.BiometryType(4).Valid() {
		t.Error("4 is valid")
	}
	if _, ok := native.ParseBiometryType("TouchID"); ok {
		t.Error("names are case sensitive")
	}
}
