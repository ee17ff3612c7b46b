// Package native is the boundary between capguard's biometric plugin and a
// device: the Shim interface that the plugin calls, the facts a device
// reports about itself, the options of one authentication attempt, and the
// error codes of @tauri-apps/plugin-biometric.
//
// A shim is small and device-agnostic on purpose. It is implemented by the
// scriptable simulator (native/sim), and meant to be implemented by a Linux
// fprintd shim and by Android (BiometricPrompt) and iOS (LocalAuthentication)
// shims bound through gomobile. The policy that sits on top of a shim (one
// prompt at a time, retries up to maxAttemps, availability checks, context
// cancellation) lives in the biometric package, once for all devices.
//
// A device may also keep secrets (Vault: records sealed by a key that a
// fresh authentication unlocks) and sign step-up challenges (Signer: an EC
// P-256 key whose private half signs only inside an authentication). Both
// say how they are bound (Binding): by a key operation, or only by the
// device's report that the user was recognized.
//
// The package imports nothing of capguard's: both the plugin and every shim
// can depend on it without cycles.
package native

import (
	"context"
	"fmt"
)

// Shim is a biometric device as the plugin sees it. Implementations must
// be safe for concurrent use; the plugin never runs two Authenticate calls
// on one Biometric at the same time, but Status may run during a prompt.
type Shim interface {
	// Status reports what the device can do right now. It does not prompt.
	// An error means the device could not be queried at all (a D-Bus
	// service that is down, for example); the plugin reports such a device
	// as unavailable.
	Status(ctx context.Context) (Status, error)

	// Authenticate runs one authentication attempt: it shows (or keeps
	// showing) a prompt and waits for one biometric sample, or for the
	// device credential when the prompt allows it. It returns nil when the
	// user is recognized and an error carrying a Code otherwise (see
	// Error); AuthenticationFailed means "sample not recognized", after
	// which the plugin may call again for the next attempt.
	//
	// When ctx is done, Authenticate must dismiss its prompt and return
	// promptly (an error with code AppCancel is the expected answer): the
	// plugin releases the device only after Authenticate has returned, so
	// no prompt outlives the call that asked for it.
	//
	// A shim whose platform keeps one prompt open across attempts (Android,
	// iOS) can tell from Prompt.Attempt and Prompt.MaxAttempts whether
	// another attempt follows: the session is over after a success, after
	// any error other than AuthenticationFailed, and after the failure of
	// attempt MaxAttempts.
	Authenticate(ctx context.Context, p Prompt) error
}

// BiometryType is the kind of biometric sensor, numbered as the JavaScript
// API numbers it (the BiometryType enum of @tauri-apps/plugin-biometric).
type BiometryType uint8

// The biometry types. TouchID also stands for an Android (or Linux)
// fingerprint reader, FaceID for Android face authentication.
const (
	None    BiometryType = 0
	TouchID BiometryType = 1
	FaceID  BiometryType = 2
	Iris    BiometryType = 3
)

var biometryNames = [...]string{"none", "touchID", "faceID", "iris"}

// String names the type as the simulator's script format spells it:
// "none", "touchID", "faceID" or "iris".
func (t BiometryType) String() string {
	if int(t) < len(biometryNames) {
		return biometryNames[t]
	}
	return fmt.Sprintf("BiometryType(%d)", uint8(t))
}

// Valid tells whether t is one of the four types.
func (t BiometryType) Valid() bool { return int(t) < len(biometryNames) }

// ParseBiometryType reads a type name as String writes it.
func ParseBiometryType(s string) (BiometryType, bool) {
	for i, n := range biometryNames {
		if n == s {
			return BiometryType(i), true
		}
	}
	return None, false
}

// Status is what a device reports about itself: facts, not verdicts. The
// plugin turns them into the status object of the JavaScript API.
type Status struct {
	// Type is the device's biometry; None when it has no sensor.
	Type BiometryType
	// Available is true when the sensor is present and usable (not
	// disabled, not busy with another app, hardware working).
	Available bool
	// Enrolled is true when at least one biometric (finger, face) is
	// enrolled for the user.
	Enrolled bool
	// LockedOut is true while biometry is locked after too many failures;
	// the device credential usually unlocks it.
	LockedOut bool
	// DeviceCredential is true when the user has a device credential
	// (passcode, PIN, password) that a prompt may offer as a fallback.
	DeviceCredential bool
	// Message optionally explains why biometry is not usable, in the
	// platform's words; the plugin supplies its own text when it is empty.
	Message string
}

// Prompt is one authentication attempt, with the options of the
// JavaScript API that reach the device. Text options that are empty leave
// the platform's default text in place.
type Prompt struct {
	// Reason says why the app asks; it is never empty.
	Reason string
	// Title and Subtitle head the prompt (Android).
	Title    string
	Subtitle string
	// CancelTitle labels the cancel button.
	CancelTitle string
	// FallbackTitle labels the fallback button (iOS); nil keeps the
	// platform's label, a pointer to "" hides the button, as on iOS.
	FallbackTitle *string
	// AllowDeviceCredential lets the user authenticate with the device
	// credential instead of biometry.
	AllowDeviceCredential bool
	// ConfirmationRequired asks for an explicit confirmation after a
	// passive biometric (face) match (Android; true unless the caller
	// said otherwise, as on Android).
	ConfirmationRequired bool
	// Attempt counts the attempts of this authentication from 1;
	// MaxAttempts is how many the plugin allows.
	Attempt     int
	MaxAttempts int
}
