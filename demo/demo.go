// Package demo is capguard's demonstration server: an app's windows as
// web pages that run the real @tauri-apps JavaScript against capguard's
// guard and biometric plugin, on a simulated fingerprint reader, with a
// dashboard that shows every decision as it happens.
//
// Start serves, all on loopback:
//
//   - the dashboard (Config.Listen): the effective-permission matrix
//     (windows × commands), one frame per window with buttons that script
//     the simulated device's next outcome, the device's call log, and a
//     live feed of the guard's decisions and of the requests the bridge
//     refused; it also serves the IPC bridge (ipc.Bridge) under /ipc/;
//   - one page per window of the app (main, settings, ...), each on its
//     own loopback port, so that each window is its own origin: a page
//     cannot read another window's page, nor its token;
//   - an untrusted page, loaded into the first window but from yet
//     another port: a remote origin that the capabilities do not trust.
//
// The guard decides through a policy.Store. Obligations of the app's
// capguard.json (Config.Extension) are met by the biometric plugin's
// step-up before a command runs, and the feed shows how (prompted,
// remembered, shared, failed). With Config.Watch the store is reloaded
// whenever the files of Config.Dir change, and the dashboard shows each
// reload, or why one failed (the old ACL is kept). Every decision also
// goes to an audit log (package audit), shown raw on the dashboard and
// written to Config.AuditFile when set.
//
// Window pages load @tauri-apps/api and @tauri-apps/plugin-biometric from
// Config.NodeModules through an import map, unmodified; without them they
// fall back to a small stand-in that makes the same calls, and say how to
// install the real packages. Each page load is bound to its window by the
// host (ipc.Bridge.Bind): the label never comes from the page.
package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

//go:embed assets
var assets embed.FS

// Config configures a demo server.
type Config struct {
	// Resolved is the app's ACL (required).
	Resolved *acl.Resolved
	// Name names the app on the page (such as "examples/app/src-tauri").
	Name string
	// Windows are the windows to serve, in order. Default: every window
	// label the capabilities name literally (not as a glob), "main"
	// first; "main" alone when there is none.
	Windows []string
	// Device configures the simulated device. Default: DefaultDevice().
	Device *sim.Config
	// Listen is the dashboard's address, host:port on a loopback address
	// (default "127.0.0.1:0", a free port). The windows and the untrusted
	// page get free ports on the same host.
	Listen string
	// NodeModules is a node_modules folder holding @tauri-apps/api and
	// @tauri-apps/plugin-biometric; empty or without them, the pages use
	// capguard's stand-in and say how to install the packages.
	NodeModules string
	// Verbose makes denials carry Tauri's full explanation.
	Verbose bool
	// Extension is the app's capguard.json (acl.LoadExtension): the
	// obligations the guard adds to allowed calls, met by the biometric
	// plugin's step-up before the command runs. Nil: none. (The example
	// app's makes open_vault from window main ask for a biometric
	// authentication at most 60 s old.)
	Extension *acl.Extension
	// Dir is the app's src-tauri directory on disk, when Resolved and
	// Extension were read from it: Watch reloads from it.
	Dir string
	// Watch reloads the ACL from Dir (its capabilities, configuration,
	// gen/schemas/acl-manifests.json and capguard.json, as capguard.Load
	// reads them) whenever one of its files changes (policy.Watch). A
	// reload that fails keeps the current ACL. It needs Dir: an app that
	// is not a directory on disk (such as the embedded example) cannot
	// change.
	Watch bool
	// AuditFile, when set, is where the audit log of every decision is
	// appended, as JSON Lines (audit.OpenFile). The dashboard shows the
	// log's lines whether or not they are written to a file.
	AuditFile string
}

// InstallHint says how to install the npm packages the pages use.
const InstallHint = "npm ci --prefix e2e (from the capguard repository; or ./scripts/install-e2e.sh), then restart with --node-modules e2e/node_modules"

