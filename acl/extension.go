package acl

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/internal/doc"
)

// ExtensionFile is the name of capguard's own file in a src-tauri
// directory, next to (not inside) capabilities/: Tauri never reads it, so
// the capability files stay exactly what Tauri's schema validates.
const ExtensionFile = "capguard.json"

// Extension is capguard.json: what capguard adds to Tauri's capabilities.
// Today that is obligations, things the guard must do before an allowed
// call runs (a fresh biometric authentication). An extension never allows
// anything: it only makes allowed calls harder to make.
//
//	{
//	  "obligations": [
//	    {
//	      "commands": ["open_vault"],
//	      "windows": ["main"],
//	      "type": "biometric",
//	      "max_age_s": 300,
//	      "reason": "Unlock your vault"
//	    }
//	  ]
//	}
type Extension struct {
	// File is the name the extension was read under.
	File string
	// Obligations are the rules, in file order.
	Obligations []*ObligationRule
}

// ObligationRule gives an obligation to the allowed calls of some
// commands, optionally only from some windows or webviews.
type ObligationRule struct {
	// Commands are patterns of IPC command names ("open_vault",
	// "plugin:biometric|authenticate", "plugin:fs|*"), with the glob
	// syntax of window labels. At least one.
	Commands []*Glob
	// Windows and Webviews restrict the rule, as a capability's windows
	// and webviews do: with neither, the rule applies to every caller;
	// otherwise to calls whose window label matches a Windows pattern or
	// whose webview label matches a Webviews pattern.
	Windows  []*Glob
	Webviews []*Glob
	// Type is the obligation's kind ("biometric"), MaxAgeS how recent a
	// previous success may be to meet it (0: every call), Reason the text
	// of the prompt. They mean what policy.Obligation's fields mean.
	Type    string
	MaxAgeS int
	Reason  string
	// Binding is "" or "event" (the device's report of a match meets the
	// obligation) or "signed" (only a signature of the call by the
	// registered step-up key does); see policy.Obligation.
	Binding string
	// Source is where the rule was read.
	Source Source
}

// MatchesCommand tells whether the rule names the command.
func (r *ObligationRule) MatchesCommand(command string) bool {
	for _, g := range r.Commands {
		if g.Match(command) {
			return true
		}
	}
	return false
}

// MatchesLabel tells whether the rule applies to a caller with these
// window and webview labels.
func (r *ObligationRule) MatchesLabel(window, webview string) bool {
	if len(r.Windows) == 0 && len(r.Webviews) == 0 {
		return true
	}
	for _, g := range r.Windows {
		if g.Match(window) {
			return true
		}
	}
	for _, g := range r.Webviews {
		if g.Match(webview) {
			return true
		}
	}
	return false
}

// extensionFields and obligationFields are the keys the two objects may
// hold. capguard.json is capguard's own format: unknown keys are errors, so
// that a typo cannot silently drop a requirement.
var (
	extensionFields  = []string{"$schema", "obligations"}
	obligationFields = []string{"commands", "windows", "webviews", "type", "max_age_s", "reason", "binding"}
)

// ParseExtension reads capguard.json from data; name is used in messages.
// Errors are *Error values at the offending value (file:line:col), with
// the closest known key for an unknown one.
func ParseExtension(name string, data []byte) (*Extension, error) {
	d, err := decode(name, data, "json")
	if err != nil {
		return nil, err
	}
	return d.extension(d.root)
}

// ReadExtension reads an extension file from disk.
func ReadExtension(p string) (*Extension, error) {
	fsys, name := osFile(p)
	data, err := readFile(fsys, name, p)
	if err != nil {
		return nil, err
	}
	return ParseExtension(p, data)
}

// LoadExtensionFS reads ExtensionFile at the root of fsys (a src-tauri
// directory; dir names it in messages). It returns nil and no error when
// the app has no extension file.
func LoadExtensionFS(fsys fs.FS, dir string) (*Extension, error) {
	if fsys == nil {
		return nil, errNoFS
	}
	display := filepath.Join(dir, ExtensionFile)
	data, err := readFile(fsys, ExtensionFile, display)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseExtension(display, data)
}

