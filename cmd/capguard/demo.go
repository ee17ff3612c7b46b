package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/capguard/capguard/demo"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/native/sim"
	"github.com/spf13/cobra"
)

func init() { register(newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var in aclInputs
	var listen, script, nodeModules string
	var windows []string
	var verbose bool
	c := &cobra.Command{
		Use:   "demo [DIR] [--listen 127.0.0.1:PORT] [--sim FILE] [--node-modules DIR]",
		Short: "Serve the app's windows to a browser, guarded, on a simulated fingerprint reader",
		Long: `Serve DIR's app (default: the embedded example app) to a web browser: each
window as a page on its own loopback port, running the real
@tauri-apps/api and @tauri-apps/plugin-biometric JavaScript against
capguard's guard and biometric plugin on a simulated device, plus an
untrusted page on another port (a remote origin, in the first window).

The dashboard (--listen, default a free port on 127.0.0.1) shows the
effective permissions of every page, the frames of the pages with buttons
for checkStatus() and authenticate(), controls that script the device's
next touch (match, no match, cancel, lockout), and every decision of the
guard as it happens. It also serves the IPC bridge under /ipc/.

The pages load the npm packages from --node-modules (default:
e2e/node_modules or node_modules in the current directory, when they hold
@tauri-apps/api and @tauri-apps/plugin-biometric); install them with
` + "`npm ci --prefix e2e`" + ` in the capguard repository. Without them the pages
use a stand-in that makes the same calls, and say so.

--sim reads the simulator's script (see docs/biometric.md); the default
device matches every touch after 300 ms and locks for 30 s after five
misses in a row. The first line printed is "capguard demo: <dashboard URL>".
Stop with Ctrl-C.`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			var device *sim.Config
			if script != "" {
				cfg, err := sim.ReadScript(script)
				if err != nil {
					if os.IsNotExist(err) {
						return usageError("--sim: %v", err)
					}
					return &exitError{code: 1, err: err}
				}
				device = &cfg
			}
			if nodeModules == "" {
				nodeModules = findNodeModules()
			}
			l, err := in.load(a)
			if err != nil {
				return err
			}
			res, err := l.resolve()
			if err != nil {
				return err
			}
			name := examples.AppDir
			if len(a) == 1 {
				name = a[0]
			}
			srv, err := demo.Start(demo.Config{
				Resolved:    res,
				Name:        name,
				Windows:     windows,
				Device:      device,
				Listen:      listen,
				NodeModules: nodeModules,
				Verbose:     verbose,
			})
			if err != nil {
				return usageError("%v", err)
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "capguard demo: %s\n", srv.URL())
			for _, w := range srv.Windows() {
				if w.Local {
					fmt.Fprintf(out, "  window %-10s %s  (local)\n", w.Label, w.URL)
				} else {
					fmt.Fprintf(out, "  untrusted page   %s  (remote origin, in window %s)\n", w.URL, w.Label)
				}
			}
			if p := srv.Packages(); p.Installed {
				fmt.Fprintf(out, "  npm packages: @tauri-apps/api %s, @tauri-apps/plugin-biometric %s from %s\n", p.API, p.Biometric, p.Dir)
			} else {
				fmt.Fprintf(out, "  npm packages: not used (%s); the pages use a stand-in. Install them: %s\n", p.Problem, p.Install)
			}
			fmt.Fprintln(out, "Press Ctrl-C to stop.")

			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Close(shutdown)
			return nil
		},
	}
	in.register(c)
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:0", "the dashboard's address (loopback only); the pages get free ports on the same host")
	f.StringVar(&script, "sim", "", "simulator script (JSON) describing the device and its scripted outcomes")
	f.StringVar(&nodeModules, "node-modules", "", "node_modules folder with @tauri-apps/api and @tauri-apps/plugin-biometric")
	f.StringArrayVar(&windows, "window", nil, "a window to serve (repeatable; default: the windows the capabilities name)")
	f.BoolVar(&verbose, "verbose", false, "reject with Tauri's full explanation instead of the release text")
	return c
}

// findNodeModules looks for the npm packages where the repository's e2e
// setup installs them, then in ./node_modules.
func findNodeModules() string {
	for _, dir := range []string{filepath.Join("e2e", "node_modules"), "node_modules"} {
		if st, err := os.Stat(filepath.Join(dir, "@tauri-apps", "plugin-biometric", "package.json")); err == nil && st.Mode().IsRegular() {
			return dir
		}
	}
	return ""
}