// DefaultDevice is the demo's simulated device: a fingerprint reader with
// an enrolled finger and a device passcode, every touch matching after
// 300 ms unless scripted otherwise, and a lockout for 30 seconds after
// five unrecognized touches in a row.
func DefaultDevice() sim.Config {
	c := sim.Ready()
	c.Latency = 300 * time.Millisecond
	c.LockoutAfter = 5
	c.LockoutFor = 30 * time.Second
	return c
}

// Window is one page the demo serves.
type Window struct {
	// Name is "main", "settings", ... or "untrusted".
	Name string `json:"name"`
	// Label is the window label the page is bound to.
	Label string `json:"label"`
	// URL is the page's address, Origin its origin. The page is served
	// only with a launch secret (Server.LaunchURL): the dashboard opens
	// each window with one, and a GET without it gets no token.
	URL    string `json:"url"`
	Origin string `json:"origin"`
	// Local tells whether the bridge treats the page as the app's own
	// content (false for the untrusted page).
	Local bool `json:"local"`
}

// Server is a running demo.
type Server struct {
	cfg      Config
	app      *capguard.App
	store    *policy.Store   // the guard's engine
	watcher  *policy.Watcher // nil without Config.Watch
	audit    *audit.Log
	stop     context.CancelFunc // ends the watcher
	opened   atomic.Int64       // runs of open_vault's handler
	device   *sim.Sim
	devCfg   sim.Config // the device's configuration (for its lockout rule)
	bridge   *ipc.Bridge
	feed     *feed
	windows  []Window
	dash     string // dashboard origin
	key      string // the dashboard key, in the URL printed at start
	packages Packages
	servers  []*http.Server
	tmpl     *template.Template
	mu       sync.Mutex
	matrix   matrix    // of the store's current version; guarded by mu
	unlocked time.Time // the last unlock from the dashboard
	wg       sync.WaitGroup
	closing  sync.Once
}

// Start listens on the dashboard's address and one free port per page,
// and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Resolved == nil {
		return nil, errors.New("demo: no resolved ACL")
	}
	if cfg.Watch && cfg.Dir == "" {
		return nil, errors.New("demo: Watch needs Dir, the app's src-tauri directory on disk (an embedded app cannot change)")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("demo: listen address %q: want host:port, such as 127.0.0.1:8080", cfg.Listen)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("demo: listen address %q is not a loopback address (use 127.0.0.1 or [::1]): the demo serves only this machine", cfg.Listen)
	}
	if len(cfg.Windows) == 0 {
		cfg.Windows = windowLabels(cfg.Resolved)
	}
	seen := map[string]bool{"untrusted": true}
	for _, w := range cfg.Windows {
		if w == "" || !ipcLabel(w) {
			return nil, fmt.Errorf("demo: window label %q: labels are ASCII letters, digits, '-', '/', ':' and '_', at most %d bytes", w, ipc.MaxNameLen)
		}
		if seen[w] {
			return nil, fmt.Errorf("demo: window %q is listed twice (or is named like the untrusted page)", w)
		}
		seen[w] = true
	}
	device := DefaultDevice()
	if cfg.Device != nil {
		device = *cfg.Device
	}
	s := &Server{cfg: cfg, device: sim.New(device), devCfg: device, feed: newFeed(500), key: nonce()}
	s.packages = findPackages(cfg.NodeModules)
	if s.tmpl, err = template.ParseFS(assets, "assets/*.html"); err != nil {
		return nil, err
	}

	// Listen on every port first: the origins are part of the bridge's
	// configuration.
	names := append(append([]string(nil), cfg.Windows...), "untrusted")
	listeners := make([]net.Listener, 0, len(names)+1)
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	dl, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	listeners = append(listeners, dl)
	s.dash = "http://" + dl.Addr().String()
	for _, name := range names {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("demo: a port for %s: %w", name, err)
		}
		listeners = append(listeners, l)
		origin := "http://" + l.Addr().String()
		w := Window{Name: name, Label: name, URL: origin + "/", Origin: origin, Local: true}
		if name == "untrusted" {
			w.Label, w.Local = cfg.Windows[0], false
		}
		s.windows = append(s.windows, w)
	}

	if err := s.setUp(); err != nil {
		closeAll()
		s.shutDown()
		return nil, err
	}
	var locals []string
	for _, w := range s.windows {
		if w.Local {
			locals = append(locals, w.Origin)
		}
	}
	if s.bridge, err = ipc.NewBridge(s.app.IPC, ipc.BridgeConfig{
		URL:          s.dash + "/ipc/",
		LocalOrigins: locals,
		OnReject:     s.feed.rejected,
	}); err != nil {
		closeAll()
		s.shutDown()
		return nil, err
	}
	s.setMatrix(s.buildMatrix(s.store.Current()))
	if cfg.Watch {
		if err := s.watch(); err != nil {
			closeAll()
			s.shutDown()
			return nil, err
		}
	}

	handlers := []http.Handler{s.dashboardHandler()}
	for i := range s.windows {
		handlers = append(handlers, s.windowHandler(s.windows[i]))
	}
	for i, l := range listeners {
		srv := ipc.NewServer(hostCheck(l.Addr().String(), handlers[i]), ipc.ServerConfig{})
		l = ipc.LimitListener(l, ipc.ServerConfig{})
		s.servers = append(s.servers, srv)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = srv.Serve(l)
		}()
	}
	return s, nil
}

