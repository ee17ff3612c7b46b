package app.capguard.biometric

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import java.io.InputStream
import java.io.OutputStream
import java.nio.ByteBuffer
import java.security.AlgorithmParameters
import java.security.InvalidAlgorithmParameterException
import java.security.InvalidKeyException
import java.security.Key
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.KeyPairGeneratorSpi
import java.security.KeyStoreSpi
import java.security.PrivateKey
import java.security.Provider
import java.security.PublicKey
import java.security.SecureRandom
import java.security.Security
import java.security.Signature
import java.security.SignatureException
import java.security.SignatureSpi
import java.security.cert.Certificate
import java.security.spec.AlgorithmParameterSpec
import java.util.Collections
import java.util.Date
import java.util.Enumeration
import java.util.IdentityHashMap
import java.util.concurrent.ConcurrentHashMap
import javax.crypto.Cipher
import javax.crypto.CipherSpi
import javax.crypto.IllegalBlockSizeException
import javax.crypto.KeyGenerator
import javax.crypto.KeyGeneratorSpi
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * A JCA provider registered under the name the shim asks for,
 * "AndroidKeyStore", since Robolectric has no Keystore. It keeps the
 * KeyGenParameterSpec the shim built (for the tests to read back) and real
 * software keys (SunJCE's AES, SunEC's EC), and it ENFORCES what the
 * Keystore enforces for the shim's specs:
 *
 * - a key with setUserAuthenticationRequired(true) and a timeout of 0 runs
 *   doFinal / sign only for an operation object (Cipher or Signature) that
 *   the test's BiometricPrompt authorized (KeystoreBiometricPrompt.succeed),
 *   once: one authentication, one operation;
 * - a key with a timeout above 0 runs any operation within that many seconds
 *   of an authorization (the extended validity MASTG-TEST-0330 fails);
 * - only an authentication of the key's type (AUTH_BIOMETRIC_STRONG)
 *   authorizes it;
 * - [enroll] invalidates the keys whose spec has
 *   setInvalidatedByBiometricEnrollment(true) (and user authentication): the
 *   next Cipher.init / Signature.initSign throws
 *   KeyPermanentlyInvalidatedException;
 * - a caller-chosen IV for encryption is refused (randomized encryption).
 *
 * What it cannot show is the real enforcement, in the TEE or StrongBox, by
 * keystore2 and the authentication tokens of the biometric HAL: see
 * native/mobile/README.md.
 */
object FakeKeystore {
    const val NAME = "AndroidKeyStore"

    class Entry(val spec: KeyGenParameterSpec, val secret: SecretKey?, val pair: KeyPair?, val provider: Provider? = null) {
        @Volatile var invalidated = false

        @Volatile var authorizedAtMillis = 0L
    }

    private val entries = ConcurrentHashMap<String, Entry>()

    // The operation objects (the providers' spis) authorized for one operation.
    private val authorized: MutableSet<Any> = Collections.synchronizedSet(Collections.newSetFromMap(IdentityHashMap()))

    /** Registers a fresh provider first in the list and forgets every key. */
    fun install() {
        Security.removeProvider(NAME)
        Security.insertProviderAt(KeystoreProvider(), 1)
        entries.clear()
        authorized.clear()
    }

    fun uninstall() {
        Security.removeProvider(NAME)
        entries.clear()
        authorized.clear()
    }

    /** The spec the shim built for alias, read back. */
    fun spec(alias: String): KeyGenParameterSpec? = entries[alias]?.spec

    /** The real AES key behind alias, for the tests to check a ciphertext. */
    fun secret(alias: String): SecretKey = entries.getValue(alias).secret!!

    /** The real public key of the pair behind alias. */
    fun publicKey(alias: String): PublicKey = entries.getValue(alias).pair!!.public

    fun aliases(): Set<String> = entries.keys.toSet()

    /** A new biometric enrollment: keys bound to the current enrollment are invalidated. */
    fun enroll() {
        for (e in entries.values) {
            if (e.spec.isUserAuthenticationRequired && e.spec.isInvalidatedByBiometricEnrollment) e.invalidated = true
        }
    }

    /** Deletes a key without the shim knowing (another process, a settings reset). */
    fun deleteBehindBack(alias: String) {
        entries.remove(alias)
    }

    /**
     * What a strong biometric success does: it authorizes this operation
     * object (the Cipher or Signature in the prompt's CryptoObject) for one
     * operation, if its key takes that kind of authentication.
     */
    fun authorize(primitive: Any, authenticationType: Int = KeyProperties.AUTH_BIOMETRIC_STRONG) {
        val spi = spiOf(primitive)
        val alias = (spi as? KeyedSpi)?.alias ?: return
        val entry = entries[alias] ?: return
        if (entry.spec.userAuthenticationType and authenticationType == 0) return
        entry.authorizedAtMillis = System.currentTimeMillis()
        authorized += spi
    }

