package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	guard "github.com/capguard/capguard"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/spf13/cobra"
)

func init() { register(newInvokeCmd) }

func newInvokeCmd() *cobra.Command {
	var in aclInputs
	var lf labelFlags
	var script, args string
	var verbose, showLog bool
	var repeat int
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "invoke [DIR] --window W [--origin local|URL] [--args JSON] [--sim SCRIPT] [--add-capability FILE] COMMAND",
		Short: "Send an IPC call through the guard to the biometric plugin on a simulated device",
		Long: `Run one IPC call as a frontend's invoke() would: through the guard of DIR's
capabilities (default: the embedded example app) to the biometric plugin,
which talks to a simulated device. Prints what the JavaScript promise
resolves or rejects with:

  resolved: <JSON>
  rejected: <JSON>

--sim reads the simulator's script (a JSON file; see docs/biometric.md);
without it the device is a working fingerprint reader whose every touch
matches. --repeat sends the call several times to the same device (to
play a script through); --log prints the device's call log to stderr.
The app's own commands are not served here: an allowed one is "not found".

--add-capability FILE adds a capability file while the app runs, before
the call, the way the app's code would with App.AddCapability (Tauri's
Manager::add_capability): resolved against DIR's manifests, on top of
DIR's capabilities (repeatable, in order; each addition is named on
stderr). A file that does not resolve is an error with its position.

Exit status: 0 resolved, 1 rejected (or invalid input), 2 usage error.`,
		Args: func(c *cobra.Command, a []string) error {
			if len(a) < 1 || len(a) > 2 {
				return usageError("invoke takes [DIR] COMMAND (got %d arguments)", len(a))
			}
			return nil
		},
		RunE: func(c *cobra.Command, a []string) error {
			origin, err := lf.parse()
			if err != nil {
				return err
			}
			if repeat < 1 || repeat > 1000 {
				return usageError("--repeat must be from 1 to 1000, not %d", repeat)
			}
			if args != "" && !json.Valid([]byte(args)) {
				return usageError("--args is not valid JSON: %s", args)
			}
			cfg := sim.Ready()
			if script != "" {
				if cfg, err = sim.ReadScript(script); err != nil {
					if os.IsNotExist(err) {
						return usageError("--sim: %v", err)
					}
					return &exitError{code: 1, err: err}
				}
			}
			l, err := in.load(a[:len(a)-1])
			if err != nil {
				return err
			}
			res, err := l.resolve()
			if err != nil {
				return err
			}
			names, texts, err := runtimeTexts(c)
			if err != nil {
				return err
			}
			device := sim.New(cfg)
			var opts []guard.Option
			if verbose {
				opts = append(opts, guard.Verbose())
			}
			if len(names) > 0 {
				// Capabilities added at run time need the store.
				opts = append(opts, guard.WithReload())
			}
			app, err := guard.New(res, device, opts...)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			for i, name := range names {
				v, err := app.AddCapabilityText(ctx, name, texts[i])
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("--%s %s: %w", addCapabilityFlag, name, err)}
				}
				for _, added := range v.AddedHere() {
					fmt.Fprintf(c.ErrOrStderr(), "added at run time: capability %q from %s (version %d)\n", added.Identifier, name, v.Seq)
				}
			}
			out := c.OutOrStdout()
			rejected := false
			for i := 0; i < repeat; i++ {
				callCtx, cancel := ctx, context.CancelFunc(func() {})
				if timeout > 0 {
					callCtx, cancel = context.WithTimeout(ctx, timeout)
				}
				body, err := app.Invoke(callCtx, &ipc.Invocation{
					Command: a[len(a)-1],
					Window:  lf.window,
					Webview: lf.webview,
					Origin:  origin,
					Args:    json.RawMessage(args),
				})
				cancel()
				if err != nil {
					rejected = true
					fmt.Fprintf(out, "rejected: %s\n", ipc.RejectValue(err))
				} else {
					fmt.Fprintf(out, "resolved: %s\n", body)
				}
			}
			if showLog {
				writeSimLog(c.ErrOrStderr(), device.Calls())
			}
			if rejected {
				return &exitError{code: 1, err: errDenied}
			}
			return nil
		},
	}
	in.register(c)
	lf.register(c)
	addRuntimeFlag(c)
	f := c.Flags()
	f.StringVar(&args, "args", "", `the call's arguments, a JSON object (e.g. '{"reason":"Open the vault"}')`)
	f.StringVar(&script, "sim", "", "simulator script (JSON) describing the device and its scripted outcomes")
	f.BoolVar(&verbose, "verbose", false, "reject with Tauri's full explanation instead of the release text")
	f.BoolVar(&showLog, "log", false, "print the simulated device's call log to stderr")
	f.IntVar(&repeat, "repeat", 1, "send the call this many times to the same device")
	f.DurationVar(&timeout, "timeout", 0, "cancel each call after this long (0: no limit; Ctrl-C cancels too)")
	return c
}

func writeSimLog(w io.Writer, calls []sim.Call) {
	fmt.Fprintf(w, "device: %d call(s)\n", len(calls))
	for i, c := range calls {
		line := fmt.Sprintf("  %d. %s", i+1, c.Method)
		if c.Method == sim.MethodAuthenticate {
			line += fmt.Sprintf(" attempt %d/%d", c.Prompt.Attempt, c.Prompt.MaxAttempts)
			if c.Outcome != "" {
				line += " " + string(c.Outcome)
			}
			if c.Code != "" {
				line += " → " + string(c.Code)
			} else {
				line += " → ok"
			}
		}
		fmt.Fprintln(w, line)
	}
}
