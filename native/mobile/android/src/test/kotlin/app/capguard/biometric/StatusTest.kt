package app.capguard.biometric

import android.app.KeyguardManager
import android.content.Context
import android.content.pm.PackageManager
import android.hardware.biometrics.BiometricManager
import android.hardware.biometrics.BiometricManager.Authenticators
import mobile.Mobile
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowBiometricManager

/** The raw facts the shim reports for the status, against the contract's rows. */
@RunWith(RobolectricTestRunner::class)
@Config(shadows = [AuthenticatorsBiometricManager::class])
class StatusTest {
    private lateinit var context: Context
    private lateinit var manager: AuthenticatorsBiometricManager

    @Before
    fun setUp() {
        context = RuntimeEnvironment.getApplication()
        manager = Shadow.extract(context.getSystemService(BiometricManager::class.java))
    }

    private fun secure(on: Boolean) {
        shadowOf(context.getSystemService(KeyguardManager::class.java)).setIsDeviceSecure(on)
    }

    @Test
    fun canAuthenticateRowsPassThroughUnchanged() {
        val rows = Contract.rows("canAuthenticate")
        assertTrue("contract has no canAuthenticate rows", rows.size >= 5)
        for (row in rows) {
            val value = row.getInt("value")
            val name = row.getString("android")
            val declared = staticInt(BiometricManager::class.java, name)
            if (row.getBoolean("framework")) {
                assertEquals("BiometricManager.$name", value, declared)
            } else {
                assertNull("BiometricManager.$name is in the framework now: set framework true in contract.json", declared)
            }
            manager.answer(Authenticators.BIOMETRIC_WEAK, value)
            assertEquals("canAuthenticate for $name", value.toLong(), CapguardBiometric(context).canAuthenticate())
        }
    }

    @Test
    fun canAuthenticateAsksForTheContractsAuthenticatorsOnly() {
        val asks = Contract.json.getString("canAuthenticateAsks")
        val expected = Authenticators::class.java.getField(asks).getInt(null)
        assertEquals(Authenticators.BIOMETRIC_WEAK, expected)
        // Biometry not enrolled, but a PIN would do: the shim must report the
        // biometric answer, and the device credential through deviceSecure.
        manager.answer(Authenticators.BIOMETRIC_WEAK, BiometricManager.BIOMETRIC_ERROR_NONE_ENROLLED)
        manager.answer(Authenticators.BIOMETRIC_WEAK or Authenticators.DEVICE_CREDENTIAL, BiometricManager.BIOMETRIC_SUCCESS)
        val shim = CapguardBiometric(context)
        assertEquals(BiometricManager.BIOMETRIC_ERROR_NONE_ENROLLED.toLong(), shim.canAuthenticate())
        assertEquals(listOf(expected), manager.asked())
    }

    @Test
    fun deviceCredentialComesFromKeyguard() {
        val shim = CapguardBiometric(context)
        secure(true)
        assertTrue(shim.deviceSecure())
        secure(false)
        assertFalse(shim.deviceSecure())
    }

    @Test
    fun statusWithAndWithoutDeviceCredential() {
        for (isSecure in listOf(true, false)) {
            for (value in listOf(BiometricManager.BIOMETRIC_SUCCESS, BiometricManager.BIOMETRIC_ERROR_NONE_ENROLLED, BiometricManager.BIOMETRIC_ERROR_NO_HARDWARE)) {
                secure(isSecure)
                manager.answer(Authenticators.BIOMETRIC_WEAK, value)
                val shim = CapguardBiometric(context)
                assertEquals("canAuthenticate, secure=$isSecure", value.toLong(), shim.canAuthenticate())
                assertEquals("deviceSecure, canAuthenticate=$value", isSecure, shim.deviceSecure())
            }
        }
    }

    @Test
    fun featureBitsFollowTheContract() {
        val pm = shadowOf(context.packageManager)
        val rows = Contract.rows("features")
        assertEquals(3, rows.size)
        val constants = Contract.json.getJSONObject("gomobile").getJSONObject("constants")
        for (row in rows) {
            val bit = constants.getLong(row.getString("constant"))
            assertEquals("Mobile.${row.getString("constant")}", bit, Mobile::class.java.getField(row.getString("constant")).getLong(null))
            val feature = PackageManager::class.java.getField(row.getString("packageManager")).get(null) as String
            for (other in rows) {
                pm.setSystemFeature(PackageManager::class.java.getField(other.getString("packageManager")).get(null) as String, false)
            }
            pm.setSystemFeature(feature, true)
            assertEquals("features with only $feature", bit, CapguardBiometric(context).features())
        }
        for (row in rows) {
            pm.setSystemFeature(PackageManager::class.java.getField(row.getString("packageManager")).get(null) as String, true)
        }
        assertEquals(Mobile.FeatureFingerprint or Mobile.FeatureFace or Mobile.FeatureIris, CapguardBiometric(context).features())
        for (row in rows) {
            pm.setSystemFeature(PackageManager::class.java.getField(row.getString("packageManager")).get(null) as String, false)
        }
        assertEquals(0L, CapguardBiometric(context).features())
    }
}

/** The shim on Robolectric's own ShadowBiometricManager, as an app's tests would use it. */
@RunWith(RobolectricTestRunner::class)
class StockShadowStatusTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val manager: ShadowBiometricManager get() = Shadow.extract(context.getSystemService(BiometricManager::class.java))

    @Test
    fun success() {
        manager.setCanAuthenticate(true)
        assertEquals(BiometricManager.BIOMETRIC_SUCCESS.toLong(), CapguardBiometric(context).canAuthenticate())
    }

    @Test
    fun hardwareAbsent() {
        manager.setCanAuthenticate(false)
        assertEquals(BiometricManager.BIOMETRIC_ERROR_NO_HARDWARE.toLong(), CapguardBiometric(context).canAuthenticate())
    }

    @Test
    fun noneEnrolled() {
        manager.setAuthenticatorType(BiometricManager.BIOMETRIC_ERROR_NONE_ENROLLED)
        assertEquals(BiometricManager.BIOMETRIC_ERROR_NONE_ENROLLED.toLong(), CapguardBiometric(context).canAuthenticate())
    }

    @Test
    fun unavailable() {
        manager.setAuthenticatorType(BiometricManager.BIOMETRIC_ERROR_HW_UNAVAILABLE)
        assertEquals(BiometricManager.BIOMETRIC_ERROR_HW_UNAVAILABLE.toLong(), CapguardBiometric(context).canAuthenticate())
    }

    @Test
    fun securityUpdateRequired() {
        manager.setCanAuthenticate(false)
        manager.setAuthenticatorType(BiometricManager.BIOMETRIC_ERROR_SECURITY_UPDATE_REQUIRED)
        assertEquals(BiometricManager.BIOMETRIC_ERROR_SECURITY_UPDATE_REQUIRED.toLong(), CapguardBiometric(context).canAuthenticate())
    }
}
