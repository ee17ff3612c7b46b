package test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// actionFile is the part of action.yml's syntax this emulator runs; the
// decoder rejects any other key, so the action cannot grow a feature the
// test does not emulate.
type actionFile struct {
	Name        string                 `yaml:"name"`
	Description string                 `yaml:"description"`
	Author      string                 `yaml:"author"`
	Branding    map[string]string      `yaml:"branding"`
	Inputs      map[string]actionInput `yaml:"inputs"`
	Runs        struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionInput struct {
	Description string  `yaml:"description"`
	Default     *string `yaml:"default"`
	Required    bool    `yaml:"required"`
}

type actionStep struct {
	Name             string            `yaml:"name"`
	Shell            string            `yaml:"shell"`
	Run              string            `yaml:"run"`
	Env              map[string]string `yaml:"env"`
	WorkingDirectory string            `yaml:"working-directory"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var a actionFile
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" || len(a.Runs.Steps) == 0 || a.Name == "" || a.Description == "" {
		t.Fatalf("action.yml: not a composite action with steps: %+v", a)
	}
	for name, in := range a.Inputs {
		if in.Description == "" || in.Default == nil && !in.Required {
			t.Errorf("input %s: needs a description and a default (or required)", name)
		}
	}
	for i, s := range a.Runs.Steps {
		// A composite step must name its shell; bash is the one emulated.
		if s.Shell != "bash" || s.Run == "" || s.Name == "" {
			t.Errorf("step %d (%s): want a named step with shell bash and a run script", i, s.Name)
		}
	}
	return a
}

var expr = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// runner runs a composite action's steps as GitHub's runner does: each
// step's script with bash --noprofile --norc -eo pipefail, expressions
// replaced, the step's env on top of the job's, GITHUB_ENV and
// GITHUB_PATH read after each step, and the first failing step ending
// the action.
type runner struct {
	t      *testing.T
	action actionFile
	inputs map[string]string
	env    map[string]string // the variables GitHub sets
	base   []string          // the rest of the environment
}

func (r *runner) expand(s string) string {
	return expr.ReplaceAllStringFunc(s, func(m string) string {
		e := expr.FindStringSubmatch(m)[1]
		if name, ok := strings.CutPrefix(e, "inputs."); ok {
			in, declared := r.action.Inputs[name]
			if !declared {
				r.t.Fatalf("action.yml uses undeclared input %s", name)
			}
			if v, given := r.inputs[name]; given {
				return v
			}
			return *in.Default
		}
		vars := map[string]string{
			"github.workspace":   "GITHUB_WORKSPACE",
			"github.event_name":  "GITHUB_EVENT_NAME",
			"github.base_ref":    "GITHUB_BASE_REF",
			"github.action_path": "GITHUB_ACTION_PATH",
			"github.action_ref":  "GITHUB_ACTION_REF",
			"runner.temp":        "RUNNER_TEMP",
		}
		if v, ok := vars[e]; ok {
			return r.env[v]
		}
		r.t.Fatalf("action.yml uses the expression %q, which this test does not emulate", m)
		return ""
	})
}

// run runs the steps and returns the combined output and the exit status
// of the action (that of the first failing step, or 0).
func (r *runner) run() (string, int) {
	var log strings.Builder
	for i, s := range r.action.Runs.Steps {
		script := filepath.Join(r.env["RUNNER_TEMP"], fmt.Sprintf("step-%d.sh", i))
		if err := os.WriteFile(script, []byte(r.expand(s.Run)), 0o644); err != nil {
			r.t.Fatal(err)
		}
		env := append([]string{}, r.base...)
		for k, v := range r.env {
			env = append(env, k+"="+v)
		}
		for k, v := range s.Env {
			env = append(env, k+"="+r.expand(v))
		}
		dir := r.env["GITHUB_WORKSPACE"]
		if s.WorkingDirectory != "" {
			dir = r.expand(s.WorkingDirectory)
		}
		res := runIn(r.t, dir, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		fmt.Fprintf(&log, "== %s\n%s%s", s.Name, res.stdout, res.stderr)
		r.readFiles()
		if res.code != 0 {
			return log.String(), res.code
		}
	}
	return log.String(), 0
}

// readFiles applies what a step wrote to GITHUB_ENV and GITHUB_PATH.
func (r *runner) readFiles() {
	if data, err := os.ReadFile(r.env["GITHUB_ENV"]); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if !ok || strings.Contains(sc.Text(), "<<") {
				r.t.Fatalf("GITHUB_ENV line %q: only NAME=value lines are emulated", sc.Text())
			}
			r.env[k] = v
		}
	}
	if data, err := os.ReadFile(r.env["GITHUB_PATH"]); err == nil {
		for _, p := range strings.Fields(string(data)) {
			r.env["PATH"] = p + string(os.PathListSeparator) + r.env["PATH"]
		}
	}
}

// scenario is a repository as actions/checkout leaves it: the work tree
// at the pull request's head, cloned from an origin whose default branch
// is the base branch (main unless base is set).
type scenario struct {
	app   string
	edit  func(t *testing.T, workspace string) // the pull request's change, nil for none
	event string
	base  string
}

func (sc scenario) runner(t *testing.T, inputs map[string]string) *runner {
	t.Helper()
	launcher, platform, _ := tarballs(t)
	env := offlineEnv(t)
	root := t.TempDir()
	origin, work, temp := filepath.Join(root, "origin"), filepath.Join(root, "workspace"), filepath.Join(root, "runner-temp")
	seed := filepath.Join(root, "seed")
	for _, d := range []string{origin, seed, temp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	branch := sc.base
	if branch == "" {
		branch = "main"
	}
	copyDir(t, conformanceApp(t, sc.app), filepath.Join(seed, "src-tauri"))
	must(t, seed, env, "git", "init", "-q", "-b", branch)
	must(t, seed, env, "git", "add", ".")
	must(t, seed, env, "git", "commit", "-q", "-m", "app")
	must(t, origin, env, "git", "init", "-q", "--bare", "-b", branch)
	must(t, seed, env, "git", "push", "-q", origin, branch)
	// actions/checkout fetches one commit of the head only.
	must(t, root, env, "git", "clone", "-q", "--depth=1", "--no-local", "file://"+origin, work)
	must(t, work, env, "git", "update-ref", "-d", "refs/remotes/origin/"+branch)
	must(t, work, env, "git", "checkout", "-q", "-b", "pr")
	if sc.edit != nil {
		sc.edit(t, work)
		must(t, work, env, "git", "commit", "-q", "-am", "the pull request")
	}
	if inputs == nil {
		inputs = map[string]string{}
	}
	inputs["package"] = launcher + " " + platform
	gh := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true",
		"GITHUB_WORKSPACE":    work,
		"GITHUB_EVENT_NAME":   sc.event,
		"GITHUB_REPOSITORY":   "someone/app",
		"GITHUB_SHA":          strings.TrimSpace(must(t, work, env, "git", "rev-parse", "HEAD")),
		"GITHUB_ACTION_PATH":  repoRoot,
		"GITHUB_ACTION_REF":   "",
		"GITHUB_STEP_SUMMARY": filepath.Join(temp, "step-summary.md"),
		"GITHUB_OUTPUT":       filepath.Join(temp, "output"),
		"GITHUB_ENV":          filepath.Join(temp, "env"),
		"GITHUB_PATH":         filepath.Join(temp, "path"),
		"RUNNER_TEMP":         temp,
		"PATH":                os.Getenv("PATH"),
	}
	if sc.event == "pull_request" {
		gh["GITHUB_BASE_REF"], gh["GITHUB_HEAD_REF"], gh["GITHUB_REF"] = branch, "pr", "refs/pull/1/merge"
	} else {
		gh["GITHUB_BASE_REF"], gh["GITHUB_HEAD_REF"], gh["GITHUB_REF"] = "", "", "refs/heads/"+branch
	}
	for _, f := range []string{"GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH"} {
		if err := os.WriteFile(gh[f], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var base []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := gh[k]; !set && !strings.HasPrefix(k, "GITHUB_") && !strings.HasPrefix(k, "RUNNER_") {
			base = append(base, kv)
		}
	}
	return &runner{t: t, action: readAction(t), inputs: inputs, env: gh, base: base}
}

const numbat = "sharkdp__numbat-app"

func numbatWindows(windows ...string) func(t *testing.T, work string) {
	return func(t *testing.T, work string) {
		setWindows(t, filepath.Join(work, "src-tauri", "capabilities", "migrated.json"), windows...)
	}
}

// numbatDrop removes a permission from numbat's capability.
func numbatDrop(permission string) func(t *testing.T, work string) {
	return func(t *testing.T, work string) {
		p := filepath.Join(work, "src-tauri", "capabilities", "migrated.json")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out := strings.Replace(string(data), "\""+permission+"\",", "", 1)
		if out == string(data) {
			t.Fatalf("%s does not list %s", p, permission)
		}
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAction(t *testing.T) {
	readAction(t)
	cases := []struct {
		name     string
		scenario scenario
		inputs   map[string]string
		code     int
		// summary and log hold text that must appear; notInLog must not.
		summary, log, notInLog []string
		emptySummary           bool
	}{
		{
			name:     "pull request that widens",
			scenario: scenario{app: numbat, event: "pull_request", edit: numbatWindows("*")},
			summary:  []string{"### capguard diff: **widened**", "`origin/main:src-tauri` → `HEAD:src-tauri`", "| window \"*\" | plugin opener |", "<details>"},
			log:      []string{"::warning file=src-tauri/capabilities/migrated.json,line=", "::notice title=capguard diff::widened ("},
			notInLog: []string{"::error"},
		},
		{
			name:     "pull request that widens, fail-on critical (its worst risk is high)",
			scenario: scenario{app: numbat, event: "pull_request", edit: numbatWindows("*")},
			inputs:   map[string]string{"fail-on": "critical"},
			summary:  []string{"### capguard diff: **widened** · worst risk **high**", "**Top risks**", "| high | window \"*\" | can now call 2 commands from local pages through opener:default: opener (2) | opens URLs in the default application: any http URL"},
			log: []string{"::warning file=src-tauri/capabilities/migrated.json,line=7,col=5,title=capguard diff%3A widened (high)::capability \"migrated\", opener:default: window \"*\": can now call 2 commands",
				"::notice title=capguard diff::widened ("},
			notInLog: []string{"::error"},
		},
		{
			name:     "pull request that widens, fail-on high",
			scenario: scenario{app: numbat, event: "pull_request", edit: numbatWindows("*")},
			inputs:   map[string]string{"fail-on": "high"},
			code:     1,
			summary:  []string{"### capguard diff: **widened**"},
			log:      []string{"capguard diff: 2 widenings rated high or worse (worst: high) (--fail-on high)", "::error title=capguard diff::the pull request reaches fail-on high"},
		},
		{
			name:     "a base branch that is not main",
			scenario: scenario{app: numbat, event: "pull_request", edit: numbatWindows("*"), base: "trunk"},
			inputs:   map[string]string{"fail-on": "widened"},
			code:     1,
			summary:  []string{"### capguard diff: **widened**", "`origin/trunk:src-tauri` → `HEAD:src-tauri`"},
			log:      []string{"::error title=capguard diff::the pull request reaches fail-on widened"},
		},
		{
			name:     "pull request that widens, fail-on-widened",
			scenario: scenario{app: numbat, event: "pull_request", edit: numbatWindows("*")},
			inputs:   map[string]string{"fail-on-widened": "true"},
			code:     1,
			summary:  []string{"### capguard diff: **widened**"},
			log:      []string{"::error title=capguard diff::the pull request reaches fail-on widened"},
		},
		{
			name:     "pull request that narrows, fail-on-widened",
			scenario: scenario{app: numbat, event: "pull_request", edit: numbatDrop("store:default")},
			inputs:   map[string]string{"fail-on-widened": "true"},
			summary:  []string{"### capguard diff: **narrowed**", "| window \"main\" | plugin store | 0 | 15 |"},
			log:      []string{"::notice title=capguard diff%3A narrowed::window \"main\": can no longer call 14 commands from local pages through store:default: store (14)"},
			notInLog: []string{"::error", "capguard diff%3A widened"},
		},
		{
			name:     "pull request without capability changes",
			scenario: scenario{app: numbat, event: "pull_request"},
			inputs:   map[string]string{"fail-on-widened": "true"},
			summary:  []string{"### capguard diff: **unchanged**", "The effective access is the same on both sides."},
			notInLog: []string{"::error", "capguard diff%3A widened"},
		},
		{
			name:         "push: validate only",
			scenario:     scenario{app: numbat, event: "push"},
			log:          []string{"not a pull request (push): no diff"},
			emptySummary: true,
		},
		{
			name:         "validation error",
			scenario:     scenario{app: "NicolaSpadari__nuxtor", event: "push"},
			code:         1,
			log:          []string{"::error file=src-tauri/capabilities/main.json,line=21,col=5,title=capguard scope::", "::error title=capguard validate::"},
			emptySummary: true,
		},
		{
			name: "validation error in a pull request still writes the diff",
			scenario: scenario{app: "NicolaSpadari__nuxtor", event: "pull_request", edit: func(t *testing.T, w string) {
				setWindows(t, filepath.Join(w, "src-tauri", "capabilities", "main.json"), "main")
			}},
			code:    1,
			summary: []string{"### capguard diff: **narrowed**"},
			log:     []string{"::error file=src-tauri/capabilities/main.json,line=", "::error title=capguard validate::the app's capabilities have errors"},
		},
		{
			name:         "a bad threshold",
			scenario:     scenario{app: numbat, event: "pull_request"},
			inputs:       map[string]string{"fail-on": "severe"},
			code:         1,
			log:          []string{"::error title=capguard::fail-on must be critical, high, medium, low, widened, any or empty, not 'severe'"},
			emptySummary: true,
		},
		{
			name:         "a bad input",
			scenario:     scenario{app: numbat, event: "pull_request"},
			inputs:       map[string]string{"fail-on-widened": "yes"},
			code:         1,
			log:          []string{"::error title=capguard::fail-on-widened must be true or false, not 'yes'"},
			emptySummary: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.scenario.runner(t, tc.inputs)
			log, code := r.run()
			summary, err := os.ReadFile(r.env["GITHUB_STEP_SUMMARY"])
			if err != nil {
				t.Fatal(err)
			}
			if (code == 0) != (tc.code == 0) {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, s := range tc.summary {
				if !strings.Contains(string(summary), s) {
					t.Errorf("the job summary lacks %q", s)
				}
			}
			if tc.emptySummary && len(summary) != 0 {
				t.Errorf("the job summary should be empty")
			}
			for _, s := range tc.log {
				if !strings.Contains(log, s) {
					t.Errorf("the log lacks %q", s)
				}
			}
			for _, s := range tc.notInLog {
				if strings.Contains(log, s) {
					t.Errorf("the log has %q", s)
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s\nsummary:\n%s", log, summary)
			}
		})
	}
}
