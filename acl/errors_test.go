package acl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantError checks the error's sentinel, its position and its text.
func wantError(t *testing.T, err error, kind error, pos string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v at %s", kind, pos)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	if !strings.HasPrefix(err.Error(), pos+": ") {
		t.Errorf("error %q does not start with %q", err, pos+": ")
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestCapabilityFieldTypes(t *testing.T) {
	cases := []struct {
		name, src, pos string
		parts          []string
	}{
		{"identifier", `{"identifier": 1, "permissions": []}`, "c.json:1:16", []string{"identifier: expected a string, found the number 1"}},
		{"missing identifier", `{"permissions": []}`, "c.json:1:1", []string{`missing field "identifier"`}},
		{"missing permissions", `{"identifier": "x"}`, "c.json:1:1", []string{`missing field "permissions"`}},
		{"description", `{"identifier": "x", "description": true, "permissions": []}`, "c.json:1:36", []string{"description: expected a string, found the boolean true"}},
		{"remote", `{"identifier": "x", "remote": "https://a", "permissions": []}`, "c.json:1:31", []string{"remote: expected an object with a urls list"}},
		{"remote urls", `{"identifier": "x", "remote": {"urls": "https://a"}, "permissions": []}`, "c.json:1:40", []string{"remote.urls: expected a list of strings"}},
		{"remote url item", `{"identifier": "x", "remote": {"urls": [1]}, "permissions": []}`, "c.json:1:41", []string{"remote.urls[0]: expected a string"}},
		{"local", `{"identifier": "x", "local": "yes", "permissions": []}`, "c.json:1:30", []string{"local: expected a boolean"}},
		{"windows", `{"identifier": "x", "windows": "main", "permissions": []}`, "c.json:1:32", []string{"windows: expected a list of strings"}},
		{"windows null", `{"identifier": "x", "windows": null, "permissions": []}`, "c.json:1:32", []string{"windows: expected a list of strings, found null"}},
		{"webviews", `{"identifier": "x", "webviews": [1], "permissions": []}`, "c.json:1:34", []string{"webviews[0]: expected a string"}},
		{"permissions", `{"identifier": "x", "permissions": {}}`, "c.json:1:36", []string{"permissions: expected a list of permissions, found an object"}},
		{"permission entry", `{"identifier": "x", "permissions": [3]}`, "c.json:1:37", []string{`permissions[0]: expected a permission identifier or an object`}},
		{"entry identifier", `{"identifier": "x", "permissions": [{"allow": []}]}`, "c.json:1:37", []string{`permissions[0]: missing field "identifier"`}},
		{"entry allow", `{"identifier": "x", "permissions": [{"identifier": "fs:x", "allow": "a"}]}`, "c.json:1:69", []string{"permissions[0].allow: expected a list of scope values"}},
		{"platforms", `{"identifier": "x", "permissions": [], "platforms": "linux"}`, "c.json:1:53", []string{"platforms: expected a list of platforms"}},
		{"platform name", `{"identifier": "x", "permissions": [], "platforms": ["macos"]}`, "c.json:1:54", []string{`unknown target "macos"`, `did you mean "macOS"?`}},
		{"duplicate field", `{"identifier": "x", "identifier": "y", "permissions": []}`, "c.json:1:21", []string{`duplicate field "identifier"`}},
		{"file shape", `"main"`, "c.json:1:1", []string{"expected a capability, a list of capabilities"}},
		{"named list", `{"capabilities": {}}`, "c.json:1:18", []string{"capabilities: expected a list of capabilities"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCapabilityFile("c.json", []byte(c.src))
			wantError(t, err, ErrInvalid, c.pos, c.parts...)
		})
	}
}

func TestCapabilityIdentifierErrors(t *testing.T) {
	cases := []struct{ name, id, part string }{
		{"plugin prefix", "tauri-plugin-fs:default", "cannot start with tauri-plugin-"},
		{"uppercase key is fine but underscore is not", "my_plugin:default", "can only include lowercase ASCII"},
		{"two colons", "fs:read:write", "single separator ':'"},
		{"hyphen before colon", "fs-:default", "can only include lowercase ASCII"},
		{"no base", "fs:", "prefix without a base"},
		{"trailing hyphen", "fs:allow-", "trailing hyphen"},
		{"empty", "", "cannot be empty"},
		{"too long", "a" + strings.Repeat("b", MaxIdentifierLen), "cannot be longer than 116, found 117"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "identifier = \"x\"\npermissions = [\n  \"" + c.id + "\",\n]\n"
			_, err := ParseCapabilityFile("c.toml", []byte(src))
			wantError(t, err, ErrInvalidIdentifier, "c.toml:3:3", c.part, `"`+c.id+`"`, "permissions[0]")
		})
	}
}

