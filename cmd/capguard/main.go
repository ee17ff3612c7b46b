// Command capguard reads, resolves and checks Tauri v2 capabilities and
// permissions without the Rust toolchain.
//
// Exit codes: 0 success (or "allowed" for check), 1 the input is invalid
// (or "denied" for check), 2 usage or I/O error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/capguard/capguard/acl"
	"github.com/spf13/cobra"
)

// exitError carries the process exit code of a failed command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks a command-line mistake (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if acl.IsInputError(err) {
		return 1
	}
	return 2
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "capguard",
		Short: "Tauri v2 capabilities and permissions, in Go",
		Long: `capguard reads Tauri v2 capability and permission files, resolves them
into the runtime ACL exactly as Tauri does, and answers which window, from
which origin, may call which command, and why.

Without a directory argument, commands use the embedded example app
(examples/app/src-tauri).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: 2, err: fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// commands are the top-level commands; each command's file adds its own
// constructor from an init function, so that commands live side by side
// without touching each other's files.
var commands []func() *cobra.Command

// register adds a top-level command constructor.
func register(c func() *cobra.Command) { commands = append(commands, c) }

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		if !errors.Is(err, errDenied) {
			fmt.Fprintln(stderr, "capguard:", err)
		}
		return exitCode(err)
	}
	return 0
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
