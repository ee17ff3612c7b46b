# Example policy: the app's open_vault command runs only after a biometric
# authentication of the user that is at most five minutes old. The guard
# carries out the obligation (it prompts through the biometric plugin)
# before the command runs; the capabilities still decide who may call it.
package capguard.authz

obligations contains {
	"type": "biometric",
	"max_age_s": 300,
	"reason": "Unlock your vault",
} if {
	input.command == "open_vault"
}
