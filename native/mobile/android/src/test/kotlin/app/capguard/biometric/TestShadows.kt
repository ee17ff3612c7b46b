package app.capguard.biometric

import android.hardware.biometrics.BiometricManager
import android.hardware.biometrics.BiometricPrompt
import android.os.Build
import android.os.CancellationSignal
import java.util.concurrent.Executor
import org.robolectric.annotation.Implementation
import org.robolectric.annotation.Implements
import org.robolectric.shadows.ShadowBiometricManager

/**
 * Robolectric's ShadowBiometricManager answers canAuthenticate(int) the same
 * for every set of authenticators and cannot answer a negative value; this
 * one answers per set and records what was asked. Unset sets answer
 * BIOMETRIC_ERROR_HW_UNAVAILABLE, so asking for the wrong one shows.
 */
@Implements(BiometricManager::class)
class AuthenticatorsBiometricManager : ShadowBiometricManager() {
    private val answers = mutableMapOf<Int, Int>()
    private val asked = mutableListOf<Int>()

    fun answer(authenticators: Int, result: Int) {
        answers[authenticators] = result
    }

    fun asked(): List<Int> = asked.toList()

    @Implementation(minSdk = Build.VERSION_CODES.R)
    override fun canAuthenticate(authenticators: Int): Int {
        asked += authenticators
        return answers[authenticators] ?: BiometricManager.BIOMETRIC_ERROR_HW_UNAVAILABLE
    }
}

/** A BiometricPrompt whose authenticate fails, as it does without the USE_BIOMETRIC permission. */
@Implements(BiometricPrompt::class)
class RefusingBiometricPrompt {
    @Implementation
    protected fun authenticate(cancel: CancellationSignal, executor: Executor, callback: BiometricPrompt.AuthenticationCallback) {
        throw SecurityException("Must have USE_BIOMETRIC permission")
    }
}
