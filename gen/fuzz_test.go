package gen_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/gen"
)

// FuzzBuild feeds arbitrary command lists and hand-written files to Build:
// it must never panic, every error must be an input error, and on success
// every generated file must parse back into the permissions it stands for.
func FuzzBuild(f *testing.F) {
	f.Add("ping,read_file", defaultTOML)
	f.Add("a_,b", "[[permission]]\nidentifier = \"allow-a\"\n")
	f.Add("x,x", `{"permission":[]}`)
	f.Add("", "[[set]]\nidentifier = \"s\"\ndescription = \"\\\"quoted\\\"\"\npermissions = [\"allow-x\"]\n")
	f.Add("Ping,ping", "[default]\npermissions = []\n")
	f.Fuzz(func(t *testing.T, commands, handWritten string) {
		var cmds []string
		if commands != "" {
			cmds = strings.Split(commands, ",")
		}
		fsys := fstest.MapFS{"permissions/default.toml": {Data: []byte(handWritten)}}
		out, err := gen.Plugin{Name: "fuzz", Commands: cmds}.Build(fsys)
		if err != nil {
			if !acl.IsInputError(err) {
				t.Fatalf("error is not an input error: %v", err)
			}
			return
		}
		if len(out.Files) != len(cmds)+2 {
			t.Fatalf("made %d files for %d commands", len(out.Files), len(cmds))
		}
		for i, c := range cmds {
			pf, err := acl.ParsePermissionFile(out.Files[i].Path, out.Files[i].Data)
			if err != nil {
				t.Fatalf("generated file for %q does not parse: %v\n%s", c, err, out.Files[i].Data)
			}
			if len(pf.Permissions) != 2 || pf.Permissions[0].Commands.Allow[0] != c || pf.Permissions[1].Commands.Deny[0] != c {
				t.Fatalf("generated file for %q reads back wrong: %+v", c, pf.Permissions)
			}
		}
		schema := out.Files[len(cmds)].Data
		if !bytes.HasPrefix(schema, []byte("{\n")) || !bytes.HasSuffix(schema, []byte("\n}")) {
			t.Fatalf("schema.json is not a pretty JSON object")
		}
	})
}

// FuzzParseGlobalScopeSchema: no panics, input errors only, and a result
// that parses again to itself.
func FuzzParseGlobalScopeSchema(f *testing.F) {
	f.Add([]byte(`{"type":"object","properties":{"path":{"type":"string"}}}`))
	f.Add([]byte(`{"a":1e400,"b":-0,"c":[1.5,true,null]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := gen.ParseGlobalScopeSchema("f.json", data)
		if err != nil {
			if !acl.IsInputError(err) {
				t.Fatalf("error is not an input error: %v", err)
			}
			return
		}
		again, err := gen.ParseGlobalScopeSchema("f.json", s)
		if err != nil || !bytes.Equal(again, s) {
			t.Fatalf("compact form does not round-trip: %s -> %s, %v", s, again, err)
		}
	})
}
