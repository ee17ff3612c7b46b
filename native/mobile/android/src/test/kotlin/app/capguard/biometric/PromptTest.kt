package app.capguard.biometric

import android.content.Context
import android.hardware.biometrics.BiometricManager.Authenticators
import android.hardware.biometrics.BiometricPrompt
import android.hardware.biometrics.IBiometricServiceReceiver
import android.os.Looper
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNotSame
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowBiometricPrompt
import org.robolectric.util.ReflectionHelpers

/** The prompt the shim shows, on Robolectric's ShadowBiometricPrompt. */
@RunWith(RobolectricTestRunner::class)
class PromptTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val shim = CapguardBiometric(context)

    // Runs what the shim and the platform posted to the main thread.
    private fun idle() = shadowOf(Looper.getMainLooper()).idle()

    private fun show(
        reply: RecordingReply,
        title: String = "Fingerprint Authentication",
        subtitle: String = "",
        description: String = "Unlock your vault",
        negativeButton: String = "Cancel",
        authenticators: Int = Authenticators.BIOMETRIC_WEAK,
        confirmationRequired: Boolean = true,
    ): BiometricPrompt {
        shim.show(title, subtitle, description, negativeButton, authenticators.toLong(), confirmationRequired, reply)
        idle()
        val prompt: BiometricPrompt? = ShadowBiometricPrompt.getCurrentPrompt()
        assertNotNull("no prompt is showing", prompt)
        return prompt!!
    }

    @Test
    fun contractPromptsAreAcceptedAndPassedThrough() {
        val rows = Contract.rows("prompts")
        assertTrue("contract has no prompts", rows.isNotEmpty())
        for (row in rows) {
            val s = row.getJSONObject("show")
            val reply = RecordingReply()
            val prompt = show(
                reply,
                title = s.getString("title"),
                subtitle = s.getString("subtitle"),
                description = s.getString("description"),
                negativeButton = s.getString("negativeButton"),
                authenticators = s.getInt("authenticators"),
                confirmationRequired = s.getBoolean("confirmationRequired"),
            )
            val name = row.getString("name")
            assertEquals(name, s.getString("title"), prompt.title.toString())
            assertEquals(name, s.getString("subtitle").ifEmpty { null }, prompt.subtitle?.toString())
            assertEquals(name, s.getString("description"), prompt.description?.toString())
            assertEquals(name, s.getString("negativeButton").ifEmpty { null }, prompt.negativeButtonText?.toString())
            assertEquals(name, s.getInt("authenticators"), prompt.allowedAuthenticators)
            assertEquals(name, s.getBoolean("confirmationRequired"), prompt.isConfirmationRequired)
            assertEquals(name, emptyList<String>(), reply.calls())
            shim.dismiss()
            idle()
        }
    }

    @Test
    fun authenticatorBitsAreTheFrameworks() {
        val constants = Contract.json.getJSONObject("gomobile").getJSONObject("constants")
        for (row in Contract.rows("authenticators")) {
            val android = Authenticators::class.java.getField(row.getString("android")).getInt(null)
            assertEquals(row.getString("android"), constants.getLong(row.getString("constant")), android.toLong())
        }
    }

    @Test
    fun success() {
        val reply = RecordingReply()
        show(reply)
        ShadowBiometricPrompt.authenticateCurrentSessionSuccessfully()
        idle()
        assertEquals(listOf("succeeded"), reply.calls())
    }

    @Test
    fun failureThenSuccessOnOnePrompt() {
        val reply = RecordingReply()
        val prompt = show(reply)
        ShadowBiometricPrompt.failCurrentSessionOnce()
        idle()
        assertSame("the prompt stays open after a sample is not recognized", prompt, ShadowBiometricPrompt.getCurrentPrompt())
        ShadowBiometricPrompt.failCurrentSessionOnce()
        idle()
        ShadowBiometricPrompt.authenticateCurrentSessionSuccessfully()
        idle()
        assertEquals(listOf("notRecognized", "notRecognized", "succeeded"), reply.calls())
    }

    @Test
    fun everyPromptErrorReachesGoWithItsRawCode() {
        val rows = Contract.rows("promptErrors")
        assertTrue("contract has no prompt errors", rows.size >= 15)
        for (row in rows) {
            val value = row.getInt("value")
            val name = row.getString("android")
            val declared = staticInt(BiometricPrompt::class.java, name)
            if (row.getBoolean("framework")) {
                assertEquals("BiometricPrompt.$name", value, declared)
            } else {
                assertNull("BiometricPrompt.$name is in the framework now: set framework true in contract.json", declared)
            }
            val reply = RecordingReply()
            show(reply)
            ShadowBiometricPrompt.authenticateCurrentSessionWithError(value, "platform says $name")
            idle()
            assertEquals(name, listOf("failed($value, platform says $name)"), reply.calls())
            // The prompt is over: Go's dismiss afterwards changes nothing.
            shim.dismiss()
            idle()
            assertEquals(name, 1, reply.calls().size)
        }
    }

    @Test
    fun negativeButtonIsReportedAsTheNegativeButtonError() {
        val reply = RecordingReply()
        val prompt = show(reply, negativeButton = "Not now")
        // What the system does when the user presses the button: it tells
        // the prompt's receiver, which calls the button's listener.
        val receiver: IBiometricServiceReceiver = ReflectionHelpers.getField(prompt, "mBiometricServiceReceiver")
        receiver.onDialogDismissed(BiometricPrompt.DISMISSED_REASON_NEGATIVE)
        idle()
        val code = Contract.rows("promptErrors").single { it.getString("android") == "BIOMETRIC_ERROR_NEGATIVE_BUTTON" }.getInt("value")
        assertEquals(BiometricPrompt.BIOMETRIC_ERROR_NEGATIVE_BUTTON, code)
        assertEquals(listOf("failed($code, Not now)"), reply.calls())
    }

    @Test
    fun cancellationFromGo() {
        val reply = RecordingReply()
        show(reply)
        val session = ShadowBiometricPrompt.getCurrentPrompt()
        assertNotNull(session)
        shim.dismiss()
        idle()
        assertNull("the prompt is still showing after dismiss", ShadowBiometricPrompt.getCurrentPrompt())
        // The platform answers a cancelled prompt with BIOMETRIC_ERROR_CANCELED;
        // the shim passes it on and Go, whose authentication already ended
        // with appCancel, drops it.
        assertEquals(1, reply.calls().size)
        assertTrue(reply.calls().single(), reply.calls().single().startsWith("failed(${BiometricPrompt.BIOMETRIC_ERROR_CANCELED}, "))
        // A second dismiss, with nothing showing, does nothing.
        shim.dismiss()
        idle()
        assertEquals(1, reply.calls().size)
    }

    @Test
    fun goCallsFromItsOwnThreads() {
        val reply = RecordingReply()
        val thrown = mutableListOf<Throwable>()
        fun onGoThread(block: () -> Unit) {
            val t = Thread {
                try {
                    block()
                } catch (e: Throwable) {
                    synchronized(thrown) { thrown += e }
                }
            }
            t.start()
            t.join(10_000)
            assertFalse("the call from Go's thread did not return", t.isAlive)
        }
        onGoThread { shim.show("Title", "", "Reason", "Cancel", Authenticators.BIOMETRIC_WEAK.toLong(), true, reply) }
        idle()
        assertEquals("Title", ShadowBiometricPrompt.getCurrentPrompt()?.title?.toString())
        onGoThread { shim.dismiss() }
        idle()
        assertEquals(emptyList<Throwable>(), thrown)
        assertNull(ShadowBiometricPrompt.getCurrentPrompt())
        assertEquals(1, reply.calls().size)
        assertTrue(reply.calls().single(), reply.calls().single().startsWith("failed(${BiometricPrompt.BIOMETRIC_ERROR_CANCELED}, "))
    }

    @Test
    fun dismissBeforeThePromptStartedShowsNothing() {
        val reply = RecordingReply()
        shim.show("Title", "", "Reason", "Cancel", Authenticators.BIOMETRIC_WEAK.toLong(), true, reply)
        shim.dismiss() // on Go's thread, before the main thread ran the prompt
        idle()
        assertNull(ShadowBiometricPrompt.getCurrentPrompt())
        assertEquals(emptyList<String>(), reply.calls())
    }

    @Test
    fun onePromptAtATime() {
        val first = RecordingReply()
        val firstPrompt = show(first, title = "First")
        val second = RecordingReply()
        val secondPrompt = show(second, title = "Second")
        assertNotSame(firstPrompt, secondPrompt)
        assertEquals("Second", ShadowBiometricPrompt.getCurrentPrompt()?.title?.toString())
        assertEquals("the first prompt was not cancelled", 1, first.calls().size)
        assertTrue(first.calls().single(), first.calls().single().startsWith("failed(${BiometricPrompt.BIOMETRIC_ERROR_CANCELED},"))
        ShadowBiometricPrompt.authenticateCurrentSessionSuccessfully()
        idle()
        assertEquals(listOf("succeeded"), second.calls())
        assertFalse(first.calls().contains("succeeded"))
    }

    @Test
    fun invalidPromptThrowsBackToGo() {
        // Android refuses a negative button beside the device credential, a
        // prompt without a title, and one with neither a negative button nor
        // the device credential; Go never asks for them, and if it did the
        // exception becomes Go's error (notInteractive).
        val reply = RecordingReply()
        val both = Authenticators.BIOMETRIC_WEAK or Authenticators.DEVICE_CREDENTIAL
        assertThrows(IllegalArgumentException::class.java) {
            shim.show("Title", "", "Reason", "Cancel", both.toLong(), true, reply)
        }
        assertThrows(IllegalArgumentException::class.java) {
            shim.show("", "", "Reason", "Cancel", Authenticators.BIOMETRIC_WEAK.toLong(), true, reply)
        }
        assertThrows(IllegalArgumentException::class.java) {
            shim.show("Title", "", "Reason", "", Authenticators.BIOMETRIC_WEAK.toLong(), true, reply)
        }
        idle()
        assertNull(ShadowBiometricPrompt.getCurrentPrompt())
        assertEquals(emptyList<String>(), reply.calls())
    }

    @Test
    fun registerHandsTheShimToGo() {
        mobile.MobileAccess.unregister()
        CapguardBiometric.register(context)
        assertTrue(mobile.MobileAccess.registered() is CapguardBiometric)
        mobile.MobileAccess.unregister()
        assertNull(mobile.MobileAccess.registered())
    }
}

/** A prompt that cannot start reaches Go as code 0 (the contract's promptErrorNoCode). */
@RunWith(RobolectricTestRunner::class)
@Config(shadows = [RefusingBiometricPrompt::class])
class RefusedPromptTest {
    @Test
    fun authenticateThrowingIsReportedAsCodeZero() {
        val context: Context = RuntimeEnvironment.getApplication()
        val reply = RecordingReply()
        val shim = CapguardBiometric(context)
        shim.show("Title", "", "Reason", "Cancel", Authenticators.BIOMETRIC_WEAK.toLong(), true, reply)
        shadowOf(Looper.getMainLooper()).idle()
        val noCode = Contract.json.getJSONObject("promptErrorNoCode").getInt("value")
        assertEquals(listOf("failed($noCode, Must have USE_BIOMETRIC permission)"), reply.calls())
        // The prompt never showed: dismissing it does nothing.
        shim.dismiss()
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(1, reply.calls().size)
    }
}
