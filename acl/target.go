package acl

import (
	"fmt"
	"strings"
)

// Target is a platform a capability or permission can be limited to.
type Target uint8

// The targets, spelled in files as Tauri spells them.
const (
	Linux Target = iota
	MacOS
	Windows
	Android
	IOS
)

// Targets lists every target in Tauri's declaration order (macOS, windows,
// linux, android, iOS).
var Targets = []Target{MacOS, Windows, Linux, Android, IOS}

// String returns the spelling used in Tauri files: "macOS", "windows",
// "linux", "android", "iOS".
func (t Target) String() string {
	switch t {
	case MacOS:
		return "macOS"
	case Windows:
		return "windows"
	case Linux:
		return "linux"
	case Android:
		return "android"
	case IOS:
		return "iOS"
	}
	return fmt.Sprintf("Target(%d)", uint8(t))
}

// IsMobile tells whether t is android or iOS.
func (t Target) IsMobile() bool { return t == Android || t == IOS }

// ParseTarget reads a target name exactly as Tauri does (case matters);
// the error suggests the right spelling for a near miss such as "macos".
func ParseTarget(s string) (Target, error) {
	for _, t := range Targets {
		if s == t.String() {
			return t, nil
		}
	}
	msg := fmt.Sprintf("unknown target %q, expected one of \"macOS\", \"windows\", \"linux\", \"android\", \"iOS\"", s)
	for _, t := range Targets {
		if strings.EqualFold(s, t.String()) {
			msg += fmt.Sprintf(" (did you mean %q?)", t.String())
		}
	}
	return 0, fmt.Errorf("%w: %s", ErrInvalid, msg)
}

// MarshalText writes the Tauri spelling.
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads the Tauri spelling.
func (t *Target) UnmarshalText(b []byte) error {
	v, err := ParseTarget(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// activeOn implements Tauri's is_active: no list means every target.
func activeOn(platforms []Target, t Target) bool {
	if platforms == nil {
		return true
	}
	for _, p := range platforms {
		if p == t {
			return true
		}
	}
	return false
}
