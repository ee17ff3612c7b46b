package app.capguard.biometric

import mobile.Reply

/** A Reply that records the calls the shim makes, as Go would receive them. */
class RecordingReply : Reply {
    private val lock = Any()
    private val calls = mutableListOf<String>()

    override fun succeeded() = record("succeeded")

    override fun notRecognized() = record("notRecognized")

    override fun failed(code: Long, message: String) = record("failed($code, $message)")

    private fun record(call: String) {
        synchronized(lock) { calls += call }
    }

    /** The calls so far, in order. */
    fun calls(): List<String> = synchronized(lock) { calls.toList() }
}
