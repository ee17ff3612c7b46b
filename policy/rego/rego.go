// Package rego is capguard's policy engine on Open Policy Agent: the
// resolved ACL becomes OPA data, a built-in Rego module (package
// capguard.authz) makes the ACL table's decision exactly as the native
// engine does, and user modules may add denials and obligations ("ask for
// a fresh biometric authentication") on top. A user module can never allow
// what the table denies.
//
// It lives in its own package so that programs that only need the native
// engine (package policy) do not carry OPA.
package rego

import (
	"context"
	_ "embed" // the built-in module
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // time zones for policies' time.clock and time.weekday

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/internal/remote"
	"github.com/open-policy-agent/opa/v1/ast"
	opa "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/types"
)

//go:embed authz.rego
var builtinSource string

// BuiltinFile is the file name of the built-in module in error positions
// and test results.
const BuiltinFile = "capguard/authz.rego"

// Package is the Rego package of the built-in module, where user modules
// add deny and obligations rules.
const Package = "capguard.authz"

// URLMatchBuiltin is the name of the custom Rego built-in function that
// tells whether a page URL matches a remote URL pattern with Tauri's rules
// (acl.CompileRemote): capguard.url_match(pattern, url).
const URLMatchBuiltin = "capguard.url_match"

// ErrPolicy is wrapped by every error about a Rego module: syntax, compile
// and type errors, and rules that break the built-in module's contract. It
// is an acl.ErrInvalid, so acl.IsInputError reports it as bad input.
var ErrPolicy = fmt.Errorf("%w: invalid policy", acl.ErrInvalid)

// ErrEval is wrapped by the errors of a failed evaluation (including an
// invalid obligation); the call is then denied.
var ErrEval = errors.New("policy evaluation failed")

// Module is a Rego source file.
type Module struct {
	// Filename is used in error positions.
	Filename string
	Source   string
}

// Builtin returns the built-in module, for reading or for `opa` tooling.
func Builtin() Module { return Module{Filename: BuiltinFile, Source: builtinSource} }

// reserved are the names the built-in module defines in package
// capguard.authz; user modules may only add to deny and obligations.
var reserved = map[string]bool{
	"cmd": true, "in_context": true, "label_match": true, "has_labels": true, "matched": true,
	"denied_by": true, "table_allow": true, "user_denials": true, "user_obligations": true,
	"allow": true, "decision": true,
}

// Engine decides calls with the built-in module and the user modules. It
// is safe for concurrent use.
type Engine struct {
	resolved *acl.Resolved
	query    opa.PreparedEvalQuery
	remotes  *remote.Matcher
	target   *ast.Term
}

// New prepares an engine for a resolved ACL and user modules (the query is
// prepared once). Errors in the modules are reported as
// "file:row:col: message", each wrapping ErrPolicy.
func New(ctx context.Context, r *acl.Resolved, modules ...Module) (*Engine, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: rego.New: nil resolved ACL", acl.ErrInvalid)
	}
	e := &Engine{resolved: r, remotes: remote.New(nil, policy.OriginCacheSize), target: ast.StringTerm(r.Target.String())}
	data, err := e.data()
	if err != nil {
		return nil, err
	}
	parsed, err := parseModules(modules)
	if err != nil {
		return nil, err
	}
	opts := []func(*opa.Rego){
		opa.Query("data.capguard.authz.decision"),
		opa.Store(inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))),
		opa.StrictBuiltinErrors(true),
		opa.SetRegoVersion(ast.RegoV1),
		urlMatchFunction(e.remotes),
	}
	for _, m := range parsed {
		opts = append(opts, opa.ParsedModule(m))
	}
	q, err := opa.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, policyError(err)
	}
	e.query = q
	return e, nil
}

// parseModules parses the built-in module and the user modules, and checks
// that user modules keep out of the built-in module's names.
func parseModules(modules []Module) ([]*ast.Module, error) {
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1}
	builtin, err := ast.ParseModuleWithOpts(BuiltinFile, builtinSource, popts)
	if err != nil {
		return nil, fmt.Errorf("built-in module: %w", err)
	}
	out := []*ast.Module{builtin}
	var errs []error
	seen := map[string]bool{BuiltinFile: true}
	for _, m := range modules {
		if seen[m.Filename] {
			errs = append(errs, &acl.Error{Pos: acl.Position{File: m.Filename}, Msg: "module given twice (or named like the built-in module)", Err: ErrPolicy})
			continue
		}
		seen[m.Filename] = true
		mod, err := ast.ParseModuleWithOpts(m.Filename, m.Source, popts)
		if err != nil {
			errs = append(errs, policyError(err))
			continue
		}
		if err := checkNamespace(mod); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, mod)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// checkNamespace keeps user modules out of the capguard namespace, except
