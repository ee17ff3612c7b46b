package capguard.authz_test

import data.capguard.authz

# 2025-01-06 is a Monday, 2025-01-11 a Saturday.
monday_10h := time.parse_rfc3339_ns("2025-01-06T10:00:00+01:00")

monday_7h59 := time.parse_rfc3339_ns("2025-01-06T07:59:59+01:00")

monday_19h := time.parse_rfc3339_ns("2025-01-06T19:00:00+01:00")

# 18:30 in Paris is 12:30 in New York: the office's time zone counts.
monday_18h30 := time.parse_rfc3339_ns("2025-01-06T12:30:00-05:00")

saturday_10h := time.parse_rfc3339_ns("2025-01-11T10:00:00+01:00")

remote_auth := {
	"command": "plugin:biometric|authenticate",
	"window": "main",
	"webview": "main",
	"origin": {"local": false, "url": "https://vault.example/unlock"},
}

local_auth := object.union(remote_auth, {"origin": {"local": true, "url": ""}})

remote_status := object.union(remote_auth, {"command": "plugin:biometric|status"})

test_remote_authentication_allowed_in_working_hours if {
	count(authz.deny) == 0 with input as remote_auth with time.now_ns as monday_10h
	count(authz.deny) == 0 with input as remote_auth with time.now_ns as monday_18h30
}

test_remote_authentication_denied_before_8 if {
	some msg in authz.deny with input as remote_auth with time.now_ns as monday_7h59
	contains(msg, "https://vault.example/unlock")
}

test_remote_authentication_denied_from_19 if {
	count(authz.deny) == 1 with input as remote_auth with time.now_ns as monday_19h
}

test_remote_authentication_denied_on_saturday if {
	count(authz.deny) == 1 with input as remote_auth with time.now_ns as saturday_10h
}

test_local_authentication_never_denied if {
	count(authz.deny) == 0 with input as local_auth with time.now_ns as saturday_10h
}

test_other_commands_not_affected if {
	count(authz.deny) == 0 with input as remote_status with time.now_ns as saturday_10h
}

# An ACL that lets remote pages of vault.example authenticate, to check the
# whole decision: allowed in working hours, denied outside, and the policy
# never allows what the ACL does not grant.
acl := {"commands": {"plugin:biometric|authenticate": {
	"allow": [{
		"local": false, "remote": "https://vault.example/*",
		"windows": {"main": true}, "window_globs": [], "webviews": {}, "webview_globs": [],
		"capability": "vault", "permission": "biometric:allow-authenticate", "scope_id": 0,
	}],
	"deny": [],
}}}

test_decision_follows_acl_and_hours if {
	authz.allow with input as remote_auth with data.capguard.acl as acl with time.now_ns as monday_10h
	not authz.allow with input as remote_auth with data.capguard.acl as acl with time.now_ns as saturday_10h
	not authz.allow with input as local_auth with data.capguard.acl as acl with time.now_ns as monday_10h
}
