package capwails

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// Headers the guard reads.
const (
	// HeaderToken carries the page's token (see the package doc).
	HeaderToken = "Capguard-Page-Token"
	// HeaderWindowID is the header (x-wails-window-id) in which Wails's
	// asset server tells which window's webview sent a request; Wails
	// overwrites any value the page sent.
	HeaderWindowID = "X-Wails-Window-Id"
	// HeaderWindowName is the header (x-wails-window-name) the Wails
	// runtime uses to address a window by name. It is the page's to set, so
	// the guard never trusts it.
	HeaderWindowName = "X-Wails-Window-Name"
)

// Defaults of Config.
const (
	DefaultIPCPath  = "/capguard/ipc/"
	DefaultMaxBody  = 1 << 20
	DefaultMaxPages = 4096
)

// RuntimePath is where the Wails runtime sends its calls.
const RuntimePath = "/wails/runtime"

// The Wails runtime's object and method numbers for a binding call.
const (
	objectCall   = 0
	methodCall   = 0
	objectCancel = 10
)

// Config configures a Guard.
type Config struct {
	// IPC is the app's guarded router (capguard.App.IPC). New registers a
	// command on its router for every bound method of Services. Required.
	IPC *ipc.Guarded
	// Services are the services the app binds (the same values it gives
	// application.Options.Services). Their exported methods are the
	// commands pages may call, each decided before Wails runs it.
	Services []application.Service
	// Commands renames bound methods: full method name
	// ("main.VaultService.OpenVault") to command. A method not listed is
	// the snake case of its Go name (CommandName).
	Commands map[string]string
	// LocalOrigins are the origins of the app's own pages as the webview
	// sends them in the Origin header. Nil means Wails's: wails://localhost
	// (Linux, macOS) and http://wails.localhost (Windows).
	LocalOrigins []string
	// Windows maps the id of the window that sent a request (which Wails's
	// asset server writes into HeaderWindowID) to the window's name. Nil
	// means the running Wails application's windows (application.Get()).
	Windows func(id uint) (name string, ok bool)
	// IPCPath is where the Tauri IPC of capguard plugins is served on the
	// asset server (default DefaultIPCPath). It must start and end with "/".
	IPCPath string
	// MaxBody bounds the body of a Tauri IPC call (default DefaultMaxBody).
	MaxBody int64
	// MaxPages bounds the page tokens kept; issuing one more forgets the
	// oldest (default DefaultMaxPages).
	MaxPages int
	// OnReject, when set, is told about every request the guard refused
	// before a decision (no or a wrong token, a forged window name, a
	// malformed call). It may be called concurrently.
	OnReject func(Rejection)
}

// Rejection is a request the guard refused before asking the engine.
type Rejection struct {
	Time time.Time
	// Path is the request's path; Command the command, when known.
	Path, Command string
	// Window is the name of the window that sent the request, when known.
	Window string
	// Status and Text are what the page received.
	Status int
	Text   string
}

// Guard guards a Wails app's calls. Make one with New and install
// Middleware in application.Options.Assets.Middleware. A Guard is safe for
// concurrent use.
type Guard struct {
	ipc      *ipc.Guarded
	windows  func(uint) (string, bool)
	ipcPath  string
	maxBody  int64
	maxPages int
	local    map[string]bool
	origin   string // the first local origin: the one pages are bound to
	onReject func(Rejection)

	// methods maps a bound method's full name to its command; byID maps
	// the method's id to its full name.
	methods map[string]string
	byID    map[uint32]string
	bound   map[string]bool // the commands of bound methods

	mu    sync.Mutex
	pages map[string]page
	order []string
}

// page is what the host knows about one page load.
type page struct {
	windowID uint
	window   string
	origin   string
}