func TestPermissionFileErrors(t *testing.T) {
	cases := []struct {
		name, file, src, pos string
		kind                 error
		parts                []string
	}{
		{"toml syntax", "p.toml", "[[permission]]\nidentifier = \"a\"\ncommands.allow = [\"x\"\n", "p.toml:3:22", ErrSyntax, []string{"invalid TOML"}},
		{"json syntax", "p.json", "{\n  \"permission\": [\n    {\"identifier\": \"a\",}\n  ]\n}", "p.json:3:24", ErrSyntax, []string{"invalid JSON", "trailing comma"}},
		{"set without description", "p.toml", "[[set]]\nidentifier = \"s\"\npermissions = []\n", "p.toml:1:1", ErrInvalid, []string{`set[0]: missing field "description"`}},
		{"commands type", "p.toml", "[[permission]]\nidentifier = \"a\"\ncommands = [\"x\"]\n", "p.toml:3:12", ErrInvalid, []string{"permission[0].commands: expected an object with allow and deny lists"}},
		{"version zero", "p.toml", "[[permission]]\nversion = 0\nidentifier = \"a\"\n", "p.toml:2:11", ErrInvalid, []string{"at least 1"}},
		{"platform", "p.toml", "[[permission]]\nidentifier = \"a\"\nplatforms = [\"Linux\"]\n", "p.toml:3:14", ErrInvalid, []string{`did you mean "linux"?`}},
		{"default permissions missing", "p.toml", "[default]\ndescription = \"d\"\n", "p.toml:1:1", ErrInvalid, []string{`default: missing field "permissions"`}},
		{"json5 not a permission format", "p.json5", "{}", "p.json5", ErrUnknownFormat, []string{".toml, .json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePermissionFile(c.file, []byte(c.src))
			wantError(t, err, c.kind, c.pos, c.parts...)
		})
	}
}

func TestUnknownCapabilityExtension(t *testing.T) {
	_, err := ParseCapabilityFile("caps/main.yaml", []byte("identifier: x"))
	wantError(t, err, ErrUnknownFormat, "caps/main.yaml", `unknown file format "yaml"`, ".json, .json5, .toml")
}

func TestTooLargeFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "huge.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(20 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadCapabilityFile(p)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
	for _, part := range []string{p, "20.0 MiB", "at most 8 MiB"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	if _, err := ParseCapabilityFile("mem.json", make([]byte, MaxFileSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("in-memory: want ErrTooLarge, got %v", err)
	}
}

func TestUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadCapabilityFile(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: want fs.ErrNotExist, got %v", err)
	}
	// A folder where a file is expected cannot be read.
	if err := os.Mkdir(filepath.Join(dir, "folder.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := ReadCapabilityFile(filepath.Join(dir, "folder.json"))
	if err == nil || IsInputError(err) {
		t.Errorf("a folder read as a file: want an I/O error, got %v", err)
	}
	// A dangling symlink in a capabilities folder is an I/O error too.
	capDir := filepath.Join(dir, "caps")
	os.Mkdir(capDir, 0o755)
	if err := os.Symlink(filepath.Join(dir, "nowhere.json"), filepath.Join(capDir, "link.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCapabilities(capDir); err == nil || IsInputError(err) {
		t.Errorf("dangling symlink: want an I/O error, got %v", err)
	}
}

func TestDuplicateCapabilityAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json", `{"identifier": "main", "permissions": []}`)
	write("b.toml", "identifier = \"main\"\npermissions = []\n")
	_, err := LoadCapabilities(dir)
	wantError(t, err, ErrDuplicate, filepath.Join(dir, "b.toml")+":1:1", `"main" already exists`, filepath.Join(dir, "a.json")+":1:2")
}

func TestSchemasFolderSkipped(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	os.WriteFile(filepath.Join(dir, "schemas", "schema.json"), []byte(`{"not": "a capability"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "main.json"), []byte(`{"identifier": "main", "permissions": []}`), 0o644)
	set, err := LoadCapabilities(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 || set["main"] == nil {
		t.Errorf("got %d capabilities, want only main", len(set))
	}
}