// URL is the dashboard's address, the base of its API (URL()+"api/state").
// Open OpenURL in a browser: the dashboard page itself needs its key.
func (s *Server) URL() string { return s.dash + "/" }

// OpenURL is the dashboard page's address with its key (the URL capguard
// demo prints): the dashboard opens the windows with launch secrets, so
// only who has this URL can open the windows.
func (s *Server) OpenURL() string { return s.dash + "/?key=" + s.key }

// LaunchURL returns the address that opens the page name ("main", ...,
// "untrusted") once, with a fresh launch secret (ipc.Bridge.Launch), as
// the dashboard's frames do.
func (s *Server) LaunchURL(name string) (string, error) {
	for _, w := range s.windows {
		if w.Name == name {
			secret, err := s.bridge.Launch(ipc.Binding{Window: w.Label, Origin: w.Origin})
			if err != nil {
				return "", err
			}
			return w.URL + "?" + ipc.QueryLaunch + "=" + secret, nil
		}
	}
	return "", fmt.Errorf("demo: no page %q", name)
}

// Windows lists the pages: the app's windows, then the untrusted page.
func (s *Server) Windows() []Window { return append([]Window(nil), s.windows...) }

// Packages tells whether the pages use the real npm packages.
func (s *Server) Packages() Packages { return s.packages }

// Device is the simulated device, for scripting it from Go.
func (s *Server) Device() *sim.Sim { return s.device }

// Close stops every listener and waits for the servers to end, cutting
// off open connections (such as the dashboard's event stream) after ctx
// ends.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closing.Do(func() {
		s.feed.close()
		for _, srv := range s.servers {
			if e := srv.Shutdown(ctx); e != nil {
				srv.Close()
				if err == nil {
					err = e
				}
			}
		}
		s.wg.Wait()
		if e := s.shutDown(); e != nil && err == nil {
			err = e
		}
		if s.packages.root != nil {
			s.packages.root.Close()
		}
	})
	return err
}

// shutDown stops the watcher and closes the audit log (writing what it
// still holds), once no call can be decided any more.
func (s *Server) shutDown() error {
	if s.stop != nil {
		s.stop()
	}
	if s.watcher != nil {
		s.watcher.Close()
	}
	if s.audit != nil {
		return s.audit.Close()
	}
	return nil
}

// windowLabels lists the window labels the capabilities name literally.
func windowLabels(r *acl.Resolved) []string {
	seen := map[string]bool{}
	for _, c := range r.Capabilities {
		for _, w := range c.Windows {
			if w != "" && !strings.ContainsAny(w, "*?[]{}!") && ipcLabel(w) {
				seen[w] = true
			}
		}
	}
	out := make([]string, 0, len(seen)+1)
	for w := range seen {
		if w != "main" {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return append([]string{"main"}, out...)
}

func ipcLabel(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '/' || c == ':' || c == '_') {
			return false
		}
	}
	return len(s) <= ipc.MaxNameLen
}

