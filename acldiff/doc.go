// Package acldiff compares what two versions of a Tauri app allow: it
// resolves the capabilities of each side with package acl and reports the
// differences in effective access, not in text. A call (command, execution
// context, window or webview pattern) that becomes possible or impossible,
// a scope value added to or removed from a command or a plugin, a deny
// entry that appears or disappears, remote URL patterns and plugins that
// gain or lose all access: each change says which capability permission
// entry causes it, with its file, line and column.
//
// Edits that keep the meaning (reordering, reformatting, moving a
// capability to another file, replacing permissions by a set that holds
// exactly them) compare as Unchanged.
//
// A side is a src-tauri directory or a git revision ("REV" or
// "REV:path"), read from git objects without a checkout (see Open).
package acldiff
