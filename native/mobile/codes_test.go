package mobile

import (
	"testing"

	"github.com/capguard/capguard/native"
)

// The raw values are written out here, from Android's and Apple's
// documentation, so that a wrong constant in codes.go fails a test.

func TestAndroidPromptCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  int
		want native.Code
	}{
		{"ERROR_HW_UNAVAILABLE", 1, native.BiometryNotAvailable},
		{"ERROR_UNABLE_TO_PROCESS", 2, native.SystemCancel},
		{"ERROR_TIMEOUT", 3, native.SystemCancel},
		{"ERROR_NO_SPACE", 4, native.SystemCancel},
		{"ERROR_CANCELED", 5, native.SystemCancel},
		{"ERROR_LOCKOUT", 7, native.BiometryLockout},
		{"ERROR_VENDOR", 8, native.SystemCancel},
		{"ERROR_LOCKOUT_PERMANENT", 9, native.BiometryLockout},
		{"ERROR_USER_CANCELED", 10, native.UserCancel},
		{"ERROR_NO_BIOMETRICS", 11, native.BiometryNotEnrolled},
		{"ERROR_HW_NOT_PRESENT", 12, native.BiometryNotAvailable},
		{"ERROR_NEGATIVE_BUTTON", 13, native.UserCancel},
		{"ERROR_NO_DEVICE_CREDENTIAL", 14, native.PasscodeNotSet},
		{"ERROR_SECURITY_UPDATE_REQUIRED", 15, native.BiometryNotAvailable},
		{"ERROR_SENSOR_PRIVACY_ENABLED", 18, native.BiometryNotAvailable},
		{"ERROR_IDENTITY_CHECK_NOT_ACTIVE", 20, native.BiometryNotAvailable},
		{"ERROR_NOT_ENABLED_FOR_APPS", 21, native.BiometryNotAvailable},
		{"unknown 6", 6, native.SystemCancel},
		{"unknown 22", 22, native.SystemCancel},
		{"BIOMETRIC_SUCCESS is no prompt error", 0, native.SystemCancel},
		{"negative", -1, native.SystemCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := androidPromptCode(tc.raw); got != tc.want {
				t.Errorf("androidPromptCode(%d) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
	// Every mapped code is one of the eleven.
	for raw, c := range androidPromptCodes {
		if !c.Valid() {
			t.Errorf("%d maps to invalid code %q", raw, c)
		}
	}
}

func TestAndroidStatus(t *testing.T) {
	const fp, face, iris = FeatureFingerprint, FeatureFace, FeatureIris
	for _, tc := range []struct {
		name     string
		features int
		can      int
		secure   bool
		want     native.Status
	}{
		{"BIOMETRIC_SUCCESS", fp, 0, true,
			native.Status{Type: native.TouchID, Available: true, Enrolled: true, DeviceCredential: true}},
		{"BIOMETRIC_SUCCESS face first when no fingerprint", face | iris, 0, false,
			native.Status{Type: native.FaceID, Available: true, Enrolled: true}},
		{"BIOMETRIC_SUCCESS without declared features", 0, 0, false,
			native.Status{Type: native.TouchID, Available: true, Enrolled: true}},
		{"BIOMETRIC_ERROR_NONE_ENROLLED", fp, 11, true,
			native.Status{Type: native.TouchID, Available: true, DeviceCredential: true, Message: "Biometrics not enrolled."}},
		{"BIOMETRIC_ERROR_HW_UNAVAILABLE", fp, 1, false,
			native.Status{Type: native.TouchID, Message: "Biometry unavailable."}},
		{"BIOMETRIC_ERROR_NO_HARDWARE", fp, 12, true,
			native.Status{Type: native.None, DeviceCredential: true, Message: "No biometric on this device."}},
		{"BIOMETRIC_ERROR_SECURITY_UPDATE_REQUIRED", iris, 15, false,
			native.Status{Type: native.Iris, Message: "A security update is required."}},
		{"BIOMETRIC_ERROR_UNSUPPORTED", fp, -2, false,
			native.Status{Type: native.TouchID, Message: "Unsupported biometry."}},
		{"BIOMETRIC_STATUS_UNKNOWN", fp, -1, false,
			native.Status{Type: native.TouchID, Message: "Unknown biometry state."}},
		{"BIOMETRIC_ERROR_NOT_ENABLED_FOR_APPS (unknown here)", fp, 21, false,
			native.Status{Type: native.TouchID, Message: "Biometry unavailable."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := androidStatus(tc.features, tc.can, tc.secure); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestIOSCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  int
		want native.Code
	}{
		{"authenticationFailed", -1, native.AuthenticationFailed},
		{"userCancel", -2, native.UserCancel},
		{"userFallback", -3, native.UserFallback},
		{"systemCancel", -4, native.SystemCancel},
		{"passcodeNotSet", -5, native.PasscodeNotSet},
		{"biometryNotAvailable", -6, native.BiometryNotAvailable},
		{"biometryNotEnrolled", -7, native.BiometryNotEnrolled},
		{"biometryLockout", -8, native.BiometryLockout},
		{"appCancel", -9, native.AppCancel},
		{"invalidContext", -10, native.InvalidContext},
		{"companionNotAvailable", -11, native.BiometryNotAvailable},
		{"biometryNotPaired", -12, native.BiometryNotAvailable},
		{"biometryDisconnected", -13, native.BiometryNotAvailable},
		{"invalidDimensions", -14, native.InvalidContext},
		{"notInteractive", -1004, native.NotInteractive},
		{"unknown -15", -15, native.SystemCancel},
		{"zero is no error code", 0, native.SystemCancel},
		{"positive", 1, native.SystemCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := iosCode(tc.raw); got != tc.want {
				t.Errorf("iosCode(%d) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
	// The eleven JavaScript codes are exactly iOS's own eleven.
	seen := map[native.Code]bool{}
	for _, c := range iosCodes {
		seen[c] = true
	}
	for _, c := range native.Codes() {
		if !seen[c] {
			t.Errorf("no LAError code maps to %q", c)
		}
	}
}

func TestIOSTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  int
		want native.BiometryType
	}{
		{"none", 0, native.None},
		{"touchID", 1, native.TouchID},
		{"faceID", 2, native.FaceID},
		{"opticID", 4, native.Iris},
		{"unknown 3", 3, native.None},
		{"unknown 5", 5, native.None},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := iosType(tc.raw); got != tc.want {
				t.Errorf("iosType(%d) = %v, want %v", tc.raw, got, tc.want)
			}
		})
	}
}

func TestIOSStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		typ        int
		bio, owner int
		usage      string
		want       native.Status
	}{
		{"touchID ready", 1, 0, 0, "",
			native.Status{Type: native.TouchID, Available: true, Enrolled: true, DeviceCredential: true}},
		{"faceID with usage description", 2, 0, 0, "To unlock your vault",
			native.Status{Type: native.FaceID, Available: true, Enrolled: true, DeviceCredential: true}},
		{"faceID without usage description", 2, 0, 0, "",
			native.Status{Type: native.FaceID, Enrolled: true, DeviceCredential: true, Message: "NSFaceIDUsageDescription is not in the app Info.plist"}},
		{"faceID with blank usage description", 2, 0, 0, "  ",
			native.Status{Type: native.FaceID, Enrolled: true, DeviceCredential: true, Message: "NSFaceIDUsageDescription is not in the app Info.plist"}},
		{"biometryNotEnrolled", 1, -7, 0, "",
			native.Status{Type: native.TouchID, Available: true, DeviceCredential: true, Message: "Biometrics not enrolled."}},
		{"biometryLockout", 2, -8, 0, "x",
			native.Status{Type: native.FaceID, Available: true, Enrolled: true, LockedOut: true, DeviceCredential: true, Message: "Biometry is locked out."}},
		{"biometryNotAvailable", 0, -6, 0, "",
			native.Status{Type: native.None, DeviceCredential: true, Message: "Biometry unavailable."}},
		{"passcodeNotSet", 1, -5, -5, "",
			native.Status{Type: native.TouchID, Message: "No passcode is set on the device."}},
		{"notInteractive", 1, -1004, 0, "",
			native.Status{Type: native.TouchID, DeviceCredential: true, Message: "The authentication prompt cannot be shown."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := iosStatus(tc.typ, tc.bio, tc.owner, tc.usage); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestFailureMessages(t *testing.T) {
	for _, c := range native.Codes() {
		t.Run(string(c), func(t *testing.T) {
			if e := failure(c, ""); e.Message == "" || e.Code != c {
				t.Errorf("failure(%q, \"\") = %+v: want the code and a default text", c, e)
			}
			if e := failure(c, "Platform words."); e.Message != "Platform words." {
				t.Errorf("platform message replaced: %q", e.Message)
			}
		})
	}
}