// LoadExtension is LoadExtensionFS for a src-tauri directory on disk.
func LoadExtension(dir string) (*Extension, error) {
	return LoadExtensionFS(os.DirFS(dir), dir)
}

// strictFields is fields for capguard's own objects: unknown keys are
// errors naming the closest known one.
func (d *decoder) strictFields(n *doc.Node, ptr, what string, known ...string) (map[string]*doc.Node, error) {
	f, err := d.fields(n, ptr, what, known...)
	if err != nil {
		return nil, err
	}
	for _, m := range n.Members {
		if contains(known, m.Key) {
			continue
		}
		msg := fmt.Sprintf("%s: unknown field %q (expected one of %s)", fieldPath(ptr), m.Key, strings.Join(known, ", "))
		if s := suggestKey(m.Key, known); s != "" {
			msg += "; " + s
		}
		return nil, errorAt(posOf(d.file, m.KeyPos, ptr+"/"+doc.PointerToken(m.Key)), ErrInvalid, msg)
	}
	return f, nil
}

// suggestKey is suggest for the keys of capguard.json, which also sees
// through another spelling of a key ("maxAge", "MaxAgeS" for max_age_s).
func suggestKey(key string, known []string) string {
	if s := suggest(key, known); s != "" {
		return s
	}
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	k := norm(key)
	for _, c := range known {
		if nc := norm(c); len(k) >= 4 && strings.HasPrefix(nc, k) {
			return "did you mean " + strconv.Quote(c) + "?"
		}
	}
	return ""
}

