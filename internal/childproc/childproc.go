// Package childproc runs the daemons that tests start (swtpm,
// dbus-daemon, fprintd, gnome-keyring-daemon): their output is gathered
// for failure messages while they run, and Stop ends them, politely first.
package childproc

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"time"
)

// StopWait is how long Stop waits after an interrupt before it kills.
const StopWait = 5 * time.Second

// Process is a started child process.
type Process struct {
	cmd  *exec.Cmd
	out  buffer
	done chan struct{}
}

// Start starts cmd with its standard output and error gathered (Output).
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Output is what the process has written so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop interrupts the process and waits for it to exit, killing it when it
// has not within StopWait. It returns at once if the process has exited.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(StopWait):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// buffer collects writes from the process's output copiers while readers
// call String.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
