package app.capguard.biometric

import java.io.File
import org.json.JSONArray
import org.json.JSONObject

/**
 * native/mobile/contract.json, the table of values that cross the Go<->Kotlin
 * boundary. The Go tests of native/mobile read the same file.
 */
object Contract {
    val json: JSONObject by lazy {
        val path = System.getProperty("capguard.contract")
            ?: error("system property capguard.contract is not set (run the tests through Maven)")
        JSONObject(File(path).readText())
    }

    fun rows(key: String): List<JSONObject> = json.getJSONArray(key).objects()

    /** The Java declarations of a gomobile interface or the functions, with their parameter names dropped. */
    fun signatures(array: JSONArray): Set<String> =
        (0 until array.length()).map { typesOnly(array.getString(it)) }.toSet()

    // "void show(String title, long n) throws Exception" -> "void show(String, long) throws Exception"
    private fun typesOnly(decl: String): String {
        val open = decl.indexOf('(')
        val close = decl.indexOf(')')
        require(open > 0 && close > open) { "contract: not a Java declaration: $decl" }
        val params = decl.substring(open + 1, close).split(',')
            .map { it.trim() }.filter { it.isNotEmpty() }
            .joinToString(", ") { it.substringBefore(' ') }
        return decl.substring(0, open) + "(" + params + ")" + decl.substring(close + 1)
    }
}

fun JSONArray.objects(): List<JSONObject> = (0 until length()).map { getJSONObject(it) }

/** The value of a public static int field of c, or null when c declares none of that name. */
fun staticInt(c: Class<*>, name: String): Int? =
    try {
        c.getField(name).getInt(null)
    } catch (e: NoSuchFieldException) {
        null
    }
