// The Java interface that `gomobile bind` generates for the Go interface
// mobile.Android (package github.com/capguard/capguard/native/mobile),
// written by gobind's rules: Go int is long, a method name loses its capital,
// an error result is `throws Exception`, methods in name order.
// TestGomobileJavaMatchesGo (native/mobile) derives these declarations from
// the Go source and fails when this file says otherwise.
package mobile;

/**
 * What the Kotlin shim implements: raw facts of the platform biometric API,
 * a BiometricPrompt that it shows and dismisses, and AndroidKeyStore keys
 * that such a prompt unlocks for one operation.
 */
public interface Android {
	/** BiometricManager.canAuthenticate(BIOMETRIC_WEAK), unchanged. */
	public long canAuthenticate();
	/** Deletes the key under alias; nothing if there is none. */
	public void deleteKey(String alias) throws Exception;
	/** KeyguardManager.isDeviceSecure: a PIN, pattern or password is set. */
	public boolean deviceSecure();
	/** Cancels the prompt that is showing; nothing if none is. */
	public void dismiss();
	/** The Feature bits of the device's biometric hardware. */
	public long features();
	/** Makes an AES-256-GCM key under alias that every use must unlock with a strong biometric. */
	public void generateSecretKey(String alias) throws Exception;
	/** Makes an EC P-256 signing key pair under alias, with the same authentication parameters. */
	public void generateSigningKey(String alias) throws Exception;
	/** Whether AndroidKeyStore holds a key under alias. */
	public boolean hasKey(String alias) throws Exception;
	/** The PKIX DER public key of the key pair under alias, or null. */
	public byte[] publicKey(String alias) throws Exception;
	/** Builds and shows a BiometricPrompt, reporting to reply. */
	public void show(String title, String subtitle, String description, String negativeButton, long authenticators, boolean confirmationRequired, Reply reply) throws Exception;
	/** Shows a BiometricPrompt whose CryptoObject holds the key's cipher or signature, reporting to reply. */
	public void showWithKey(long operation, String alias, byte[] iv, byte[] aad, byte[] input, String title, String subtitle, String description, String negativeButton, long authenticators, boolean confirmationRequired, KeyReply reply) throws Exception;
	/** An app-private directory that is not backed up, for the sealed records. */
	public String storageDir();

}
