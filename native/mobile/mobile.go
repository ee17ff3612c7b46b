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
// # Sealed secrets and signed step-up
//
// A registered platform is also a native.Vault and a native.Signer (both
// native.BoundByKey); native/mobile/shim hands them to the plugin. On
// Android every record is sealed by an AES-256-GCM key of AndroidKeyStore,
// one per domain, and the step-up key is an EC P-256 key pair there; each
// use of a key needs a BiometricPrompt (BIOMETRIC_STRONG only) whose
// CryptoObject holds that key's Cipher or Signature, and the Keystore runs
// the operation only inside that authentication. Go decides everything
// around the key operation: the key's alias, the AAD (native.RecordAAD),
// the prompt, the attempts, the record files (one per record, written
// atomically in the app's no-backup directory), what each Keystore failure
// means (a key invalidated by a new enrollment or deleted behind the app's
// back removes the domain's records: dataNeedsReenrollment; a record that
// does not open is decryptionFailed and stays), and it checks what the
// platform returns: a ciphertext or plaintext of the wrong size, or a
// signature that does not verify with the step-up key, is refused.
//
// On iOS a record is a Keychain item under .biometryCurrentSet, read with
// an LAContext, and the step-up key lives in the Secure Enclave. Go orders
// the Keychain calls (add, or update when the item exists, or delete and
// add when the existing item no longer matches), keeps a marker item per
// record so that an item gone by a new enrollment is dataNeedsReenrollment
// rather than dataNotFound, maps every OSStatus, and turns the enclave's
// X9.63 public key into PKIX DER.
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

// AuthenticatorBiometricStrong is the authenticator of every prompt that
// unlocks a key (Android.ShowWithKey): BiometricManager's
// BIOMETRIC_STRONG (class 3 biometrics), the only class whose success can
// unlock a Keystore key, and never the device credential.
const AuthenticatorBiometricStrong = 0x000F

// Operations of Android.ShowWithKey: what the key does once the prompt
// has unlocked it.
const (
	// OperationEncrypt: AES-256-GCM encryption of the input with the
	// record's additional data; the cipher chooses the IV.
	OperationEncrypt = 1
	// OperationDecrypt: AES-256-GCM decryption of the input (ciphertext
	// and tag) with the given IV and additional data.
	OperationDecrypt = 2
	// OperationSign: SHA256withECDSA signature of the input.
	OperationSign = 3
)

// Key errors the Kotlin shim reports through KeyReply.KeyFailed: what
// went wrong with the Keystore key, in the shim's words (Java exceptions
// have no numbers). What each means for the caller is decided in Go.
const (
	// KeyErrorMissing: AndroidKeyStore holds no key under the alias.
	KeyErrorMissing = 1
	// KeyErrorInvalidated: the key was permanently invalidated
	// (KeyPermanentlyInvalidatedException: a new biometric enrollment).
	KeyErrorInvalidated = 2
	// KeyErrorBadData: the ciphertext did not authenticate
	// (AEADBadTagException: corrupted, truncated or sealed for another
	// record).
	KeyErrorBadData = 3
	// KeyErrorRefused: the Keystore refused the operation (most often: the
	// key was not unlocked by this authentication), or another exception
	// of the key operation.
	KeyErrorRefused = 4
	// KeyErrorForeignResult: the success callback carried no crypto
	// object, or not the one this prompt was started with (a forged or
	// hooked callback).
	KeyErrorForeignResult = 5
)

// Policies passed to IOS.CanEvaluate and IOS.Evaluate, the raw values of
// LAPolicy.
const (
	PolicyBiometrics  = 1 // .deviceOwnerAuthenticationWithBiometrics
	PolicyDeviceOwner = 2 // .deviceOwnerAuthentication (biometry or passcode)
)

// KeyReply receives the outcome of a prompt that unlocks a key
// (Android.ShowWithKey, and the Keychain and Secure Enclave calls of IOS).
// capguard implements it; the host app calls it from its callbacks, on any
// thread. Only the first answer counts; calls after the prompt ended are
// ignored.
type KeyReply interface {
	// Completed: the user was recognized and the key ran the operation.
	// iv is the IV the cipher chose (Android encryption; empty
	// otherwise), output the operation's result: ciphertext and tag,
	// plaintext, a DER signature, or a Keychain item's data (empty for a
	// Keychain update).
	Completed(iv, output []byte)
	// NotRecognized: a sample was not recognized and the prompt stays
	// open (Android's onAuthenticationFailed).
	NotRecognized()
	// Failed: the prompt ended with an error: a BiometricPrompt error code
	// (Android) or an LAError code (iOS), and the platform's message.
	Failed(code int, message string)
	// KeyFailed: the key or item could not be used: one of the KeyError
	// constants (Android), or an OSStatus (iOS).
	KeyFailed(code int, message string)
}

