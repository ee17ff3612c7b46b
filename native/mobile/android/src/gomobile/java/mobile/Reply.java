// The Java interface that `gomobile bind` generates for the Go interface
// mobile.Reply: capguard implements it in Go and hands one to Android.show;
// the shim calls it from the prompt's callbacks.
package mobile;

/** Receives the outcome of a prompt; calls after the prompt ended are ignored. */
public interface Reply {
	/** The prompt ended with an error: its raw code and message. */
	public void failed(long code, String message);
	/** A sample was not recognized and the prompt stays open. */
	public void notRecognized();
	/** The user was recognized. */
	public void succeeded();

}
