package schema

import (
	"strings"
	"testing"
)

func TestParseLock(t *testing.T) {
	for _, tc := range []struct {
		name, text, want, err string
	}{
		{"one release", "version = 4\n[[package]]\nname = \"tauri-utils\"\nversion = \"2.3.1\"\n", "2.3.1", ""},
		{"tauri-build's of two", `[[package]]
name = "tauri-utils"
version = "2.8.0"

[[package]]
name = "tauri-utils"
version = "2.3.1"

[[package]]
name = "tauri-build"
version = "2.1.1"
dependencies = ["tauri-utils 2.3.1"]
`, "2.3.1", ""},
		{"highest without tauri-build", "[[package]]\nname = \"tauri-utils\"\nversion = \"2.0.2\"\n[[package]]\nname = \"tauri-utils\"\nversion = \"2.10.0\"\n", "2.10.0", ""},
		{"no tauri-utils", "[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\n", "", "locks no tauri-utils"},
		{"not TOML", "[[package]\nname = 1\n", "", "Cargo.lock:1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseLock("Cargo.lock", []byte(tc.text))
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case l.TauriUtils != tc.want:
				t.Errorf("TauriUtils = %q, want %q", l.TauriUtils, tc.want)
			}
		})
	}
}

func TestLockedFormat(t *testing.T) {
	for v, want := range map[string]string{"2.0.1": "2.0.0", "2.4.0": "2.3.1", "2.3.0": "2.3.0", NewestKnown: Latest} {
		if got, err := LockedFormat(&Lock{File: "Cargo.lock", TauriUtils: v}); err != nil || got != want {
			t.Errorf("LockedFormat(%s) = %q, %v; want %q", v, got, err, want)
		}
	}
	for _, v := range []string{"2.99.0", "3.0.0", "1.6.0", "2.0.0-rc.2", "x"} {
		if _, err := LockedFormat(&Lock{File: "Cargo.lock", TauriUtils: v}); err == nil || !strings.Contains(err.Error(), "Cargo.lock") {
			t.Errorf("LockedFormat(%s): %v, want an error naming the file", v, err)
		}
	}
}

// FuzzParseLock: any text gives a Lock with a version or an error that
// names the file, never a panic.
func FuzzParseLock(f *testing.F) {
	f.Add("[[package]]\nname = \"tauri-utils\"\nversion = \"2.3.1\"\n")
	f.Add("[[package]]\nname = \"tauri-build\"\ndependencies = [\"tauri-utils 2.3.1\"]\n[[package]]\nname = \"tauri-utils\"\nversion = \"2.3.1\"\n[[package]]\nname = \"tauri-utils\"\nversion = \"2.8.0\"\n")
	f.Add("[[package]]\nname = \"tauri-build\"\ndependencies = [\"tauri-utils \"]\n[[package]]\nname = \"tauri-utils\"\nversion = \"2.3.1\"\n[[package]]\nname = \"tauri-utils\"\nversion = \"2.8.0\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		l, err := ParseLock("Cargo.lock", []byte(text))
		if err != nil {
			if !strings.Contains(err.Error(), "Cargo.lock") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if l.TauriUtils == "" && !strings.Contains(text, "tauri-utils") {
			t.Fatalf("a version from nowhere: %+v", l)
		}
		LockedFormat(l) // must not panic
	})
}