func (d *decoder) extension(n *doc.Node) (*Extension, error) {
	f, err := d.strictFields(n, "", "an object with an obligations list", extensionFields...)
	if err != nil {
		return nil, err
	}
	ext := &Extension{File: d.file}
	if v := f["$schema"]; v != nil {
		if _, err := d.str(v, "/$schema"); err != nil {
			return nil, err
		}
	}
	list := f["obligations"]
	if list == nil {
		return ext, nil
	}
	if list.Kind != doc.Array {
		return nil, d.wrongType(list, "/obligations", "a list of obligation rules")
	}
	for i, it := range list.Items {
		r, err := d.obligationRule(it, "/obligations/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		ext.Obligations = append(ext.Obligations, r)
	}
	return ext, nil
}

func (d *decoder) obligationRule(n *doc.Node, ptr string) (*ObligationRule, error) {
	f, err := d.strictFields(n, ptr, "an obligation rule (an object with commands and type)", obligationFields...)
	if err != nil {
		return nil, err
	}
	for _, field := range []string{"commands", "type"} {
		if f[field] == nil {
			return nil, d.missing(n, ptr, field)
		}
	}
	r := &ObligationRule{Source: d.source(ptr)}
	if r.Commands, err = d.globList(f["commands"], ptr+"/commands"); err != nil {
		return nil, err
	}
	if len(r.Commands) == 0 {
		return nil, d.errAt(f["commands"], ptr+"/commands", ErrInvalid, "%s: expected at least one command", fieldPath(ptr+"/commands"))
	}
	if v := f["windows"]; v != nil {
		if r.Windows, err = d.globList(v, ptr+"/windows"); err != nil {
			return nil, err
		}
	}
	if v := f["webviews"]; v != nil {
		if r.Webviews, err = d.globList(v, ptr+"/webviews"); err != nil {
			return nil, err
		}
	}
	if r.Type, err = d.str(f["type"], ptr+"/type"); err != nil {
		return nil, err
	}
	if r.Type == "" {
		return nil, d.errAt(f["type"], ptr+"/type", ErrInvalid, "%s: expected a non-empty obligation type such as \"biometric\"", fieldPath(ptr+"/type"))
	}
	if v := f["max_age_s"]; v != nil {
		age, ok := int64(-1), v.Kind == doc.Number && v.Int
		if ok {
			age, err = strconv.ParseInt(v.Text, 10, 64)
			ok = err == nil && age >= 0 && age <= math.MaxInt32
		}
		if !ok {
			return nil, d.errAt(v, ptr+"/max_age_s", ErrInvalid, "%s: expected a whole number of seconds from 0 to %d, found %s", fieldPath(ptr+"/max_age_s"), math.MaxInt32, describeNode(v))
		}
		r.MaxAgeS = int(age)
	}
	if v := f["reason"]; v != nil {
		if r.Reason, err = d.str(v, ptr+"/reason"); err != nil {
			return nil, err
		}
	}
	if v := f["binding"]; v != nil {
		if r.Binding, err = d.str(v, ptr+"/binding"); err != nil {
			return nil, err
		}
		switch r.Binding {
		case "event", "signed":
		default:
			return nil, d.errAt(v, ptr+"/binding", ErrInvalid, "%s: expected \"event\" or \"signed\", found %q", fieldPath(ptr+"/binding"), r.Binding)
		}
		if r.Binding == "signed" && r.Type != "biometric" {
			return nil, d.errAt(v, ptr+"/binding", ErrInvalid, "%s: only a \"biometric\" obligation can be signed", fieldPath(ptr+"/binding"))
		}
		if r.Binding == "signed" && r.MaxAgeS > 0 {
			return nil, d.errAt(f["max_age_s"], ptr+"/max_age_s", ErrInvalid, "%s: a signed obligation is met call by call (each call is signed), so max_age_s must be 0 or absent", fieldPath(ptr+"/max_age_s"))
		}
	}
	return r, nil
}

func (d *decoder) globList(n *doc.Node, ptr string) ([]*Glob, error) {
	list, err := d.strList(n, ptr)
	if err != nil {
		return nil, err
	}
	out := make([]*Glob, 0, len(list))
	for i, s := range list {
		p := ptr + "/" + strconv.Itoa(i)
		g, err := CompileGlob(s)
		if err != nil {
			return nil, d.errAt(n.Items[i], p, ErrInvalid, "%s: %v", fieldPath(p), err)
		}
		out = append(out, g)
	}
	return out, nil
}

// Check verifies the extension against the manifests the app resolves
// with: every command pattern must name a command that some permission of
// the manifests allows or denies (a literal pattern), or match at least one
// (a wildcard pattern). A typo in a command name would otherwise leave the
// real command without its obligation. The error is at the pattern, with
// the closest known command names.
func (e *Extension) Check(ms Manifests) error {
	if e == nil {
		return nil
	}
	known := KnownCommands(ms)
	set := make(map[string]bool, len(known))
	for _, c := range known {
		set[c] = true
	}
	for i, r := range e.Obligations {
		for j, g := range r.Commands {
			ok := false
			if g.IsLiteral() {
				ok = set[g.String()]
			} else {
				for _, c := range known {
					if g.Match(c) {
						ok = true
						break
					}
				}
			}
			if ok {
				continue
			}
			msg := fmt.Sprintf("obligations[%d].commands[%d]: no permission of the manifests allows or denies a command %q", i, j, g.String())
			if !g.IsLiteral() {
				msg = fmt.Sprintf("obligations[%d].commands[%d]: the pattern %q matches no command of the manifests", i, j, g.String())
			}
			if s := suggest(g.String(), known); s != "" {
				msg += "; " + s
			}
			return errorAt(r.Source.Position("/commands/"+strconv.Itoa(j)), ErrInvalid, msg)
		}
	}
	return nil
}

// KnownCommands returns the IPC names of every command that a permission
// of the manifests allows or denies, or that has an autogenerated allow-
// or deny- permission, sorted.
func KnownCommands(ms Manifests) []string {
	seen := map[string]bool{}
	for key, m := range ms {
		if m == nil {
			continue
		}
		for _, c := range m.Commands {
			seen[CommandName(key, c)] = true
		}
		for _, p := range m.Permissions {
			if p == nil {
				continue
			}
			for _, c := range p.Commands.Allow {
				seen[CommandName(key, c)] = true
			}
			for _, c := range p.Commands.Deny {
				seen[CommandName(key, c)] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
