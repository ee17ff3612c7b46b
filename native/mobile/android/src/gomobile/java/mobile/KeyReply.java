// The Java interface that `gomobile bind` generates for the Go interface
// mobile.KeyReply: capguard implements it in Go and hands one to
// Android.showWithKey; the shim calls it from the prompt's callbacks and
// after the key's operation.
package mobile;

/** Receives the outcome of a prompt that unlocks a key; only the first answer counts. */
public interface KeyReply {
	/** The key ran the operation: the IV it chose (encryption) and its output. */
	public void completed(byte[] iv, byte[] output);
	/** The prompt ended with an error: its raw BiometricPrompt code and message. */
	public void failed(long code, String message);
	/** The key could not be used: one of Mobile.KeyError*, and the exception's message. */
	public void keyFailed(long code, String message);
	/** A sample was not recognized and the prompt stays open. */
	public void notRecognized();

}