// for deny and obligations rules (and helpers of their own) in package
// capguard.authz, and for test packages (whose name ends in "_test").
func checkNamespace(mod *ast.Module) error {
	path := strings.TrimPrefix(mod.Package.Path.String(), "data.")
	pos := position(mod.Package.Location)
	if strings.HasSuffix(path, "_test") {
		return nil // a Rego unit test package
	}
	if path != Package && (path == "capguard" || strings.HasPrefix(path, "capguard.")) {
		return &acl.Error{Pos: pos, Err: ErrPolicy,
			Msg: fmt.Sprintf("package %s is reserved: user modules add rules to package %s (deny, obligations) or use a package outside capguard", path, Package)}
	}
	if path != Package {
		return nil
	}
	var errs []error
	for _, r := range mod.Rules {
		ref := r.Head.Ref()
		name := ""
		if len(ref) > 0 {
			if v, ok := ref[0].Value.(ast.Var); ok {
				name = string(v)
			}
		}
		if reserved[name] {
			errs = append(errs, &acl.Error{Pos: position(r.Location), Err: ErrPolicy,
				Msg: fmt.Sprintf("rule %q is defined by capguard's built-in module; in package %s a user module may add deny and obligations rules (and helpers of other names), and can never allow what the ACL denies", name, Package)})
		}
	}
	return errors.Join(errs...)
}

func position(loc *ast.Location) acl.Position {
	if loc == nil {
		return acl.Position{}
	}
	return acl.Position{File: loc.File, Line: loc.Row, Col: loc.Col}
}

// policyError turns OPA's parse and compile errors into positioned errors
// wrapping ErrPolicy.
func policyError(err error) error {
	var list ast.Errors
	if errors.As(err, &list) && len(list) > 0 {
		errs := make([]error, len(list))
		for i, e := range list {
			msg := e.Message
			if e.Code != "" {
				msg = e.Code + ": " + msg
			}
			errs[i] = &acl.Error{Pos: position(e.Location), Msg: msg, Err: ErrPolicy}
		}
		return errors.Join(errs...)
	}
	var one *ast.Error
	if errors.As(err, &one) {
		return &acl.Error{Pos: position(one.Location), Msg: one.Code + ": " + one.Message, Err: ErrPolicy}
	}
	return fmt.Errorf("%w: %v", ErrPolicy, err)
}

// urlMatchFunction registers capguard.url_match for this engine: patterns
// of the ACL use the engine's bounded per-URL cache; other patterns (from
// user modules) are compiled on each call.
func urlMatchFunction(m *remote.Matcher) func(*opa.Rego) {
	return opa.Function2(&opa.Function{
		Name:    URLMatchBuiltin,
		Decl:    types.NewFunction(types.Args(types.S, types.S), types.B),
		Memoize: true,
	}, func(_ opa.BuiltinContext, a, b *ast.Term) (*ast.Term, error) {
		pattern, ok1 := a.Value.(ast.String)
		url, ok2 := b.Value.(ast.String)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: expected two strings", URLMatchBuiltin)
		}
		return ast.BooleanTerm(urlMatch(m, string(pattern), string(url))), nil
	})
}

func urlMatch(m *remote.Matcher, pattern, url string) bool {
	if url == "" {
		return false
	}
	if m != nil {
		if i, ok := m.Index(pattern); ok {
			set, err := m.MatchURL(url)
			return err == nil && set.Has(i)
		}
	}
	p, err := acl.CompileRemote(pattern)
	if err != nil {
		return false
	}
	o, err := acl.ParseOrigin(url)
	return err == nil && p.Match(o)
}

