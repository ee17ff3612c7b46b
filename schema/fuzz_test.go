package schema

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
)

var fuzzValidator = sync.OnceValues(func() (*Validator, error) {
	ms, err := parseTestManifests()
	if err != nil {
		return nil, err
	}
	return Compile(ms, CompileOptions{})
})

// FuzzCheckFile feeds arbitrary capability files (as JSON, JSON5 and
// TOML) to the validator: it must not panic or hang, and every finding
// must point inside the file.
func FuzzCheckFile(f *testing.F) {
	for _, seed := range []string{
		`{"identifier": "main", "windows": ["main"], "permissions": ["fs:default", {"identifier": "fs:read-all", "allow": [{"path": ""}]}]}`,
		`[{"identifier": "a", "windows": ["ma*in["], "remote": {"urls": ["https://x/*", "nope"]}, "permissions": ["fs:nope", "fs:nope"], "platforms": ["Linux"]}]`,
		`{"capabilities": [{"identifier": 1, "permisions": [], "context": "local"}]}`,
		"identifier = \"t\"\nwindows = [\"main\"]\npermissions = [\"fs:default\", { identifier = \"fs:read-all\", deny = [{ path = 1979-05-27T07:32:00Z }] }]\n",
		"{identifier: 'j', windows: ['*'], permissions: [NaN, Infinity, 0x10,], // c\n}",
		`{"identifier": "x", "windows": [], "permissions": [{"identifier": "fs:read-all", "allow": [{"path": "a", "path": 1e999}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	v, err := fuzzValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		for _, name := range []string{"cap.json", "cap.json5", "cap.toml"} {
			res := v.CheckFile(name, data, []acl.Target{acl.Linux})
			for _, fd := range res.Findings {
				if fd.Pos.File != name || fd.Pos.Line < 0 || fd.Pos.Line > lines || fd.Message == "" {
					t.Fatalf("%s: finding out of the file: %+v", name, fd)
				}
			}
			if _, err := v.SchemaAccepts(name, data); err != nil && len(res.Findings) == 0 {
				t.Fatalf("%s: the schema check fails to parse a file CheckFile accepted: %v", name, err)
			}
		}
	})
}

// FuzzScopeSchema feeds arbitrary plugin scope schemas to Generate and
// Compile: no panic, and when Generate succeeds its output is JSON that
// keeps every identifier.
func FuzzScopeSchema(f *testing.F) {
	for _, seed := range []string{
		`{"$schema": "http://json-schema.org/draft-07/schema#", "title": "S", "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}`,
		`{"anyOf": [{"type": "string"}, {"$ref": "#/definitions/A"}], "definitions": {"A": {"type": "array", "items": [true, false], "minItems": 2}}}`,
		`{"enum": [1, "a", null, {"b": 2, "a": 1}], "default": null, "minimum": -0.5, "x-ext": [1]}`,
		`{"pattern": "[", "not": {"const": {}}}`,
		`true`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		ms := testManifests(t)
		ms["fs"].GlobalScopeSchema = json.RawMessage(data)
		text, err := Generate(ms, GenerateOptions{})
		if err != nil {
			return
		}
		root, err := doc.ParseJSON(text)
		if err != nil {
			t.Fatalf("Generate wrote invalid JSON: %v", err)
		}
		ids, _ := root.Lookup("/definitions/Identifier/oneOf")
		if len(ids.Items) != 8 {
			t.Fatalf("%d identifiers, want 8", len(ids.Items))
		}
		_, _ = Compile(ms, CompileOptions{})
	})
}
