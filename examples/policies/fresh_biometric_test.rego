package capguard.authz_test

import data.capguard.authz

open_vault := {
	"command": "open_vault",
	"window": "main",
	"webview": "main",
	"origin": {"local": true, "url": ""},
}

test_open_vault_needs_fresh_biometric if {
	authz.obligations == {{"type": "biometric", "max_age_s": 300, "reason": "Unlock your vault"}} with input as open_vault
}

test_other_commands_have_no_obligation if {
	count(authz.obligations) == 0 with input as object.union(open_vault, {"command": "plugin:biometric|status"})
}

vault_acl := {"commands": {"open_vault": {
	"allow": [{
		"local": true,
		"windows": {"main": true}, "window_globs": [], "webviews": {}, "webview_globs": [],
		"capability": "main-window", "permission": "allow-open-vault", "scope_id": 0,
	}],
	"deny": [],
}}}

test_obligation_does_not_grant_access if {
	# Allowed for the main window, with the obligation...
	authz.decision.allow with input as open_vault with data.capguard.acl as vault_acl
	count(authz.decision.obligations) == 1 with input as open_vault with data.capguard.acl as vault_acl

	# ...and still denied for a window the ACL does not name.
	not authz.allow with input as object.union(open_vault, {"window": "settings", "webview": "settings"}) with data.capguard.acl as vault_acl
}
