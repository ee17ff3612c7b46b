package app.capguard.biometric

import android.hardware.biometrics.BiometricManager.Authenticators
import android.hardware.biometrics.BiometricPrompt
import android.os.CancellationSignal
import java.util.concurrent.Executor
import org.robolectric.annotation.Implementation
import org.robolectric.annotation.Implements
import org.robolectric.annotation.RealObject
import org.robolectric.annotation.Resetter
import org.robolectric.util.ReflectionHelpers
import org.robolectric.util.ReflectionHelpers.ClassParameter

/**
 * A BiometricPrompt that keeps its CryptoObject, which Robolectric's own
 * ShadowBiometricPrompt drops (its success carries a null CryptoObject).
 * [succeed] is what the platform does when a strong biometric matches: it
 * authorizes exactly the prompt's Cipher or Signature in [FakeKeystore] and
 * reports a result that holds the same CryptoObject. [deliver] is what a
 * hooked process does: it calls the success callback with whatever result it
 * likes, authorizing nothing.
 */
@Implements(BiometricPrompt::class)
class KeystoreBiometricPrompt {
    @RealObject
    private lateinit var real: BiometricPrompt

    class Session(
        val prompt: BiometricPrompt,
        val crypto: BiometricPrompt.CryptoObject?,
        val cancel: CancellationSignal,
        val executor: Executor,
        val callback: BiometricPrompt.AuthenticationCallback,
    )

    @Implementation
    protected fun authenticate(
        crypto: BiometricPrompt.CryptoObject,
        cancel: CancellationSignal,
        executor: Executor,
        callback: BiometricPrompt.AuthenticationCallback,
    ) {
        // As androidx documents it: crypto needs Class 3 (strong) biometrics.
        require(real.allowedAuthenticators and Authenticators.BIOMETRIC_WEAK == Authenticators.BIOMETRIC_STRONG) {
            "Crypto-based authentication is not supported for Class 2 (Weak) biometrics."
        }
        begin(Session(real, crypto, cancel, executor, callback))
    }

    @Implementation
    protected fun authenticate(cancel: CancellationSignal, executor: Executor, callback: BiometricPrompt.AuthenticationCallback) {
        begin(Session(real, null, cancel, executor, callback))
    }

    private fun begin(s: Session) {
        synchronized(lock) { current = s }
        s.cancel.setOnCancelListener {
            val was = synchronized(lock) { (current === s).also { if (it) current = null } }
            if (was) s.executor.execute { s.callback.onAuthenticationError(BiometricPrompt.BIOMETRIC_ERROR_CANCELED, "Cancelled") }
        }
    }

    companion object {
        private val lock = Any()
        private var current: Session? = null

        @Resetter
        @JvmStatic
        fun reset() {
            synchronized(lock) { current = null }
        }

        /** The prompt showing, or null. */
        fun session(): Session? = synchronized(lock) { current }

        private fun take(): Session = synchronized(lock) { current.also { current = null } } ?: error("no prompt is showing")

        /** A strong biometric matched: the prompt's own operation object is authorized, once. */
        fun succeed() {
            val s = take()
            s.crypto?.let { c -> FakeKeystore.authorize(c.cipher ?: c.signature ?: error("empty CryptoObject")) }
            s.executor.execute { s.callback.onAuthenticationSucceeded(result(s.crypto)) }
        }

        /** A sample was not recognized; the prompt stays. */
        fun notRecognized() {
            val s = session() ?: error("no prompt is showing")
            s.executor.execute { s.callback.onAuthenticationFailed() }
        }

        fun error(code: Int, message: String) {
            val s = take()
            s.executor.execute { s.callback.onAuthenticationError(code, message) }
        }

        /** A hooked success callback: the result the hook chose, nothing authorized. */
        fun deliver(crypto: BiometricPrompt.CryptoObject?) {
            val s = take()
            s.executor.execute { s.callback.onAuthenticationSucceeded(result(crypto)) }
        }

        // AuthenticationResult's constructor is hidden; Robolectric makes it the same way.
        fun result(crypto: BiometricPrompt.CryptoObject?): BiometricPrompt.AuthenticationResult =
            ReflectionHelpers.callConstructor(
                BiometricPrompt.AuthenticationResult::class.java,
                ClassParameter.from(BiometricPrompt.CryptoObject::class.java, crypto),
                ClassParameter.from(Int::class.javaPrimitiveType, BiometricPrompt.AUTHENTICATION_RESULT_TYPE_BIOMETRIC),
            )
    }
}
