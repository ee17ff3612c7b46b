package capwails

import (
	"context"
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
	// HeaderCall tells the page script that the response of a binding call
	// holds the call's outcome: "ok" (the body is the result's JSON) or
	// "error" (the body is the error, JSON when HeaderCallJSON is "true").
	HeaderCall     = "Capguard-Call"
	HeaderCallJSON = "Capguard-Call-Json"
)

// Defaults of Config.
const (
	DefaultPath           = "/capguard/"
	DefaultMaxBody        = 1 << 20
	DefaultPagesPerWindow = 8
)

// RuntimePath is where the Wails runtime sends its calls.
const RuntimePath = "/wails/runtime"

// Config configures a Guard.
type Config struct {
	// IPC is the app's guarded router (capguard.App.IPC). New registers a
	// command on its router for every bound method of the app's services,
	// and Tauri's event commands (plugin:event|listen, unlisten, emit,
	// emit_to). Required.
	IPC *ipc.Guarded
	// App is the application's options, before application.New: the one
	// list of services. New reads App.Services (each exported method a
	// command), App.MarshalError and App.BindAliases, and installs the
	// guard in front of App.Assets.Middleware and App.RawMessageHandler.
	// Required.
	App *application.Options
	// Commands renames bound methods: full method name
	// ("main.VaultService.OpenVault") to command. A method not listed is
	// the snake case of its Go name (CommandName).
	Commands map[string]string
	// LocalOrigins are the origins of the app's own pages as the webview
	// sends them in the Origin header. Nil means Wails's: wails://localhost
	// (Linux, macOS) and http://wails.localhost (Windows).
	LocalOrigins []string
	// Host is the running application (nil: application.Get()).
	Host Host
	// Path is where the guard serves its own endpoints on the asset
	// server (default DefaultPath): Path+"ipc/<command>" (Tauri's IPC of
	// capguard plugins), Path+"page.js", Path+"start", Path+"prove",
	// Path+"events". It must start and end with "/" and lie outside
	// /wails/.
	Path string
	// MaxBody bounds the body of a Tauri IPC call (default DefaultMaxBody).
	MaxBody int64
	// PagesPerWindow bounds the page loads a window keeps (default
	// DefaultPagesPerWindow): twice as many not yet proven, as many
	// earlier top-level documents. Each window has its own lists, and a
	// window's current top-level document is never pushed out by pages
	// that did not prove they are top-level.
	PagesPerWindow int
	// OnReject, when set, is told about every request the guard refused
	// before a decision (no or a wrong token, a forged window name, a
	// malformed call, a raw message from a page without a token). It may
	// be called concurrently.
	OnReject func(Rejection)

	// EventPollWait is how long a page's poll for its events waits for
	// one before it answers with none (default 25 s).
	EventPollWait time.Duration
}

// Rejection is a request the guard refused before asking the engine.
type Rejection struct {
	Time time.Time
	// Path is the request's path ("raw message" for a raw message);
	// Command the command, when known.
	Path, Command string
	// Window is the name of the window that sent the request, when known.
	Window string
	// Status and Text are what the page received.
	Status int
	Text   string
}

// Guard guards a Wails app's calls. Make one with New before
// application.New. A Guard is safe for concurrent use.
type Guard struct {
	ipc      *ipc.Guarded
	host     Host
	path     string
	maxBody  int64
	local    map[string]bool
	onReject func(Rejection)
	pollWait time.Duration

	// methods maps a bound method's full name to its command; byID maps
	// the method's id to its full name; aliases are Wails's BindAliases.
	methods  map[string]string
	byID     map[uint32]string
	aliases  map[uint32]uint32
	bound    map[string]bool // the commands of bound methods
	services []application.Service
	marshal  func(error) []byte

	bindOnce sync.Once
	bindings *application.Bindings
	bindErr  error

	docs    *docStore
	events  *eventHub
	running sync.Map // running binding calls: runKey -> context.CancelFunc
}

