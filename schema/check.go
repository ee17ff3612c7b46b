package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"path"
	"strconv"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
	"github.com/dunglas/go-urlpattern"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// capabilityFields are the fields of a capability. Keys starting with "$"
// ("$schema", the editor hint that capability files carry) are metadata
// and pass without a word.
var capabilityFields = []string{"identifier", "description", "remote", "local", "windows", "webviews", "permissions", "platforms"}

var entryFields = []string{"identifier", "allow", "deny"}

// fileCheck is the validation of one capability file (or of the inline
// capabilities of a configuration file).
type fileCheck struct {
	v       *Validator
	name    string
	root    *doc.Node
	targets []acl.Target
	out     []Finding
	// errorAt marks the places (pointers) that already have an error, so
	// that the reader's error for the same value is not repeated.
	errorAt map[string]bool
	// misspelled holds "pointer\x00field" of required fields reported
	// as misspelled, whose absence is not reported again.
	misspelled map[string]bool
}

// FileResult is what validating one capability file yields.
type FileResult struct {
	Findings []Finding
	// Capabilities are the file's capabilities as capguard's reader reads
	// them; nil when the reader rejects the file.
	Capabilities []*acl.Capability
}

// CheckFile validates one capability file: data is its content, name its
// path (the extension picks JSON, JSON5 or TOML). Capabilities that apply
// to one of targets (the targets the manifests were built for; nil means
// every target) are checked against the manifests; the others only for
// their structure, with a note saying so, as Tauri only checks the
// capabilities of the target it builds.
func (v *Validator) CheckFile(name string, data []byte, targets []acl.Target) FileResult {
	fc := &fileCheck{v: v, name: name, targets: targets, errorAt: map[string]bool{}}
	root, ok := fc.parse(data)
	if !ok {
		return FileResult{Findings: fc.out}
	}
	fc.root = root
	for _, c := range fc.capabilityNodes() {
		fc.capability(c.node, c.ptr)
	}
	caps, err := acl.ParseCapabilityFile(name, data)
	if err != nil {
		fc.readerError(err)
		caps = nil
	}
	return FileResult{Findings: fc.out, Capabilities: caps}
}

func (fc *fileCheck) add(sev Severity, rule, ptr string, atKey bool, format string, args ...any) {
	fc.out = append(fc.out, Finding{Severity: sev, Rule: rule, Pos: fc.pos(ptr, atKey), Message: fmt.Sprintf(format, args...)})
	if sev == Error {
		fc.errorAt[ptr] = true
	}
}

// pos is the position of the value at ptr (or of its key).
func (fc *fileCheck) pos(ptr string, atKey bool) acl.Position {
	p := acl.Position{File: fc.name, Pointer: ptr}
	if fc.root == nil {
		return p
	}
	var dp doc.Pos
	if atKey {
		dp, _ = fc.root.KeyPos(ptr)
	} else {
		n, _ := fc.root.Lookup(ptr)
		dp = n.Pos
	}
	p.Line, p.Col = dp.Line, dp.Col
	return p
}

func (fc *fileCheck) parse(data []byte) (*doc.Node, bool) {
	if len(data) > acl.MaxFileSize {
		fc.out = append(fc.out, Finding{Severity: Error, Rule: RuleSyntax, Pos: acl.Position{File: fc.name},
			Message: fmt.Sprintf("the file is %.1f MiB; capguard reads files of at most %d MiB", float64(len(data))/(1<<20), acl.MaxFileSize>>20)})
		return nil, false
	}
	var n *doc.Node
	var err error
	switch ext := strings.ToLower(path.Ext(fc.name)); ext {
	case ".json":
		n, err = doc.ParseJSON(data)
	case ".json5":
		n, err = doc.ParseJSON5(data)
	case ".toml":
		n, err = doc.ParseTOML(data)
	default:
		fc.out = append(fc.out, Finding{Severity: Error, Rule: RuleSyntax, Pos: acl.Position{File: fc.name},
			Message: fmt.Sprintf("unknown file format %q: capability files are .json, .json5 or .toml", ext)})
		return nil, false
	}
	if err != nil {
		var se *doc.SyntaxError
		p := acl.Position{File: fc.name}
		msg := err.Error()
		if errors.As(err, &se) {
			p.Line, p.Col = se.Pos.Line, se.Pos.Col
			msg = se.Msg
		}
		fc.out = append(fc.out, Finding{Severity: Error, Rule: RuleSyntax, Pos: p,
			Message: "invalid " + strings.ToUpper(strings.TrimPrefix(path.Ext(fc.name), ".")) + ": " + msg})
		return nil, false
	}
	return n, true
}

type capNode struct {
	node *doc.Node
	ptr  string
}

