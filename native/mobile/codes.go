package mobile

import (
	"strings"

	"github.com/capguard/capguard/native"
)

// Android's BiometricPrompt error codes (onAuthenticationError), as
// androidx.biometric.BiometricPrompt and android.hardware.biometrics
// number them.
const (
	androidErrorHWUnavailable           = 1
	androidErrorUnableToProcess         = 2
	androidErrorTimeout                 = 3
	androidErrorNoSpace                 = 4
	androidErrorCanceled                = 5
	androidErrorLockout                 = 7
	androidErrorVendor                  = 8
	androidErrorLockoutPermanent        = 9
	androidErrorUserCanceled            = 10
	androidErrorNoBiometrics            = 11
	androidErrorHWNotPresent            = 12
	androidErrorNegativeButton          = 13
	androidErrorNoDeviceCredential      = 14
	androidErrorSecurityUpdateRequired  = 15
	androidErrorSensorPrivacyEnabled    = 18
	androidErrorIdentityCheckNotActive  = 20
	androidErrorNotEnabledForApps       = 21
	androidBiometricSuccess             = 0
	androidBiometricStatusUnknown       = -1
	androidBiometricErrorUnsupported    = -2
	androidBiometricErrorHWUnavailable  = 1
	androidBiometricErrorNoneEnrolled   = 11
	androidBiometricErrorNoHardware     = 12
	androidBiometricErrorSecurityUpdate = 15
)

// androidPromptCodes maps BiometricPrompt's error codes to the plugin's.
var androidPromptCodes = map[int]native.Code{
	androidErrorHWUnavailable:          native.BiometryNotAvailable,
	androidErrorUnableToProcess:        native.SystemCancel,
	androidErrorTimeout:                native.SystemCancel,
	androidErrorNoSpace:                native.SystemCancel,
	androidErrorCanceled:               native.SystemCancel,
	androidErrorLockout:                native.BiometryLockout,
	androidErrorVendor:                 native.SystemCancel,
	androidErrorLockoutPermanent:       native.BiometryLockout,
	androidErrorUserCanceled:           native.UserCancel,
	androidErrorNoBiometrics:           native.BiometryNotEnrolled,
	androidErrorHWNotPresent:           native.BiometryNotAvailable,
	androidErrorNegativeButton:         native.UserCancel,
	androidErrorNoDeviceCredential:     native.PasscodeNotSet,
	androidErrorSecurityUpdateRequired: native.BiometryNotAvailable,
	androidErrorSensorPrivacyEnabled:   native.BiometryNotAvailable,
	androidErrorIdentityCheckNotActive: native.BiometryNotAvailable,
	androidErrorNotEnabledForApps:      native.BiometryNotAvailable,
}

// androidPromptCode returns the plugin's code for a BiometricPrompt error:
// systemCancel for a code it does not know.
func androidPromptCode(code int) native.Code {
	if c, ok := androidPromptCodes[code]; ok {
		return c
	}
	return native.SystemCancel
}

// androidStatusMessages are the reasons the status gives for
// BiometricManager.canAuthenticate's answers, in Tauri's words.
var androidStatusMessages = map[int]string{
	androidBiometricErrorHWUnavailable:  "Biometry unavailable.",
	androidBiometricErrorNoneEnrolled:   "Biometrics not enrolled.",
	androidBiometricErrorNoHardware:     "No biometric on this device.",
	androidBiometricErrorSecurityUpdate: "A security update is required.",
	androidBiometricErrorUnsupported:    "Unsupported biometry.",
	androidBiometricStatusUnknown:       "Unknown biometry state.",
}

// androidStatus turns the raw facts of an Android device into a Status.
func androidStatus(features, canAuthenticate int, deviceSecure bool) native.Status {
	st := native.Status{Type: androidType(features), DeviceCredential: deviceSecure}
	switch canAuthenticate {
	case androidBiometricSuccess:
		st.Available, st.Enrolled = true, true
		if st.Type == native.None {
			// Biometry works but the device declares no feature (some
			// vendors omit them): a fingerprint reader is the common case.
			st.Type = native.TouchID
		}
	case androidBiometricErrorNoneEnrolled:
		st.Available = true
	case androidBiometricErrorNoHardware:
		st.Type = native.None
	}
	if !st.Available || !st.Enrolled {
		st.Message = androidStatusMessages[canAuthenticate]
		if st.Message == "" {
			st.Message = "Biometry unavailable."
		}
	}
	return st
}

// androidType is the first biometry the device declares, in Tauri's order:
// fingerprint, face, iris.
func androidType(features int) native.BiometryType {
	switch {
	case features&FeatureFingerprint != 0:
		return native.TouchID
	case features&FeatureFace != 0:
		return native.FaceID
	case features&FeatureIris != 0:
		return native.Iris
	}
	return native.None
}

// androidTitle is the prompt's default title for a biometry, in Tauri's
// words.
func androidTitle(t native.BiometryType) string {
	switch t {
	case native.TouchID:
		return "Fingerprint Authentication"
	case native.FaceID:
		return "Face Authentication"
	case native.Iris:
		return "Iris Authentication"
	}
	return "Authenticate"
}

