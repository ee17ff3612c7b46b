// Package sstest runs a real Secret Service for tests: a private D-Bus
// session bus (dbus-daemon) and gnome-keyring-daemon on it, with its
// keyrings in a temporary home directory and the login keyring created
// and unlocked with a password fed on its standard input. Both are
// stopped when the test ends.
//
// With CAPGUARD_KEYRING=off the tests that need it are skipped, with a line
// on stderr that says they did not run; without the packages they fail
// and say what to install.
package sstest

import (
	"fmt"
	"github.com/capguard/capguard/internal/childproc"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Password is the login keyring's password.
const Password = "capguard-test"

// Keyring is a running Secret Service.
type Keyring struct {
	// Address is the private session bus's address
	// (secretservice.Options.Address).
	Address string
	// Env is the environment that points a client (secret-tool) at it.
	Env []string

	procs []*childproc.Process
}

const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// Require skips the test when CAPGUARD_KEYRING=off, saying so on stderr,
// and fails it when the programs are missing.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("CAPGUARD_KEYRING") == "off" {
		fmt.Fprintf(os.Stderr, "%s: CAPGUARD_KEYRING=off: the real Secret Service (gnome-keyring) test did NOT run\n", t.Name())
		t.Skip("CAPGUARD_KEYRING=off: the real Secret Service test did not run")
	}
	var missing []string
	for _, p := range []string{"dbus-daemon", "gnome-keyring-daemon", "secret-tool"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the Secret Service tests need %s: run `bash scripts/install-fprintd.sh` as root "+
			"(Debian packages gnome-keyring, dbus-daemon, libsecret-tools), or set CAPGUARD_KEYRING=off to skip them",
			strings.Join(missing, ", "))
	}
}

// Start starts the bus and gnome-keyring-daemon, and waits until the
// login keyring is unlocked and is the default collection.
func Start(t testing.TB) *Keyring {
	t.Helper()
	Require(t)
	// Unix socket paths are limited to 108 bytes: keep the directory short.
	dir, err := os.MkdirTemp("", "cgss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	home, run := filepath.Join(dir, "home"), filepath.Join(dir, "run")
	for _, d := range []string{home, run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "bus.sock")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		t.Fatal(err)
	}
	k := &Keyring{Address: "unix:path=" + sock}
	t.Cleanup(k.stop)
	bus := k.start(t, nil, "", "dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--nosyslog")
	c := waitConnect(t, k.Address, bus)
	defer c.Close()
	k.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+k.Address, "HOME="+home, "XDG_RUNTIME_DIR="+run,
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"), "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	gk := k.start(t, k.Env, Password, "gnome-keyring-daemon", "--foreground", "--components=secrets", "--unlock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var path dbus.ObjectPath
		err := c.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
			Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&path)
		if err == nil && path != "/" {
			return k
		}
		select {
		case <-gk.Done():
			t.Fatalf("gnome-keyring-daemon exited:\n%s", gk.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default keyring within 10s (%v, %q):\n%s", err, path, gk.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SecretTool runs libsecret's secret-tool against the keyring: an
// independent client of the same API.
func (k *Keyring) SecretTool(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("secret-tool", args...)
	cmd.Env = k.Env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Lock locks every collection, as a screen lock may.
func (k *Keyring) Lock(t testing.TB) {
	t.Helper()
	c, err := dbus.Connect(k.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var path dbus.ObjectPath
	svc := c.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&path); err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{path}).Store(&locked, &prompt); err != nil {
		t.Fatal(err)
	}
}

func (k *Keyring) start(t testing.TB, env []string, stdin, name string, args ...string) *childproc.Process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	p, err := childproc.Start(cmd)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	k.procs = append(k.procs, p)
	return p
}

// stop stops the processes, last started first.
func (k *Keyring) stop() {
	for i := len(k.procs) - 1; i >= 0; i-- {
		k.procs[i].Stop()
	}
	k.procs = nil
}

func waitConnect(t testing.TB, addr string, p *childproc.Process) *dbus.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dbus.Connect(addr)
		if err == nil {
			return c
		}
		select {
		case <-p.Done():
			t.Fatalf("dbus-daemon exited: %s", p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbus-daemon did not accept connections within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
