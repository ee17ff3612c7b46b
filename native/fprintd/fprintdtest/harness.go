// Package fprintdtest runs the real fprintd for tests, the way
// native/fprintd's own test does: a private dbus-daemon of type system, a
// minimal polkit authority on it (the one stand-in), the real fprintd
// daemon from Debian with libfprint's virtual-device driver, and a
// simulated finger that feeds the virtual reader through its socket.
//
// libfprint's virtual-device driver (FP_VIRTUAL_DEVICE=<socket>) reads one
// command per connection: "SCAN <id>" presents the print <id> (enrolling
// it, or verifying it against the enrolled one), "RETRY <n>", "ERROR <n>",
// "UNPLUG", "SET_KEEP_ALIVE 1".
//
// With CAPGUARD_FPRINTD=off the tests that need it are skipped with a
// line on stderr; without fprintd they fail and say what to install.
package fprintdtest

import (
	"context"
	"errors"
	"fmt"
	"github.com/capguard/capguard/internal/childproc"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Where distributions install the daemon.
var fprintdPaths = []string{"/usr/libexec/fprintd", "/usr/lib/fprintd/fprintd"}

// requireTools returns the fprintd binary, failing the test with what to
// do when the packages are missing; with CAPGUARD_FPRINTD=off it skips,
// saying so on stderr.
func requireTools(t *testing.T) string {
	t.Helper()
	if os.Getenv("CAPGUARD_FPRINTD") == "off" {
		fmt.Fprintf(os.Stderr, "%s: CAPGUARD_FPRINTD=off: the real-fprintd test did NOT run\n", t.Name())
		t.Skip("CAPGUARD_FPRINTD=off: the real-fprintd test did not run")
	}
	var missing []string
	bin := ""
	for _, p := range fprintdPaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			bin = p
			break
		}
	}
	if bin == "" {
		missing = append(missing, "fprintd (no "+strings.Join(fprintdPaths, " or ")+")")
	}
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		missing = append(missing, "dbus-daemon")
	}
	if len(missing) > 0 {
		t.Fatalf("the real-fprintd test needs %s: run `bash scripts/install-fprintd.sh` as root "+
			"(Debian packages fprintd, libfprint-2-2, dbus-daemon), or set CAPGUARD_FPRINTD=off to skip it",
			strings.Join(missing, " and "))
	}
	return bin
}

// start runs cmd, its output collected, and stops it at the end of the
// test if it still runs.
func start(t *testing.T, cmd *exec.Cmd) *childproc.Process {
	t.Helper()
	p, err := childproc.Start(cmd)
	if err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(p.Stop)
	return p
}