// New returns the guard of an app. It registers one command per bound
// method of cfg.Services on cfg.IPC's router, and fails on an unusable
// configuration: no IPC, a service that is not a pointer to a named type,
// two methods with one command, a command the router already has, a bad
// local origin or IPC path.
func New(cfg Config) (*Guard, error) {
	if cfg.IPC == nil {
		return nil, errors.New("capwails: Config.IPC is nil (use capguard.App.IPC)")
	}
	g := &Guard{
		ipc:      cfg.IPC,
		windows:  cfg.Windows,
		ipcPath:  cfg.IPCPath,
		maxBody:  cfg.MaxBody,
		maxPages: cfg.MaxPages,
		local:    map[string]bool{},
		onReject: cfg.OnReject,
		methods:  map[string]string{},
		byID:     map[uint32]string{},
		bound:    map[string]bool{},
		pages:    map[string]page{},
	}
	if g.windows == nil {
		g.windows = appWindows
	}
	if g.ipcPath == "" {
		g.ipcPath = DefaultIPCPath
	}
	if !strings.HasPrefix(g.ipcPath, "/") || !strings.HasSuffix(g.ipcPath, "/") || len(g.ipcPath) < 3 || strings.HasPrefix(g.ipcPath, "/wails/") {
		return nil, fmt.Errorf("capwails: Config.IPCPath %q: want a path such as %q, starting and ending with \"/\", outside /wails/", cfg.IPCPath, DefaultIPCPath)
	}
	if g.maxBody <= 0 {
		g.maxBody = DefaultMaxBody
	}
	if g.maxPages <= 0 {
		g.maxPages = DefaultMaxPages
	}
	locals := cfg.LocalOrigins
	if locals == nil {
		locals = defaultLocalOrigins()
	}
	if len(locals) == 0 {
		return nil, errors.New("capwails: Config.LocalOrigins is empty: the app's own pages need an origin")
	}
	for i, o := range locals {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("capwails: Config.LocalOrigins[%d] %q: %v", i, o, err)
		}
		g.local[n] = true
		if i == 0 {
			g.origin = n
		}
	}
	commandOf := map[string]string{} // command -> full name, for clashes
	for i, svc := range cfg.Services {
		methods, err := boundMethods(svc.Instance())
		if err != nil {
			return nil, fmt.Errorf("capwails: Config.Services[%d]: %v", i, err)
		}
		for _, fqn := range methods {
			cmd, ok := cfg.Commands[fqn]
			if !ok {
				cmd = CommandName(fqn[strings.LastIndexByte(fqn, '.')+1:])
			}
			if other, ok := commandOf[cmd]; ok {
				return nil, fmt.Errorf("capwails: methods %s and %s are both command %q; rename one with Config.Commands", other, fqn, cmd)
			}
			if _, ok := g.methods[fqn]; ok {
				return nil, fmt.Errorf("capwails: Config.Services[%d]: method %s is bound twice", i, fqn)
			}
			commandOf[cmd] = fqn
			g.methods[fqn] = cmd
			g.bound[cmd] = true
			id := methodID(fqn)
			if other, ok := g.byID[id]; ok {
				return nil, fmt.Errorf("capwails: methods %s and %s have the same Wails id %d", other, fqn, id)
			}
			g.byID[id] = fqn
		}
	}
	for fqn := range cfg.Commands {
		if _, ok := g.methods[fqn]; !ok {
			return nil, fmt.Errorf("capwails: Config.Commands names %s, which is not a bound method of Config.Services (known: %s)", fqn, strings.Join(g.methodNames(), ", "))
		}
	}
	router := cfg.IPC.Router()
	for _, fqn := range g.methodNames() {
		if err := router.Handle(g.methods[fqn], ipc.HandlerFunc(passThrough)); err != nil {
			return nil, fmt.Errorf("capwails: method %s: %w", fqn, err)
		}
	}
	return g, nil
}

