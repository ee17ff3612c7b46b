package fprintd

import (
	"context"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/capguard/capguard/native"
)

// Error names of fprintd's API and of the bus that matter here.
const (
	errPermissionDenied   = "net.reactivated.Fprint.Error.PermissionDenied"
	errAlreadyInUse       = "net.reactivated.Fprint.Error.AlreadyInUse"
	errInternal           = "net.reactivated.Fprint.Error.Internal"
	errClaimDevice        = "net.reactivated.Fprint.Error.ClaimDevice"
	errNoEnrolledPrints   = "net.reactivated.Fprint.Error.NoEnrolledPrints"
	errNoSuchDevice       = "net.reactivated.Fprint.Error.NoSuchDevice"
	errNoActionInProgress = "net.reactivated.Fprint.Error.NoActionInProgress"
	errInvalidFingername  = "net.reactivated.Fprint.Error.InvalidFingername"

	errServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	errNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	errUnknownObject  = "org.freedesktop.DBus.Error.UnknownObject"
	errUnknownMethod  = "org.freedesktop.DBus.Error.UnknownMethod"
	errAccessDenied   = "org.freedesktop.DBus.Error.AccessDenied"
	errDisconnected   = "org.freedesktop.DBus.Error.Disconnected"
	errNoReply        = "org.freedesktop.DBus.Error.NoReply"
	errTimeout        = "org.freedesktop.DBus.Error.Timeout"
)

// dbusErrors maps D-Bus error names to the code and message of the
// failure they cause. Names not listed are systemCancel.
var dbusErrors = map[string]struct {
	code native.Code
	msg  string
}{
	errPermissionDenied:  {native.BiometryNotAvailable, "Not authorized to use the fingerprint reader."},
	errAlreadyInUse:      {native.BiometryNotAvailable, "The fingerprint reader is in use by another application."},
	errNoEnrolledPrints:  {native.BiometryNotEnrolled, "No fingerprint is enrolled."},
	errNoSuchDevice:      {native.BiometryNotAvailable, "No fingerprint reader found."},
	errInvalidFingername: {native.InvalidContext, "fprintd does not know the finger to verify."},
	errInternal:          {native.SystemCancel, "The fingerprint reader failed."},
	errClaimDevice:       {native.SystemCancel, "The fingerprint reader was released during authentication."},
	errNoActionInProgress: {native.SystemCancel,
		"The fingerprint verification ended unexpectedly."},
	errServiceUnknown: {native.BiometryNotAvailable, "fprintd is not installed or not running."},
	errNameHasNoOwner: {native.BiometryNotAvailable, "fprintd is not running."},
	errUnknownObject:  {native.BiometryNotAvailable, "The fingerprint reader is gone."},
	errUnknownMethod:  {native.BiometryNotAvailable, "The fingerprint service does not speak fprintd's API."},
	errAccessDenied:   {native.BiometryNotAvailable, "The bus policy does not allow talking to fprintd."},
	errDisconnected:   {native.BiometryNotAvailable, "The connection to the bus was lost."},
	errNoReply:        {native.SystemCancel, "fprintd did not answer in time."},
	errTimeout:        {native.SystemCancel, "fprintd did not answer in time."},
}

// dbusName returns the D-Bus error name of err, or "".
func dbusName(err error) string {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name
	}
	var dp *dbus.Error
	if errors.As(err, &dp) && dp != nil {
		return dp.Name
	}
	return ""
}

// codeOfDBusError returns the code and message for a D-Bus error name.
func codeOfDBusError(name string) (native.Code, string) {
	if m, ok := dbusErrors[name]; ok {
		return m.code, m.msg
	}
	return native.SystemCancel, "The fingerprint service failed."
}

// callError turns the failure of a call made to do what into a
// *native.Error: appCancel when ctx ended, otherwise the code of the D-Bus
// error (systemCancel for anything unknown, biometryNotAvailable for a
// broken connection). The cause is kept.
func callError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	name := dbusName(err)
	if name == "" {
		if errors.Is(err, dbus.ErrClosed) {
			name = errDisconnected
		}
	}
	var code native.Code
	var msg string
	if name == "" {
		code, msg = native.SystemCancel, "The fingerprint service failed."
	} else {
		code, msg = codeOfDBusError(name)
	}
	cause := fmt.Errorf("fprintd: %s: %w", what, err)
	if name == errNoSuchDevice {
		cause = fmt.Errorf("%w: %w", errNoDevice, cause)
	}
	return &native.Error{Code: code, Message: msg, Err: cause}
}

// outcome is what a VerifyStatus result means for the attempt.
type outcome int

const (
	keepWaiting outcome = iota // a retry hint; the attempt goes on
	matched                    // recognized
	failed                     // ended with an error
)

// verifyResults maps fprintd's VerifyStatus results to outcomes; for
// failed ones, the code and message.
var verifyResults = map[string]struct {
	out  outcome
	code native.Code
	msg  string
}{
	"verify-match":               {out: matched},
	"verify-no-match":            {failed, native.AuthenticationFailed, "Fingerprint not recognized."},
	"verify-retry-scan":          {out: keepWaiting},
	"verify-swipe-too-short":     {out: keepWaiting},
	"verify-finger-not-centered": {out: keepWaiting},
	"verify-remove-and-retry":    {out: keepWaiting},
	"verify-disconnected":        {failed, native.BiometryNotAvailable, "The fingerprint reader was disconnected."},
	"verify-unknown-error":       {failed, native.SystemCancel, "The fingerprint reader reported an error."},
}

// verifyOutcome interprets one VerifyStatus signal. A result fprintd may
// add later is a hint while the verification goes on (done false) and a
// failure once it ends: it never authenticates.
func verifyOutcome(result string, done bool) (outcome, *native.Error) {
	r, ok := verifyResults[result]
	switch {
	case ok && r.out == failed:
		return failed, &native.Error{Code: r.code, Message: r.msg}
	case ok && r.out == matched:
		return matched, nil
	case ok || !done:
		return keepWaiting, nil
	default:
		return failed, &native.Error{Code: native.SystemCancel, Message: "The fingerprint reader ended the verification: " + result + "."}
	}
}
