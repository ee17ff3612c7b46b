package acldiff

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
)

// laterCommands are commands the table rates that the plugins-workspace
// snapshot in ../shared/conformance does not have yet: they came in later
// releases (seen in the manifests of the real apps of testdata/history),
// or belong to opener, which the snapshot does not include.
var laterCommands = map[string][]string{
	"fs":      {"size", "start_accessing_security_scoped_resource", "stop_accessing_security_scoped_resource"},
	"http":    {"fetch_cancel_body"},
	"updater": {"install_apk"},
	"opener":  {"open_url", "open_path", "reveal_item_in_dir"},
}

// TestRiskTableCoversOfficialPlugins: every command of the 26 official
// plugins with permissions, and of opener, is rated by a rule of its
// plugin (not by the fallback for unknown commands), every core plugin has
// a rule for all its commands, and every command a rule names exists.
func TestRiskTableCoversOfficialPlugins(t *testing.T) {
	plugins := conformance.Plugins(t)
	if len(plugins) != 26 {
		t.Fatalf("%d plugins in the snapshot, expected the 26 with permissions", len(plugins))
	}
	known := map[string]map[string]bool{}
	for _, p := range plugins {
		data, err := os.ReadFile(conformance.Path(t, "plugins-workspace", p, "commands.json"))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Commands []string `json:"commands"`
		}
		if err := json.Unmarshal(data, &f); err != nil || len(f.Commands) == 0 {
			t.Fatalf("%s/commands.json: %v", p, err)
		}
		known[p] = map[string]bool{}
		for _, c := range f.Commands {
			known[p][c] = true
			if ruleFor(p, c) == nil {
				t.Errorf("%s.%s has no rule", p, c)
			}
		}
	}
	for p, cmds := range laterCommands {
		if known[p] == nil {
			known[p] = map[string]bool{}
		}
		for _, c := range cmds {
			known[p][c] = true
			if ruleFor(p, c) == nil {
				t.Errorf("%s.%s has no rule", p, c)
			}
		}
	}
	for k := range corePlugins {
		if r := ruleFor("core:"+k, "any_command"); r == nil || !slices.Contains(r.commands, "*") {
			t.Errorf("core:%s has no rule for all its commands", k)
		}
	}
	for _, r := range riskTable {
		if strings.HasPrefix(r.plugin, "core:") {
			continue
		}
		if known[r.plugin] == nil {
			t.Errorf("rule for %s: no such official plugin", r.plugin)
			continue
		}
		for _, c := range r.commands {
			if c != "*" && !known[r.plugin][c] {
				t.Errorf("rule for %s names %s, which the plugin does not have", r.plugin, c)
			}
		}
		if r.reason == "" || r.risk.rank() == 0 {
			t.Errorf("rule for %s %v: no reason or no level", r.plugin, r.commands)
		}
	}
}

func str(s string) acl.Value { return acl.String(s) }

func obj(k, v string) acl.Value { return acl.Map(acl.MapEntry{Key: k, Value: acl.String(v)}) }