func (g *Guard) methodNames() []string {
	names := make([]string, 0, len(g.methods))
	for n := range g.methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Commands returns the bound methods' commands, keyed by full method name.
func (g *Guard) Commands() map[string]string {
	out := make(map[string]string, len(g.methods))
	for k, v := range g.methods {
		out[k] = v
	}
	return out
}

func defaultLocalOrigins() []string {
	if runtime.GOOS == "windows" {
		return []string{"http://wails.localhost", "https://wails.localhost"}
	}
	return []string{"wails://localhost"}
}

// appWindows looks a window up in the running Wails application.
func appWindows(id uint) (string, bool) {
	app := application.Get()
	if app == nil || app.Window == nil {
		return "", false
	}
	w, ok := app.Window.GetByID(id)
	if !ok || w == nil {
		return "", false
	}
	return w.Name(), true
}

// CommandName is the default command of a bound Go method: its name in
// snake case, as Tauri commands are named ("OpenVault" is "open_vault",
// "GetURL" is "get_url").
func CommandName(method string) string {
	var b strings.Builder
	rs := []rune(method)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// wailsInternal are the methods Wails never binds.
var wailsInternal = map[string]bool{"ServiceName": true, "ServiceStartup": true, "ServiceShutdown": true, "ServeHTTP": true}

// boundMethods lists the full names of the methods Wails binds for a
// service instance, named as Wails names them: package path, type, method.
func boundMethods(instance any) ([]string, error) {
	if instance == nil {
		return nil, errors.New("no instance (use application.NewService(&MyService{}))")
	}
	v := reflect.ValueOf(instance)
	if v.Kind() != reflect.Pointer || v.Type().Elem().Name() == "" {
		return nil, fmt.Errorf("%s is not a pointer to a named type", v.Type())
	}
	t := v.Type()
	named := t.Elem()
	var out []string
	for i := range t.NumMethod() {
		m := t.Method(i).Name
		if wailsInternal[m] {
			continue
		}
		out = append(out, named.PkgPath()+"."+named.Name()+"."+m)
	}
	return out, nil
}

// methodID is the id under which Wails also knows a bound method: the
// 32-bit FNV-1a hash of its full name.
func methodID(fqn string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(fqn))
	return h.Sum32()
}

// passThrough is the router's handler of a bound method's command: the
// guard has allowed the call, and the Wails call path that asked hands
// it on to Wails (see grant). Reached in any other way (an invoke() from
// Tauri's JavaScript), it refuses: bound methods are called through the
// Wails runtime.
func passThrough(ctx context.Context, inv *ipc.Invocation) (any, error) {
	if h, ok := ctx.Value(grantKey{}).(*grant); ok && h.command == inv.Command {
		h.access = inv.Access
		h.ran = true
		return nil, nil
	}
	return nil, tauriText("Command " + inv.Command + " is a Wails binding: call it through the Wails runtime (Call.ByName)")
}

// tauriText is an error whose text follows Tauri's wording, capital
// letter included.
type tauriText string

func (e tauriText) Error() string { return string(e) }

type grantKey struct{}

// grant carries what the guard granted one Wails call, from the router's
// handler back to the middleware.
type grant struct {
	command string
	access  *ipc.Access
	ran     bool
}

// AccessFrom returns what the guard granted the call whose bound method
// got ctx (the context Wails passes as a method's first argument): the
// decision and, through ipc.DecodeScope, its scopes. It is nil for a
// context that did not come through the guard.
func AccessFrom(ctx context.Context) *ipc.Access {
	if g, ok := ctx.Value(grantKey{}).(*grant); ok && g.ran {
		return g.access
	}
	return nil
}

// Middleware is the guard as Wails asset-server middleware
// (application.Options.Assets.Middleware). It answers the Tauri IPC of
// capguard plugins, decides the Wails runtime's binding calls, refuses
// runtime requests from pages without their token, and gives every HTML
// page it serves its token and script. Everything else goes to next.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == RuntimePath:
			g.serveRuntime(w, r, next)
		case strings.HasPrefix(r.URL.Path, g.ipcPath):
			g.serveIPC(w, r)
		case r.Method == http.MethodGet && isPagePath(r.URL.Path):
			g.servePage(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// isPagePath tells whether a path may be an HTML page of the app.
func isPagePath(p string) bool {
	return p == "" || strings.HasSuffix(p, "/") || strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".htm")
}

// refusal is a request refused before the engine was asked.
type refusal struct {
	status int
	text   string
}

func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, cmd, window string, e *refusal) {
	if g.onReject != nil {
		g.onReject(Rejection{Time: time.Now(), Path: r.URL.Path, Command: cmd, Window: window, Status: e.status, Text: e.text})
	}
	writeText(w, e.status, e.text)
}

func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

// caller is who sent a request, as the host knows it.
type caller struct {
	windowID uint
	window   string
	origin   acl.Origin
}

// identify finds the caller of a request: the window Wails says sent it,
// checked against the page token and the Origin header.
func (g *Guard) identify(r *http.Request) (caller, *refusal) {
	forbidden := func(text string) *refusal { return &refusal{http.StatusForbidden, "capguard: " + text} }
	idText := r.Header.Get(HeaderWindowID)
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id > uint64(^uint(0)) {
		return caller{}, forbidden("the request does not come from a Wails window (no " + HeaderWindowID + " from the asset server)")
	}
	name, ok := g.windows(uint(id))
	if !ok {
		return caller{}, forbidden(fmt.Sprintf("the request comes from window %d, which the app does not have", id))
	}
	c := caller{windowID: uint(id), window: name}
	origin := ""
	if vals := r.Header.Values("Origin"); len(vals) > 0 {
		o, err := normalizeOrigin(vals[0])
		if err != nil {
			return c, &refusal{http.StatusBadRequest, "capguard: the Origin header is not an origin"}
		}
		origin = o
	}
	token := r.Header.Get(HeaderToken)
	if token == "" {
		if origin != "" && !g.local[origin] {
			// A page of another site, in this window: decided as remote.
			o, err := acl.ParseOrigin(origin + "/")
			if err != nil {
				return c, &refusal{http.StatusBadRequest, "capguard: the Origin header is not an origin"}
			}
			c.origin = o
			return c, nil
		}
		return c, forbidden("missing " + HeaderToken + ": the page was not served to this window by the app")
	}
	g.mu.Lock()
	p, ok := g.pages[token]
	g.mu.Unlock()
	switch {
	case !ok:
		return c, forbidden("unknown " + HeaderToken)
	case p.windowID != c.windowID:
		return c, forbidden(fmt.Sprintf("the %s was issued to window %q, not to %q", HeaderToken, p.window, c.window))
	case origin != "" && origin != p.origin:
		return c, forbidden("the " + HeaderToken + " belongs to a page of another origin")
	}
	c.origin = acl.LocalOrigin
	return c, nil
}

