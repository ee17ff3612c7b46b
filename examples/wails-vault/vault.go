package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// VaultService is the app's bound service. Each of its methods is a
// command the capabilities decide: VaultInfo is vault_info, OpenVault is
// open_vault, DeleteVault is delete_vault. Every run is written to the
// vault log, which shows that a denied call never ran.
type VaultService struct {
	mu  sync.Mutex
	log *os.File
}

func newVaultService(logPath string) (*VaultService, error) {
	v := &VaultService{}
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		v.log = f
	}
	return v, nil
}

// Close closes the vault log.
func (v *VaultService) Close() error {
	if v.log == nil {
		return nil
	}
	return v.log.Close()
}

// ran records one run of a bound method: which method, for which window,
// and whether the guard's grant was in its context.
func (v *VaultService) ran(ctx context.Context, method string) string {
	window := ""
	if w, ok := ctx.Value(application.WindowKey).(application.Window); ok && w != nil {
		window = w.Name()
	}
	v.record(map[string]any{"method": method, "window": window, "granted": capwails.AccessFrom(ctx) != nil})
	return window
}

// record writes one line to the vault log.
func (v *VaultService) record(entry map[string]any) {
	if v.log == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	line, _ := json.Marshal(entry)
	_, _ = v.log.Write(append(line, '\n'))
}

// rawMessage is the app's raw message handler: it logs what reached it.
func (v *VaultService) rawMessage(window application.Window, message string) {
	v.record(map[string]any{"raw": message, "window": window.Name()})
}

// event is the app's Go listener of the pages' events: it logs them.
func (v *VaultService) event(e *application.CustomEvent) {
	v.record(map[string]any{"event": e.Name, "sender": e.Sender, "data": e.Data})
}

// Info is what vault_info answers.
type Info struct {
	Name    string `json:"name"`
	Entries int    `json:"entries"`
	Window  string `json:"window"`
}

// VaultInfo tells the vault's name and size; any window of the app may
// ask.
func (v *VaultService) VaultInfo(ctx context.Context) Info {
	return Info{Name: "Personal", Entries: 3, Window: v.ran(ctx, "VaultInfo")}
}

// Secret is one entry of the opened vault.
type Secret struct {
	Site     string `json:"site"`
	Password string `json:"password"`
}

// Opened is what open_vault answers.
type Opened struct {
	Opened  bool     `json:"opened"`
	Window  string   `json:"window"`
	Secrets []Secret `json:"secrets"`
}

// OpenVault opens the vault: only the main window may, after a fresh
// biometric authentication (app/capguard.json).
func (v *VaultService) OpenVault(ctx context.Context) Opened {
	return Opened{Opened: true, Window: v.ran(ctx, "OpenVault"), Secrets: []Secret{
		{Site: "mail.example", Password: "correct horse"},
		{Site: "bank.example", Password: "battery staple"},
	}}
}

// DeleteVault would delete the vault; no capability of the example
// allows it.
func (v *VaultService) DeleteVault(ctx context.Context) error {
	v.ran(ctx, "DeleteVault")
	return errors.New("the example never deletes anything")
}

// pageConfig is what the pages learn from the host (/config.json).
type pageConfig struct {
	// Report, in scenario mode, is where the pages post their results.
	Report string `json:"report,omitempty"`
	// Untrusted is the untrusted site's URL.
	Untrusted string `json:"untrusted,omitempty"`
	// Modules tells whether the @tauri-apps packages are served.
	Modules bool `json:"modules"`
	// Bare tells that the app runs without capguard (-bare).
	Bare bool `json:"bare,omitempty"`
}

// assets serves the pages, /config.json, and the @tauri-apps packages and
// xhook under /node_modules/ from the modules folder. The strict pages
// are served with a Content-Security-Policy without 'unsafe-inline':
// strict.html allows scripts of the app's origin only, strict-nonce.html
// scripts that carry the response's nonce.
type assets struct {
	pages       fs.FS
	files       http.Handler
	nodeModules http.Handler
	cfg         pageConfig
	indexServed atomic.Int64
}

func newAssets(pages fs.FS, modules string, cfg pageConfig) *assets {
	modules = modulesDir(modules)
	for _, pkg := range []string{"@tauri-apps/api/core.js", "@tauri-apps/plugin-biometric/dist-js/index.js", "xhook/dist/xhook.min.js"} {
		if _, err := os.Stat(path.Join(modules, pkg)); err != nil {
			fmt.Fprintf(os.Stderr, "wails-vault: %s is missing (run npm ci in frontend/): the pages fall back to direct calls\n", path.Join(modules, pkg))
			cfg.Modules = false
			break
		}
		cfg.Modules = true
	}
	return &assets{
		pages:       pages,
		files:       http.FileServerFS(pages),
		nodeModules: http.StripPrefix("/node_modules/", http.FileServer(http.Dir(modules))),
		cfg:         cfg,
	}
}

// strictCSP is the policy of the strict pages: no inline script, no eval;
// the reports go to the test's loopback listener.
const strictCSP = "default-src 'self'; style-src 'self'; connect-src 'self' http://127.0.0.1:*; script-src "

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		a.indexServed.Add(1)
		a.files.ServeHTTP(w, r)
	case p == "/config.json":
		writeJSON(w, a.cfg)
	case p == "/strict.html":
		w.Header().Set("Content-Security-Policy", strictCSP+"'self'")
		a.page(w, "strict.html", "")
	case p == "/strict-nonce.html":
		nonce := make([]byte, 12)
		_, _ = rand.Read(nonce)
		n := base64.StdEncoding.EncodeToString(nonce)
		w.Header().Set("Content-Security-Policy", strictCSP+"'nonce-"+n+"' 'strict-dynamic'")
		a.page(w, "strict.html", n)
	case strings.HasPrefix(p, "/node_modules/"):
		if !strings.HasPrefix(p, "/node_modules/@tauri-apps/") && !strings.HasPrefix(p, "/node_modules/xhook/dist/") {
			http.NotFound(w, r)
			return
		}
		a.nodeModules.ServeHTTP(w, r)
	default:
		a.files.ServeHTTP(w, r)
	}
}

// page serves a page, with the response's nonce on its scripts.
func (a *assets) page(w http.ResponseWriter, name, nonce string) {
	data, err := fs.ReadFile(a.pages, name)
	if err != nil {
		http.NotFound(w, nil)
		return
	}
	attr := ""
	if nonce != "" {
		attr = ` nonce="` + nonce + `"`
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(bytes.ReplaceAll(data, []byte(" data-nonce"), []byte(attr)))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
