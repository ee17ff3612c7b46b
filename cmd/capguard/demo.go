package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/demo"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/native/sim"
	"github.com/spf13/cobra"
)

func init() { register(newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var in aclInputs
	var listen, script, nodeModules, auditFile string
	var windows []string
	var verbose, watch bool
	c := &cobra.Command{
		Use:   "demo [DIR] [--listen 127.0.0.1:PORT] [--sim FILE] [--node-modules DIR] [--watch] [--audit FILE]",
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
misses in a row.

Step-up: the obligations of DIR's capguard.json are met by the biometric
plugin before the command runs. The example app's makes open_vault from
window main prompt ("Unlock your vault") unless the user was recognized
less than 60 s before; the feed shows each step-up (prompted, remembered,
shared, failed), and a failed prompt rejects the call with the biometric
error ({"message", "code"}) without running it.

--watch reloads DIR whenever its capabilities, tauri.conf.json,
gen/schemas/acl-manifests.json or capguard.json change: the dashboard
shows each reload (or a failed one with its file:line:col, the last good
ACL still deciding) and rebuilds the permission matrix. It needs DIR, a
src-tauri directory on disk (the embedded example app cannot change: watch
a copy of examples/app/src-tauri), and reads DIR's own files, so it cannot
be combined with --capabilities, --manifests, --plugin or --app.

--audit FILE appends the audit log of every decision to FILE as JSON Lines
(created with mode 0600; never the arguments of a call). The dashboard
shows the log's lines either way.

The first line printed is "capguard demo: <dashboard URL>"; the URL
carries the dashboard's key, and the dashboard opens each window with a
single-use launch secret, so that another local process that fetches a
window's page gets no token. Stop with Ctrl-C.`,
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
			if watch {
				if len(a) == 0 {
					return usageError("--watch needs DIR, a src-tauri directory on disk: the embedded example app cannot change (watch a copy: cp -r examples/app/src-tauri /tmp/vault && capguard demo /tmp/vault --watch)")
				}
				if len(in.capabilities) > 0 || in.manifests != "" || len(in.plugins) > 0 || in.appPerms != "" {
					return usageError("--watch reloads DIR's own files; it cannot be combined with --capabilities, --manifests, --plugin or --app")
				}
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
			ext, err := loadExtension(a)
			if err != nil {
				return err
			}
			name := examples.AppDir
			dir := ""
			if len(a) == 1 {
				name, dir = a[0], a[0]
			}
			srv, err := demo.Start(demo.Config{
				Resolved:    res,
				Extension:   ext,
				Dir:         dir,
				Watch:       watch,
				AuditFile:   auditFile,
				Name:        name,
				Windows:     windows,
				Device:      device,
				Listen:      listen,
				NodeModules: nodeModules,
				Verbose:     verbose,
			})
			if err != nil {
				if acl.IsInputError(err) {
					return err // a capguard.json the manifests contradict: file:line:col
				}
				return usageError("%v", err)
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "capguard demo: %s\n", srv.OpenURL())
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
			if watch {
				fmt.Fprintf(out, "  watching %s: edits to its capabilities, tauri.conf.json, acl-manifests.json and capguard.json apply live\n", dir)
			}
			if auditFile != "" {
				fmt.Fprintf(out, "  audit log: %s (JSON Lines)\n", auditFile)
			}
			fmt.Fprintln(out, "Press Ctrl-C to stop.")

			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := srv.Close(shutdown); err != nil && auditFile != "" && !errors.Is(err, context.DeadlineExceeded) {
				// Closing the audit file failed: its last lines may be lost.
				return usageError("closing the audit log %s: %v", auditFile, err)
			}
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
	f.BoolVar(&watch, "watch", false, "reload DIR (a src-tauri directory on disk) whenever its files change")
	f.StringVar(&auditFile, "audit", "", "append the audit log of every decision to `FILE` (JSON Lines)")
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
