package acl

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParseIdentifier(f *testing.F) {
	for _, s := range []string{"fs:default", "core:window:allow-close", "a-b:c-d", "tauri-plugin-x", "-a", "a:", ":a", "a::b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIdentifier(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid identifier") {
				t.Fatalf("error without the sentinel text: %v", err)
			}
			return
		}
		if id.String() != s || len(s) > MaxIdentifierLen {
			t.Fatalf("accepted %q as %q", s, id)
		}
		prefix, ok := id.Prefix()
		joined := id.Base()
		if ok {
			joined = prefix + ":" + id.Base()
		}
		if joined != s {
			t.Fatalf("prefix %q and base %q do not rebuild %q", prefix, id.Base(), s)
		}
	})
}

func FuzzParsePermissionFile(f *testing.F) {
	f.Add("p.toml", []byte("[default]\npermissions = [\"allow-a\"]\n[[set]]\nidentifier = \"s\"\ndescription = \"d\"\npermissions = [\"a\"]\n[[permission]]\nidentifier = \"allow-a\"\ncommands.allow = [\"a\"]\n[[permission.scope.allow]]\npath = \"$HOME\"\n"))
	f.Add("p.json", []byte(`{"permission": [{"identifier": "x", "platforms": ["linux"], "scope": {"deny": [1, 2.5, null, {"a": [true]}]}}]}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if name != "p.toml" && name != "p.json" {
			name = "p.toml"
		}
		pf, err := ParsePermissionFile(name, data)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("parse error is not an input error: %v", err)
			}
			return
		}
		// What was read can be written as a manifest and read back.
		ms := Manifests{"x": NewManifest([]*PermissionFile{pf}, nil)}
		out := MarshalManifests(ms)
		again, err := ParseManifests("m.json", out)
		if err != nil {
			t.Fatalf("written manifest does not parse: %v\n%s", err, out)
		}
		if !bytes.Equal(MarshalManifests(again), out) {
			t.Fatalf("manifest round trip is not stable")
		}
	})
}

func FuzzParseCapabilityFile(f *testing.F) {
	f.Add("c.json", []byte(`{"identifier": "main", "windows": ["main", "w-*"], "remote": {"urls": ["https://*.x.dev"]}, "permissions": ["fs:default", {"identifier": "fs:scope", "allow": [{"path": "$HOME"}], "deny": []}], "platforms": ["linux"]}`))
	f.Add("c.toml", []byte("identifier = \"a\"\nlocal = false\npermissions = [\"core:default\", { identifier = \"x:y\", allow = [1, 2.5] }]\n"))
	f.Add("c.json5", []byte(`[{identifier: 'a', permissions: [],},]`))
	f.Add("c.json", []byte(`{"capabilities": [{"identifier": "a", "permissions": []}]}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		switch name {
		case "c.json", "c.json5", "c.toml":
		default:
			name = "c.json"
		}
		caps, err := ParseCapabilityFile(name, data)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("parse error is not an input error: %v", err)
			}
			return
		}
		set := CapabilitySet{}
		for _, c := range caps {
			set[c.Identifier] = c
			_ = c.Source.Position("/permissions/0")
		}
		out := MarshalCapabilities(set)
		set2, err := ParseCompiledCapabilities("capabilities.json", out)
		if err != nil {
			t.Fatalf("capabilities.json does not parse back: %v\n%s", err, out)
		}
		if !bytes.Equal(MarshalCapabilities(set2), out) {
			t.Fatalf("capabilities.json round trip is not stable:\n%s\n%s", out, MarshalCapabilities(set2))
		}
	})
}

func FuzzParseManifests(f *testing.F) {
	f.Add([]byte(`{"p":{"default_permission":{"identifier":"default","description":"d","permissions":["a"]},"permissions":{"a":{"identifier":"a","commands":{"allow":["x"],"deny":[]},"scope":{"allow":[1.5]}}},"permission_sets":{},"global_scope_schema":{"b":[1,2.0]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseManifests("m.json", data)
		if err != nil {
			return
		}
		out := MarshalManifests(ms)
		again, err := ParseManifests("m.json", out)
		if err != nil {
			t.Fatalf("written manifests do not parse: %v", err)
		}
		if !bytes.Equal(MarshalManifests(again), out) {
			t.Fatalf("round trip is not stable")
		}
	})
}

// FuzzCompileRemote: any remote URL pattern either compiles or fails with
// an input error, and a compiled pattern decides any page URL without
// panicking; a pattern never matches the local origin.
func FuzzCompileRemote(f *testing.F) {
	for _, s := range []string{
		"https://*.example.com", "https://example.com/api/*", "http://localhost:*", "https://{a,b}.dev/:id(\\d+)",
		"/relative/*", "*://x", "https://[::1]:8080/*", "https://ex%61mple.com/", "data:text/plain,hi", "https://a.dev/(.*)?q=1#h",
		"https://a.dev/:p+/:q*", "https://xn--bcher-kva.example/", "https://a.dev/\\(x\\)", "https://(a|b).dev",
	} {
		f.Add(s, "https://a.example.com/x?y#z")
	}
	f.Fuzz(func(t *testing.T, pattern, page string) {
		p, err := CompileRemote(pattern)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("compile error is not an input error: %v", err)
			}
			return
		}
		if p.String() != pattern {
			t.Fatalf("String() = %q, want %q", p.String(), pattern)
		}
		if p.Match(LocalOrigin) {
			t.Fatalf("%q matches the local origin", pattern)
		}
		o, err := ParseOrigin(page)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("origin error is not an input error: %v", err)
			}
			return
		}
		_ = p.Match(o)
	})
}
