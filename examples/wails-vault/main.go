// Command wails-vault is a Wails v3 app guarded by capguard: two windows
// (main and settings), the app's own capabilities and permissions in app/,
// capguard's biometric plugin (simulated, or the Linux fingerprint daemon
// with -fprintd), a biometric step-up before open_vault, and a link that
// takes the main window to an untrusted site.
//
// Build it with cgo (on Debian: libwebkit2gtk-4.1-dev, libgtk-3-dev) and
// run it from this folder:
//
//	go build -o wails-vault . && ./wails-vault
//
// The pages load @tauri-apps/api and @tauri-apps/plugin-biometric from
// frontend/node_modules (npm ci in frontend/), unmodified.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/fprintd"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
	"github.com/wailsapp/wails/v3/pkg/application"
)

//go:embed frontend/*.html frontend/*.js frontend/*.css
var frontend embed.FS

//go:embed all:app
var embeddedApp embed.FS

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wails-vault:", err)
		os.Exit(1)
	}
}

func run() error {
	appDir := flag.String("app", "", "the app's capability folder (capabilities/, permissions/, capguard.json, gen/schemas/); default: the embedded app/")
	watch := flag.Bool("watch", false, "reload the capabilities whenever the files of -app change")
	device := flag.String("device", "", "a simulator script (JSON, see native/sim) for the fingerprint reader")
	useFprintd := flag.Bool("fprintd", false, "use the Linux fingerprint daemon (fprintd) instead of the simulator")
	auditFile := flag.String("audit", "", "append every decision to this JSON-lines audit log")
	vaultLog := flag.String("vault-log", "", "append a line to this file each time a bound method runs")
	modules := flag.String("modules", "frontend/node_modules", "the node_modules folder holding @tauri-apps/api and @tauri-apps/plugin-biometric")
	report := flag.String("report", "", "scenario mode: the pages run their scripted scenario and post results to this URL")
	bare := flag.Bool("bare", false, "run without capguard (bare Wails), to see what the attacks of the untrusted site do then")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", flag.Arg(0))
	}

	shim, err := newDevice(*device, *useFprintd)
	if err != nil {
		return err
	}
	opts := []capguard.Option{capguard.WithReload()}
	if *auditFile != "" {
		sink, err := audit.OpenFile(*auditFile)
		if err != nil {
			return err
		}
		auditLog := audit.New(sink, audit.Block())
		defer auditLog.Close()
		opts = append(opts, capguard.WithAudit(auditLog))
	}
	var guarded *capguard.App
	if *appDir != "" {
		guarded, err = capguard.Load(*appDir, acl.Linux, shim, opts...)
	} else {
		if *watch {
			return fmt.Errorf("-watch needs -app DIR: the embedded app cannot change")
		}
		sub, _ := fs.Sub(embeddedApp, "app")
		guarded, err = capguard.LoadFS(sub, "app", acl.Linux, shim, opts...)
	}
	if err != nil {
		return err
	}

	vault, err := newVaultService(*vaultLog)
	if err != nil {
		return err
	}
	defer vault.Close()
	untrusted, err := serveUntrusted(*report)
	if err != nil {
		return err
	}
	pages, err := fs.Sub(frontend, "frontend")
	if err != nil {
		return err
	}
	assets := newAssets(pages, *modules, pageConfig{Report: *report, Untrusted: untrusted, Bare: *bare})

	wailsOpts := application.Options{
		Name:        "Vault",
		Description: "A Wails v3 app guarded by capguard",
		Services:    []application.Service{application.NewService(vault)},
		Assets:      application.AssetOptions{Handler: assets},
		// Raw messages the pages post (window._wails.invoke).
		RawMessageHandler:           vault.rawMessage,
		DisableDefaultSignalHandler: true,
	}
	var guard *capwails.Guard
	if !*bare {
		// capguard reads the services from wailsOpts and installs itself there.
		guard, err = capwails.New(capwails.Config{
			IPC: guarded.IPC,
			App: &wailsOpts,
			OnReject: func(r capwails.Rejection) {
				log.Printf("capguard: refused %s (window %q): %d %s", r.Path, r.Window, r.Status, r.Text)
			},
		})
		if err != nil {
			return err
		}
	}
	app := application.New(wailsOpts)
	// A Go listener of the events the pages emit.
	for _, name := range []string{"vault:opened", "vault:wipe"} {
		app.Event.On(name, vault.event)
	}
	app.Window.NewWithOptions(application.WebviewWindowOptions{Name: "main", Title: "Vault", URL: "/", Width: 620, Height: 600, InitialPosition: application.WindowXY, X: 10, Y: 10})
	app.Window.NewWithOptions(application.WebviewWindowOptions{Name: "settings", Title: "Vault settings", URL: "/settings.html", Width: 620, Height: 600, InitialPosition: application.WindowXY, X: 650, Y: 10})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		app.Quit()
	}()
	if *watch {
		w, err := guarded.Watch(ctx, policy.OnReload(func(ev policy.ReloadEvent) {
			if ev.Err != nil {
				log.Printf("capguard: reload refused, keeping the current ACL: %v", ev.Err)
				return
			}
			log.Printf("capguard: reloaded the ACL (version %d)", ev.Version.Seq)
		}))
		if err != nil {
			return err
		}
		defer w.Close()
	}
	if guard != nil {
		log.Printf("wails-vault: guarding %d bound methods; untrusted site at %s", len(guard.Commands()), untrusted)
	} else {
		log.Printf("wails-vault: bare Wails, no guard; untrusted site at %s", untrusted)
	}
	err = app.Run()
	log.Printf("wails-vault: served index.html %d times", assets.indexServed.Load())
	if guard != nil {
		for _, w := range []struct {
			name string
			id   uint
		}{{"main", 1}, {"settings", 2}} {
			a, p, r := guard.PageCounts(w.id)
			log.Printf("wails-vault: window %s keeps %d active, %d pending, %d retired page loads", w.name, a, p, r)
		}
	}
	return err
}

// newDevice is the biometric device: the simulator (scripted by a file)
// or fprintd.
func newDevice(script string, useFprintd bool) (native.Shim, error) {
	if useFprintd {
		if script != "" {
			return nil, fmt.Errorf("-device and -fprintd exclude each other")
		}
		return fprintd.New(fprintd.Options{})
	}
	cfg := sim.Ready()
	if script != "" {
		c, err := sim.ReadScript(script)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	cfg.OnAttempt = func(p native.Prompt) { log.Printf("device: authentication attempt, reason %q", p.Reason) }
	return sim.New(cfg), nil
}

// serveUntrusted serves a page of another origin on loopback, which the
// main window can navigate to: a site the capabilities do not trust.
func serveUntrusted(report string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	page, err := frontend.ReadFile("frontend/untrusted.html")
	if err != nil {
		return "", err
	}
	js, err := frontend.ReadFile("frontend/untrusted.js")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("GET /untrusted.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(js)
	})
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, pageConfig{Report: report})
	})
	go func() { _ = http.Serve(ln, mux) }()
	return "http://" + ln.Addr().String() + "/", nil
}

// modulesDir makes a relative -modules folder relative to the working
// directory, as given.
func modulesDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
