package app.capguard.biometric

import android.content.Context
import android.hardware.biometrics.BiometricManager.Authenticators
import android.hardware.biometrics.BiometricPrompt
import android.os.Looper
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.security.KeyFactory
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.security.spec.X509EncodedKeySpec
import javax.crypto.Cipher
import javax.crypto.IllegalBlockSizeException
import javax.crypto.spec.GCMParameterSpec
import mobile.Mobile
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNotSame
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowBiometricPrompt

/**
 * The key half of the shim against the test AndroidKeyStore (FakeKeystore),
 * which enforces the authentication rule of the shim's specs, and a
 * BiometricPrompt (KeystoreBiometricPrompt) whose success authorizes exactly
 * the CryptoObject it was shown with. Each MASTG point is named in the test.
 */
@RunWith(RobolectricTestRunner::class)
@Config(shadows = [KeystoreBiometricPrompt::class])
class KeyTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val shim = CapguardBiometric(context)
    private val keystore = Contract.json.getJSONObject("keystore")
    private val vaultAlias = keystore.getString("vaultAliasPrefix") + "com.example.vault"
    private val stepUpAlias = keystore.getString("stepUpAlias")
    private val aad = "capguard-vault record of com.example.vault/token".toByteArray()

    @Before
    fun setUp() = FakeKeystore.install()

    @After
    fun tearDown() = FakeKeystore.uninstall()

    private fun idle() = shadowOf(Looper.getMainLooper()).idle()

    private fun showWithKey(
        op: Long,
        alias: String,
        input: ByteArray,
        iv: ByteArray? = null,
        aad: ByteArray? = this.aad,
        reply: RecordingKeyReply = RecordingKeyReply(),
        negativeButton: String = "Cancel",
        authenticators: Long = Mobile.AuthenticatorBiometricStrong,
    ): RecordingKeyReply {
        shim.showWithKey(op, alias, iv, aad, input, "Fingerprint Authentication", "", "Unlock your vault", negativeButton, authenticators, true, reply)
        idle()
        return reply
    }

    // Seals plain under vaultAlias with an authorized prompt: (iv, ciphertext).
    private fun seal(plain: ByteArray, aad: ByteArray = this.aad): Pair<ByteArray, ByteArray> {
        val reply = showWithKey(Mobile.OperationEncrypt, vaultAlias, plain, aad = aad)
        KeystoreBiometricPrompt.succeed()
        idle()
        assertEquals(listOf("completed"), reply.calls())
        return reply.iv!! to reply.output!!
    }

    private fun open(iv: ByteArray, sealed: ByteArray, aad: ByteArray = this.aad): RecordingKeyReply {
        val reply = showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv, aad = aad)
        if (KeystoreBiometricPrompt.session() != null) {
            KeystoreBiometricPrompt.succeed()
            idle()
        }
        return reply
    }

    private fun keyError(name: String): Long = Contract.json.getJSONObject("gomobile").getJSONObject("constants").getLong(name)

    private fun assertBiometricStrongPerOperation(spec: KeyGenParameterSpec) {
        val auth = keystore.getJSONObject("authentication")
        assertEquals("setUserAuthenticationRequired", auth.getBoolean("userAuthenticationRequired"), spec.isUserAuthenticationRequired)
        assertEquals("timeout of setUserAuthenticationParameters", auth.getInt("timeoutSeconds"), spec.userAuthenticationValidityDurationSeconds)
        assertEquals(auth.getInt("typeValue"), KeyProperties::class.java.getField(auth.getString("type")).getInt(null))
        assertEquals("type of setUserAuthenticationParameters", KeyProperties.AUTH_BIOMETRIC_STRONG, spec.userAuthenticationType)
        assertEquals("setInvalidatedByBiometricEnrollment", auth.getBoolean("invalidatedByBiometricEnrollment"), spec.isInvalidatedByBiometricEnrollment)
        assertFalse("valid while on body", spec.isUserAuthenticationValidWhileOnBody)
        assertFalse("unlocked-device only is no substitute", spec.isUnlockedDeviceRequired && !spec.isUserAuthenticationRequired)
    }

    // MASTG-BEST-0036: the vault's key, read back from the provider.
    @Test
    fun mastgBest0036SecretKeySpec() {
        shim.generateSecretKey(vaultAlias)
        val spec = FakeKeystore.spec(vaultAlias)
        assertNotNull("the shim made no AndroidKeyStore key", spec)
        spec!!
        val secret = keystore.getJSONObject("secretKey")
        assertEquals(vaultAlias, spec.keystoreAlias)
        assertEquals(KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT, spec.purposes)
        assertEquals(secret.getInt("keySize"), spec.keySize)
        assertArrayEquals(arrayOf(KeyProperties.BLOCK_MODE_GCM), spec.blockModes)
        assertEquals(secret.getString("blockMode"), KeyProperties.BLOCK_MODE_GCM)
        assertArrayEquals(arrayOf(KeyProperties.ENCRYPTION_PADDING_NONE), spec.encryptionPaddings)
        assertEquals(secret.getString("padding"), KeyProperties.ENCRYPTION_PADDING_NONE)
        assertTrue("randomized encryption (the Keystore picks every IV)", spec.isRandomizedEncryptionRequired)
        assertBiometricStrongPerOperation(spec)
        assertTrue(shim.hasKey(vaultAlias))
    }

    // MASTG-BEST-0036: the step-up key, read back from the provider.
    @Test
    fun mastgBest0036SigningKeySpec() {
        shim.generateSigningKey(stepUpAlias)
        val spec = FakeKeystore.spec(stepUpAlias)!!
        val signing = keystore.getJSONObject("signingKey")
        assertEquals(KeyProperties.PURPOSE_SIGN, spec.purposes)
        assertArrayEquals(arrayOf(KeyProperties.DIGEST_SHA256), spec.digests)
        assertEquals(signing.getJSONArray("digests").getString(0), KeyProperties.DIGEST_SHA256)
        assertEquals(signing.getString("curve"), (spec.algorithmParameterSpec as ECGenParameterSpec).name)
        assertBiometricStrongPerOperation(spec)
    }

    // MASTG-BEST-0036: the prompt holds a CryptoObject with the key's own
    // cipher, and allows a strong biometric only.
    @Test
    fun mastgBest0036PromptHoldsTheKeysCipher() {
        shim.generateSecretKey(vaultAlias)
        showWithKey(Mobile.OperationEncrypt, vaultAlias, "s3cret".toByteArray())
        val session = KeystoreBiometricPrompt.session()
        assertNotNull("no prompt is showing", session)
        val cipher = session!!.crypto?.cipher
        assertNotNull("the prompt has no CryptoObject with a cipher", cipher)
        val spi = FakeKeystore.spiOf(cipher!!) as FakeKeystore.GcmCipher
        assertEquals(vaultAlias, spi.alias)
        assertEquals(keystore.getJSONObject("secretKey").getString("transformation"), cipher.algorithm)
        assertEquals(Authenticators.BIOMETRIC_STRONG, session.prompt.allowedAuthenticators)
        assertEquals("Cancel", session.prompt.negativeButtonText?.toString())
    }

    @Test
    fun sealAndOpenWithTheRecordsAad() {
        shim.generateSecretKey(vaultAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        assertEquals(keystore.getJSONObject("secretKey").getInt("ivBytes"), iv.size)
        assertEquals("s3cret".length + keystore.getJSONObject("secretKey").getInt("tagBits") / 8, sealed.size)
        // The ciphertext is AES-GCM under the Keystore's key, with Go's AAD.
        val check = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE")
        check.init(Cipher.DECRYPT_MODE, FakeKeystore.secret(vaultAlias), GCMParameterSpec(128, iv))
        check.updateAAD(aad)
        assertArrayEquals("s3cret".toByteArray(), check.doFinal(sealed))
        val reply = open(iv, sealed)
        assertEquals(listOf("completed"), reply.calls())
        assertArrayEquals("s3cret".toByteArray(), reply.output)
        assertEquals(0, reply.iv!!.size)
    }

    // MASTG-TEST-0327: the success callback alone, without the prompt's
    // CryptoObject, releases nothing.
    @Test
    fun mastgTest0327SuccessWithoutCryptoObjectReleasesNothing() {
        shim.generateSecretKey(vaultAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        val reply = showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv)
        KeystoreBiometricPrompt.deliver(null)
        idle()
        assertEquals(listOf("keyFailed(${keyError("KeyErrorForeignResult")})"), reply.calls())
        assertNull(reply.output)
    }

    // MASTG-TEST-0327: a success carrying another cipher (even one the
    // Keystore authorized) is not this prompt's.
    @Test
    fun mastgTest0327SuccessWithAnotherCipherReleasesNothing() {
        shim.generateSecretKey(vaultAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        val reply = showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv)
        val other = Cipher.getInstance("AES/GCM/NoPadding")
        other.init(Cipher.DECRYPT_MODE, java.security.KeyStore.getInstance("AndroidKeyStore").apply { load(null) }.getKey(vaultAlias, null), GCMParameterSpec(128, iv))
        FakeKeystore.authorize(other)
        KeystoreBiometricPrompt.deliver(BiometricPrompt.CryptoObject(other))
        idle()
        assertEquals(listOf("keyFailed(${keyError("KeyErrorForeignResult")})"), reply.calls())
        assertNull(reply.output)
    }

    // MASTG-TEST-0327: a hooked callback that hands back the prompt's own
    // CryptoObject gets nothing either: no authentication unlocked the key,
    // and the Keystore refuses doFinal.
    @Test
    fun mastgTest0327ForgedSuccessWithThePromptsCipherIsRefusedByTheKeystore() {
        shim.generateSecretKey(vaultAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        val reply = showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv)
        val own = KeystoreBiometricPrompt.session()!!.crypto
        KeystoreBiometricPrompt.deliver(own)
        idle()
        assertEquals(listOf("keyFailed(${keyError("KeyErrorRefused")})"), reply.calls())
        assertNull(reply.output)
    }

    // MASTG-TEST-0327, for the step-up key: a forged success yields no
    // signature.
    @Test
    fun mastgTest0327ForgedSuccessYieldsNoSignature() {
        shim.generateSigningKey(stepUpAlias)
        for (forged in listOf<(BiometricPrompt.CryptoObject?) -> BiometricPrompt.CryptoObject?>({ null }, { it })) {
            val reply = showWithKey(Mobile.OperationSign, stepUpAlias, "challenge".toByteArray(), aad = null)
            val own = KeystoreBiometricPrompt.session()!!.crypto
            assertNotNull("the prompt has no CryptoObject with a signature", own?.signature)
            KeystoreBiometricPrompt.deliver(forged(own))
            idle()
            assertEquals(1, reply.calls().size)
            assertTrue(reply.calls().single(), reply.calls().single().startsWith("keyFailed("))
            assertNull(reply.output)
        }
    }

    // MASTG-TEST-0330: no extended validity. One authentication runs one
    // operation: the same cipher, asked again without a new prompt, is
    // refused; the next operation gets a cipher of its own and a prompt.
    @Test
    fun mastgTest0330OneAuthenticationOneOperation() {
        shim.generateSecretKey(vaultAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        val reply = showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv)
        val cipher = KeystoreBiometricPrompt.session()!!.crypto!!.cipher!!
        KeystoreBiometricPrompt.succeed()
        idle()
        assertEquals(listOf("completed"), reply.calls())
        // The same cipher again (a decryption resets it to its init state).
        cipher.updateAAD(aad)
        val refused = assertThrows(IllegalBlockSizeException::class.java) { cipher.doFinal(sealed) }
        assertTrue(refused.message, refused.message!!.contains("not authenticated"))
        // The next operation: another cipher, which needs its own success.
        showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv)
        val next = KeystoreBiometricPrompt.session()!!.crypto!!.cipher
        assertNotSame(cipher, next)
        assertEquals(0, FakeKeystore.spec(vaultAlias)!!.userAuthenticationValidityDurationSeconds)
    }

    // MASTG-TEST-0330, for the step-up key: a signature needs its own
    // authentication.
    @Test
    fun mastgTest0330OneAuthenticationOneSignature() {
        shim.generateSigningKey(stepUpAlias)
        val reply = showWithKey(Mobile.OperationSign, stepUpAlias, "challenge".toByteArray(), aad = null)
        val signature = KeystoreBiometricPrompt.session()!!.crypto!!.signature!!
        KeystoreBiometricPrompt.succeed()
        idle()
        assertEquals(listOf("completed"), reply.calls())
        signature.update("another challenge".toByteArray())
        assertThrows(java.security.SignatureException::class.java) { signature.sign() }
    }

    @Test
    fun signatureVerifiesWithThePublicKeyThatLeavesTheDevice() {
        assertNull("a public key for a missing alias", shim.publicKey(stepUpAlias))
        shim.generateSigningKey(stepUpAlias)
        val der = shim.publicKey(stepUpAlias)!!
        val pub = KeyFactory.getInstance("EC").generatePublic(X509EncodedKeySpec(der))
        assertArrayEquals("PKIX DER of the Keystore's key", FakeKeystore.publicKey(stepUpAlias).encoded, pub.encoded)
        val reply = showWithKey(Mobile.OperationSign, stepUpAlias, "challenge".toByteArray(), aad = null)
        KeystoreBiometricPrompt.succeed()
        idle()
        assertEquals(listOf("completed"), reply.calls())
        val verify = Signature.getInstance(keystore.getJSONObject("signingKey").getString("signature"))
        verify.initVerify(pub)
        verify.update("challenge".toByteArray())
        assertTrue("the DER signature does not verify", verify.verify(reply.output))
    }

    // setInvalidatedByBiometricEnrollment(true) → dataNeedsReenrollment: a
    // new enrollment invalidates the key; the shim reports it before any
    // prompt, and Go deletes the key.
    @Test
    fun newEnrollmentInvalidatesTheKeys() {
        shim.generateSecretKey(vaultAlias)
        shim.generateSigningKey(stepUpAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        FakeKeystore.enroll()
        val invalidated = "keyFailed(${keyError("KeyErrorInvalidated")})"
        assertEquals(listOf(invalidated), showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv).calls())
        assertEquals(listOf(invalidated), showWithKey(Mobile.OperationSign, stepUpAlias, "c".toByteArray(), aad = null).calls())
        assertNull("a prompt showed for an invalidated key", KeystoreBiometricPrompt.session())
        val row = Contract.rows("keyErrors").single { it.getString("constant") == "KeyErrorInvalidated" }
        assertEquals("dataNeedsReenrollment", row.getString("vault"))
        assertTrue(row.getBoolean("dropsKey"))
        shim.deleteKey(vaultAlias)
        shim.deleteKey(stepUpAlias)
        assertFalse(shim.hasKey(vaultAlias))
        assertFalse(shim.hasKey(stepUpAlias))
        shim.deleteKey(vaultAlias) // deleting a missing key is no error
    }

    @Test
    fun keyDeletedBehindTheAppsBack() {
        shim.generateSecretKey(vaultAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        FakeKeystore.deleteBehindBack(vaultAlias)
        assertFalse(shim.hasKey(vaultAlias))
        val reply = showWithKey(Mobile.OperationDecrypt, vaultAlias, sealed, iv = iv)
        assertEquals(listOf("keyFailed(${keyError("KeyErrorMissing")})"), reply.calls())
        assertNull(KeystoreBiometricPrompt.session())
    }

    // A corrupted or truncated ciphertext, or one sealed for another record
    // (another AAD), fails its tag after the authentication: KeyErrorBadData,
    // which Go turns into decryptionFailed and leaves the record alone.
    @Test
    fun corruptedRecordsFailTheirTag() {
        shim.generateSecretKey(vaultAlias)
        val (iv, sealed) = seal("s3cret".toByteArray())
        val bad = "keyFailed(${keyError("KeyErrorBadData")})"
        val flipped = sealed.copyOf().also { it[0] = (it[0].toInt() xor 1).toByte() }
        assertEquals(listOf(bad), open(iv, flipped).calls())
        assertEquals(listOf(bad), open(iv, sealed.copyOf(sealed.size - 1)).calls())
        assertEquals(listOf(bad), open(iv, sealed, aad = "another record".toByteArray()).calls())
        // The record itself still opens.
        assertArrayEquals("s3cret".toByteArray(), open(iv, sealed).output)
    }

    @Test
    fun promptOutcomesReachGoUnchanged() {
        shim.generateSecretKey(vaultAlias)
        val reply = showWithKey(Mobile.OperationEncrypt, vaultAlias, "x".toByteArray())
        KeystoreBiometricPrompt.notRecognized()
        idle()
        KeystoreBiometricPrompt.error(BiometricPrompt.BIOMETRIC_ERROR_LOCKOUT, "Too many attempts")
        idle()
        assertEquals(listOf("notRecognized", "failed(${BiometricPrompt.BIOMETRIC_ERROR_LOCKOUT})"), reply.calls())
        // Dismissed by Go: the prompt's CancellationSignal.
        val dismissed = showWithKey(Mobile.OperationEncrypt, vaultAlias, "x".toByteArray())
        shim.dismiss()
        idle()
        assertNull(KeystoreBiometricPrompt.session())
        assertEquals(listOf("failed(${BiometricPrompt.BIOMETRIC_ERROR_CANCELED})"), dismissed.calls())
    }

    @Test
    fun contractKeyedPromptsAreAcceptedAndPassedThrough() {
        shim.generateSecretKey(vaultAlias)
        for (row in Contract.rows("keyedPrompts")) {
            val s = row.getJSONObject("show")
            val reply = RecordingKeyReply()
            shim.showWithKey(
                Mobile.OperationEncrypt, vaultAlias, null, aad, "x".toByteArray(),
                s.getString("title"), s.getString("subtitle"), s.getString("description"), s.getString("negativeButton"),
                s.getLong("authenticators"), s.getBoolean("confirmationRequired"), reply,
            )
            idle()
            val prompt = KeystoreBiometricPrompt.session()!!.prompt
            val name = row.getString("name")
            assertEquals(name, s.getString("title"), prompt.title.toString())
            assertEquals(name, s.getString("subtitle").ifEmpty { null }, prompt.subtitle?.toString())
            assertEquals(name, s.getString("description"), prompt.description?.toString())
            assertEquals(name, s.getString("negativeButton"), prompt.negativeButtonText?.toString())
            assertEquals(name, s.getInt("authenticators"), prompt.allowedAuthenticators)
            assertEquals(name, Authenticators.BIOMETRIC_STRONG, prompt.allowedAuthenticators)
            assertEquals(name, s.getBoolean("confirmationRequired"), prompt.isConfirmationRequired)
            shim.dismiss()
            idle()
        }
    }

    @Test
    fun storageDirIsTheAppsNoBackupDirectory() {
        val dir = shim.storageDir()
        assertEquals(context.noBackupFilesDir.absolutePath, dir)
        assertTrue("$dir is outside the app's data directory", dir.startsWith(context.dataDir.absolutePath))
    }

    @Test
    fun oneKeyedPromptAtATime() {
        shim.generateSecretKey(vaultAlias)
        val first = showWithKey(Mobile.OperationEncrypt, vaultAlias, "1".toByteArray())
        val firstPrompt = KeystoreBiometricPrompt.session()!!
        val second = showWithKey(Mobile.OperationEncrypt, vaultAlias, "2".toByteArray())
        assertNotSame(firstPrompt, KeystoreBiometricPrompt.session())
        assertEquals(listOf("failed(${BiometricPrompt.BIOMETRIC_ERROR_CANCELED})"), first.calls())
        KeystoreBiometricPrompt.succeed()
        idle()
        assertEquals(listOf("completed"), second.calls())
        assertSame(null, first.output)
    }
}

/**
 * MASTG-TEST-0327 on Robolectric's stock ShadowBiometricPrompt, whose
 * success result carries no CryptoObject: the event alone releases nothing.
 */
@RunWith(RobolectricTestRunner::class)
class StockPromptKeyTest {
    @Before
    fun setUp() = FakeKeystore.install()

    @After
    fun tearDown() = FakeKeystore.uninstall()

    @Test
    fun mastgTest0327StockSuccessEventReleasesNothing() {
        val context: Context = RuntimeEnvironment.getApplication()
        val shim = CapguardBiometric(context)
        val alias = Contract.json.getJSONObject("keystore").getString("vaultAliasPrefix") + "d"
        shim.generateSecretKey(alias)
        val reply = RecordingKeyReply()
        shim.showWithKey(Mobile.OperationEncrypt, alias, null, ByteArray(0), "x".toByteArray(), "T", "", "R", "Cancel", Mobile.AuthenticatorBiometricStrong, true, reply)
        shadowOf(Looper.getMainLooper()).idle()
        ShadowBiometricPrompt.authenticateCurrentSessionSuccessfully()
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(listOf("keyFailed(${Mobile.KeyErrorForeignResult})"), reply.calls())
        assertNull(reply.output)
    }
}
