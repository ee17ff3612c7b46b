// The Java interface that `gomobile bind` generates for the Go interface
// mobile.Android (package github.com/capguard/capguard/native/mobile),
// written by gobind's rules: Go int is long, a method name loses its capital,
// an error result is `throws Exception`, methods in name order.
// TestGomobileJavaMatchesGo (native/mobile) derives these declarations from
// the Go source and fails when this file says otherwise.
package mobile;

/**
 * What the Kotlin shim implements: raw facts of the platform biometric API
 * and a BiometricPrompt that it shows and dismisses.
 */
public interface Android {
	/** BiometricManager.canAuthenticate(BIOMETRIC_WEAK), unchanged. */
	public long canAuthenticate();
	/** KeyguardManager.isDeviceSecure: a PIN, pattern or password is set. */
	public boolean deviceSecure();
	/** Cancels the prompt that is showing; nothing if none is. */
	public void dismiss();
	/** The Feature bits of the device's biometric hardware. */
	public long features();
	/** Builds and shows a BiometricPrompt, reporting to reply. */
	public void show(String title, String subtitle, String description, String negativeButton, long authenticators, boolean confirmationRequired, Reply reply) throws Exception;

}
