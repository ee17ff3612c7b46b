package sim_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
)

func TestReadScriptDemo(t *testing.T) {
	cfg, err := sim.ReadScript(filepath.Join("testdata", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Ready()
	want.Latency = 300 * time.Millisecond
	want.Script = []sim.Step{{Outcome: sim.NoMatch}, {Outcome: sim.Match, Latency: time.Second}}
	want.LockoutAfter = 5
	want.LockoutFor = 30 * time.Second
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseScriptDefaultsAndForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		edit func(*sim.Config)
	}{
		{"empty object is Ready", `{}`, func(*sim.Config) {}},
		{"biometry by number", `{"biometryType": 2}`, func(c *sim.Config) { c.Type = native.FaceID }},
		{"biometry by name", `{"biometryType": "iris"}`, func(c *sim.Config) { c.Type = native.Iris }},
		{"no sensor", `{"biometryType": "none", "available": false}`, func(c *sim.Config) { c.Type, c.Available = native.None, false }},
		{"facts", `{"enrolled": false, "deviceCredential": false}`, func(c *sim.Config) { c.Enrolled, c.DeviceCredential = false, false }},
		{"default", `{"default": "user-cancel"}`, func(c *sim.Config) { c.Default = sim.UserCancel }},
		{"every outcome", `{"script": ["match","no-match","user-cancel","system-cancel","lockout","timeout","fallback","hang","hooked-success"]}`, func(c *sim.Config) {
			for _, o := range sim.Outcomes() {
				c.Script = append(c.Script, sim.Step{Outcome: o})
			}
		}},
		{"empty script", `{"script": []}`, func(c *sim.Config) { c.Script = []sim.Step{} }},
		{"lockout without duration", `{"lockout": {"after": 2}}`, func(c *sim.Config) { c.LockoutAfter = 2 }},
		{"schema and description ignored", `{"$schema": "x", "description": "y"}`, func(*sim.Config) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sim.ParseScript("s.json", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			want := sim.Ready()
			tc.edit(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseScriptErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want string // the whole error text
	}{
		{"syntax", "{\n  \"available\": tru\n}", "s.json:2:16: JSON syntax error: "},
		{"not an object", `[]`, "s.json:1:1: expected an object, found an array"},
		{"unknown field", "{\n  \"lockOut\": {}\n}", `s.json:2:3: unknown field "lockOut" (did you mean "lockout"?); known fields: $schema, description, biometryType, available, enrolled, deviceCredential, latency, default, script, lockout (at /lockOut)`},
		{"duplicate field", `{"available": true, "available": false}`, `s.json:1:21: field "available" is given twice (at /available)`},
		{"bool type", `{"enrolled": "yes"}`, `s.json:1:14: expected true or false, found a string (at /enrolled)`},
		{"outcome typo", `{"script": ["match", "mtach"]}`, `s.json:1:22: unknown outcome "mtach" (did you mean "match"?); outcomes are match, no-match, user-cancel, system-cancel, lockout, timeout, fallback, hang, hooked-success (at /script/1)`},
		{"outcome type", `{"default": 1}`, `s.json:1:13: expected an outcome (match, no-match, user-cancel, system-cancel, lockout, timeout, fallback, hang, hooked-success), found the number 1 (at /default)`},
		{"step without outcome", `{"script": [{"latency": "1s"}]}`, `s.json:1:13: a step object needs an "outcome" (at /script/0)`},
		{"step unknown key", `{"script": [{"outcome": "match", "delay": "1s"}]}`, `s.json:1:34: unknown field "delay"; known fields: outcome, latency (at /script/0/delay)`},
		{"bad duration", `{"latency": "3 seconds"}`, `s.json:1:13: "3 seconds" is not a duration; write one such as "150ms", "2s" or "1m30s" (at /latency)`},
		{"duration as number", `{"latency": 300}`, `s.json:1:13: expected a duration such as "150ms" or "2s", found the number 300 (at /latency)`},
		{"negative duration", `{"latency": "-1s"}`, `s.json:1:13: duration -1s is out of range: it must be from 0 to 1h0m0s (at /latency)`},
		{"too long duration", `{"lockout": {"after": 1, "duration": "2h"}}`, `s.json:1:38: duration 2h0m0s is out of range: it must be from 0 to 1h0m0s (at /lockout/duration)`},
		{"lockout zero", `{"lockout": {"after": 0}}`, `s.json:1:23: expected an integer from 1 to 1000, found 0 (at /lockout/after)`},
		{"lockout fraction", `{"lockout": {"after": 1.5}}`, `s.json:1:23: expected an integer from 1 to 1000, found the number 1.5 (at /lockout/after)`},
		{"biometry typo", `{"biometryType": "faceId"}`, `s.json:1:18: unknown biometry type "faceId" (did you mean "faceID"?); expected "none", "touchID", "faceID", "iris" or 0 to 3 (at /biometryType)`},
		{"biometry out of range", `{"biometryType": 4}`, `s.json:1:18: expected an integer from 0 to 3, found 4 (at /biometryType)`},
		{"script not array", `{"script": "match"}`, `s.json:1:12: expected an array of outcomes, found a string (at /script)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := sim.ParseScript("s.json", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; got %+v", cfg)
			}
			if !errors.Is(err, sim.ErrScript) {
				t.Errorf("error %v does not match ErrScript", err)
			}
			if tc.name == "syntax" {
				if !strings.HasPrefix(err.Error(), tc.want) {
					t.Errorf("got  %s\nwant prefix %s", err, tc.want)
				}
				return
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestParseScriptLimits(t *testing.T) {
	big := make([]byte, sim.MaxScriptSize+1)
	if _, err := sim.ParseScript("big.json", big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	steps := `{"script": [` + strings.Repeat(`"match",`, sim.MaxSteps) + `"match"]}`
	if _, err := sim.ParseScript("long.json", []byte(steps)); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("too many steps: %v", err)
	}
}

func TestReadScriptMissingFile(t *testing.T) {
	_, err := sim.ReadScript(filepath.Join(t.TempDir(), "absent.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}

func FuzzParseScript(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "demo.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, s := range []string{`{}`, `[]`, `{"script":[{"outcome":"hang","latency":"1ms"}]}`, `{"lockout":{"after":3,"duration":"1s"}}`, `{"biometryType":3}`, `{"a":`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := sim.ParseScript("f.json", data)
		if err != nil {
			var se *sim.ScriptError
			if !errors.As(err, &se) || !errors.Is(err, sim.ErrScript) {
				t.Fatalf("error of the wrong kind: %T %v", err, err)
			}
			return
		}
		// Whatever parses is within the documented limits.
		if !cfg.Type.Valid() || !cfg.Default.Valid() || len(cfg.Script) > sim.MaxSteps ||
			cfg.Latency < 0 || cfg.Latency > sim.MaxLatency || cfg.LockoutFor < 0 || cfg.LockoutFor > sim.MaxLatency ||
			cfg.LockoutAfter < 0 || cfg.LockoutAfter > sim.MaxLockoutAfter {
			t.Fatalf("out-of-range config %+v from %q", cfg, data)
		}
		for _, s := range cfg.Script {
			if !s.Outcome.Valid() || s.Latency < 0 || s.Latency > sim.MaxLatency {
				t.Fatalf("bad step %+v", s)
			}
		}
	})
}