// openVault is the example app's own command: it only says it ran (and
// the dashboard counts its runs: a call whose step-up failed never gets
// here).
func (s *Server) openVault(_ context.Context, inv *ipc.Invocation) (any, error) {
	s.opened.Add(1)
	s.feed.touch()
	return map[string]any{"opened": true, "window": inv.Window}, nil
}

// hostCheck answers only requests addressed to the server's own host:port
// (a defence against DNS rebinding: another site's name pointed at this
// machine does not get the pages, nor their tokens). "localhost" is
// redirected to the address.
func hostCheck(addr string, next http.Handler) http.Handler {
	_, port, _ := net.SplitHostPort(addr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == addr {
			next.ServeHTTP(w, r)
			return
		}
		if h, p, err := net.SplitHostPort(r.Host); err == nil && p == port && strings.EqualFold(h, "localhost") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, "http://"+addr+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		http.Error(w, "this demo server answers only http://"+addr+"/", http.StatusMisdirectedRequest)
	})
}

// securityHeaders are set on every page and asset.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serveAsset serves one embedded file of assets/static.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	if strings.Contains(name, "..") || strings.Contains(name, "\\") {
		http.NotFound(w, r)
		return
	}
	data, err := assets.ReadFile(path.Join("assets/static", name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", contentType(name))
	_, _ = w.Write(data)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// Packages tells which npm packages the window pages import.
type Packages struct {
	root *os.Root // node_modules; nil when the packages are missing
	// Dir is the node_modules folder the packages are served from.
	Dir string `json:"dir,omitempty"`
	// Installed tells whether the three packages were found; API,
	// Biometric and Biometry are their versions.
	Installed bool   `json:"installed"`
	API       string `json:"api,omitempty"`
	Biometric string `json:"biometric,omitempty"`
	Biometry  string `json:"biometry,omitempty"`
	// Install says how to install them (InstallHint).
	Install string `json:"install"`
	// Problem says why they are not used.
	Problem string `json:"problem,omitempty"`
}

// servedPackages are the package folders the pages may load files from.
var servedPackages = []string{"@tauri-apps/api", "@tauri-apps/plugin-biometric", "@choochmeque/tauri-plugin-biometry-api"}

func findPackages(dir string) Packages {
	p := Packages{Install: InstallHint}
	if dir == "" {
		p.Problem = "no node_modules folder given"
		return p
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		p.Problem = err.Error()
		return p
	}
	versions := make([]string, len(servedPackages))
	for i, name := range servedPackages {
		data, err := root.ReadFile(name + "/package.json")
		if err != nil {
			p.Problem = fmt.Sprintf("%s is not installed in %s", name, dir)
			root.Close()
			return p
		}
		var meta struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(data, &meta) != nil || meta.Version == "" {
			p.Problem = fmt.Sprintf("%s/%s/package.json has no version", dir, name)
			root.Close()
			return p
		}
		versions[i] = meta.Version
	}
	p.root, p.Dir, p.Installed, p.API, p.Biometric, p.Biometry = root, dir, true, versions[0], versions[1], versions[2]
	return p
}

// serveModule serves a JavaScript file of the served packages, from
// /npm/<package>/<file>. A path without an extension gets ".js", as the
// packages' "exports" maps "./core" to "./core.js".
func (p Packages) serveModule(w http.ResponseWriter, r *http.Request, name string) {
	name = path.Clean("/" + name)[1:]
	ok := false
	for _, pkg := range servedPackages {
		if strings.HasPrefix(name, pkg+"/") {
			ok = true
		}
	}
	if p.root == nil || !ok {
		http.NotFound(w, r)
		return
	}
	if path.Ext(name) == "" {
		name += ".js"
	}
	if ext := path.Ext(name); ext != ".js" && ext != ".mjs" {
		http.NotFound(w, r)
		return
	}
	f, err := p.root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > 8<<20 {
		http.NotFound(w, r)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = io.Copy(w, f)
}