// LAError codes.
const (
	laAuthenticationFailed  = -1
	laUserCancel            = -2
	laUserFallback          = -3
	laSystemCancel          = -4
	laPasscodeNotSet        = -5
	laBiometryNotAvailable  = -6
	laBiometryNotEnrolled   = -7
	laBiometryLockout       = -8
	laAppCancel             = -9
	laInvalidContext        = -10
	laCompanionNotAvailable = -11
	laBiometryNotPaired     = -12
	laBiometryDisconnected  = -13
	laInvalidDimensions     = -14
	laNotInteractive        = -1004
)

// iosCodes maps LAError codes to the plugin's.
var iosCodes = map[int]native.Code{
	laAuthenticationFailed:  native.AuthenticationFailed,
	laUserCancel:            native.UserCancel,
	laUserFallback:          native.UserFallback,
	laSystemCancel:          native.SystemCancel,
	laPasscodeNotSet:        native.PasscodeNotSet,
	laBiometryNotAvailable:  native.BiometryNotAvailable,
	laBiometryNotEnrolled:   native.BiometryNotEnrolled,
	laBiometryLockout:       native.BiometryLockout,
	laAppCancel:             native.AppCancel,
	laInvalidContext:        native.InvalidContext,
	laCompanionNotAvailable: native.BiometryNotAvailable,
	laBiometryNotPaired:     native.BiometryNotAvailable,
	laBiometryDisconnected:  native.BiometryNotAvailable,
	laInvalidDimensions:     native.InvalidContext,
	laNotInteractive:        native.NotInteractive,
}

// iosCode returns the plugin's code for an LAError code: systemCancel for
// a code it does not know.
func iosCode(code int) native.Code {
	if c, ok := iosCodes[code]; ok {
		return c
	}
	return native.SystemCancel
}

// iosType maps LABiometryType's raw value: none 0, touchID 1, faceID 2,
// opticID 4 (reported as iris).
func iosType(raw int) native.BiometryType {
	switch raw {
	case 1:
		return native.TouchID
	case 2:
		return native.FaceID
	case 4:
		return native.Iris
	}
	return native.None
}

// msgNoFaceIDUsage is the status message of a Face ID device whose app
// lacks the Info.plist entry, in Tauri's words.
const msgNoFaceIDUsage = "NSFaceIDUsageDescription is not in the app Info.plist"

// iosStatus turns the raw facts of an iOS device into a Status:
// canBiometrics and canOwner are CanEvaluate's answers for the two
// policies.
func iosStatus(biometryType, canBiometrics, canOwner int, faceIDUsage string) native.Status {
	st := native.Status{Type: iosType(biometryType), DeviceCredential: canOwner == 0}
	switch canBiometrics {
	case 0:
		st.Available, st.Enrolled = true, true
	case laBiometryNotEnrolled:
		st.Available = true
		st.Message = "Biometrics not enrolled."
	case laBiometryLockout:
		st.Available, st.Enrolled, st.LockedOut = true, true, true
		st.Message = "Biometry is locked out."
	default:
		st.Message = iosMessage(canBiometrics)
	}
	if st.Type == native.FaceID && st.Available && strings.TrimSpace(faceIDUsage) == "" {
		// Without the entry iOS refuses Face ID to the app; Tauri reports
		// it as unavailable.
		st.Available = false
		st.Message = msgNoFaceIDUsage
	}
	return st
}

// iosMessage is the text for an LAError code when the platform gave none.
func iosMessage(code int) string {
	switch iosCode(code) {
	case native.PasscodeNotSet:
		return "No passcode is set on the device."
	case native.BiometryNotAvailable:
		return "Biometry unavailable."
	case native.NotInteractive:
		return "The authentication prompt cannot be shown."
	}
	return "Biometry unavailable."
}

// defaultMessages are the texts of failures whose platform message is
// empty.
var defaultMessages = map[native.Code]string{
	native.AppCancel:            "Authentication was canceled by the application.",
	native.AuthenticationFailed: "Biometric not recognized.",
	native.InvalidContext:       "The authentication context is invalid.",
	native.NotInteractive:       "The authentication prompt cannot be shown.",
	native.PasscodeNotSet:       "No device passcode is set.",
	native.SystemCancel:         "Authentication was canceled by the system.",
	native.UserCancel:           "Authentication was canceled by the user.",
	native.UserFallback:         "The user chose the fallback option.",
	native.BiometryLockout:      "Biometry is locked out after too many failed attempts.",
	native.BiometryNotAvailable: "Biometry unavailable.",
	native.BiometryNotEnrolled:  "Biometrics not enrolled.",
}

// failure builds the error of a prompt that ended with code, keeping the
// platform's message when there is one.
func failure(code native.Code, message string) *native.Error {
	if strings.TrimSpace(message) == "" {
		message = defaultMessages[code]
	}
	return native.NewError(code, message)
}