    /** Whether spi, an operation of entry, may run now; consumes a per-operation authorization. */
    internal fun mayRun(entry: Entry, spi: Any): Boolean {
        if (!entry.spec.isUserAuthenticationRequired) return true
        val timeout = entry.spec.userAuthenticationValidityDurationSeconds
        if (timeout > 0) {
            return entry.authorizedAtMillis > 0 && System.currentTimeMillis() - entry.authorizedAtMillis <= timeout * 1000L
        }
        return authorized.remove(spi)
    }

    internal fun entry(alias: String): Entry? = entries[alias]

    internal fun put(alias: String, entry: Entry) {
        entries[alias] = entry
    }

    internal fun remove(alias: String) {
        entries.remove(alias)
    }

    /**
     * The provider object behind a Cipher or a Signature (the JDK keeps it in
     * a private field; surefire opens java.base for it). It is the identity
     * of one operation object: the shadow authorizes exactly it.
     */
    fun spiOf(primitive: Any): Any {
        val name = when (primitive) {
            is Cipher -> "spi"
            is Signature -> "sigSpi"
            else -> error("no crypto primitive: $primitive")
        }
        var c: Class<*>? = primitive.javaClass
        while (c != null) {
            try {
                val f = c.getDeclaredField(name)
                f.isAccessible = true
                return f.get(primitive) ?: error("$primitive is not initialized")
            } catch (e: NoSuchFieldException) {
                c = c.superclass
            }
        }
        error("no field $name in ${primitive.javaClass}")
    }

    /** The key of an alias, as getKey hands it out: no key material, only the alias. */
    class KeystoreSecretKey(val alias: String) : SecretKey {
        override fun getAlgorithm() = KeyProperties.KEY_ALGORITHM_AES

        override fun getFormat(): String? = null

        override fun getEncoded(): ByteArray? = null
    }

    class KeystorePrivateKey(val alias: String) : PrivateKey {
        override fun getAlgorithm() = KeyProperties.KEY_ALGORITHM_EC

        override fun getFormat(): String? = null

        override fun getEncoded(): ByteArray? = null
    }

    /** The certificate the Keystore makes for a key pair; only its public key is real. */
    class KeystoreCertificate(private val key: PublicKey) : Certificate("X.509") {
        override fun getEncoded(): ByteArray = throw UnsupportedOperationException("no certificate encoding in the fake keystore")

        override fun verify(key: PublicKey?) = throw UnsupportedOperationException()

        override fun verify(key: PublicKey?, sigProvider: String?) = throw UnsupportedOperationException()

        override fun toString() = "KeystoreCertificate($key)"

        override fun getPublicKey(): PublicKey = key
    }

    interface KeyedSpi {
        val alias: String?
    }

    class KeystoreProvider : Provider(NAME, "1.0", "capguard's test stand-in for AndroidKeyStore") {
        init {
            putService(Spi(this, "KeyStore", NAME) { KeystoreSpi() })
            putService(Spi(this, "KeyGenerator", KeyProperties.KEY_ALGORITHM_AES) { AesGenerator() })
            putService(Spi(this, "KeyPairGenerator", KeyProperties.KEY_ALGORITHM_EC) { EcGenerator() })
            putService(
                Spi(this, "Cipher", "AES/GCM/NoPadding", mapOf("SupportedKeyClasses" to KeystoreSecretKey::class.java.name)) { GcmCipher() },
            )
            putService(
                Spi(this, "Signature", "SHA256withECDSA", mapOf("SupportedKeyClasses" to KeystorePrivateKey::class.java.name)) { EcdsaSignature() },
            )
        }
    }

    // A service that makes its spi directly (the spi classes live in
    // Robolectric's class loader, which the JCA's reflection would not search).
    private class Spi(
        provider: Provider,
        type: String,
        algorithm: String,
        attributes: Map<String, String> = emptyMap(),
        private val make: () -> Any,
    ) : Provider.Service(provider, type, algorithm, KeystoreProvider::class.java.name, null, attributes) {
        override fun newInstance(constructorParameter: Any?): Any = make()
    }

    class KeystoreSpi : KeyStoreSpi() {
        override fun engineGetKey(alias: String, password: CharArray?): Key? {
            val e = entry(alias) ?: return null
            return if (e.secret != null) KeystoreSecretKey(alias) else KeystorePrivateKey(alias)
        }

        override fun engineGetCertificateChain(alias: String): Array<Certificate>? =
            engineGetCertificate(alias)?.let { arrayOf(it) }

        override fun engineGetCertificate(alias: String): Certificate? =
            entry(alias)?.pair?.let { KeystoreCertificate(it.public) }

