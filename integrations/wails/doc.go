// Package capwails makes capguard the permission system of a Wails v3 app:
// every binding call a page makes through the Wails runtime, every event
// it emits, and every Tauri-style invoke() of a capguard plugin, is
// decided by capguard's guard before any Go code of the app runs.
//
// The package is its own Go module (github.com/capguard/capguard/integrations/wails)
// so that capguard's core module never depends on Wails or on cgo. The
// package name is capwails; the folder is named after the framework. It
// reads the wire format of one Wails release (WailsVersion) and refuses to
// start with another.
//
// An app builds its guarded IPC with capguard (capguard.Load), lists its
// services once, in its application.Options, and lets New install the
// guard there before application.New:
//
//	guarded, _ := capguard.Load("app", acl.Linux, sim.New(sim.Ready()))
//	opts := application.Options{
//		Services: []application.Service{application.NewService(&VaultService{})},
//		Assets:   application.AssetOptions{Handler: assets},
//	}
//	guard, _ := capwails.New(capwails.Config{IPC: guarded.IPC, App: &opts})
//	app := application.New(opts)
//	app.Window.NewWithOptions(application.WebviewWindowOptions{Name: "main", URL: "/"})
//
// # How a Wails call becomes a capguard request
//
// The Wails runtime sends a binding call as GET /wails/runtime with the
// query object=0 (calls), method=0 (call a binding) and args, a JSON object
// holding the call id, the bound method's name ("main.VaultService.OpenVault")
// or its id (the FNV-1a hash of that name), and the method's arguments.
// The guard reads it once and turns it into an ipc.Invocation:
//
//   - Command: the bound method's command. By default the Go method name in
//     snake case ("OpenVault" becomes "open_vault", as a Tauri command is
//     named); Config.Commands renames any method by its full name. A name or
//     id that is not a method of the app's services is refused.
//   - Window and Webview: the name of the Wails window whose webview sent
//     the request, never read from the page: WebKit's URI-scheme handler
//     tells Wails which webview a request comes from, and Wails writes that
//     window's id into the request (x-wails-window-id, overwriting whatever
//     the page sent). A page that sends x-wails-window-name (the header with
//     which the Wails runtime addresses another window) naming a window
//     other than its own is refused.
//   - Origin: acl.LocalOrigin for the app's own pages; the page's origin
//     for a request whose Origin header is another site's.
//   - Args: {"args": [...]}, the method's positional arguments.
//
// An allowed call is run by the guard, with the arguments it decided,
// through Wails's own bindings (application.Bindings, BoundMethod.Call:
// Wails's argument decoding, error marshalers and aliases), and its
// outcome is the answer to the page's own request. Wails itself never
// reads a binding call: the decoder that decides which method runs is the
// only one. (Wails would send the result into the window's top-level
// document, whichever page that is; the answer to a request reaches the
// document that made it and no other.) The bound method finds the guard's
// grant in its context (AccessFrom) and its window under
// application.WindowKey, as with Wails.
//
// # The page's token, and the proof that it is top-level
//
// Every HTML page the asset server serves to a window gets capguard's page
// script first in its <head>, with a fresh random token. The token is
// usable only once the page has proved that it is its window's top-level
// document: the page script asks (Path+"start"), the host runs a challenge
// in the window's top-level document, which a frame never receives, and
// the page sends it back (Path+"prove"). A page in a frame has the token
// but never the challenge; the document above it, a remote page say, gets
// the challenge but has no token. Each window has one active document (the
// last one that proved), a few earlier ones that may prove again (pages
// shown again from the back-forward cache), and a bounded list of pages
// not yet proved, which can only push out one another. A page that
// another site loaded (its Referer or Origin says so) gets no token at
// all.
//
// A request without a token is refused, unless its Origin is another
// site's: it is then decided as a remote call, for the window that sent
// it, so that the capabilities' remote URL patterns apply.
//
// # Events
//
// Events are decided with Tauri's event permissions (core:event:
// allow-emit, allow-emit-to, allow-listen, allow-unlisten), by window and
// origin: an event a page emits through the Wails runtime is
// plugin:event|emit and reaches the application's event bus only when
// allowed; the unmodified @tauri-apps/api/event works in a Wails window
// (listen, once, emit, emitTo), and a page's listeners receive events
// over the page's own poll, never another document's.
//
// # Raw messages
//
// WebKit lets every document of a window post a raw message
// (webkit.messageHandlers.external). The guard's RawMessageHandler, which
// New installs in front of the app's, passes a message on only when the
// page script of the window's current top-level document sent it with its
// token.
//
// # capguard plugins through Tauri's JavaScript
//
// The page script also sets up window.__TAURI_INTERNALS__, so that the
// unmodified @tauri-apps/api and @tauri-apps/plugin-biometric packages
// work in a Wails window: their invoke() posts to Path+"ipc/<command>" on
// the asset server, which the guard answers with the same identity rules.
//
// The Wails runtime's other objects (window, clipboard, dialogs, ...) are
// not capguard commands: the guard only requires the proven page token and
// the caller's own window for them, and hands Wails exactly the query it
// read.
package capwails
