package acldiff

import (
	"fmt"
	"strings"

	"github.com/capguard/capguard/acl"
)

// Risk rates a change that widens the access: what the pages can do with
// what they gained. Narrowings carry no risk.
type Risk string

// The risk levels, from the worst.
const (
	RiskCritical Risk = "critical"
	RiskHigh     Risk = "high"
	RiskMedium   Risk = "medium"
	RiskLow      Risk = "low"
)

// rank orders levels: 4 for critical down to 1 for low, 0 for none or an
// unknown word.
func (r Risk) rank() int {
	switch r {
	case RiskCritical:
		return 4
	case RiskHigh:
		return 3
	case RiskMedium:
		return 2
	case RiskLow:
		return 1
	}
	return 0
}

// AtLeast tells whether r is level or worse.
func (r Risk) AtLeast(level Risk) bool { return r.rank() > 0 && r.rank() >= level.rank() }

// ParseRisk reads a level ("critical", "high", "medium" or "low").
func ParseRisk(s string) (Risk, error) {
	if r := Risk(s); r.rank() > 0 {
		return r, nil
	}
	return "", fmt.Errorf("unknown risk level %q: expected critical, high, medium or low", s)
}

// scopeRule says how a command's scope changes its rating.
type scopeRule uint8

const (
	scopeNone scopeRule = iota
	// scopeFSWrite: critical when a path reaches beyond the app's own
	// folders, medium when every path is inside them, low without paths.
	scopeFSWrite
	// scopeFSRead: high beyond the app's folders, low inside or without.
	scopeFSRead
	// scopeHTTP: high when a URL pattern matches any host, medium for
	// given hosts, low without URLs.
	scopeHTTP
	// scopeOpenerURL: high when a pattern covers every http or https URL
	// (or every file URL), medium otherwise, low without URLs.
	scopeOpenerURL
	// scopeOpenerPath: high beyond the app's folders, medium inside, low
	// without paths.
	scopeOpenerPath
)

// riskRule rates some commands of one plugin.
type riskRule struct {
	plugin   string
	commands []string // "*": the plugin's other commands
	risk     Risk     // the rating (with a scope rule: the worst one)
	scope    scopeRule
	reason   string
}