// data is the resolved ACL as OPA data (data.capguard.acl): commands with
// their allow and deny entries, literal labels as sets, glob patterns as
// RE2 expressions.
func (e *Engine) data() (map[string]any, error) {
	commands := map[string]any{}
	get := func(name string) map[string]any {
		c, ok := commands[name].(map[string]any)
		if !ok {
			c = map[string]any{"allow": []any{}, "deny": []any{}}
			commands[name] = c
		}
		return c
	}
	for _, part := range []struct {
		m     map[string][]*acl.ResolvedCommand
		field string
	}{{e.resolved.Allowed, "allow"}, {e.resolved.Denied, "deny"}} {
		for name, list := range part.m {
			entries := make([]any, len(list))
			for i, rc := range list {
				if rc == nil {
					return nil, fmt.Errorf("%w: rego.New: command %q has a nil entry", acl.ErrInvalid, name)
				}
				entry, err := e.entry(rc)
				if err != nil {
					return nil, fmt.Errorf("%w: rego.New: command %q: %v", acl.ErrInvalid, name, err)
				}
				entries[i] = entry
			}
			get(name)[part.field] = entries
		}
	}
	return map[string]any{"capguard": map[string]any{"acl": map[string]any{
		"target":   e.resolved.Target.String(),
		"commands": commands,
	}}}, nil
}

func (e *Engine) entry(rc *acl.ResolvedCommand) (map[string]any, error) {
	out := map[string]any{
		"local":      rc.Context.IsLocal(),
		"capability": rc.Capability,
		"permission": rc.PermissionRef(),
		"scope_id":   json.Number(fmt.Sprint(rc.ScopeID)),
	}
	if !rc.Context.IsLocal() {
		e.remotes.Add(rc.Context.Remote)
		out["remote"] = rc.Context.Remote.String()
	}
	for _, f := range []struct {
		globs        []*acl.Glob
		exact, regex string
	}{{rc.Windows, "windows", "window_globs"}, {rc.Webviews, "webviews", "webview_globs"}} {
		exact := map[string]any{}
		res := []any{}
		for _, g := range f.globs {
			if g == nil {
				return nil, errors.New("nil label pattern")
			}
			if g.IsLiteral() {
				exact[g.String()] = true
				continue
			}
			re, err := globRegexp(g.String())
			if err != nil {
				return nil, err
			}
			res = append(res, re)
		}
		out[f.exact] = exact
		out[f.regex] = res
	}
	return out, nil
}

// Resolved returns the ACL the engine was built from.
func (e *Engine) Resolved() *acl.Resolved { return e.resolved }

// input builds the query input as an OPA value, without a JSON round trip:
// {"command", "window", "webview", "origin": {"local", "url"}, "target"}.
func (e *Engine) input(req policy.Request) ast.Value {
	return ast.NewObject(
		ast.Item(ast.InternedTerm("command"), ast.StringTerm(req.Command)),
		ast.Item(ast.InternedTerm("window"), ast.StringTerm(req.Window)),
		ast.Item(ast.InternedTerm("webview"), ast.StringTerm(req.Webview)),
		ast.Item(ast.InternedTerm("origin"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("local"), ast.InternedTerm(req.Origin.IsLocal())),
			ast.Item(ast.InternedTerm("url"), ast.StringTerm(req.Origin.URL())),
		)),
		ast.Item(ast.InternedTerm("target"), e.target),
	)
}

// Decide evaluates the call. The decision is the table's (with the same
// scope ids, references and reason as the native engine), denied when a
// user module's deny rule fires, and carries the obligations of the user
// modules when allowed. An evaluation error (or a context that is already
// done) denies the call and is returned, wrapping ErrEval.
func (e *Engine) Decide(ctx context.Context, req policy.Request) (policy.Decision, error) {
	if e == nil {
		return policy.Decision{Reason: policy.ErrNilEngine.Error()}, policy.ErrNilEngine
	}
	if err := ctx.Err(); err != nil {
		return failed(fmt.Errorf("%w: %v", ErrEval, err))
	}
	rs, err := e.query.Eval(ctx, opa.EvalParsedInput(e.input(req)))
	if err != nil {
		return failed(fmt.Errorf("%w: %v", ErrEval, err))
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return failed(fmt.Errorf("%w: the built-in decision is undefined", ErrEval))
	}
	out, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return failed(fmt.Errorf("%w: the built-in decision is not an object", ErrEval))
	}
	matched, err1 := pick(out["matched"], e.resolved.Allowed[req.Command])
	denied, err2 := pick(out["denied_by"], e.resolved.Denied[req.Command])
	if err := errors.Join(err1, err2); err != nil {
		return failed(fmt.Errorf("%w: %v", ErrEval, err))
	}
	d := policy.FromEntries(e.resolved, req, matched, denied)
	if tableAllow, _ := out["table_allow"].(bool); tableAllow != d.Allowed {
		return failed(fmt.Errorf("%w: the built-in module's table_allow (%v) disagrees with its entries", ErrEval, tableAllow))
	}
	if !d.Allowed {
		return d, nil
	}
	if denials := messages(out["deny"]); len(denials) > 0 {
		return policy.Decision{Reason: "denied by policy: " + strings.Join(denials, "; ")}, nil
	}
	if allow, _ := out["allow"].(bool); !allow {
		return failed(fmt.Errorf("%w: the built-in module's allow is false for a call the table allows and no rule denies", ErrEval))
	}
	obs, err := obligations(out["obligations"])
	if err != nil {
		return failed(fmt.Errorf("%w: %v", ErrEval, err))
	}
	d.Obligations = obs
	return d, nil
}

