package biometric

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
)

// BiometryName is the name of the community plugin tauri-plugin-biometry
// (npm: @choochmeque/tauri-plugin-biometry-api), which capguard serves
// beside Tauri's own biometric plugin: its manifest key, the prefix of its
// permission identifiers and of its commands ("plugin:biometry|get_data").
// It adds secure storage to status and authenticate: secrets that only a
// fresh authentication unlocks.
const BiometryName = "biometry"

//go:embed biometry/scope-schema.json
var biometryScopeSchema []byte

// BiometryPermissions returns the biometry plugin's permission folder:
// default.toml (status and authenticate only) and the allow/deny pair of
// every command, generated as Tauri's plugin build does.
func BiometryPermissions() fs.FS {
	sub, err := fs.Sub(permissionFS, "biometry/permissions")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

// BiometryManifest returns the biometry plugin's ACL manifest, with the
// scope schema of its storage commands ({domain, name?}).
func BiometryManifest() (*acl.Manifest, error) {
	files, err := acl.LoadPermissionFS(BiometryPermissions(), ".", func(p string) string { return "biometric/biometry/permissions/" + p })
	if err != nil {
		return nil, err
	}
	return acl.NewManifest(files, json.RawMessage(biometryScopeSchema)), nil
}

// BiometryCommands returns the biometry plugin's commands in the order of
// its build script (and of its permission files).
func BiometryCommands() []string {
	return []string{"authenticate", "status", "has_data", "get_data", "set_data", "remove_data"}
}

// ScopeEntry is one allow or deny entry of the storage commands' scope: a
// domain, and optionally one name within it (without a name the entry
// covers every name of the domain).
type ScopeEntry struct {
	Domain string  `json:"domain"`
	Name   *string `json:"name,omitempty"`
}

func (e ScopeEntry) covers(domain, name string) bool {
	return e.Domain == domain && (e.Name == nil || *e.Name == name)
}

// scopeAllows applies tauri-plugin-biometry's rule: a deny entry that
// covers the record refuses it, then an allow entry must cover it. Unlike
// Tauri's generic rule, no allow entry means nothing is allowed.
func scopeAllows(s ipc.Scope[ScopeEntry], domain, name string) (bool, string) {
	for _, d := range s.Deny {
		if d.covers(domain, name) {
			return false, "is denied by the capability's scope"
		}
	}
	for _, a := range s.Allow {
		if a.covers(domain, name) {
			return true, ""
		}
	}
	return false, "is not in the capability's allow list: add {\"domain\": ...} (and optionally \"name\") to the allow entries of the permission"
}

// BiometryStatus is the status object of tauri-plugin-biometry. Its
// biometryType numbers the sensors as that plugin's TypeScript enum does
// (None 0, Auto 1, TouchID 2, FaceID 3, Iris 4), one more than
// @tauri-apps/plugin-biometric's.
type BiometryStatus struct {
	IsAvailable  bool   `json:"isAvailable"`
	BiometryType int    `json:"biometryType"`
	Error        string `json:"error,omitempty"`
	ErrorCode    Code   `json:"errorCode,omitempty"`
}

// biometryType maps a sensor type to tauri-plugin-biometry's enum.
func biometryType(t BiometryType) int {
	switch t {
	case TouchID:
		return 2
	case FaceID:
		return 3
	case Iris:
		return 4
	}
	return 0
}

// BiometryError is an error as tauri-plugin-biometry's commands reject:
// the promise rejects with a string, "[code] - message" (the text of
// Tauri's mobile ErrorResponse), or, for a scope refusal, "scopeDenied:
// biometry (domain, name) ...". errors.Is matches it by code.
type BiometryError struct {
	Err *Error
	// scope is set for a scope refusal: the text is then the plugin's
	// "scopeDenied: biometry (domain, name) why".
	scope string
}

// Error returns the text the promise rejects with.
func (e *BiometryError) Error() string {
	if e.scope != "" {
		return e.scope
	}
	if e.Err.Code == "" {
		return e.Err.Message
	}
	return "[" + string(e.Err.Code) + "] - " + e.Err.Message
}

// Unwrap returns the *Error with the code.
func (e *BiometryError) Unwrap() error { return e.Err }

// MarshalJSON writes the rejection: a JSON string.
func (e *BiometryError) MarshalJSON() ([]byte, error) { return []byte(quote(e.Error())), nil }

// biometryFailure turns any error of the core into the plugin's
// rejection.
func biometryFailure(err error) error {
	if err == nil {
		return nil
	}
	var be *BiometryError
	if errors.As(err, &be) {
		return be
	}
	if e, ok := asError(err); ok {
		return &BiometryError{Err: e}
	}
	return &BiometryError{Err: &Error{Message: err.Error(), Err: err}}
}

// SecretOp names a secure-storage command in a SecretEvent.
type SecretOp string

// The secure-storage operations.
const (
	SecretSet    SecretOp = "set_data"
	SecretGet    SecretOp = "get_data"
	SecretHas    SecretOp = "has_data"
	SecretRemove SecretOp = "remove_data"
)

// SecretEvent is the account of one secure-storage call that reached the
// plugin (the guard allowed the command): which record, for which caller,
// and how it ended. It never holds the data.
type SecretEvent struct {
	Op      SecretOp
	Domain  string
	Name    string
	Window  string
	Webview string
	Origin  string
	// Code is "" on success, otherwise the error's code (scopeDenied for
	// a record the capability's scope does not allow).
	Code Code
	// Message is the error's text ("" on success).
	Message string
	// Binding is how the device released the secret (get_data), or
	// sealed it (set_data).
	Binding native.Binding
}

// OnSecretAccess reports every secure-storage call to f (capguard.WithAudit
// records them). f runs on the caller's goroutine and must be quick.
func OnSecretAccess(f func(SecretEvent)) Option {
	return func(b *Biometric) { b.onSecret = append(b.onSecret, f) }
}

func (b *Biometric) reportSecret(inv *ipc.Invocation, op SecretOp, domain, name string, err error) {
	if len(b.onSecret) == 0 {
		return
	}
	ev := SecretEvent{Op: op, Domain: domain, Name: name, Window: inv.Window, Webview: inv.Webview, Origin: inv.Origin.String()}
	if bind, ok := b.VaultBinding(); ok {
		ev.Binding = bind
	}
	if err != nil {
		ev.Message = err.Error()
		if c, ok := native.CodeOf(err); ok {
			ev.Code = c
		} else {
			ev.Code = InternalError
		}
	}
	for _, f := range b.onSecret {
		f(ev)
	}
}

// RegisterBiometry registers the biometry plugin's commands on a router:
//
//	plugin:biometry|status       → Status, as BiometryStatus
//	plugin:biometry|authenticate → Authenticate ({reason, options})
//	plugin:biometry|has_data     → HasData ({options: {domain, name}}), a boolean
//	plugin:biometry|get_data     → GetData ({options: {domain, name, reason, cancelTitle?, title?, subtitle?}}),
//	                               {domain, name, data}
//	plugin:biometry|set_data     → SetData ({options: {domain, name, data}}), null
//	plugin:biometry|remove_data  → RemoveData ({options: {domain, name}}), null
//
// The storage commands check the record against their scope ({domain,
// name?}: deny wins, and no allow entry allows nothing) before the device
// sees the call; a refusal rejects with "scopeDenied: biometry (domain,
// name) ...". Every other failure rejects with "[code] - message".
func (b *Biometric) RegisterBiometry(r *ipc.Router) error {
	if r == nil {
		return fmt.Errorf("biometric: RegisterBiometry on a nil router")
	}
	for _, c := range []struct {
		cmd string
		h   ipc.HandlerFunc
	}{
		{"status", b.serveBiometryStatus},
		{"authenticate", b.serveBiometryAuthenticate},
		{"has_data", b.serveHasData},
		{"get_data", b.serveGetData},
		{"set_data", b.serveSetData},
		{"remove_data", b.serveRemoveData},
	} {
		if err := r.HandlePlugin(BiometryName, c.cmd, c.h); err != nil {
			return err
		}
	}
	return nil
}

func (b *Biometric) serveBiometryStatus(ctx context.Context, _ *ipc.Invocation) (any, error) {
	st, _ := b.Status(ctx)
	return BiometryStatus{IsAvailable: st.IsAvailable, BiometryType: biometryType(st.BiometryType), Error: st.Error, ErrorCode: st.ErrorCode}, nil
}

func (b *Biometric) serveBiometryAuthenticate(ctx context.Context, inv *ipc.Invocation) (any, error) {
	a, err := newArgs("authenticate", inv.Args)
	if err != nil {
		return nil, biometryFailure(err)
	}
	reason, err := a.str(a.root, "reason", true)
	if err != nil {
		return nil, biometryFailure(err)
	}
	opts, err := a.authOptions()
	if err != nil {
		return nil, biometryFailure(err)
	}
	return nil, biometryFailure(b.Authenticate(ctx, reason, opts))
}

// record reads and checks the record of a storage call, and its scope.
func (b *Biometric) record(inv *ipc.Invocation, a *args) (domain, name string, err error) {
	if domain, err = a.str(a.opts, "domain", true); err != nil {
		return "", "", err
	}
	if name, err = a.str(a.opts, "name", true); err != nil {
		return "", "", err
	}
	scope, err := ipc.DecodeScope[ScopeEntry](inv)
	if err != nil {
		return domain, name, &BiometryError{Err: &Error{Code: ScopeDenied, Message: err.Error(), Err: err},
			scope: fmt.Sprintf("scopeDenied: biometry (%s, %s) has no readable scope: %v", domain, name, err)}
	}
	if ok, why := scopeAllows(scope, domain, name); !ok {
		return domain, name, &BiometryError{Err: &Error{Code: ScopeDenied, Message: why},
			scope: fmt.Sprintf("scopeDenied: biometry (%s, %s) %s", domain, name, why)}
	}
	return domain, name, nil
}

func (b *Biometric) serveHasData(ctx context.Context, inv *ipc.Invocation) (any, error) {
	a, err := newStorageArgs("has_data", inv.Args)
	if err != nil {
		return nil, biometryFailure(err)
	}
	domain, name, err := b.record(inv, a)
	if err == nil {
		var ok bool
		if ok, err = b.HasData(ctx, domain, name); err == nil {
			b.reportSecret(inv, SecretHas, domain, name, nil)
			return ok, nil
		}
		if c, _ := native.CodeOf(err); c == InvalidInput {
			// As the plugin on Android and Windows: a record that cannot
			// exist does not.
			b.reportSecret(inv, SecretHas, domain, name, nil)
			return false, nil
		}
	}
	b.reportSecret(inv, SecretHas, domain, name, err)
	return nil, biometryFailure(err)
}

func (b *Biometric) serveGetData(ctx context.Context, inv *ipc.Invocation) (any, error) {
	a, err := newStorageArgs("get_data", inv.Args)
	if err != nil {
		return nil, biometryFailure(err)
	}
	domain, name, err := b.record(inv, a)
	if err != nil {
		b.reportSecret(inv, SecretGet, domain, name, err)
		return nil, biometryFailure(err)
	}
	reason, err := a.str(a.opts, "reason", true)
	if err != nil {
		return nil, biometryFailure(err)
	}
	var opts AuthOptions
	for _, f := range []struct {
		key string
		dst *string
	}{{"cancelTitle", &opts.CancelTitle}, {"title", &opts.Title}, {"subtitle", &opts.Subtitle}} {
		if *f.dst, err = a.str(a.opts, f.key, false); err != nil {
			return nil, biometryFailure(err)
		}
	}
	data, err := b.GetData(ctx, domain, name, reason, opts)
	b.reportSecret(inv, SecretGet, domain, name, err)
	if err != nil {
		return nil, biometryFailure(err)
	}
	return dataResponse{Domain: domain, Name: name, Data: string(data)}, nil
}

// dataResponse is get_data's answer.
type dataResponse struct {
	Domain string `json:"domain"`
	Name   string `json:"name"`
	Data   string `json:"data"`
}

func (b *Biometric) serveSetData(ctx context.Context, inv *ipc.Invocation) (any, error) {
	a, err := newStorageArgs("set_data", inv.Args)
	if err != nil {
		return nil, biometryFailure(err)
	}
	domain, name, err := b.record(inv, a)
	if err == nil {
		var data string
		if data, err = a.str(a.opts, "data", true); err != nil {
			return nil, biometryFailure(err)
		}
		err = b.SetData(ctx, domain, name, []byte(data), AuthOptions{})
	}
	b.reportSecret(inv, SecretSet, domain, name, err)
	return nil, biometryFailure(err)
}

func (b *Biometric) serveRemoveData(ctx context.Context, inv *ipc.Invocation) (any, error) {
	a, err := newStorageArgs("remove_data", inv.Args)
	if err != nil {
		return nil, biometryFailure(err)
	}
	domain, name, err := b.record(inv, a)
	if err == nil {
		err = b.RemoveData(ctx, domain, name)
	}
	b.reportSecret(inv, SecretRemove, domain, name, err)
	return nil, biometryFailure(err)
}

// args reads the arguments of a biometry command as serde reads them into
// the plugin's Rust structs: strings must be strings, unknown fields are
// ignored, and errors read as Tauri's ("invalid args `options` for command
// `get_data`: missing field `reason`").
type args struct {
	cmd  string
	root *doc.Node
	opts *doc.Node // root.options, for the storage commands
}

func newArgs(cmd string, raw json.RawMessage) (*args, error) {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	root, err := doc.ParseJSON(raw)
	if err != nil {
		return nil, &argsError{command: cmd, detail: fmt.Sprintf("the arguments are not valid JSON: %v", err)}
	}
	if root.Kind != doc.Object {
		return nil, &argsError{command: cmd, detail: fmt.Sprintf("expected an object of arguments, found %s", root.Kind)}
	}
	return &args{cmd: cmd, root: root}, nil
}

// newStorageArgs reads {options: {...}}, the shape of every storage
// command's arguments.
func newStorageArgs(cmd string, raw json.RawMessage) (*args, error) {
	a, err := newArgs(cmd, raw)
	if err != nil {
		return nil, err
	}
	n := a.root.Get("options")
	if n == nil || n.Kind == doc.Null {
		return nil, &argsError{command: cmd, key: "options", detail: fmt.Sprintf("command %s missing required key options", cmd)}
	}
	if n.Kind != doc.Object {
		return nil, &argsError{command: cmd, key: "options", detail: fmt.Sprintf("invalid type: %s, expected an object", n.Kind)}
	}
	a.opts = n
	return a, nil
}

// key names the argument an error is about: the top-level key of the
// command's Rust signature.
func (a *args) key(obj *doc.Node) string {
	if obj == a.opts && a.opts != nil {
		return "options"
	}
	return ""
}

func (a *args) str(obj *doc.Node, field string, required bool) (string, error) {
	n := obj.Get(field)
	if n == nil || n.Kind == doc.Null {
		if !required {
			return "", nil
		}
		if key := a.key(obj); key != "" {
			return "", &argsError{command: a.cmd, key: key, detail: fmt.Sprintf("missing field `%s`", field)}
		}
		return "", &argsError{command: a.cmd, key: field, detail: fmt.Sprintf("command %s missing required key %s", a.cmd, field)}
	}
	if n.Kind != doc.String {
		key := a.key(obj)
		if key == "" {
			key = field
		}
		return "", &argsError{command: a.cmd, key: key, detail: fmt.Sprintf("invalid type for `%s`: %s, expected a string", field, n.Kind)}
	}
	return n.Text, nil
}

func (a *args) boolean(obj *doc.Node, field string) (*bool, error) {
	n := obj.Get(field)
	if n == nil || n.Kind == doc.Null {
		return nil, nil
	}
	if n.Kind != doc.Bool {
		return nil, &argsError{command: a.cmd, key: "options", detail: fmt.Sprintf("invalid type for `%s`: %s, expected a boolean", field, n.Kind)}
	}
	v := n.Bool
	return &v, nil
}

// authOptions reads the options object of authenticate (absent or null
// means the defaults).
func (a *args) authOptions() (AuthOptions, error) {
	var o AuthOptions
	n := a.root.Get("options")
	if n == nil || n.Kind == doc.Null {
		return o, nil
	}
	if n.Kind != doc.Object {
		return o, &argsError{command: a.cmd, key: "options", detail: fmt.Sprintf("invalid type: %s, expected an object", n.Kind)}
	}
	a.opts = n
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"cancelTitle", &o.CancelTitle}, {"title", &o.Title}, {"subtitle", &o.Subtitle}} {
		if *f.dst, err = a.str(n, f.key, false); err != nil {
			return o, err
		}
	}
	if fb := n.Get("fallbackTitle"); fb != nil && fb.Kind != doc.Null {
		s, err := a.str(n, "fallbackTitle", false)
		if err != nil {
			return o, err
		}
		o.FallbackTitle = &s
	}
	allow, err := a.boolean(n, "allowDeviceCredential")
	if err != nil {
		return o, err
	}
	o.AllowDeviceCredential = allow != nil && *allow
	if o.ConfirmationRequired, err = a.boolean(n, "confirmationRequired"); err != nil {
		return o, err
	}
	return o, nil
}