// riskTable is capguard's rating of the commands of Tauri's core and its
// official plugins (the 26 of plugins-workspace that have permissions,
// and opener). docs/diff.md shows the same table; a test keeps the two
// equal. A command no rule names is rated medium: capguard does not know
// what it does.
var riskTable = []riskRule{
	{"shell", []string{"execute", "spawn", "stdin_write"}, RiskCritical, scopeNone, "runs programs (sidecars included) on the user's machine"},
	{"shell", []string{"open"}, RiskHigh, scopeNone, "opens URLs and files with the default application"},
	{"shell", []string{"kill"}, RiskMedium, scopeNone, "kills processes the app spawned"},
	{"process", []string{"exit", "restart"}, RiskCritical, scopeNone, "ends or relaunches the app"},
	{"updater", []string{"install", "download_and_install", "install_apk"}, RiskCritical, scopeNone, "installs an update of the app"},
	{"updater", []string{"download"}, RiskMedium, scopeNone, "downloads an update"},
	{"updater", []string{"check"}, RiskLow, scopeNone, "checks for an update"},
	{"fs", []string{"mkdir", "create", "copy_file", "remove", "rename", "truncate", "ftruncate", "write", "write_file", "write_text_file"}, RiskCritical, scopeFSWrite, "creates, writes or removes files"},
	{"fs", []string{"open", "read_dir", "read_file", "read", "read_text_file", "read_text_file_lines", "read_text_file_lines_next", "seek", "stat", "lstat", "fstat", "size", "exists", "watch", "unwatch"}, RiskHigh, scopeFSRead, "reads files and folders"},
	{"fs", []string{"start_accessing_security_scoped_resource", "stop_accessing_security_scoped_resource"}, RiskMedium, scopeNone, "opens or closes access to a file the user picked (macOS, iOS)"},
	{"http", []string{"fetch"}, RiskHigh, scopeHTTP, "sends HTTP requests from the app, past the webview's CORS rules"},
	{"http", []string{"fetch_send", "fetch_read_body", "fetch_cancel", "fetch_cancel_body"}, RiskLow, scopeNone, "acts on a request that fetch made"},
	{"opener", []string{"open_url"}, RiskHigh, scopeOpenerURL, "opens URLs in the default application"},
	{"opener", []string{"open_path", "reveal_item_in_dir"}, RiskHigh, scopeOpenerPath, "opens files and folders with their default application"},
	{"upload", []string{"download"}, RiskCritical, scopeNone, "writes a downloaded file to any path (the plugin has no scope)"},
	{"upload", []string{"upload"}, RiskHigh, scopeNone, "sends any file to any URL (the plugin has no scope)"},
	{"websocket", []string{"connect"}, RiskHigh, scopeNone, "connects to any URL (the plugin has no scope)"},
	{"websocket", []string{"send"}, RiskLow, scopeNone, "sends on a connection connect opened"},
	{"stronghold", []string{"*"}, RiskMedium, scopeNone, "reads and writes the app's secret vault"},
	{"sql", []string{"load", "execute", "select"}, RiskMedium, scopeNone, "reads and writes the app's databases"},
	{"sql", []string{"close"}, RiskLow, scopeNone, "closes a database"},
	{"clipboard-manager", []string{"read_text", "read_image"}, RiskMedium, scopeNone, "reads what the user copied"},
	{"clipboard-manager", []string{"*"}, RiskLow, scopeNone, "writes or clears the clipboard"},
	{"global-shortcut", []string{"register"}, RiskMedium, scopeNone, "receives key presses while other apps have the focus"},
	{"global-shortcut", []string{"*"}, RiskLow, scopeNone, "lists or removes shortcuts"},
	{"autostart", []string{"enable"}, RiskMedium, scopeNone, "starts the app at login"},
	{"autostart", []string{"*"}, RiskLow, scopeNone, "reads or turns off the start at login"},
	{"deep-link", []string{"register", "unregister"}, RiskMedium, scopeNone, "changes which URL schemes open the app"},
	{"deep-link", []string{"*"}, RiskLow, scopeNone, "reads the deep link state"},
	{"geolocation", []string{"get_current_position", "watch_position"}, RiskMedium, scopeNone, "reads the user's location"},
	{"geolocation", []string{"*"}, RiskLow, scopeNone, "asks for or checks the location permission"},
	{"barcode-scanner", []string{"scan"}, RiskMedium, scopeNone, "uses the camera"},
	{"barcode-scanner", []string{"*"}, RiskLow, scopeNone, "permissions and settings of the scanner"},
	{"nfc", []string{"scan", "write"}, RiskMedium, scopeNone, "reads and writes NFC tags"},
	{"nfc", []string{"*"}, RiskLow, scopeNone, "tells whether NFC is available"},
	{"biometric", []string{"*"}, RiskLow, scopeNone, "asks the user to authenticate"},
	{"core:webview", []string{"create_webview", "create_webview_window", "internal_toggle_devtools"}, RiskMedium, scopeNone, "opens new webviews (which get the capabilities their labels match) or the developer tools"},
	{"core:window", []string{"create"}, RiskMedium, scopeNone, "opens new windows (which get the capabilities their labels match)"},
	{"cli", []string{"*"}, RiskLow, scopeNone, "reads the command line"},
	{"dialog", []string{"*"}, RiskLow, scopeNone, "shows dialogs the user answers"},
	{"haptics", []string{"*"}, RiskLow, scopeNone, "vibrates the device"},
	{"log", []string{"*"}, RiskLow, scopeNone, "writes to the app's log"},
	{"notification", []string{"*"}, RiskLow, scopeNone, "shows notifications"},
	{"os", []string{"*"}, RiskLow, scopeNone, "reads facts about the system"},
	{"positioner", []string{"*"}, RiskLow, scopeNone, "moves windows"},
	{"store", []string{"*"}, RiskLow, scopeNone, "reads and writes the app's key-value stores"},
	{"window-state", []string{"*"}, RiskLow, scopeNone, "saves and restores window sizes"},
	{"core:app", []string{"*"}, RiskLow, scopeNone, "reads or changes app state (name, version, theme, visibility)"},
	{"core:event", []string{"*"}, RiskLow, scopeNone, "sends and receives the app's events"},
	{"core:image", []string{"*"}, RiskLow, scopeNone, "makes images"},
	{"core:menu", []string{"*"}, RiskLow, scopeNone, "builds and changes menus"},
	{"core:path", []string{"*"}, RiskLow, scopeNone, "resolves paths (no file access)"},
	{"core:resources", []string{"*"}, RiskLow, scopeNone, "closes resources"},
	{"core:tray", []string{"*"}, RiskLow, scopeNone, "builds and changes tray icons"},
	{"core:webview", []string{"*"}, RiskLow, scopeNone, "changes webviews"},
	{"core:window", []string{"*"}, RiskLow, scopeNone, "reads and changes windows"},
}

