// Package mobile connects capguard's biometric plugin to Android's
// BiometricPrompt and iOS's LocalAuthentication through gomobile.
//
// The package is meant to be bound with `gomobile bind` (see README.md in
// this folder): its exported API uses only types gomobile can bind
// (strings, bools, ints, byte slices, errors, and interfaces made of
// those), and a test fails when that stops being true. The host app
// implements one small interface in Kotlin (Android) or Swift (IOS) that
// reports raw platform facts and shows the system prompt, and registers it
// at start-up with RegisterAndroid or RegisterIOS. The Go side of the app
// reaches the registered platform as a native.Shim through the package
// native/mobile/shim.
//
// Every decision is made here, in Go, where it is tested: which
// authenticators a prompt allows, default titles, whether a device
// credential can be offered, what a raw BiometricManager, BiometricPrompt
// or LAError code means (one of the eleven codes of
// @tauri-apps/plugin-biometric), and how the plugin's attempts map onto a
// prompt that the platform keeps open. The Kotlin and Swift shims only
// translate calls.
//
// # Attempts and prompts
//
// The plugin calls native.Shim.Authenticate once per attempt. On Android
// one BiometricPrompt serves every attempt of an authentication: a sample
// that is not recognized (onAuthenticationFailed) answers the current
// attempt with authenticationFailed and leaves the prompt open for the
// next one; after the last allowed attempt the prompt is dismissed. iOS
// runs its own attempts inside one evaluatePolicy call: its
// authenticationFailed (-1) ends the prompt, and the remaining attempts of
// that authentication fail at once without showing another prompt, as
// Tauri's iOS plugin shows one prompt per authenticate call. A prompt that
// is left open between attempts is dismissed if the next attempt does not
// come within two seconds (the plugin gave up), and a cancelled context
// dismisses the prompt at once: no prompt outlives the authentication that
// asked for it.
//
// # Codes
//
// The mapping follows Tauri's mobile plugins, with these deliberate
// differences (Tauri reports a code outside the JavaScript API, or none):
// Android's ERROR_NO_DEVICE_CREDENTIAL is passcodeNotSet (Tauri:
// "noDeviceCredential"); ERROR_SECURITY_UPDATE_REQUIRED,
// ERROR_SENSOR_PRIVACY_ENABLED, ERROR_IDENTITY_CHECK_NOT_ACTIVE and
// ERROR_NOT_ENABLED_FOR_APPS are biometryNotAvailable; iOS's
// companionNotAvailable (-11), biometryNotPaired (-12) and
// biometryDisconnected (-13) are biometryNotAvailable, invalidDimensions
// (-14) is invalidContext; the optic ID biometry type (4) is reported as
// iris (3); any code not listed is systemCancel, never a success.
package mobile

import (
	"errors"

	"github.com/capguard/capguard/native/mobile/internal/registry"
)

// Reply receives the outcome of a prompt. capguard implements it and hands
// one to Android.Show or IOS.Evaluate; the host app calls it from its
// prompt's callbacks, on any thread. Calls after the prompt ended are
// ignored.
type Reply interface {
	// Succeeded: the user was recognized (Android's
	// onAuthenticationSucceeded; iOS's evaluatePolicy replied success).
	Succeeded()
	// NotRecognized: a sample was not recognized and the prompt stays
	// open (Android's onAuthenticationFailed). iOS never calls it.
	NotRecognized()
	// Failed: the prompt ended with an error: Android's
	// onAuthenticationError code and message, or iOS's LAError code and
	// localizedDescription. Code 0 (no platform code: the prompt could
	// not run) is reported as systemCancel.
	Failed(code int, message string)
}

// Feature bits of Android.Features: which biometric hardware the device
// declares (PackageManager.FEATURE_FINGERPRINT, FEATURE_FACE,
// FEATURE_IRIS).
const (
	FeatureFingerprint = 1
	FeatureFace        = 2
	FeatureIris        = 4
)

// Authenticator bits passed to Android.Show, the values of
// BiometricManager.Authenticators.
const (
	AuthenticatorBiometricWeak    = 0x00FF
	AuthenticatorDeviceCredential = 0x8000
)

// Policies passed to IOS.CanEvaluate and IOS.Evaluate, the raw values of
// LAPolicy.
const (
	PolicyBiometrics  = 1 // .deviceOwnerAuthenticationWithBiometrics
	PolicyDeviceOwner = 2 // .deviceOwnerAuthentication (biometry or passcode)
)

// Android is what the Kotlin shim implements: raw facts of the platform
// biometric API (android.hardware.biometrics) and a BiometricPrompt that it
// shows and dismisses.
type Android interface {
	// Features returns the Feature bits of the device's biometric
	// hardware.
	Features() int
	// CanAuthenticate returns
	// BiometricManager.canAuthenticate(BIOMETRIC_WEAK), unchanged.
	CanAuthenticate() int
	// DeviceSecure returns KeyguardManager.isDeviceSecure (a PIN,
	// pattern or password is set).
	DeviceSecure() bool
	// Show builds a BiometricPrompt from its arguments (setTitle,
	// setSubtitle unless empty, setDescription, setNegativeButton unless
	// empty, setAllowedAuthenticators, setConfirmationRequired), shows it
	// on the UI thread and reports to reply. An error means the prompt
	// could not be shown.
	Show(title, subtitle, description, negativeButton string, authenticators int, confirmationRequired bool, reply Reply) error
	// Dismiss cancels the prompt that is showing
	// (BiometricPrompt.cancelAuthentication); nothing if none is.
	Dismiss()
}

// IOS is what the Swift shim implements: raw facts of LocalAuthentication
// and an evaluation that it starts and invalidates.
type IOS interface {
	// BiometryType returns LAContext.biometryType.rawValue (after
	// canEvaluatePolicy, which sets it).
	BiometryType() int
	// CanEvaluate returns 0 when LAContext.canEvaluatePolicy(policy)
	// succeeds and the LAError code otherwise (another non-zero value when
	// iOS gives no error: it is never taken for a success).
	CanEvaluate(policy int) int
	// FaceIDUsageDescription returns the NSFaceIDUsageDescription entry
	// of the app's Info.plist, "" when there is none.
	FaceIDUsageDescription() string
	// Evaluate starts evaluatePolicy(policy, localizedReason: reason) on
	// a new LAContext whose localizedFallbackTitle is fallbackTitle when
	// setFallback (nil otherwise) and whose localizedCancelTitle is
	// cancelTitle when setCancel, and reports to reply. An error means
	// the evaluation could not start.
	Evaluate(policy int, reason, fallbackTitle string, setFallback bool, cancelTitle string, setCancel bool, reply Reply) error
	// Invalidate ends the running evaluation (LAContext.invalidate).
	Invalidate()
}

// errNilPlatform is returned when a nil platform is registered.
var errNilPlatform = errors.New("mobile: nil platform")

// RegisterAndroid makes a the device of the biometric plugin. The host app
// calls it once at start-up, before the web view loads; a later call
// replaces the platform (dismissing a prompt it was showing).
func RegisterAndroid(a Android) error {
	if a == nil {
		return errNilPlatform
	}
	registry.Set(newShim(&androidDevice{p: a}))
	return nil
}

// RegisterIOS makes i the device of the biometric plugin, as
// RegisterAndroid does on Android.
func RegisterIOS(i IOS) error {
	if i == nil {
		return errNilPlatform
	}
	registry.Set(newShim(&iosDevice{p: i}))
	return nil
}

// Unregister removes the registered platform (dismissing a prompt it was
// showing); the plugin then reports biometry as not available.
func Unregister() {
	registry.Set(nil)
}