// serveRuntime guards one request of the Wails runtime.
func (g *Guard) serveRuntime(w http.ResponseWriter, r *http.Request, next http.Handler) {
	c, rf := g.identify(r)
	if rf != nil {
		g.refuse(w, r, "", c.window, rf)
		return
	}
	if names := r.Header.Values(HeaderWindowName); len(names) > 0 {
		if len(names) > 1 || names[0] != c.window {
			g.refuse(w, r, "", c.window, &refusal{http.StatusForbidden, fmt.Sprintf("capguard: a page may only address its own window: the request names window %q, the page is in %q", strings.Join(names, ","), c.window)})
			return
		}
	}
	query := r.URL.Query()
	object, err1 := strconv.Atoi(query.Get("object"))
	method, err2 := strconv.Atoi(query.Get("method"))
	if err1 != nil || err2 != nil {
		g.refuse(w, r, "", c.window, &refusal{http.StatusBadRequest, "capguard: invalid runtime call: object and method must be numbers"})
		return
	}
	if object != objectCall {
		// Not a binding call (window, clipboard, events, a cancellation,
		// ...): the page is known and addresses its own window.
		if !c.origin.IsLocal() {
			g.refuse(w, r, "", c.window, &refusal{http.StatusForbidden, "capguard: the Wails runtime is not available to remote pages"})
			return
		}
		r.Header.Del(HeaderWindowName)
		r.Header.Del(HeaderToken)
		next.ServeHTTP(w, r)
		return
	}
	if method != methodCall {
		g.refuse(w, r, "", c.window, &refusal{http.StatusBadRequest, fmt.Sprintf("capguard: invalid binding call: unknown method %d", method)})
		return
	}
	call, rf := g.parseCall(query)
	if rf != nil {
		g.refuse(w, r, call.command, c.window, rf)
		return
	}
	gr := &grant{command: call.command}
	ctx := context.WithValue(r.Context(), grantKey{}, gr)
	_, err := g.ipc.Invoke(ctx, &ipc.Invocation{
		Command: call.command,
		Window:  c.window,
		Webview: c.window,
		Origin:  c.origin,
		Args:    call.args,
	})
	if err != nil || !gr.ran {
		if err == nil {
			err = tauriText("Command " + call.command + " failed: internal error")
		}
		writeText(w, http.StatusForbidden, rejectText(err))
		return
	}
	// Hand Wails exactly what was decided (see parseCall), the caller's
	// own window (Wails then finds it by the id it set), the grant in the
	// context.
	r2 := r.WithContext(ctx)
	if call.query != "" {
		u := *r.URL
		u.RawQuery = call.query
		r2.URL = &u
		r2.RequestURI = u.RequestURI()
	}
	r2.Header.Del(HeaderWindowName)
	r2.Header.Del(HeaderToken)
	next.ServeHTTP(w, r2)
}

// rejectText is the message of the Error the Wails runtime's promise
// rejects with: Tauri's rejection value, a JSON string given as its text.
func rejectText(err error) string {
	v := ipc.RejectValue(err)
	var s string
	if len(v) > 0 && v[0] == '"' {
		if uerr := jsonUnmarshal(v, &s); uerr == nil {
			return s
		}
	}
	return string(v)
}

// randomToken returns 128 random bits in hex.
func randomToken() (string, error) {
	var buf [16]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("capwails: no randomness for a token: %w", err)
	}
	return hex.EncodeToString(buf[:]), nil
}

// bindPage issues a token for a page load in a window.
func (g *Guard) bindPage(windowID uint, window string) (string, error) {
	token, err := randomToken()
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pages[token] = page{windowID: windowID, window: window, origin: g.origin}
	g.order = append(g.order, token)
	for len(g.pages) > g.maxPages {
		delete(g.pages, g.order[0])
		g.order = g.order[1:]
	}
	return token, nil
}

// normalizeOrigin reads an origin as webviews send it: lower-cased scheme
// and host, without the scheme's default port.
func normalizeOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", errors.New("want scheme://host[:port]")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("an origin has no user, path, query or fragment")
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if (scheme == "http" && strings.HasSuffix(host, ":80")) || (scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return scheme + "://" + host, nil
}
