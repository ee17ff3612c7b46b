package biometric

import (
	"context"
	"errors"

	"github.com/capguard/capguard/native"
)

// BiometryType is the kind of sensor: the biometryType of a Status.
type BiometryType = native.BiometryType

// The biometry types, numbered as the JavaScript enum numbers them.
const (
	None    = native.None
	TouchID = native.TouchID // also an Android or Linux fingerprint reader
	FaceID  = native.FaceID  // also Android face authentication
	Iris    = native.Iris
)

// Code is an error code of the JavaScript API (see native.Code). Errors of
// this package are matched by code with errors.Is:
//
//	if errors.Is(err, biometric.UserCancel) { ... }
type Code = native.Code

// The eleven error codes.
const (
	AppCancel            = native.AppCancel
	AuthenticationFailed = native.AuthenticationFailed
	InvalidContext       = native.InvalidContext
	NotInteractive       = native.NotInteractive
	PasscodeNotSet       = native.PasscodeNotSet
	SystemCancel         = native.SystemCancel
	UserCancel           = native.UserCancel
	UserFallback         = native.UserFallback
	BiometryLockout      = native.BiometryLockout
	BiometryNotAvailable = native.BiometryNotAvailable
	BiometryNotEnrolled  = native.BiometryNotEnrolled
)

// Error is a failed authentication: a Code and a message. Over IPC it is
// the object {"message", "code"} the JavaScript promise rejects with.
type Error = native.Error

// Status is the answer of the status command, as @tauri-apps/plugin-biometric
// declares it: error and errorCode are present only when biometry is not
// available.
type Status struct {
	IsAvailable  bool         `json:"isAvailable"`
	BiometryType BiometryType `json:"biometryType"`
	Error        string       `json:"error,omitempty"`
	ErrorCode    Code         `json:"errorCode,omitempty"`
}

// Biometric is the plugin's core on top of one device. It serializes
// prompts: one authentication at a time, later callers waiting their turn
// (or giving up when their context ends). Create one Biometric per device
// and share it; two Biometric values on one shim would not see each
// other's prompts.
type Biometric struct {
	shim     native.Shim
	device   chan struct{} // holds a token while a prompt runs
	obl      obligationCache
	onSecret []func(SecretEvent) // OnSecretAccess
}

// errNoDevice is the answer of a Biometric without a device: the zero
// value, or New(nil).
var errNoDevice = &Error{Code: BiometryNotAvailable, Message: "No biometric device is configured."}

// New returns the plugin's core for a device. A nil shim gives a core
// without a device: its status is "not available" and every other call
// fails with biometryNotAvailable. The zero Biometric behaves the same.
func New(shim native.Shim, opts ...Option) *Biometric {
	b := &Biometric{shim: shim, device: make(chan struct{}, 1)}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	return b
}

// Option configures New.
type Option func(*Biometric)

// ready tells whether b has a device.
// take waits for the device: one prompt at a time, for every operation
// that prompts. A context that ends first (or has ended once the device is
// free) answers appCancel. release gives the device back.
func (b *Biometric) take(ctx context.Context) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	select {
	case b.device <- struct{}{}:
	case <-ctx.Done():
		return native.Canceled(ctx)
	}
	if ctx.Err() != nil {
		b.release()
		return native.Canceled(ctx)
	}
	return nil
}

// release gives back the device taken by take.
func (b *Biometric) release() { <-b.device }

func (b *Biometric) ready() bool { return b != nil && b.shim != nil && b.device != nil }

// Status reports whether biometric authentication is available, as the
// status command does. A device that cannot be queried is reported as
// unavailable (biometryNotAvailable, or the code of the shim's *Error),
// with the shim's error as the message; the error result is always nil
// and is there to mirror Tauri's Rust API.
func (b *Biometric) Status(ctx context.Context) (Status, error) {
	if !b.ready() {
		return Status{BiometryType: None, Error: errNoDevice.Message, ErrorCode: errNoDevice.Code}, nil
	}
	st, err := b.shim.Status(ctx)
	if err != nil {
		code := BiometryNotAvailable
		if c, ok := native.CodeOf(err); ok && c.Valid() {
			code = c
		}
		return Status{BiometryType: None, Error: err.Error(), ErrorCode: code}, nil
	}
	s := Status{BiometryType: st.Type}
	if !st.Type.Valid() {
		s.BiometryType = None
	}
	if code, msg := unusable(st); code != "" {
		s.Error, s.ErrorCode = msg, code
		return s, nil
	}
	s.IsAvailable = true
	return s, nil
}