// TestRiskClasses rates one call of each class the table and docs/diff.md
// name.
func TestRiskClasses(t *testing.T) {
	decl := map[string]declared{
		"wipe":                 {risk: RiskCritical, reason: "deletes the user's database"},
		"plugin:os|arch":       {risk: RiskHigh, reason: "declared higher than the table"},
		"plugin:shell|execute": {risk: RiskLow, reason: "declared lower than the table"},
	}
	for _, tc := range []struct {
		name, command, context string
		scope                  []acl.Value
		want                   Risk
		reason                 string
	}{
		// critical
		{"shell execute", "plugin:shell|execute", "local", nil, RiskCritical, "runs programs"},
		{"shell spawn", "plugin:shell|spawn", "local", nil, RiskCritical, "runs programs"},
		{"process exit", "plugin:process|exit", "local", nil, RiskCritical, "ends or relaunches"},
		{"process relaunch", "plugin:process|restart", "local", nil, RiskCritical, "ends or relaunches"},
		{"updater install", "plugin:updater|install", "local", nil, RiskCritical, "installs an update"},
		{"fs write beyond the app's folders", "plugin:fs|write_file", "local", []acl.Value{obj("path", "$HOME/**")}, RiskCritical, "beyond the app's own folders ($HOME/**)"},
		{"fs remove with a bare path", "plugin:fs|remove", "local", []acl.Value{str("/etc/*")}, RiskCritical, "beyond"},
		{"fs write climbing out of the app's folder", "plugin:fs|write_file", "local", []acl.Value{obj("path", "$APPDATA/../../**")}, RiskCritical, "beyond"},
		{"any command from a remote page", "plugin:window|set_title", "https://*.example.com", nil, RiskCritical, "(a remote origin) can call it"},
		{"declared critical", "wipe", "local", nil, RiskCritical, "deletes the user's database"},
		// high
		{"fs read beyond the app's folders", "plugin:fs|read_file", "local", []acl.Value{obj("path", "$HOME/**")}, RiskHigh, "reads files"},
		{"http to any URL", "plugin:http|fetch", "local", []acl.Value{obj("url", "https://*")}, RiskHigh, "to any host"},
		{"http to any host and port", "plugin:http|fetch", "local", []acl.Value{obj("url", "http://*:*")}, RiskHigh, "to any host"},
		{"opener on any URL", "plugin:opener|open_url", "local", []acl.Value{obj("url", "https://*")}, RiskHigh, "any https URL"},
		{"opener on any path", "plugin:opener|open_path", "local", []acl.Value{obj("path", "$HOME/**")}, RiskHigh, "beyond"},
		{"shell open", "plugin:shell|open", "local", nil, RiskHigh, "default application"},
		{"upload without scope", "plugin:upload|upload", "local", nil, RiskHigh, "no scope"},
		{"declared higher than the table", "plugin:os|arch", "local", nil, RiskHigh, "declared higher"},
		// medium
		{"fs write inside the app's folders", "plugin:fs|write_file", "local", []acl.Value{obj("path", "$APPDATA/**")}, RiskMedium, "inside the app's own folders"},
		{"http to given hosts", "plugin:http|fetch", "local", []acl.Value{obj("url", "https://api.example.com/*")}, RiskMedium, "hosts of its scope"},
		{"opener on given URLs", "plugin:opener|open_url", "local", []acl.Value{obj("url", "https://example.com/*")}, RiskMedium, "the URLs of its scope"},
		{"new webview windows", "plugin:webview|create_webview_window", "local", nil, RiskMedium, "opens new webviews"},
		{"clipboard read", "plugin:clipboard-manager|read_text", "local", nil, RiskMedium, "reads what the user copied"},
		{"the app's own command", "open_vault", "local", nil, RiskMedium, "not in capguard's table"},
		{"another plugin", "plugin:acme|run", "local", nil, RiskMedium, "plugin acme: not in capguard's table"},
		// low
		{"fs read inside the app's folders", "plugin:fs|read_file", "local", []acl.Value{obj("path", "$APPLOCALDATA/*")}, RiskLow, "inside"},
		{"fs read without a path", "plugin:fs|read_file", "local", nil, RiskLow, "no path is in its scope"},
		{"http without URLs", "plugin:http|fetch", "local", nil, RiskLow, "no URL"},
		{"window query", "plugin:window|title", "local", nil, RiskLow, "windows"},
		{"dialog", "plugin:dialog|open", "local", nil, RiskLow, "dialogs"},
		{"biometric", "plugin:biometric|authenticate", "local", nil, RiskLow, "authenticate"},
		// A declaration never lowers the table's rating of a known command.
		{"declared lower than the table", "plugin:shell|execute", "local", nil, RiskCritical, "runs programs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rateCommand(tc.command, tc.context, tc.scope, decl, newPatternCache())
			if got.risk != tc.want || !strings.Contains(got.reason, tc.reason) {
				t.Errorf("%s from %s with %v: %s (%s), want %s (…%s…)", tc.command, tc.context, tc.scope, got.risk, got.reason, tc.want, tc.reason)
			}
		})
	}
}

// riskApp writes an app whose own permission file declares risks, and a
// capability granting its permissions.
func riskApp(t *testing.T, perms string, grants ...string) Side {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src-tauri")
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("permissions/db.toml", perms)
	list, _ := json.Marshal(append([]string{}, grants...))
	write("capabilities/main.json", `{"identifier": "main", "windows": ["main"], "permissions": `+string(list)+`}`)
	return dirSide(t, dir)
}

const dbPermissions = `
[[permission]]
identifier = "allow-wipe"
commands.allow = ["wipe"]
capguard = { risk = "critical", reason = "deletes the user's database" }

[[permission]]
identifier = "allow-count"
commands.allow = ["count"]
capguard.risk = "lowish"

[[permission]]
identifier = "allow-peek"
commands.allow = ["peek"]
`

// TestDeclaredRisk: a risk declared in a permission file (a member Tauri
// ignores) rates the app's command; a level that is not one of the four
// is a warning at its position, and the command falls back to medium.
func TestDeclaredRisk(t *testing.T) {
	old := riskApp(t, dbPermissions)
	new := riskApp(t, dbPermissions, "allow-wipe", "allow-count", "allow-peek")
	rep, err := Compare(old, new, []acl.Target{acl.Linux})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Change{}
	for _, c := range rep.Changes {
		if c.Kind == KindCall {
			got[c.Command] = c
		}
	}
	if c := got["wipe"]; c.Risk != RiskCritical || c.RiskReason != "deletes the user's database" {
		t.Errorf("wipe: %s (%s)", c.Risk, c.RiskReason)
	}
	for _, cmd := range []string{"count", "peek"} {
		if c := got[cmd]; c.Risk != RiskMedium || !strings.Contains(c.RiskReason, "not in capguard's table") {
			t.Errorf("%s: %s (%s)", cmd, c.Risk, c.RiskReason)
		}
	}
	found := false
	for _, w := range rep.Warnings {
		if strings.Contains(w.Message, `permission allow-count declares the risk "lowish"`) && strings.HasSuffix(w.File, filepath.Join("permissions", "db.toml")) && w.Line == 10 {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning at db.toml:10 for the unknown level: %+v", rep.Warnings)
	}
	if rep.WorstRisk() != RiskCritical {
		t.Errorf("worst risk %s", rep.WorstRisk())
	}
	// The report opens with the verdict, then the top risks, worst first.
	var b strings.Builder
	if err := rep.Write(&b, FormatText); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "capguard diff: widened") || lines[2] != "top risks" || !strings.HasPrefix(lines[3], "  critical window \"main\", app commands: can now call wipe") {
		t.Errorf("report:\n%s", b.String())
	}
}