// Android is what the Kotlin shim implements: raw facts of the platform
// biometric API (android.hardware.biometrics), a BiometricPrompt that it
// shows and dismisses, and AndroidKeyStore keys that such a prompt unlocks
// for one operation.
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

	// StorageDir returns an app-private directory that is not backed up
	// (Context.getNoBackupFilesDir): Go keeps the sealed records there.
	StorageDir() string
	// HasKey tells whether AndroidKeyStore holds a key under alias.
	HasKey(alias string) (bool, error)
	// GenerateSecretKey makes an AES-256-GCM key under alias in
	// AndroidKeyStore, replacing any: PURPOSE_ENCRYPT | PURPOSE_DECRYPT,
	// no padding, setUserAuthenticationRequired(true),
	// setUserAuthenticationParameters(0, AUTH_BIOMETRIC_STRONG),
	// setInvalidatedByBiometricEnrollment(true).
	GenerateSecretKey(alias string) error
	// GenerateSigningKey makes an EC P-256 key pair under alias:
	// PURPOSE_SIGN, DIGEST_SHA256, and the same authentication parameters.
	GenerateSigningKey(alias string) error
	// PublicKey returns the public half of the key pair under alias, PKIX
	// DER (Certificate.getPublicKey().getEncoded()); empty when there is
	// none.
	PublicKey(alias string) ([]byte, error)
	// DeleteKey deletes the key under alias; nothing if there is none.
	DeleteKey(alias string) error
	// ShowWithKey initializes a Cipher (OperationEncrypt,
	// OperationDecrypt, with iv) or a Signature (OperationSign) with the
	// key under alias, and shows a BiometricPrompt built as Show builds it
	// with that primitive in its CryptoObject. When the prompt succeeds
	// with that same CryptoObject, it runs the operation (the cipher with
	// aad as additional data) on input and reports the result to
	// reply.Completed. A key that cannot be initialized, or a success
	// without that CryptoObject, goes to reply.KeyFailed without a
	// result. An error means the prompt could not be shown.
	ShowWithKey(operation int, alias string, iv, aad, input []byte, title, subtitle, description, negativeButton string, authenticators int, confirmationRequired bool, reply KeyReply) error
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
	// Invalidate ends the running evaluation (LAContext.invalidate), or
	// the prompt of the running Keychain or Secure Enclave call.
	Invalidate()

	// AddItem adds a generic-password Keychain item (kSecAttrService
	// service, kSecAttrAccount account, kSecValueData data), accessible
	// kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly and, with requireBiometry,
	// under a SecAccessControl with .biometryCurrentSet. It does not
	// prompt. It returns SecItemAdd's OSStatus.
	AddItem(service, account string, data []byte, requireBiometry bool) int
	// UpdateItem replaces the data of the item (SecItemUpdate) with an
	// LAContext whose localizedReason is reason (and localizedCancelTitle
	// cancelTitle when setCancel), on a background queue; iOS prompts if
	// the item's access control asks for it. It reports
	// reply.Completed(empty, empty) or reply.KeyFailed(OSStatus).
	UpdateItem(service, account string, data []byte, reason, cancelTitle string, setCancel bool, reply KeyReply) error
	// ReadItem reads the item's data (SecItemCopyMatching,
	// kSecReturnData) with such an LAContext, on a background queue, and
	// reports reply.Completed(empty, data), reply.KeyFailed(OSStatus), or
	// reply.Failed(LAError code) for an error of LAErrorDomain.
	ReadItem(service, account, reason, cancelTitle string, setCancel bool, reply KeyReply) error
	// ItemStatus looks the item up without prompting (an LAContext with
	// interactionNotAllowed, kSecReturnAttributes) and returns the
	// OSStatus: 0 or errSecInteractionNotAllowed when it exists.
	ItemStatus(service, account string) int
	// DeleteItem deletes the item (SecItemDelete) and returns the
	// OSStatus.
	DeleteItem(service, account string) int
	// CreateStepUpKey makes an EC P-256 private key in the Secure Enclave
	// (kSecAttrTokenIDSecureEnclave, kSecAttrApplicationTag tag,
	// permanent) under a SecAccessControl with .biometryCurrentSet and
	// .privateKeyUsage, accessible
	// kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly. It returns 0 or the
	// error's code (an OSStatus).
	CreateStepUpKey(tag string) int
	// StepUpPublicKey returns the public half of the key under tag,
	// SecKeyCopyExternalRepresentation (X9.63: 0x04, X, Y); empty when
	// there is no such key.
	StepUpPublicKey(tag string) ([]byte, error)
	// DeleteStepUpKey deletes the key under tag and returns the OSStatus.
	DeleteStepUpKey(tag string) int
	// SignWithStepUpKey signs message with the key under tag
	// (SecKeyCreateSignature, .ecdsaSignatureMessageX962SHA256) with an
	// LAContext as in ReadItem, on a background queue; the Secure Enclave
	// asks for Face ID or Touch ID. It reports reply.Completed(empty, DER
	// signature), reply.Failed(LAError code) or reply.KeyFailed(OSStatus).
	SignWithStepUpKey(tag string, message []byte, reason, cancelTitle string, setCancel bool, reply KeyReply) error
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
	registry.Set(newAndroidShim(a))
	return nil
}

// RegisterIOS makes i the device of the biometric plugin, as
// RegisterAndroid does on Android.
func RegisterIOS(i IOS) error {
	if i == nil {
		return errNilPlatform
	}
	registry.Set(newIOSShim(i))
	return nil
}

// Unregister removes the registered platform (dismissing a prompt it was
// showing); the plugin then reports biometry as not available.
func Unregister() {
	registry.Set(nil)
}
