// Package schema writes the JSON Schema that tauri-build generates for
// capability files (gen/schemas/desktop-schema.json and friends), byte for
// byte, and validates capability files and whole src-tauri directories
// with it: JSON Schema errors mapped back to file:line:col, plus the
// checks a schema cannot express (unknown permissions with the closest
// identifiers, duplicate capabilities, references to missing
// capabilities, bad window globs and remote URL patterns, and warnings for
// grants that deserve a second look).
//
// Generation is Generate (and WriteFiles); validation is Compile, which
// prepares a Validator once per set of manifests, and its methods.
// Validation uses github.com/santhosh-tekuri/jsonschema/v6; no other
// package of capguard imports it.
package schema
