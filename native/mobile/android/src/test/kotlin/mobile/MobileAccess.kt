// In package mobile to read the stand-in's package-private field.
package mobile

/** Test access to what the stand-in Mobile.registerAndroid recorded. */
object MobileAccess {
    fun registered(): Any? = Mobile.registered

    fun unregister() = Mobile.unregister()
}
