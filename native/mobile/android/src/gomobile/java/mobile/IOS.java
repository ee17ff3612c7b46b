// The Java interface that `gomobile bind` generates for the Go interface
// mobile.IOS. Nothing on Android implements it, but gomobile emits it, and
// TestGomobileJavaMatchesGo checks it with the others.
package mobile;

/** What the Swift shim implements (iOS); generated for Android too. */
public interface IOS {
	public long biometryType();
	public long canEvaluate(long policy);
	public void evaluate(long policy, String reason, String fallbackTitle, boolean setFallback, String cancelTitle, boolean setCancel, Reply reply) throws Exception;
	public String faceIDUsageDescription();
	public void invalidate();

}
