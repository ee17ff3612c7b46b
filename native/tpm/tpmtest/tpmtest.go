// Package tpmtest runs a real software TPM 2.0 for tests: swtpm (the
// libtpms-based TPM emulator packaged by Debian as swtpm and swtpm-tools),
// started on free TCP ports of the loopback interface with its state in a
// temporary directory, and stopped when the test ends. Nothing answers in
// the TPM's place: every command goes to libtpms.
//
// With CAPGUARD_TPM=off the tests that need it are skipped, with a line on
// stderr that says they did not run; without swtpm they fail and say what
// to install.
package tpmtest

import (
	"fmt"
	"github.com/capguard/capguard/internal/childproc"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// SWTPM is a running swtpm.
type SWTPM struct {
	// Address is the "host:port" of its server socket, which carries TPM
	// commands (tpm.Options.Address).
	Address string

	dir  string
	proc *childproc.Process
}

// Require skips the test when CAPGUARD_TPM=off, saying so on stderr, and
// fails it when swtpm is not installed.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("CAPGUARD_TPM") == "off" {
		fmt.Fprintf(os.Stderr, "%s: CAPGUARD_TPM=off: the real-TPM (swtpm) test did NOT run\n", t.Name())
		t.Skip("CAPGUARD_TPM=off: the real-TPM (swtpm) test did not run")
	}
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Fatalf("the TPM tests need swtpm: run `bash scripts/install-fprintd.sh` as root "+
			"(Debian packages swtpm, swtpm-tools), or set CAPGUARD_TPM=off to skip them: %v", err)
	}
}

// Start starts a swtpm with a fresh state and stops it at the end of the
// test.
func Start(t testing.TB) *SWTPM {
	t.Helper()
	Require(t)
	s := &SWTPM{dir: t.TempDir()}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// Restart stops the TPM and starts it again on the same state: a reboot.
// Its transient objects and sessions are gone, its seeds are not.
func (s *SWTPM) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

// Clear runs TPM2_Clear with the platform hierarchy's (empty)
// authorization, as a firmware's "clear the TPM" does: the owner
// hierarchy gets a new seed, so every key derived from the old one (the
// storage primary key) is gone for good.
func (s *SWTPM) Clear(t testing.TB) {
	t.Helper()
	tp := s.Open(t)
	defer tp.Close()
	if _, err := (tpm2.Clear{AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHPlatform, Auth: tpm2.PasswordAuth(nil)}}).Execute(tp); err != nil {
		t.Fatalf("TPM2_Clear: %v", err)
	}
}

// Open connects to the TPM's server socket (swtpm takes one client at a
// time: close it before the code under test needs the TPM).
func (s *SWTPM) Open(t testing.TB) transport.TPMCloser {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Address, 5*time.Second)
	if err != nil {
		t.Fatalf("connect to swtpm: %v", err)
	}
	return transport.FromReadWriteCloser(c)
}

// Log returns what swtpm printed.
func (s *SWTPM) Log() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.Output()
}

// start runs swtpm on two free ports, trying again with other ports if
// another program took one in between.
func (s *SWTPM) start(t testing.TB) {
	t.Helper()
	var last string
	for range 5 {
		port, ctrl := freePort(t), freePort(t)
		if port == ctrl {
			continue
		}
		p, err := childproc.Start(exec.Command("swtpm", "socket", "--tpm2",
			"--tpmstate", "dir="+s.dir,
			"--server", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(port),
			"--ctrl", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(ctrl),
			"--flags", "not-need-init,startup-clear"))
		if err != nil {
			t.Fatalf("start swtpm: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if waitListening(addr, p.Done()) {
			s.Address, s.proc = addr, p
			return
		}
		p.Stop()
		last = p.Output()
	}
	t.Fatalf("swtpm did not start:\n%s", last)
}

// waitListening waits up to 10s for addr to accept a connection, or for
// the process to exit.
func waitListening(addr string, done <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// stop terminates swtpm (it saves its state on SIGTERM) and waits for it.
func (s *SWTPM) stop() {
	if s.proc != nil {
		s.proc.Stop() // returns at once when it has already stopped
	}
}

// freePort returns a TCP port of the loopback interface that was free a
// moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// buffer collects a process's output.
