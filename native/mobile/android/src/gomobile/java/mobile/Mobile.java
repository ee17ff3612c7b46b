// A stand-in for the class `gomobile bind` generates for the package-level
// constants and functions of github.com/capguard/capguard/native/mobile. Its
// public declarations are gomobile's (checked by TestGomobileJavaMatchesGo);
// the functions, native in the real binding, keep the registered platform in
// a field the tests read, since no Go library is loaded here.
package mobile;

/** Package mobile's constants and functions, as gomobile binds them. */
public abstract class Mobile {
	private Mobile() {} // uninstantiable

	// touch is called from other bound packages to initialize this package
	public static void touch() {}

	public static final long AuthenticatorBiometricStrong = 15L;
	public static final long AuthenticatorBiometricWeak = 255L;
	public static final long AuthenticatorDeviceCredential = 32768L;
	public static final long FeatureFace = 2L;
	public static final long FeatureFingerprint = 1L;
	public static final long FeatureIris = 4L;
	public static final long KeyErrorBadData = 3L;
	public static final long KeyErrorForeignResult = 5L;
	public static final long KeyErrorInvalidated = 2L;
	public static final long KeyErrorMissing = 1L;
	public static final long KeyErrorRefused = 4L;
	public static final long OperationDecrypt = 2L;
	public static final long OperationEncrypt = 1L;
	public static final long OperationSign = 3L;
	public static final long PolicyBiometrics = 1L;
	public static final long PolicyDeviceOwner = 2L;

	/** The platform of the last successful register call (stand-in only). */
	static volatile Object registered;

	/** Makes a the device of the biometric plugin. */
	public static void registerAndroid(Android a) throws Exception {
		register(a);
	}

	/** Makes i the device of the biometric plugin. */
	public static void registerIOS(IOS i) throws Exception {
		register(i);
	}

	/** Removes the registered platform. */
	public static void unregister() {
		registered = null;
	}

	private static void register(Object p) throws Exception {
		if (p == null) {
			// The Go function's error, as gomobile throws it.
			throw new Exception("mobile: nil platform");
		}
		registered = p;
	}
}
