# Built into capguard: the decision of Tauri's ACL table, made in Rego over
# the resolved ACL that capguard puts in data.capguard.acl. It gives the same
# answers as the native engine (policy.Compile) and acl.Resolved.Decide.
#
# User modules may add to this package, but only two rules:
#
#   deny contains msg if { ... }           # deny a call the table allows
#   obligations contains {"type": "biometric", "max_age_s": 300} if { ... }
#
# Every other name defined here is reserved, so that no user module can
# turn a denial of the table into an allow.
package capguard.authz

# The entries of the called command: data.capguard.acl.commands[cmd] is
# {"allow": [entry...], "deny": [entry...]}, each entry
#   {"local": true} or {"local": false, "remote": "<URL pattern>"},
#   "windows" and "webviews": {"<literal label>": true},
#   "window_globs" and "webview_globs": ["<RE2 of a glob pattern>"],
#   "capability", "permission", "scope_id".
cmd := data.capguard.acl.commands[input.command]

# in_context(e) holds when the call comes from e's execution context: the
# app's own content, or a page whose URL matches e's remote pattern.
in_context(e) if {
	e.local
	input.origin.local
}

in_context(e) if {
	not e.local
	not input.origin.local
	capguard.url_match(e.remote, input.origin.url)
}

# label_match(e) holds when a webview pattern of e matches the webview
# label or a window pattern of e matches the window label.
label_match(e) if e.webviews[input.webview]

label_match(e) if e.windows[input.window]

label_match(e) if regex.match(e.webview_globs[_], input.webview)

label_match(e) if regex.match(e.window_globs[_], input.window)

# A call without a window or webview label is never allowed.
has_labels if {
	input.window != ""
	input.webview != ""
}

# matched: the indexes of the allow entries that grant the call.
matched contains i if {
	has_labels
	some i, e in cmd.allow
	in_context(e)
	label_match(e)
}

# denied_by: the indexes of the deny entries of the call's execution
# context. Deny entries ignore window and webview labels, as in Tauri.
denied_by contains i if {
	some i, e in cmd.deny
	in_context(e)
}

# table_allow: the ACL table allows the call.
default table_allow := false

table_allow if {
	count(denied_by) == 0
	count(matched) > 0
}

# The denials and obligations user modules add.
user_denials := {msg | some msg in data.capguard.authz.deny}

user_obligations := {o | some o in data.capguard.authz.obligations}

# allow: the table allows the call and no user rule denies it.
default allow := false

allow if {
	table_allow
	count(user_denials) == 0
}

# decision is what capguard's Rego engine evaluates.
decision := {
	"allow": allow,
	"table_allow": table_allow,
	"matched": matched,
	"denied_by": denied_by,
	"deny": user_denials,
	"obligations": user_obligations,
}
