package app.capguard.biometric

import mobile.KeyReply

/** A KeyReply that records what the shim reports, as Go would receive it. */
class RecordingKeyReply : KeyReply {
    private val lock = Any()
    private val calls = mutableListOf<String>()

    /** The arguments of the last completed call. */
    var iv: ByteArray? = null
        private set
    var output: ByteArray? = null
        private set

    override fun completed(iv: ByteArray?, output: ByteArray?) {
        synchronized(lock) {
            this.iv = iv
            this.output = output
            calls += "completed"
        }
    }

    override fun notRecognized() = record("notRecognized")

    override fun failed(code: Long, message: String?) = record("failed($code)")

    override fun keyFailed(code: Long, message: String?) = record("keyFailed($code)")

    private fun record(call: String) {
        synchronized(lock) { calls += call }
    }

    fun calls(): List<String> = synchronized(lock) { calls.toList() }
}