// New returns the guard of an app and installs it in cfg.App: its
// asset-server middleware goes in front of App.Assets.Middleware, its raw
// message check in front of App.RawMessageHandler. It registers one
// command per bound method of App.Services on cfg.IPC's router, and fails
// on an unusable configuration: no IPC or App, a service that is not a
// pointer to a named type, two methods with one command, a command the
// router already has, a bad local origin or path, or a Wails other than
// the version whose wire format the guard reads (WailsVersion).
func New(cfg Config) (*Guard, error) {
	if cfg.IPC == nil {
		return nil, errors.New("capwails: Config.IPC is nil (use capguard.App.IPC)")
	}
	if cfg.App == nil {
		return nil, errors.New("capwails: Config.App is nil: give the application.Options you will pass to application.New")
	}
	if err := checkWailsVersion(); err != nil {
		return nil, err
	}
	g := &Guard{
		ipc:      cfg.IPC,
		host:     cfg.Host,
		path:     cfg.Path,
		maxBody:  cfg.MaxBody,
		local:    map[string]bool{},
		onReject: cfg.OnReject,
		pollWait: cfg.EventPollWait,
		methods:  map[string]string{},
		byID:     map[uint32]string{},
		aliases:  cfg.App.BindAliases,
		bound:    map[string]bool{},
		services: append([]application.Service(nil), cfg.App.Services...),
		marshal:  cfg.App.MarshalError,
	}
	if g.host == nil {
		g.host = wailsHost{}
	}
	if g.path == "" {
		g.path = DefaultPath
	}
	if !strings.HasPrefix(g.path, "/") || !strings.HasSuffix(g.path, "/") || len(g.path) < 3 || strings.HasPrefix(g.path, "/wails/") || strings.ContainsAny(g.path, "?#%") {
		return nil, fmt.Errorf("capwails: Config.Path %q: want a path such as %q, starting and ending with \"/\", outside /wails/", cfg.Path, DefaultPath)
	}
	if g.maxBody <= 0 {
		g.maxBody = DefaultMaxBody
	}
	if g.pollWait <= 0 {
		g.pollWait = 25 * time.Second
	}
	perWindow := cfg.PagesPerWindow
	if perWindow <= 0 {
		perWindow = DefaultPagesPerWindow
	}
	g.docs = newDocStore(perWindow)
	g.events = newEventHub(g)
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
	}
	commandOf := map[string]string{} // command -> full name, for clashes
	for i, svc := range g.services {
		methods, err := boundMethods(svc.Instance())
		if err != nil {
			return nil, fmt.Errorf("capwails: Config.App.Services[%d]: %v", i, err)
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
				return nil, fmt.Errorf("capwails: Config.App.Services[%d]: method %s is bound twice", i, fqn)
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
			return nil, fmt.Errorf("capwails: Config.Commands names %s, which is not a bound method of Config.App.Services (known: %s)", fqn, strings.Join(g.methodNames(), ", "))
		}
	}
	router := cfg.IPC.Router()
	for _, fqn := range g.methodNames() {
		if err := router.Handle(g.methods[fqn], ipc.HandlerFunc(passThrough)); err != nil {
			return nil, fmt.Errorf("capwails: method %s: %w", fqn, err)
		}
	}
	if err := g.events.register(router); err != nil {
		return nil, err
	}
	// Install the guard: one list of services, the guard in front.
	inner := cfg.App.Assets.Middleware
	cfg.App.Assets.Middleware = func(next http.Handler) http.Handler {
		if inner != nil {
			next = inner(next)
		}
		return g.Middleware(next)
	}
	cfg.App.RawMessageHandler = g.RawMessageHandler(cfg.App.RawMessageHandler)
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

// PageCounts tells how many page loads the guard keeps for a window: its
// current top-level document (0 or 1), pages not yet proven, earlier
// top-level documents.
func (g *Guard) PageCounts(windowID uint) (active, pending, retired int) {
	return g.docs.counts(windowID)
}