        override fun engineGetCreationDate(alias: String): Date? = entry(alias)?.let { Date() }

        override fun engineSetKeyEntry(alias: String, key: Key, password: CharArray?, chain: Array<out Certificate>?) =
            throw UnsupportedOperationException("keys are made by the key generators")

        override fun engineSetKeyEntry(alias: String, key: ByteArray, chain: Array<out Certificate>?) =
            throw UnsupportedOperationException("keys are made by the key generators")

        override fun engineSetCertificateEntry(alias: String, cert: Certificate) = throw UnsupportedOperationException()

        override fun engineDeleteEntry(alias: String) = remove(alias)

        override fun engineAliases(): Enumeration<String> = Collections.enumeration(aliases())

        override fun engineContainsAlias(alias: String) = entry(alias) != null

        override fun engineSize() = aliases().size

        override fun engineIsKeyEntry(alias: String) = entry(alias) != null

        override fun engineIsCertificateEntry(alias: String) = false

        override fun engineGetCertificateAlias(cert: Certificate): String? = null

        override fun engineStore(stream: OutputStream?, password: CharArray?) = throw UnsupportedOperationException()

        override fun engineLoad(stream: InputStream?, password: CharArray?) {
            require(stream == null) { "AndroidKeyStore is loaded with load(null)" }
        }
    }

    private fun specOf(params: AlgorithmParameterSpec?): KeyGenParameterSpec =
        params as? KeyGenParameterSpec ?: throw InvalidAlgorithmParameterException("AndroidKeyStore takes a KeyGenParameterSpec, not $params")

    class AesGenerator : KeyGeneratorSpi() {
        private var spec: KeyGenParameterSpec? = null

        override fun engineInit(random: SecureRandom?) = throw UnsupportedOperationException("init with a KeyGenParameterSpec")

        override fun engineInit(params: AlgorithmParameterSpec?, random: SecureRandom?) {
            spec = specOf(params)
        }

        override fun engineInit(keysize: Int, random: SecureRandom?) = throw UnsupportedOperationException("init with a KeyGenParameterSpec")

        override fun engineGenerateKey(): SecretKey {
            val s = spec ?: throw IllegalStateException("not initialized")
            val real = KeyGenerator.getInstance("AES", "SunJCE").apply { init(s.keySize) }.generateKey()
            put(s.keystoreAlias, Entry(s, real, null))
            return KeystoreSecretKey(s.keystoreAlias)
        }
    }

    class EcGenerator : KeyPairGeneratorSpi() {
        private var spec: KeyGenParameterSpec? = null

        override fun initialize(keysize: Int, random: SecureRandom?) = throw UnsupportedOperationException("initialize with a KeyGenParameterSpec")

        override fun initialize(params: AlgorithmParameterSpec?, random: SecureRandom?) {
            spec = specOf(params)
        }

        override fun generateKeyPair(): KeyPair {
            val s = spec ?: throw IllegalStateException("not initialized")
            val (provider, real) = ecKeyPair(s.algorithmParameterSpec)
            put(s.keystoreAlias, Entry(s, null, real, provider))
            return KeyPair(real.public, KeystorePrivateKey(s.keystoreAlias))
        }
    }

    // A real EC key pair from the first other provider that makes one for
    // params (Robolectric puts Conscrypt first, whose EC parameters SunEC's
    // own generator cannot read).
    private fun ecKeyPair(params: AlgorithmParameterSpec?): Pair<Provider, KeyPair> {
        val failures = mutableListOf<String>()
        for (p in Security.getProviders()) {
            if (p.name == NAME) continue
            try {
                return p to KeyPairGenerator.getInstance("EC", p).apply { initialize(params) }.generateKeyPair()
            } catch (e: Exception) {
                failures += "${p.name}: $e"
            }
        }
        throw IllegalStateException("no provider makes an EC key pair for $params: $failures")
    }

    // Looks the entry of key up as Cipher.init / Signature.initSign does in
    // the Keystore: gone, invalidated or of the wrong purpose is an error.
    private fun begin(alias: String, purpose: Int): Entry {
        val e = entry(alias) ?: throw InvalidKeyException("the key $alias no longer exists")
        if (e.invalidated) throw KeyPermanentlyInvalidatedException()
        if (e.spec.purposes and purpose == 0) throw InvalidKeyException("the key $alias is not for purpose $purpose")
        return e
    }

    class GcmCipher : CipherSpi(), KeyedSpi {
        override var alias: String? = null
        private var entry: Entry? = null
        private var real: Cipher? = null

        override fun engineSetMode(mode: String) {
            require(mode.equals("GCM", ignoreCase = true)) { "mode $mode" }
        }

