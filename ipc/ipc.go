// Package ipc is capguard's invocation model: what a web frontend's
// invoke() turns into (Invocation), the handlers that answer it, the
// Router where plugins and the app register their commands, and the Guard
// middleware that asks a policy engine before anything else runs.
//
// A Router on its own only holds registrations: it cannot answer a call.
// Router.Guard puts it behind the guard and returns a *Guarded, the only
// type that can dispatch invocations, and the only one transports accept.
// An unguarded router therefore cannot be served: fail closed by
// construction.
//
//	r := ipc.NewRouter()
//	r.HandlePlugin("biometric", "status", statusHandler)   // plugin:biometric|status
//	r.Handle("open_vault", openVault)                      // a bare app command
//	g := r.Guard(engine, ipc.WithScopes(resolved))
//	result, err := g.Invoke(ctx, &ipc.Invocation{Command: "open_vault", Window: "main", ...})
//
// The guard denies with Tauri's texts: "Command <cmd> not allowed by ACL"
// in release style, or with Verbose the full explanation of the decision
// (Tauri's debug-build message). The Go error of a denial is a
// *DeniedError, which errors.Is matches against ErrNotAllowed.
//
// Results and rejections are JSON, as the frontend receives them: a
// handler's value is encoded with encoding/json (without HTML escaping),
// and RejectValue gives the value the frontend's promise rejects with.
//
// The package knows nothing about biometrics, and nothing about how
// invocations arrive (the HTTP bridge that speaks Tauri's IPC is a
// transport built on Guarded).
package ipc

import (
	"context"
	"encoding/json"

	"github.com/capguard/capguard/acl"
)

// Invocation is one IPC call from a frontend:
// invoke("plugin:biometric|authenticate", {reason: "..."}) from the page
// of a webview.
type Invocation struct {
	// Command is "plugin:<plugin>|<command>" or a bare application
	// command.
	Command string
	// Window and Webview are the labels of the caller, as bound by the
	// host (never taken from the page). An empty Webview stands for the
	// window's own webview: the guard uses the window label for it, as a
	// Tauri WebviewWindow has one label for both.
	Window  string
	Webview string
	// Origin is acl.LocalOrigin for the app's own content, or the URL of
	// the remote page that made the call (acl.ParseOrigin): the page's
	// full URL where the transport knows it, since remote URL patterns
	// may name a path. It is required: the guard denies an invocation
	// whose Origin is the zero acl.Origin (ErrNoOrigin).
	Origin acl.Origin
	// Args is the JSON object of arguments; empty stands for {}.
	Args json.RawMessage
	// Raw is the body of a call whose payload is bytes rather than JSON
	// (invoke(cmd, uint8Array): Tauri's application/octet-stream body);
	// Args is then empty. Handlers that take no bytes ignore it.
	Raw []byte
	// Access is what the guard granted. It is nil until the guard has
	// allowed the call; handlers behind the guard always see it set.
	Access *Access

	// load, set by a transport, reads Args or Raw once the guard has
	// allowed the call (the HTTP bridge reads no body of a denied call).
	load func(inv *Invocation) error
}

// Handler answers invocations. The result is encoded as JSON for the
// frontend (nil becomes null, a json.RawMessage is sent as is). A non-nil
// error rejects the call; see RejectValue for what the frontend receives.
type Handler interface {
	ServeIPC(ctx context.Context, inv *Invocation) (any, error)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, inv *Invocation) (any, error)

// ServeIPC calls f.
func (f HandlerFunc) ServeIPC(ctx context.Context, inv *Invocation) (any, error) {
	return f(ctx, inv)
}

// Middleware wraps a handler, as Guard does.
type Middleware func(next Handler) Handler