func defaultLocalOrigins() []string {
	if runtime.GOOS == "windows" {
		return []string{"http://wails.localhost", "https://wails.localhost"}
	}
	return []string{"wails://localhost"}
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
// guard has allowed the call, and the binding call that asked runs the
// method (see grant). Reached in any other way (an invoke() from Tauri's
// JavaScript), it refuses: bound methods are called through the Wails
// runtime.
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
// handler back to the guard's call path.
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

// Middleware is the guard as Wails asset-server middleware; New installs
// it in Config.App. It answers the guard's own endpoints (Config.Path),
// decides and runs the Wails runtime's binding calls and event emits,
// refuses runtime requests from pages without a proven token, and gives
// every HTML page it serves its token and script. Everything else goes to
// next.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == RuntimePath:
			g.serveRuntime(w, r, next)
		case strings.HasPrefix(p, g.path):
			g.serveOwn(w, r, p[len(g.path):])
		case r.Method == http.MethodGet && isPagePath(p):
			g.servePage(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// serveOwn answers the guard's own endpoints.
func (g *Guard) serveOwn(w http.ResponseWriter, r *http.Request, sub string) {
	if r.Method == http.MethodOptions {
		g.preflight(w, r)
		return
	}
	switch {
	case strings.HasPrefix(sub, "ipc/"):
		g.serveIPC(w, r, sub[len("ipc/"):])
	case sub == "page.js":
		g.serveScript(w, r)
	case sub == "start":
		g.serveStart(w, r)
	case sub == "prove":
		g.serveProve(w, r)
	case sub == "events":
		g.servePoll(w, r)
	default:
		writeText(w, http.StatusNotFound, "capguard: no such endpoint: "+r.URL.Path)
	}
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

func forbidden(text string) *refusal { return &refusal{http.StatusForbidden, "capguard: " + text} }

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

// preflight answers a CORS preflight (OPTIONS) without deciding anything:
// it is not a call. A remote page may then send the request it announced,
// and that request is decided.
func (g *Guard) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", "GET, POST, OPTIONS")
	if o := r.Header.Get("Origin"); o != "" {
		if n, err := normalizeOrigin(o); err == nil && !g.local[n] {
			h.Set("Access-Control-Allow-Origin", n)
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			if want := r.Header.Get("Access-Control-Request-Headers"); want != "" {
				h.Set("Access-Control-Allow-Headers", want)
			}
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// caller is who sent a request, as the host knows it.
type caller struct {
	windowID uint
	window   string
	origin   acl.Origin
	// remote is the caller's origin when it is another site's (the
	// Origin header), for CORS.
	remote string
	// doc is the page's document, for the app's own pages.
	doc *document
}

// identify finds the caller of a request: the window Wails says sent it,
// checked against the page token and the Origin header. A page of the app
// must hold the token of its window's current top-level document.
func (g *Guard) identify(r *http.Request) (caller, *refusal) {
	c, token, rf := g.identifyWindow(r)
	if rf != nil || token == "" {
		return c, rf
	}
	d, st, ok := g.docs.lookup(token)
	switch {
	case !ok:
		return c, forbidden("unknown " + HeaderToken)
	case d.windowID != c.windowID:
		return c, forbidden(fmt.Sprintf("the %s was issued to window %q, not to %q", HeaderToken, d.window, c.window))
	case st == pending:
		return c, forbidden("the page has not proved that it is its window's top-level document (a page in a frame never can)")
	case st == retired:
		return c, forbidden("the page is no longer its window's top-level document: reload it")
	}
	c.doc = d
	c.origin = acl.LocalOrigin
	return c, nil
}

// identifyWindow reads the window and the origin of a request and returns
// its token. A request without a token is a remote page's (decided as its
// origin) when its Origin is another site's, and refused otherwise.
func (g *Guard) identifyWindow(r *http.Request) (caller, string, *refusal) {
	idText := r.Header.Get(HeaderWindowID)
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id > uint64(^uint(0)) {
		return caller{}, "", forbidden("the request does not come from a Wails window (no " + HeaderWindowID + " from the asset server)")
	}
	name, ok := g.host.WindowName(uint(id))
	if !ok {
		return caller{}, "", forbidden(fmt.Sprintf("the request comes from window %d, which the app does not have", id))
	}
	c := caller{windowID: uint(id), window: name}
	origin := ""
	if vals := r.Header.Values("Origin"); len(vals) > 0 {
		o, err := normalizeOrigin(vals[0])
		if err != nil {
			return c, "", &refusal{http.StatusBadRequest, "capguard: the Origin header is not an origin"}
		}
		origin = o
	}
	token := r.Header.Get(HeaderToken)
	if origin != "" && !g.local[origin] {
		if token != "" {
			return c, "", forbidden("the " + HeaderToken + " belongs to a page of another origin")
		}
		// A page of another site, in this window: decided as remote.
		o, err := acl.ParseOrigin(origin + "/")
		if err != nil {
			return c, "", &refusal{http.StatusBadRequest, "capguard: the Origin header is not an origin"}
		}
		c.origin, c.remote = o, origin
		return c, "", nil
	}
	if token == "" {
		return c, "", forbidden("missing " + HeaderToken + ": the page was not served to this window by the app")
	}
	return c, token, nil
}

// allowCORS lets a remote caller read the answer to its decided request.
func allowCORS(w http.ResponseWriter, c caller) {
	if c.remote != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", c.remote)
		h.Set("Access-Control-Expose-Headers", HeaderCall+", "+HeaderCallJSON+", Tauri-Response")
		h.Add("Vary", "Origin")
	}
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

// originOfURL is the normalized origin of a URL (a Referer), or "".
func originOfURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	n, err := normalizeOrigin(u.Scheme + "://" + u.Host)
	if err != nil {
		return ""
	}
	return n
}
