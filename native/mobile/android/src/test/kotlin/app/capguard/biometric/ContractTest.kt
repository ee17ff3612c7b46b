package app.capguard.biometric

import android.os.Build
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import mobile.Android
import mobile.IOS
import mobile.KeyReply
import mobile.Mobile
import mobile.Reply
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner

/**
 * The Kotlin side implements exactly the Java interfaces the contract
 * lists, which a Go test derives from the Go declarations by gomobile's
 * rules; and the tests run on the SDK the build names.
 */
@RunWith(RobolectricTestRunner::class)
class ContractTest {
    private val gomobile = Contract.json.getJSONObject("gomobile")

    private fun signature(m: Method): String {
        val params = m.parameterTypes.joinToString(", ") { it.simpleName }
        val throws = if (m.exceptionTypes.isEmpty()) "" else " throws " + m.exceptionTypes.joinToString(", ") { it.simpleName }
        return "${m.returnType.simpleName} ${m.name}($params)$throws"
    }

    @Test
    fun interfacesAreTheContracts() {
        val interfaces = gomobile.getJSONObject("interfaces")
        val classes = mapOf(
            "Android" to Android::class.java,
            "IOS" to IOS::class.java,
            "KeyReply" to KeyReply::class.java,
            "Reply" to Reply::class.java,
        )
        assertEquals(interfaces.keys().asSequence().toSet(), classes.keys)
        for ((name, c) in classes) {
            assertTrue("$name is not an interface", c.isInterface)
            assertEquals("package of $name", gomobile.getString("javaPackage"), c.`package`.name)
            assertEquals("extends of $name", 0, c.interfaces.size)
            assertEquals(name, Contract.signatures(interfaces.getJSONArray(name)), c.declaredMethods.map(::signature).toSet())
        }
    }

    @Test
    fun mobileClassIsTheContracts() {
        assertEquals(gomobile.getString("javaClass"), Mobile::class.java.simpleName)
        val publicStatic = Mobile::class.java.declaredMethods
            .filter { Modifier.isPublic(it.modifiers) && Modifier.isStatic(it.modifiers) && it.name != "touch" }
        assertEquals(Contract.signatures(gomobile.getJSONArray("functions")), publicStatic.map(::signature).toSet())
        val constants = gomobile.getJSONObject("constants")
        val fields = Mobile::class.java.declaredFields.filter { Modifier.isPublic(it.modifiers) }
        assertEquals(constants.keys().asSequence().toSet(), fields.map { it.name }.toSet())
        for (f in fields) {
            assertTrue("${f.name} is not static final", Modifier.isStatic(f.modifiers) && Modifier.isFinal(f.modifiers))
            assertEquals(f.name, constants.getLong(f.name), f.getLong(null))
        }
    }

    @Test
    fun shimImplementsEveryMethodOfAndroid() {
        assertTrue(Android::class.java.isAssignableFrom(CapguardBiometric::class.java))
        for (m in Android::class.java.declaredMethods) {
            val impl = CapguardBiometric::class.java.getMethod(m.name, *m.parameterTypes)
            assertEquals(m.name, CapguardBiometric::class.java, impl.declaringClass)
            assertEquals(m.name, m.returnType, impl.returnType)
            assertTrue(m.name, !Modifier.isAbstract(impl.modifiers))
        }
    }

    @Test
    fun runsOnTheSdkThePomNames() {
        val sdk = System.getProperty("capguard.android.sdk") ?: error("capguard.android.sdk is not set")
        assertEquals(sdk.toInt(), Build.VERSION.SDK_INT)
    }
}
