package native

import (
	"context"
	"errors"
	"strings"

	"github.com/capguard/capguard/internal/doc"
)

// Code is an error code of @tauri-apps/plugin-biometric: the `code` of the
// object a failed authenticate() rejects with, and the `errorCode` of an
// unavailable status. A Code is also an error value, so that
//
//	errors.Is(err, native.UserCancel)
//
// tells whether err (an *Error, possibly wrapped) carries that code.
type Code string

// The eleven codes of the JavaScript API. iOS derives them from
// LAError; Android maps BiometricPrompt's errors onto the same names.
const (
	// AppCancel: the app ended the prompt (here: the call's context was
	// cancelled or timed out, while waiting for the device or mid-prompt).
	AppCancel Code = "appCancel"
	// AuthenticationFailed: the user was not recognized (after the last
	// allowed attempt).
	AuthenticationFailed Code = "authenticationFailed"
	// InvalidContext: the platform's authentication context is unusable.
	InvalidContext Code = "invalidContext"
	// NotInteractive: the prompt cannot be shown (no UI).
	NotInteractive Code = "notInteractive"
	// PasscodeNotSet: a device credential is needed but none is set.
	PasscodeNotSet Code = "passcodeNotSet"
	// SystemCancel: the system ended the prompt (another app came to the
	// front, a timeout, a vendor error).
	SystemCancel Code = "systemCancel"
	// UserCancel: the user pressed cancel.
	UserCancel Code = "userCancel"
	// UserFallback: the user chose the fallback button.
	UserFallback Code = "userFallback"
	// BiometryLockout: too many failures; biometry is locked.
	BiometryLockout Code = "biometryLockout"
	// BiometryNotAvailable: no usable sensor.
	BiometryNotAvailable Code = "biometryNotAvailable"
	// BiometryNotEnrolled: nothing enrolled.
	BiometryNotEnrolled Code = "biometryNotEnrolled"
)

// The codes of a Vault or Signer beyond the eleven (the error codes of
// tauri-plugin-biometry's storage commands, and capguard's own for a
// signed step-up). They are not status codes: Valid is false for them,
// Known is true.
const (
	// DataNotFound: no record of that domain and name.
	DataNotFound Code = "dataNotFound"
	// DataNeedsReenrollment: the record's key was invalidated (a new
	// biometric enrollment, or the key deleted behind the app's back); the
	// record is gone and must be stored again.
	DataNeedsReenrollment Code = "dataNeedsReenrollment"
	// DecryptionFailed: the record exists but does not open (corrupted or
	// truncated, or not sealed for this domain and name).
	DecryptionFailed Code = "decryptionFailed"
	// InvalidInput: a domain, name or data the vault does not take.
	InvalidInput Code = "invalidInput"
	// ScopeDenied: the capability's scope does not allow the caller this
	// domain and name.
	ScopeDenied Code = "scopeDenied"
	// InternalError: the device failed in a way no other code describes.
	InternalError Code = "internalError"
	// InvalidSignature: a signed step-up's signature did not verify (a
	// device that reported success without signing, a replayed signature,
	// one made for another call), or no step-up key is registered.
	InvalidSignature Code = "invalidSignature"
)

var storageCodes = []Code{DataNotFound, DataNeedsReenrollment, DecryptionFailed, InvalidInput, ScopeDenied, InternalError, InvalidSignature}

// StorageCodes returns the codes of a Vault or Signer beyond the eleven.
func StorageCodes() []Code { return append([]Code(nil), storageCodes...) }

// Known tells whether c is one of the eleven codes or a storage code.
func (c Code) Known() bool {
	if c.Valid() {
		return true
	}
	for _, k := range storageCodes {
		if c == k {
			return true
		}
	}
	return false
}

var codes = []Code{
	AppCancel, AuthenticationFailed, InvalidContext, NotInteractive, PasscodeNotSet,
	SystemCancel, UserCancel, UserFallback, BiometryLockout, BiometryNotAvailable,
	BiometryNotEnrolled,
}

// Codes returns the eleven codes in the order the JavaScript API's type
// declaration lists them.
func Codes() []Code { return append([]Code(nil), codes...) }

// Valid tells whether c is one of the eleven codes.
func (c Code) Valid() bool {
	for _, k := range codes {
		if c == k {
			return true
		}
	}
	return false
}

// Error makes a Code usable as an errors.Is target; its text is the code.
func (c Code) Error() string { return string(c) }

// Error is a failed status query or authentication: a code from the list
// above and a human-readable message. Over IPC it becomes the object
// {"message": ..., "code": ...} that the JavaScript promise rejects with, as
// Tauri's mobile plugins reject.
type Error struct {
	Code    Code
	Message string
	// Err is the underlying cause, if any (context.Canceled for an
	// AppCancel caused by a cancelled context, a D-Bus error, ...). It is
	// not sent to the frontend.
	Err error
}

// NewError returns an *Error with the given code and message.
func NewError(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Error returns the message followed by the code in parentheses.
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return e.Message + " (" + string(e.Code) + ")"
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Code, so that errors.Is(err,
// native.UserCancel) matches an *Error anywhere in err's chain.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// MarshalJSON writes the rejection object of Tauri's mobile plugins:
// {"message":"...","code":"..."}.
// Strings are escaped as serde_json escapes them (no HTML escaping);
// invalid UTF-8 becomes U+FFFD, as Rust strings cannot hold it.
func (e *Error) MarshalJSON() ([]byte, error) {
	return []byte(`{"message":` + quote(e.Message) + `,"code":` + quote(string(e.Code)) + `}`), nil
}

// quote returns s as a JSON string literal the way serde_json writes it,
// with invalid UTF-8 replaced by U+FFFD.
func quote(s string) string {
	return doc.Quote(strings.ToValidUTF8(s, "\uFFFD"))
}

// CodeOf returns the code of the first *Error in err's chain, and whether
// there is one.
func CodeOf(err error) (Code, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return "", false
}

// Canceled returns the AppCancel error of a call whose context ended: the
// answer of an authentication that was waiting for the device or showing
// its prompt when ctx was cancelled or timed out. Its cause is ctx's.
func Canceled(ctx context.Context) *Error {
	return &Error{Code: AppCancel, Message: "Authentication was canceled by the application.", Err: context.Cause(ctx)}
}