// capabilityNodes finds the capabilities of the three file shapes: one
// capability, a list, or {"capabilities": [...]}.
func (fc *fileCheck) capabilityNodes() []capNode {
	var items []*doc.Node
	base := ""
	switch fc.root.Kind {
	case doc.Array:
		items = fc.root.Items
	case doc.Object:
		list := fc.root.Get("capabilities")
		if list == nil {
			return []capNode{{fc.root, ""}}
		}
		if list.Kind != doc.Array {
			fc.add(Error, RuleSchema, "/capabilities", false, "capabilities: expected an array of capabilities, found %s", list.Kind)
			return nil
		}
		items, base = list.Items, "/capabilities"
	default:
		fc.add(Error, RuleSchema, "", false, "expected a capability, a list of capabilities or an object with a \"capabilities\" list, found %s", fc.root.Kind)
		return nil
	}
	out := make([]capNode, len(items))
	for i, it := range items {
		out[i] = capNode{it, base + "/" + strconv.Itoa(i)}
	}
	return out
}

// activeNode tells whether the capability at n applies to one of the
// targets, reading its platforms list as Tauri does (absent or null:
// every platform). An unreadable list counts as active, so that the
// capability is checked fully.
func (fc *fileCheck) activeNode(n *doc.Node) bool {
	if fc.targets == nil {
		return true
	}
	pl := n.Get("platforms")
	if pl == nil || pl.Kind == doc.Null {
		return true
	}
	if pl.Kind != doc.Array {
		return true
	}
	for _, it := range pl.Items {
		t, err := acl.ParseTarget(it.Text)
		if it.Kind != doc.String || err != nil {
			return true
		}
		for _, want := range fc.targets {
			if t == want {
				return true
			}
		}
	}
	return false
}

// capability checks one capability node at ptr.
func (fc *fileCheck) capability(n *doc.Node, ptr string) {
	active := fc.activeNode(n)
	sch := fc.v.capability
	if !active {
		sch = fc.v.loose
		fc.notChecked(n, ptr)
	}
	misspelled := fc.unknownFields(n, ptr, capabilityFields, "capability")
	if err := sch.Validate(instance(n)); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			fc.add(Error, RuleSchema, ptr, false, "%v", err)
		} else {
			fc.schemaProblems(fc.v.explainer.explain(ve), ptr, misspelled)
		}
	}
	if n.Kind != doc.Object {
		return
	}
	fc.labels(n, ptr)
	fc.remote(n, ptr)
	fc.permissions(n, ptr, active)
}

// notChecked notes that a capability of other targets was only checked
// for its structure.
func (fc *fileCheck) notChecked(n *doc.Node, ptr string) {
	var pl []string
	for _, it := range n.Get("platforms").Items {
		pl = append(pl, it.Text)
	}
	id := "this capability"
	if s := n.Get("identifier"); s != nil && s.Kind == doc.String {
		id = "capability " + strconv.Quote(s.Text)
	}
	fc.add(Note, RuleNotChecked, ptr+"/platforms", true,
		"%s applies to %s only, and the manifests come from a build for %s: its permissions and scopes were checked for their form, not against the plugins (Tauri checks them when it builds for %s)",
		id, strings.Join(pl, ", "), targetList(fc.targets), strings.Join(pl, " or "))
}

func targetList(ts []acl.Target) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, "/")
}

// schemaProblems turns problems of the capability at base into findings.
func (fc *fileCheck) schemaProblems(ps []problem, base string, misspelled map[string]bool) {
	for _, p := range ps {
		if p.identifier || p.unique {
			continue // reported by the identifier and duplicate checks
		}
		if len(p.missing) == 1 && misspelled[p.missing[0]] {
			continue // reported at the misspelled key
		}
		ptr := base + p.ptr
		where := fieldPath(p.ptr)
		if where != "" {
			where += ": "
		}
		if m := scopeBlock.FindStringSubmatch(p.schema); m != nil {
			i, _ := strconv.Atoi(m[1])
			plugin := "a plugin"
			if i < len(fc.v.scoped) {
				plugin = "the " + acl.DisplayKey(fc.v.scoped[i]) + " plugin"
			}
			fc.add(Error, RuleScope, ptr, p.atKey,
				"%sthis %s entry does not fit %s's scope schema: %s. Tauri's build does not check scopes; the plugin fails to read the entry when the command runs",
				where, m[2], plugin, p.msg)
			continue
		}
		fc.add(Error, RuleSchema, ptr, p.atKey, "%s%s", where, p.msg)
	}
}

