package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"

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
	granted := capwails.AccessFrom(ctx) != nil
	if v.log != nil {
		v.mu.Lock()
		line, _ := json.Marshal(map[string]any{"method": method, "window": window, "granted": granted})
		_, _ = v.log.Write(append(line, '\n'))
		v.mu.Unlock()
	}
	return window
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
}

// newAssets serves the pages, /config.json, and the @tauri-apps packages
// under /node_modules/ from the modules folder.
func newAssets(pages fs.FS, modules string, cfg pageConfig) http.Handler {
	modules = modulesDir(modules)
	for _, pkg := range []string{"@tauri-apps/api/core.js", "@tauri-apps/plugin-biometric/dist-js/index.js"} {
		if _, err := os.Stat(path.Join(modules, pkg)); err != nil {
			fmt.Fprintf(os.Stderr, "wails-vault: %s is missing (run npm ci in frontend/): the pages fall back to direct calls\n", path.Join(modules, pkg))
			cfg.Modules = false
			break
		}
		cfg.Modules = true
	}
	files := http.FileServerFS(pages)
	nodeModules := http.StripPrefix("/node_modules/", http.FileServer(http.Dir(modules)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/config.json":
			writeJSON(w, cfg)
		case strings.HasPrefix(r.URL.Path, "/node_modules/"):
			if !strings.HasPrefix(r.URL.Path, "/node_modules/@tauri-apps/") {
				http.NotFound(w, r)
				return
			}
			nodeModules.ServeHTTP(w, r)
		default:
			files.ServeHTTP(w, r)
		}
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