func failed(err error) (policy.Decision, error) {
	return policy.Decision{Reason: err.Error()}, err
}

// pick maps the entry indexes the module returned to the entries.
func pick(v any, list []*acl.ResolvedCommand) ([]*acl.ResolvedCommand, error) {
	items, _ := v.([]any)
	var out []*acl.ResolvedCommand
	idx := make([]int, 0, len(items))
	for _, it := range items {
		n, ok := it.(json.Number)
		if !ok {
			return nil, fmt.Errorf("entry index %v is not a number", it)
		}
		i, err := n.Int64()
		if err != nil || i < 0 || int(i) >= len(list) {
			return nil, fmt.Errorf("entry index %v out of range", it)
		}
		idx = append(idx, int(i))
	}
	sort.Ints(idx)
	for _, i := range idx {
		out = append(out, list[i])
	}
	return out, nil
}

// messages returns the user denials as text, in the set's order.
func messages(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
			continue
		}
		b, err := json.Marshal(it)
		if err != nil {
			b = []byte(fmt.Sprint(it))
		}
		out = append(out, string(b))
	}
	return out
}

// obligations reads the obligation objects of the user modules:
// {"type": string, "max_age_s": non-negative integer, "reason": string,
// "binding": "event" or "signed"};
// other keys are refused, so that a typo cannot drop a requirement.
func obligations(v any) ([]policy.Obligation, error) {
	items, _ := v.([]any)
	var out []policy.Obligation
	for _, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("obligation %v is not an object", it)
		}
		var o policy.Obligation
		for k, val := range obj {
			switch k {
			case "type":
				s, ok := val.(string)
				if !ok || s == "" {
					return nil, fmt.Errorf("obligation %v: \"type\" must be a non-empty string", it)
				}
				o.Type = s
			case "max_age_s":
				n, ok := val.(json.Number)
				i, err := n.Int64()
				if !ok || err != nil || i < 0 || i > math.MaxInt32 {
					return nil, fmt.Errorf("obligation %v: \"max_age_s\" must be a whole number of seconds, 0 or more", it)
				}
				o.MaxAgeS = int(i)
			case "reason":
				s, ok := val.(string)
				if !ok {
					return nil, fmt.Errorf("obligation %v: \"reason\" must be a string", it)
				}
				o.Reason = s
			case "binding":
				s, ok := val.(string)
				if !ok || (s != policy.BindingEvent && s != policy.BindingSigned) {
					return nil, fmt.Errorf("obligation %v: \"binding\" must be %q or %q", it, policy.BindingEvent, policy.BindingSigned)
				}
				o.Binding = s
			default:
				return nil, fmt.Errorf("obligation %v: unknown key %q (expected type, max_age_s, reason, binding)", it, k)
			}
		}
		if o.Type == "" {
			return nil, fmt.Errorf("obligation %v has no \"type\"", it)
		}
		out = append(out, o)
	}
	return out, nil
}

// LoadModules reads a .rego file, or every .rego file below a folder (in
// name order), leaving out Rego unit tests (*_test.rego).
func LoadModules(path string) ([]Module, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if !st.IsDir() {
		files = []string{path}
	} else {
		err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%w: no .rego files under %s", ErrPolicy, path)
		}
	}
	out := make([]Module, 0, len(files))
	for _, f := range files {
		src, err := readFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Module{Filename: f, Source: src})
	}
	return out, nil
}

func readFile(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if st.Size() > acl.MaxFileSize {
		return "", &acl.Error{Pos: acl.Position{File: p}, Msg: fmt.Sprintf("file is %d bytes, more than the %d capguard reads", st.Size(), acl.MaxFileSize), Err: acl.ErrTooLarge}
	}
	b, err := os.ReadFile(p)
	return string(b), err
}
