package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Lock is what a Cargo.lock says about the crate that writes the
// capability schema: tauri-utils, as tauri-build uses it.
type Lock struct {
	// File is the Cargo.lock that was read.
	File string
	// TauriUtils is the tauri-utils release tauri-build depends on (the
	// only one, or the highest, when tauri-build is not in the lock).
	TauriUtils string
}

// ErrNoLock: no Cargo.lock in the directory or above it.
var ErrNoLock = errors.New("no Cargo.lock")

// FindLock reads the Cargo.lock of a Tauri app: DIR/Cargo.lock, else the
// nearest one in a parent directory (a Cargo workspace keeps it at its
// root). It returns ErrNoLock when there is none, and an error naming the
// file and position when the file does not parse or locks no tauri-utils.
func FindLock(dir string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "Cargo.lock")
		data, err := os.ReadFile(p)
		if err == nil {
			return ParseLock(p, data)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if d == filepath.Dir(d) {
			return nil, fmt.Errorf("%w in %s or above it", ErrNoLock, dir)
		}
	}
}

// ParseLock reads a Cargo.lock's text (name is used in messages).
func ParseLock(name string, data []byte) (*Lock, error) {
	var lock struct {
		Package []struct {
			Name         string   `toml:"name"`
			Version      string   `toml:"version"`
			Dependencies []string `toml:"dependencies"`
		} `toml:"package"`
	}
	if err := toml.Unmarshal(data, &lock); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: not a Cargo.lock: %v", name, row, col, de)
		}
		return nil, fmt.Errorf("%s: not a Cargo.lock: %v", name, err)
	}
	var utils []string
	for _, p := range lock.Package {
		if p.Name == "tauri-utils" {
			utils = append(utils, p.Version)
		}
	}
	if len(utils) == 0 {
		return nil, fmt.Errorf("%s: locks no tauri-utils (is this a Tauri app's Cargo.lock?)", name)
	}
	out := &Lock{File: name, TauriUtils: utils[0]}
	for _, v := range utils[1:] {
		a, _, _ := parseVersion(v)
		b, _, _ := parseVersion(out.TauriUtils)
		if versionLess(b, a) {
			out.TauriUtils = v
		}
	}
	// With several releases locked, tauri-build's dependency names the one
	// that writes the schema ("tauri-utils 2.3.1").
	if len(utils) > 1 {
		for _, p := range lock.Package {
			if p.Name != "tauri-build" {
				continue
			}
			for _, d := range p.Dependencies {
				if v, ok := strings.CutPrefix(d, "tauri-utils "); ok && len(strings.Fields(v)) > 0 {
					out.TauriUtils = strings.Fields(v)[0]
				}
			}
		}
	}
	return out, nil
}

// LockedFormat returns the schema format for the tauri-utils release a
// Cargo.lock pins. Unlike FormatFor, it refuses releases capguard has not
// checked against Tauri (pre-releases, and anything newer than
// NewestKnown), so that an app is never rewritten with a guessed layout.
func LockedFormat(l *Lock) (string, error) {
	if l == nil {
		return "", errors.New("schema: LockedFormat: no Cargo.lock (nil *Lock)")
	}
	v := l.TauriUtils
	have, pre, ok := parseVersion(v)
	newest, _, _ := parseVersion(NewestKnown)
	switch {
	case !ok:
		return "", fmt.Errorf("%s pins tauri-utils %q, which is not a version", l.File, v)
	case pre || have[0] != 2 || versionLess(newest, have):
		return "", fmt.Errorf("%s pins tauri-utils %s, whose schema layout capguard does not know (it knows the releases 2.0.0 to %s); pass --format-version to choose a layout (%s)",
			l.File, v, NewestKnown, strings.Join(Formats(), ", "))
	}
	return FormatFor(v)
}