const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow send_type="signal"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
`

// startBus starts a private system-type dbus-daemon listening on a socket
// in dir and returns its address once it accepts connections.
func startBus(t *testing.T, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "bus.sock")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--nosyslog"))
	addr := "unix:path=" + sock
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dbus.Connect(addr)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-p.Done():
			t.Fatalf("dbus-daemon exited: %s", p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbus-daemon did not accept connections within 10s: %v\n%s", err, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// authority is a minimal polkit authority: CheckAuthorization answers
// authorized, unless the action is in deny. It records the actions asked.
type authority struct {
	mu    sync.Mutex
	deny  map[string]bool
	asked []string
}

// authResult is polkit's (bba{ss}): authorized, challenge, details.
type authResult struct {
	Authorized bool
	Challenge  bool
	Details    map[string]string
}

// subject is polkit's (sa{sv}).
type subject struct {
	Kind    string
	Details map[string]dbus.Variant
}

// CheckAuthorization is org.freedesktop.PolicyKit1.Authority's method.
func (a *authority) CheckAuthorization(_ subject, action string, _ map[string]string, _ uint32, _ string) (authResult, *dbus.Error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, action)
	return authResult{Authorized: !a.deny[action], Details: map[string]string{}}, nil
}

// setDeny makes the authority refuse the given actions (none: allow all).
func (a *authority) setDeny(actions ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deny = map[string]bool{}
	for _, x := range actions {
		a.deny[x] = true
	}
}

// startAuthority puts the polkit stand-in on the bus.
func startAuthority(t *testing.T, addr string) *authority {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a := &authority{}
	if err := c.Export(a, "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority"); err != nil {
		t.Fatal(err)
	}
	if r, err := c.RequestName("org.freedesktop.PolicyKit1", dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.PolicyKit1: %v %v", r, err)
	}
	return a
}

// daemon is a running fprintd.
type daemon struct {
	*childproc.Process
	vdev string // the virtual device's socket
}

// startFprintd runs the real fprintd on the bus with a virtual device
// whose socket is vdev and whose prints are stored under state, and waits
// until it owns its name.
func startFprintd(t *testing.T, bin, addr, vdev, state string) *daemon {
	t.Helper()
	cmd := exec.Command(bin, "--no-timeout")
	cmd.Env = append(os.Environ(),
		"DBUS_SYSTEM_BUS_ADDRESS="+addr,
		"FP_VIRTUAL_DEVICE="+vdev,
		"STATE_DIRECTORY="+state,
		"G_MESSAGES_DEBUG=all",
	)
	p := start(t, cmd)
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var has bool
		if err := c.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "net.reactivated.Fprint").Store(&has); err != nil {
			t.Fatal(err)
		}
		if has {
			return &daemon{Process: p, vdev: vdev}
		}
		select {
		case <-p.Done():
			t.Fatalf("fprintd exited at start-up:\n%s", p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("fprintd did not own net.reactivated.Fprint within 10s:\n%s", p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// send writes one command to the virtual device and returns its answer
// (only LIST answers).
func (d *daemon) send(cmd string) (string, error) {
	c, err := net.DialTimeout("unix", d.vdev, 2*time.Second)
	if err != nil {
		return "", fmt.Errorf("virtual device %s: %w", d.vdev, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", fmt.Errorf("virtual device: send %q: %w", cmd, err)
	}
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		err = nil
	}
	return string(b), err
}

// finger plays the user: each time the reader asks for a finger (fprintd
// sets the device's finger-needed property), it sends the next scripted
// command to the virtual device. With an empty script the reader waits.
type finger struct {
	d    *daemon
	mu   sync.Mutex
	next []string
	sent []string
	errs []error
}

// watchFinger starts the finger on the device at path.
func watchFinger(t *testing.T, addr string, d *daemon, path dbus.ObjectPath) *finger {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.AddMatchSignal(dbus.WithMatchSender("net.reactivated.Fprint"), dbus.WithMatchObjectPath(path),
		dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 64)
	c.Signal(ch)
	f := &finger{d: d}
	go func() {
		for sig := range ch {
			if len(sig.Body) < 2 {
				continue
			}
			changed, _ := sig.Body[1].(map[string]dbus.Variant)
			if v, ok := changed["finger-needed"]; ok && v.Value() == true {
				f.touch()
			}
		}
	}()
	return f
}

// script replaces the commands to play.
func (f *finger) script(cmds ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = append([]string(nil), cmds...)
	f.sent, f.errs = nil, nil
}

// touch sends the next command, if any.
func (f *finger) touch() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.next) == 0 {
		return
	}
	cmd := f.next[0]
	f.next = f.next[1:]
	if _, err := f.d.send(cmd); err != nil {
		f.errs = append(f.errs, err)
	}
	f.sent = append(f.sent, cmd)
}

// played returns the commands sent, the ones left and the send errors.
func (f *finger) played() (sent, left []string, errs []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...), append([]string(nil), f.next...), append([]error(nil), f.errs...)
}

// waitSignal waits for a signal of the given name on ch.
func waitSignal(ctx context.Context, ch <-chan *dbus.Signal, name string) (*dbus.Signal, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no %s signal: %w", name, ctx.Err())
		case s := <-ch:
			if s.Name == name {
				return s, nil
			}
		}
	}
}