        override fun engineSetPadding(padding: String) {
            require(padding.equals("NoPadding", ignoreCase = true)) { "padding $padding" }
        }

        override fun engineGetBlockSize() = 16

        override fun engineGetOutputSize(inputLen: Int) = real!!.getOutputSize(inputLen)

        override fun engineGetIV(): ByteArray? = real?.iv

        override fun engineGetParameters(): AlgorithmParameters? = real?.parameters

        override fun engineInit(opmode: Int, key: Key, random: SecureRandom?) = engineInit(opmode, key, null as AlgorithmParameterSpec?, random)

        override fun engineInit(opmode: Int, key: Key, params: AlgorithmParameters?, random: SecureRandom?) =
            engineInit(opmode, key, params?.getParameterSpec(GCMParameterSpec::class.java), random)

        override fun engineInit(opmode: Int, key: Key, params: AlgorithmParameterSpec?, random: SecureRandom?) {
            val k = key as? KeystoreSecretKey ?: throw InvalidKeyException("not an AndroidKeyStore key: $key")
            val purpose = if (opmode == Cipher.ENCRYPT_MODE) KeyProperties.PURPOSE_ENCRYPT else KeyProperties.PURPOSE_DECRYPT
            val e = begin(k.alias, purpose)
            val c = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE")
            if (opmode == Cipher.ENCRYPT_MODE) {
                if (params != null && e.spec.isRandomizedEncryptionRequired) {
                    throw InvalidAlgorithmParameterException("the caller may not choose the IV (randomized encryption)")
                }
                c.init(Cipher.ENCRYPT_MODE, e.secret)
            } else {
                c.init(opmode, e.secret, params ?: throw InvalidAlgorithmParameterException("decryption needs the IV"))
            }
            alias = k.alias
            entry = e
            real = c
        }

        override fun engineUpdate(input: ByteArray, inputOffset: Int, inputLen: Int): ByteArray? = real!!.update(input, inputOffset, inputLen)

        override fun engineUpdate(input: ByteArray, inputOffset: Int, inputLen: Int, output: ByteArray, outputOffset: Int): Int =
            real!!.update(input, inputOffset, inputLen, output, outputOffset)

        override fun engineUpdateAAD(src: ByteArray, offset: Int, len: Int) = real!!.updateAAD(src, offset, len)

        override fun engineUpdateAAD(src: ByteBuffer) = real!!.updateAAD(src)

        private fun authorized() {
            val e = entry ?: throw IllegalStateException("not initialized")
            if (e.invalidated) throw IllegalBlockSizeException("Key permanently invalidated")
            if (!mayRun(e, this)) throw IllegalBlockSizeException("Key user not authenticated")
        }

        override fun engineDoFinal(input: ByteArray?, inputOffset: Int, inputLen: Int): ByteArray {
            authorized()
            return real!!.doFinal(input ?: ByteArray(0), inputOffset, inputLen)
        }

        override fun engineDoFinal(input: ByteArray?, inputOffset: Int, inputLen: Int, output: ByteArray, outputOffset: Int): Int {
            authorized()
            return real!!.doFinal(input ?: ByteArray(0), inputOffset, inputLen, output, outputOffset)
        }
    }

    class EcdsaSignature : SignatureSpi(), KeyedSpi {
        override var alias: String? = null
        private var entry: Entry? = null
        private var real: Signature? = null

        override fun engineInitVerify(publicKey: PublicKey?) = throw InvalidKeyException("the step-up key only signs here")

        override fun engineInitSign(privateKey: PrivateKey?) {
            val k = privateKey as? KeystorePrivateKey ?: throw InvalidKeyException("not an AndroidKeyStore key: $privateKey")
            val e = begin(k.alias, KeyProperties.PURPOSE_SIGN)
            real = Signature.getInstance("SHA256withECDSA", e.provider).apply { initSign(e.pair!!.private) }
            alias = k.alias
            entry = e
        }

        override fun engineUpdate(b: Byte) = real!!.update(b)

        override fun engineUpdate(b: ByteArray, off: Int, len: Int) = real!!.update(b, off, len)

        override fun engineSign(): ByteArray {
            val e = entry ?: throw SignatureException("not initialized")
            if (e.invalidated) throw SignatureException("Key permanently invalidated")
            if (!mayRun(e, this)) throw SignatureException("Key user not authenticated")
            return real!!.sign()
        }

        override fun engineVerify(sigBytes: ByteArray?) = throw SignatureException("the step-up key only signs here")

        @Deprecated("JCA's deprecated parameter API")
        override fun engineSetParameter(param: String?, value: Any?) = throw UnsupportedOperationException()

        @Deprecated("JCA's deprecated parameter API")
        override fun engineGetParameter(param: String?): Any = throw UnsupportedOperationException()
    }
}
