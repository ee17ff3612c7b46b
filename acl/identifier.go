package acl

import (
	"fmt"
	"strings"
)

// AppKey is the manifest key of the application's own permissions, as Tauri
// writes it in acl-manifests.json.
const AppKey = "__app-acl__"

const (
	pluginCratePrefix = "tauri-plugin-"
	corePrefix        = "core:"
	// MaxIdentifierLen is Tauri's limit: a crate name is at most 64 bytes,
	// minus the "tauri-plugin-" prefix, plus the colon and a 64-byte base.
	MaxIdentifierLen = 64 - len(pluginCratePrefix) + 1 + 64
)

// Identifier is a validated permission identifier: "base" (an application
// permission) or "prefix:base". Identifiers starting with "core:" split at
// their last colon, so "core:window:default" has prefix "core:window".
type Identifier struct {
	s   string
	sep int // index of the separating colon, or -1
}

// ParseIdentifier validates s with Tauri's rules and texts: ASCII letters
// and digits with inner hyphens, no hyphen next to the colon, no trailing
// hyphen, one colon (several for "core:" identifiers), no "tauri-plugin-"
// prefix, at most MaxIdentifierLen bytes. The error names the identifier.
func ParseIdentifier(s string) (Identifier, error) {
	fail := func(msg string) (Identifier, error) {
		return Identifier{}, fmt.Errorf("%w %q: %s", ErrInvalidIdentifier, s, msg)
	}
	if strings.HasPrefix(s, pluginCratePrefix) {
		return fail("identifiers cannot start with " + pluginCratePrefix)
	}
	if s == "" {
		return fail("identifiers cannot be empty")
	}
	if len(s) > MaxIdentifierLen {
		return fail(fmt.Sprintf("identifiers cannot be longer than %d, found %d", MaxIdentifierLen, len(s)))
	}
	const invalidFormat = "identifiers can only include lowercase ASCII, hyphens which are not leading or trailing, and a single colon if using a prefix"
	isCore := strings.HasPrefix(s, corePrefix)
	if !isAlnum(s[0]) {
		return fail(invalidFormat)
	}
	// prev: 0 = an ordinary byte, ':' = the separator, '-' = a hyphen
	prev := byte(0)
	sep := -1
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			if prev == '-' {
				return fail(invalidFormat)
			}
			if sep >= 0 && !isCore {
				// Tauri prints this as "... separator '58'" (it formats the
				// byte b':' as a number); capguard shows the character.
				return fail("identifiers can only include a single separator ':'")
			}
			sep = i
			prev = ':'
		case prev == ':':
			if !isAlnum(c) {
				return fail(invalidFormat)
			}
			prev = 0
		case isAlnum(c):
			prev = 0
		case c == '-':
			prev = '-'
		default:
			return fail(invalidFormat)
		}
	}
	switch prev {
	case ':':
		return fail("identifiers cannot have a prefix without a base")
	case '-':
		return fail("identifiers cannot have a trailing hyphen")
	}
	return Identifier{s: s, sep: sep}, nil
}

// MustIdentifier is ParseIdentifier for identifiers known to be valid; it
// panics otherwise.
func MustIdentifier(s string) Identifier {
	id, err := ParseIdentifier(s)
	if err != nil {
		panic(err)
	}
	return id
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// String returns the identifier as written.
func (id Identifier) String() string { return id.s }

// IsZero tells whether id is the zero Identifier.
func (id Identifier) IsZero() bool { return id.s == "" }

// Prefix returns the part before the separator ("fs" in "fs:default",
// "core:window" in "core:window:default") and whether there is one.
func (id Identifier) Prefix() (string, bool) {
	if id.sep <= 0 { // no separator, or the zero Identifier
		return "", false
	}
	return id.s[:id.sep], true
}

// Base returns the part after the separator, or the whole identifier.
func (id Identifier) Base() string {
	if id.sep <= 0 {
		return id.s
	}
	return id.s[id.sep+1:]
}

// Key returns the manifest key the identifier refers to: its prefix, or
// AppKey for an unprefixed (application) identifier.
func (id Identifier) Key() string {
	if p, ok := id.Prefix(); ok {
		return p
	}
	return AppKey
}

// DisplayKey is how Tauri names a manifest key in messages: the application
// manifest is "app manifest".
func DisplayKey(key string) string {
	if key == AppKey {
		return "app manifest"
	}
	return key
}

// CommandName is the IPC command name of a command of the plugin (or the
// application) with the given manifest key: "plugin:fs|read_file",
// "plugin:window|close" for the "core:window" key, and the bare command for
// application permissions.
func CommandName(key, command string) string {
	if key == AppKey {
		return command
	}
	return "plugin:" + strings.TrimPrefix(key, corePrefix) + "|" + command
}
