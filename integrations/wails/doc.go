// Package capwails makes capguard the permission system of a Wails v3 app:
// every binding call a page makes through the Wails runtime, and every
// Tauri-style invoke() of a capguard plugin, is decided by capguard's guard
// before any Go code of the app runs.
//
// The package is its own Go module (github.com/capguard/capguard/integrations/wails)
// so that capguard's core module never depends on Wails or on cgo. The
// package name is capwails; the folder is named after the framework.
//
// An app adds a few lines: build its guarded IPC with capguard (capguard.Load),
// hand it and the app's services to New, and install the returned guard's
// Middleware in the asset server:
//
//	app, _ := capguard.Load("src-tauri", acl.Linux, sim.New(sim.Ready()))
//	services := []application.Service{application.NewService(&VaultService{})}
//	guard, _ := capwails.New(capwails.Config{IPC: app.IPC, Services: services})
//	wapp := application.New(application.Options{
//		Services: services,
//		Assets:   application.AssetOptions{Handler: assets, Middleware: guard.Middleware},
//	})
//	wapp.Window.NewWithOptions(application.WebviewWindowOptions{Name: "main", URL: "/"})
//
// # How a Wails call becomes a capguard request
//
// The Wails v3 runtime sends a binding call as GET /wails/runtime with the
// query object=0 (calls), method=0 (call a binding) and args, a JSON object
// holding the call id, the bound method's name ("main.VaultService.OpenVault")
// or its id (the FNV-1a hash of that name), and the method's arguments.
// The guard turns it into an ipc.Invocation:
//
//   - Command: the bound method's command. By default the Go method name in
//     snake case ("OpenVault" becomes "open_vault", as a Tauri command is
//     named); Config.Commands renames any method by its full name. A name or
//     id that is not a method of Config.Services is refused.
//   - Window and Webview: the name of the Wails window whose webview sent
//     the request. The name is never read from the page: WebKit's URI-scheme
//     handler tells Wails which webview a request comes from, and Wails
//     writes that window's id into the request (x-wails-window-id,
//     overwriting whatever the page sent); the guard maps the id to the
//     window's name. A page that sends x-wails-window-name (the header with
//     which the Wails runtime addresses another window) naming a window other
//     than its own is refused.
//   - Origin: acl.LocalOrigin for the app's own pages, which are the pages
//     the asset server serves; the page's origin URL for a call whose Origin
//     header is another site's.
//   - Args: {"args": [...]}, the method's positional arguments.
//
// # The per-page secret
//
// Every HTML page the asset server serves to a window gets an inline
// script, ahead of all others, holding a fresh random token bound to that
// window's id and to the app's local origin. The script adds the token
// (HeaderToken) to the Wails runtime's requests and to capguard's Tauri
// IPC. The guard accepts a call only when its token is known, was issued
// to the same window that sent the request, and, when the request carries
// an Origin header, to that origin: a page the app did not serve (a
// remote site a window navigated to) has no token, and a token copied
// into another window or site is refused. A request without a token whose
// Origin is another site's is decided as a remote call, for the window
// that sent it, so that the capabilities' remote URL patterns apply.
//
// # Decisions
//
// A denied call never reaches Wails: the bound method does not run, and
// the runtime's promise rejects with an Error whose message is Tauri's
// text ("Command open_vault not allowed by ACL", or the JSON of a failed
// biometric obligation). An allowed call is handed to Wails as decided
// (Wails reads the method's name and arguments with the same decoder; a
// call by id is rewritten to name the method), and the bound method finds
// the guard's grant in its context (AccessFrom),
// with the scopes of the version of the ACL that decided it. Step-up
// obligations are met before the call is handed on, and every decision
// goes to the guard's observers (the audit log), as with capguard.New.
//
// # capguard plugins through Tauri's JavaScript
//
// The injected script also sets up window.__TAURI_INTERNALS__, so that
// the unmodified @tauri-apps/api and @tauri-apps/plugin-biometric packages
// work in a Wails window: their invoke() posts to /capguard/ipc/<command>
// on the asset server (Config.IPCPath), which the guard answers with the
// same identity rules.
//
// The Wails runtime's other objects (window, clipboard, dialogs, events,
// ...) are not capguard commands: the guard only requires the page token
// and the caller's own window for them, and passes them on.
package capwails