// unusable says why biometry cannot be used on a device, or returns ""
// when it can. The texts are those Tauri's Android plugin sends.
func unusable(st native.Status) (Code, string) {
	var code Code
	var msg string
	switch {
	case st.Type == None || !st.Type.Valid():
		code, msg = BiometryNotAvailable, "No biometric on this device."
	case !st.Available:
		code, msg = BiometryNotAvailable, "Biometry unavailable."
	case !st.Enrolled:
		code, msg = BiometryNotEnrolled, "Biometrics not enrolled."
	case st.LockedOut:
		code, msg = BiometryLockout, "Biometry is locked out."
	default:
		return "", ""
	}
	if st.Message != "" {
		msg = st.Message
	}
	return code, msg
}

// Authenticate prompts the user, as the authenticate command does. It
// returns nil once the user is recognized, and otherwise an error matched
// by code (errors.Is(err, biometric.UserCancel)):
//
//   - invalid options: an error matching ErrInvalidArgs;
//   - biometry unusable and no device credential allowed: the status's
//     code (biometryNotAvailable, biometryNotEnrolled, biometryLockout);
//     with AllowDeviceCredential on a device without one, passcodeNotSet;
//   - after opts.MaxAttempts unrecognized samples: authenticationFailed;
//   - any other failure of the device: its code;
//   - ctx done while waiting for the device or during the prompt:
//     appCancel. The prompt is dismissed before Authenticate returns.
//
// Only one prompt runs at a time; concurrent calls wait their turn.
func (b *Biometric) Authenticate(ctx context.Context, reason string, opts AuthOptions) error {
	if !b.ready() {
		return errNoDevice
	}
	p, err := opts.prompt(reason)
	if err != nil {
		return err
	}
	if err := b.take(ctx); err != nil {
		return err
	}
	defer b.release()
	return b.prompt(ctx, p)
}

// prompt runs the attempts of one authentication; the device is held.
func (b *Biometric) prompt(ctx context.Context, p native.Prompt) error {
	if err := b.usable(ctx, p); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		p.Attempt = attempt
		err := b.shim.Authenticate(ctx, p)
		if ctx.Err() != nil {
			// Whatever the device answered, the caller is gone: fail
			// closed. The shim has returned, so its prompt is gone too.
			return native.Canceled(ctx)
		}
		if err == nil {
			return nil
		}
		e := failure(err, AuthenticationFailed)
		if e.Code == AuthenticationFailed && attempt < p.MaxAttempts {
			continue
		}
		return e
	}
}

// usable says why the device cannot run prompt p now (biometry unusable
// and no device credential allowed or set), or returns nil; the device is
// held.
func (b *Biometric) usable(ctx context.Context, p native.Prompt) error {
	st, err := b.shim.Status(ctx)
	if err != nil {
		if !p.AllowDeviceCredential {
			return failure(err, BiometryNotAvailable)
		}
		// The device could not say; let it try the device credential.
	} else if code, msg := unusable(st); code != "" {
		if !p.AllowDeviceCredential {
			return &Error{Code: code, Message: msg}
		}
		if !st.DeviceCredential {
			return &Error{Code: PasscodeNotSet, Message: "Biometry is not usable and no device passcode is set."}
		}
	}
	return nil
}

// failure turns a shim's error into an *Error with one of the eleven
// codes: the shim's own *Error when its code is valid, otherwise an Error
// with code def whose message is the error's text.
func failure(err error, def Code) *Error {
	if e, ok := asError(err); ok && e.Code.Valid() {
		return e
	}
	return &Error{Code: def, Message: err.Error(), Err: err}
}

// asError returns the first *Error of err's chain.
func asError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e, true
	}
	return nil, false
}