// ruleFor finds the rule for a command of a plugin (nil: none).
func ruleFor(plugin, cmd string) *riskRule {
	var fallback *riskRule
	for i := range riskTable {
		r := &riskTable[i]
		if r.plugin != plugin {
			continue
		}
		for _, c := range r.commands {
			if c == cmd {
				return r
			}
			if c == "*" && fallback == nil {
				fallback = r
			}
		}
	}
	return fallback
}

// appFolders are the base folders of the app itself.
var appFolders = map[string]bool{"$APPCONFIG": true, "$APPDATA": true, "$APPLOCALDATA": true, "$APPCACHE": true, "$APPLOG": true}

// withinAppFolders tells whether a path glob stays inside the app's own
// folders: it starts with one of their variables and never goes up.
func withinAppFolders(p string) bool {
	if !appFolders[pathVar(p)] {
		return false
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return false
		}
	}
	return true
}

// rating is a risk with its reason.
type rating struct {
	risk   Risk
	reason string
}

func (a rating) worse(b rating) rating {
	if b.risk.rank() > a.risk.rank() {
		return b
	}
	return a
}

// rateCommand rates calling a command from an execution context with
// the allow values of its scope (command and global scope together).
func rateCommand(command, context string, scope []acl.Value, decl map[string]declared, pc *patternCache) rating {
	plugin := pluginOf(command)
	_, name := splitName(command)
	r := rateByTable(plugin, name, scope, pc)
	if d, ok := decl[command]; ok && (ruleFor(plugin, name) == nil || d.risk.rank() > r.risk.rank()) {
		r = rating{d.risk, d.reason}
	}
	if context != "local" && context != "" {
		return rating{RiskCritical, "pages from " + context + " (a remote origin) can call it; " + r.reason}
	}
	return r
}

// splitName returns a command's plugin key and name.
func splitName(command string) (key, name string) {
	rest, ok := strings.CutPrefix(command, "plugin:")
	if !ok {
		return acl.AppKey, command
	}
	key, name, _ = strings.Cut(rest, "|")
	return key, name
}

func rateByTable(plugin, cmd string, scope []acl.Value, pc *patternCache) rating {
	rule := ruleFor(plugin, cmd)
	if rule == nil {
		what := "plugin " + acl.DisplayKey(plugin)
		if plugin == acl.AppKey {
			what = "the app's own command"
		}
		return rating{RiskMedium, what + ": not in capguard's table (a permission file can declare its risk: capguard.risk)"}
	}
	switch rule.scope {
	case scopeFSWrite, scopeFSRead, scopeOpenerPath:
		var paths []string
		for _, v := range scope {
			if s, ok := scopeField(v, "path"); ok {
				paths = append(paths, s)
			}
		}
		if len(paths) == 0 {
			return rating{RiskLow, rule.reason + ", but no path is in its scope"}
		}
		for _, p := range paths {
			if !withinAppFolders(p) {
				return rating{rule.risk, fmt.Sprintf("%s, beyond the app's own folders (%s)", rule.reason, p)}
			}
		}
		inside := RiskMedium
		if rule.scope == scopeFSRead {
			inside = RiskLow
		}
		return rating{inside, rule.reason + ", inside the app's own folders"}
	case scopeHTTP:
		var urls []string
		for _, v := range scope {
			if s, ok := scopeField(v, "url"); ok {
				urls = append(urls, s)
			}
		}
		if len(urls) == 0 {
			return rating{RiskLow, rule.reason + ", but no URL is in its scope"}
		}
		for _, s := range urls {
			u, _ := pc.url(s)
			if u == nil || u.undecided != "" || includes(pc.glob("*"), []*pattern{u.comps[compHostname]}).covered {
				return rating{rule.risk, fmt.Sprintf("%s, to any host (%s)", rule.reason, s)}
			}
		}
		return rating{RiskMedium, rule.reason + ", to the hosts of its scope"}
	case scopeOpenerURL:
		var urls []string
		for _, v := range scope {
			if s, ok := scopeField(v, "url"); ok && v.Kind() == acl.MapValue {
				urls = append(urls, s)
			}
		}
		if len(urls) == 0 {
			return rating{RiskLow, rule.reason + ", but no URL is in its scope"}
		}
		for _, s := range urls {
			if _, err := acl.CompileGlob(s); err != nil {
				continue
			}
			p := globPattern(s, matchOpts{})
			for _, any := range []string{"https://*", "http://*", "file://*"} {
				if includes(globPattern(any, matchOpts{}), []*pattern{p}).covered {
					return rating{rule.risk, fmt.Sprintf("%s: any %s URL (%s)", rule.reason, strings.TrimSuffix(any, "://*"), s)}
				}
			}
		}
		return rating{RiskMedium, rule.reason + ": the URLs of its scope"}
	}
	return rating{rule.risk, rule.reason}
}
