// The Java interface that `gomobile bind` generates for the Go interface
// mobile.IOS. Nothing on Android implements it, but gomobile emits it, and
// TestGomobileJavaMatchesGo checks it with the others.
package mobile;

/** What the Swift shim implements (iOS); generated for Android too. */
public interface IOS {
	public long addItem(String service, String account, byte[] data, boolean requireBiometry);
	public long biometryType();
	public long canEvaluate(long policy);
	public long createStepUpKey(String tag);
	public long deleteItem(String service, String account);
	public long deleteStepUpKey(String tag);
	public void evaluate(long policy, String reason, String fallbackTitle, boolean setFallback, String cancelTitle, boolean setCancel, Reply reply) throws Exception;
	public String faceIDUsageDescription();
	public void invalidate();
	public long itemStatus(String service, String account);
	public void readItem(String service, String account, String reason, String cancelTitle, boolean setCancel, KeyReply reply) throws Exception;
	public void signWithStepUpKey(String tag, byte[] message, String reason, String cancelTitle, boolean setCancel, KeyReply reply) throws Exception;
	public byte[] stepUpPublicKey(String tag) throws Exception;
	public void updateItem(String service, String account, byte[] data, String reason, String cancelTitle, boolean setCancel, KeyReply reply) throws Exception;

}