// unknownFields reports the fields Tauri ignores: an error when the name
// is a near miss of a field (the setting it was meant to carry is lost),
// a warning otherwise. It returns the fields that were misspelled.
func (fc *fileCheck) unknownFields(n *doc.Node, ptr string, known []string, what string) map[string]bool {
	if n.Kind != doc.Object {
		return nil
	}
	var misspelled map[string]bool
	for _, m := range n.Members {
		if strings.HasPrefix(m.Key, "$") || contains(known, m.Key) {
			continue // "$schema" and other "$" keys are editor metadata
		}
		at := ptr + "/" + doc.PointerToken(m.Key)
		if c := nearMiss(m.Key, known); c != "" && n.Get(c) == nil {
			if misspelled == nil {
				misspelled = map[string]bool{}
			}
			misspelled[c] = true
			if fc.misspelled == nil {
				fc.misspelled = map[string]bool{}
			}
			fc.misspelled[ptr+"\x00"+c] = true
			fc.add(Error, RuleUnknownField, at, true,
				"unknown field %q in a %s; did you mean %q? Tauri ignores unknown fields, so this %s has no %q",
				m.Key, what, c, what, c)
			continue
		}
		hint := ""
		if m.Key == "context" && what == "capability" {
			hint = ` ("context" is from Tauri 2 betas; "local" and "remote" replaced it)`
		}
		fc.add(Warning, RuleUnknownField, at, true,
			"unknown field %q in a %s: Tauri ignores it%s; known fields are %s", m.Key, what, hint, strings.Join(known, ", "))
	}
	return misspelled
}

// nearMiss returns the known name that s is a typo of, or "".
func nearMiss(s string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(s, k) {
			return k
		}
	}
	if c := closest(s, known, 1); len(c) == 1 {
		return c[0]
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// labels checks the window and webview patterns, and that there is one.
func (fc *fileCheck) labels(n *doc.Node, ptr string) {
	count := 0
	for _, field := range []string{"windows", "webviews"} {
		list := n.Get(field)
		if list == nil || list.Kind != doc.Array {
			continue
		}
		for i, it := range list.Items {
			if it.Kind != doc.String {
				continue
			}
			count++
			if msg := fc.v.checkPattern(it.Text, false); msg != "" {
				fc.add(Error, RuleGlob, ptr+"/"+field+"/"+strconv.Itoa(i), false,
					"%s[%d]: invalid pattern %q: %s", field, i, it.Text, msg)
			}
		}
	}
	if count == 0 {
		where := ptr + "/identifier"
		if n.Get("identifier") == nil {
			where = ptr
		}
		fc.add(Warning, RuleNoWindow, where, where != ptr,
			"%s lists no windows and no webviews, so no window can use it; add \"windows\": [\"main\"] (or the labels it is meant for)", capName(n))
	}
}

func capName(n *doc.Node) string {
	if s := n.Get("identifier"); s != nil && s.Kind == doc.String {
		return "capability " + strconv.Quote(s.Text)
	}
	return "the capability"
}

// remote checks the remote URL patterns.
func (fc *fileCheck) remote(n *doc.Node, ptr string) {
	r := n.Get("remote")
	if r == nil || r.Kind != doc.Object {
		return
	}
	fc.unknownFields(r, ptr+"/remote", []string{"urls"}, "remote")
	urls := r.Get("urls")
	if urls == nil || urls.Kind != doc.Array {
		return
	}
	for i, it := range urls.Items {
		if it.Kind != doc.String {
			continue
		}
		if msg := fc.v.checkPattern(it.Text, true); msg != "" {
			fc.add(Error, RuleRemoteURL, ptr+"/remote/urls/"+strconv.Itoa(i), false, "remote.urls[%d]: %s", i, msg)
		} else if p := patternPath(it.Text); p != "" {
			fc.add(Warning, RuleRemotePath, ptr+"/remote/urls/"+strconv.Itoa(i), false,
				"remote.urls[%d]: the pattern matches only the paths %s; Tauri matches the page's full URL, but capguard's HTTP bridge knows only the page's origin (and its URL when the page sends a same-origin Referer), so calls from these pages are decided on origin + \"/\" and denied there; a path is no boundary between pages of one origin anyway (docs/security.md)", i, strconv.Quote(p))
		}
	}
}

// RuleRemotePath warns about a remote URL pattern with a path, which the
// HTTP bridge cannot enforce as Tauri does (it decides on the origin).
const RuleRemotePath = "remote-path"

// patternPath returns the pathname of a remote URL pattern when it
// restricts the path, "" when it matches any path (or does not compile).
func patternPath(s string) string {
	p, err := urlpattern.New(s, "", nil)
	if err != nil {
		return ""
	}
	switch path := p.Pathname(); path {
	case "", "/", "*", "/*", "(.*)", "/(.*)":
		return ""
	default:
		return path
	}
}

// permissions checks the permission entries: known identifiers (when the
// capability applies to the manifests' targets), fields, duplicates.
func (fc *fileCheck) permissions(n *doc.Node, ptr string, active bool) {
	list := n.Get("permissions")
	if list == nil || list.Kind != doc.Array {
		return
	}
	seen := make(map[string]int, len(list.Items))
	for i, it := range list.Items {
		at := ptr + "/permissions/" + strconv.Itoa(i)
		key := canonical(it)
		if j, dup := seen[key]; dup {
			first := fc.pos(ptr+"/permissions/"+strconv.Itoa(j), false)
			fc.add(Warning, RuleDuplicatePermission, at, false,
				"permissions[%d] repeats permissions[%d] (line %d); Tauri accepts the repeat, but the schema's uniqueItems rule rejects it and editors flag it", i, j, first.Line)
		} else {
			seen[key] = i
		}
		idNode, idPtr := it, at
		if it.Kind == doc.Object {
			fc.unknownFields(it, at, entryFields, "permission entry")
			idNode, idPtr = it.Get("identifier"), at+"/identifier"
		}
		if idNode == nil || idNode.Kind != doc.String || !active {
			continue
		}
		fc.identifier(idNode.Text, idPtr)
	}
}

// canonical is a key under which JSON-equal values (as uniqueItems
// compares them: numbers by value, objects whatever their key order)
// collide.
func canonical(n *doc.Node) string {
	if n.Kind == doc.String {
		return n.Text
	}
	var b strings.Builder
	b.WriteByte(0)
	writeCanonical(&b, instance(n))
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for _, k := range sortedKeys(v) {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, it := range v {
			writeCanonical(b, it)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(v)); ok {
			b.WriteString("n" + r.String())
		} else {
			b.WriteString("n" + string(v))
		}
	case string:
		b.WriteString(strconv.Quote(v))
	default:
		fmt.Fprintf(b, "%T:%v", v, v)
	}
}

// identifier reports a permission identifier that no manifest defines.
func (fc *fileCheck) identifier(s, ptr string) {
	if fc.v.known[s] {
		return
	}
	id, err := acl.ParseIdentifier(s)
	if err != nil {
		fc.add(Error, RuleInvalid, ptr, false, "%s", strings.TrimPrefix(err.Error(), acl.ErrInvalidIdentifier.Error()+" "))
		return
	}
	key := id.Key()
	m, ok := fc.v.manifests[key]
	if ok && id.Base() == "default" && m.Default == nil {
		fc.add(Warning, RuleUnknownPermission, ptr, false,
			"%q grants nothing: %s has no default permission set (Tauri accepts the name, the schema does not list it); name the permissions this capability needs", s, acl.DisplayKey(key))
		return
	}
	if !ok {
		if key == acl.AppKey {
			fc.add(Error, RuleUnknownPermission, ptr, false,
				"unknown permission %q: the manifests have no application permissions (%s) and it names no plugin%s",
				s, acl.AppKey, didYouMean(closest(s, fc.v.ids, 3)))
			return
		}
		fc.add(Error, RuleUnknownPlugin, ptr, false,
			"permission %q names the plugin %q, which is not in the manifests: the app does not use it (add the plugin to Cargo.toml and register it, then build once) or the permission is misspelled%s",
			s, acl.DisplayKey(key), didYouMean(closest(s, fc.v.ids, 3)))
		return
	}
	fc.add(Error, RuleUnknownPermission, ptr, false, "unknown permission %q for %s%s",
		s, acl.DisplayKey(key), didYouMean(closest(s, fc.v.ids, 3)))
}

// readerError reports what capguard's reader (acl) rejects, unless a
// finding already points at the same value.
func (fc *fileCheck) readerError(err error) {
	var ae *acl.Error
	if !errors.As(err, &ae) {
		fc.out = append(fc.out, Finding{Severity: Error, Rule: RuleInvalid, Pos: acl.Position{File: fc.name}, Message: err.Error()})
		return
	}
	if fc.errorAt[ae.Pos.Pointer] {
		return
	}
	if _, field, ok := strings.Cut(ae.Msg, "missing field "); ok {
		if f, err := strconv.Unquote(field); err == nil && fc.misspelled[ae.Pos.Pointer+"\x00"+f] {
			return
		}
	}
	for _, f := range fc.out {
		if f.Severity == Error && f.Pos.Line == ae.Pos.Line && f.Pos.Col == ae.Pos.Col {
			return
		}
	}
	pos := ae.Pos
	if pos.File == "" {
		pos.File = fc.name
	}
	fc.out = append(fc.out, Finding{Severity: Error, Rule: RuleInvalid, Pos: pos, Message: ae.Msg})
}
