package fprintdtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

const deviceIface = "net.reactivated.Fprint.Device"

// Rig is a running Linux fingerprint stack: a private system bus with a
// polkit stand-in, the real fprintd on it, and a finger on its virtual
// reader.
type Rig struct {
	// Address is the bus's address (fprintd.Options.Address).
	Address string

	bin, dir string
	polkit   *authority
	fprintd  *daemon
	conn     *dbus.Conn
	dev      dbus.ObjectPath
	finger   *finger
}

// New starts the bus and the polkit stand-in, without fprintd
// (StartDaemon starts it), and stops them at the end of the test.
func New(t *testing.T) *Rig {
	t.Helper()
	bin := requireTools(t)
	// Unix socket paths are limited to 108 bytes: keep the directory short.
	dir, err := os.MkdirTemp("", "cgfp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &Rig{bin: bin, dir: dir}
	r.Address = startBus(t, dir)
	r.polkit = startAuthority(t, r.Address)
	if r.conn, err = dbus.Connect(r.Address); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.conn.Close() })
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && r.fprintd != nil {
			t.Logf("fprintd's log:\n%s", r.fprintd.Output())
		}
	})
	return r
}

// Start starts the whole stack with nothing enrolled: New, then
// StartDaemon.
func Start(t *testing.T) *Rig {
	t.Helper()
	r := New(t)
	r.StartDaemon(t)
	return r
}

// StartDaemon starts (or, after StopDaemon, restarts) fprintd and the
// finger. The enrolled prints are kept in the rig's state directory.
func (r *Rig) StartDaemon(t *testing.T) {
	t.Helper()
	r.fprintd = startFprintd(t, r.bin, r.Address, filepath.Join(r.dir, "vdev.sock"), filepath.Join(r.dir, "state"))
	mgr := r.conn.Object("net.reactivated.Fprint", "/net/reactivated/Fprint/Manager")
	if err := mgr.Call("net.reactivated.Fprint.Manager.GetDefaultDevice", 0).Store(&r.dev); err != nil {
		t.Fatalf("fprintd has no virtual device: %v\n%s", err, r.fprintd.Output())
	}
	r.finger = watchFinger(t, r.Address, r.fprintd, r.dev)
	// Keep the virtual device's socket open while fprintd has the device
	// closed (it opens it on Claim), so that a test can unplug it between
	// authentications.
	d := r.conn.Object("net.reactivated.Fprint", r.dev)
	if err := d.Call(deviceIface+".Claim", 0, "").Err; err != nil {
		t.Fatalf("claim: %v", err)
	}
	if _, err := r.fprintd.send("SET_KEEP_ALIVE 1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Call(deviceIface+".Release", 0).Err; err != nil {
		t.Fatalf("release: %v", err)
	}
}

// StopDaemon stops fprintd (SIGINT, then SIGKILL after 5s).
func (r *Rig) StopDaemon() { r.fprintd.Stop() }

// Send writes one command to the virtual reader's socket ("UNPLUG", ...)
// and returns its answer.
func (r *Rig) Send(cmd string) (string, error) { return r.fprintd.send(cmd) }

// Log returns what fprintd printed.
func (r *Rig) Log() string { return r.fprintd.Output() }

// Actions returns the polkit actions fprintd asked about so far.
func (r *Rig) Actions() []string {
	r.polkit.mu.Lock()
	defer r.polkit.mu.Unlock()
	return append([]string(nil), r.polkit.asked...)
}

// Device is the path of the virtual reader.
func (r *Rig) Device() dbus.ObjectPath { return r.dev }

// Conn is the rig's own connection to the bus (another client, for
// forging signals).
func (r *Rig) Conn() *dbus.Conn { return r.conn }

// Script sets what the finger does each time the reader asks for one:
// "SCAN <print>" and the like; with nothing, the user never touches it.
func (r *Rig) Script(cmds ...string) { r.finger.script(cmds...) }

// Played returns the commands sent, the ones left unsent and the errors.
func (r *Rig) Played() (sent, left []string, errs []error) { return r.finger.played() }

// Deny makes the polkit stand-in refuse actions (none: allow all).
func (r *Rig) Deny(actions ...string) { r.polkit.setDeny(actions...) }

// Enroll enrolls finger (such as "right-index-finger") with the print id,
// through fprintd's own enrollment (a scan per enrollment stage).
func (r *Rig) Enroll(t *testing.T, finger, id string) {
	t.Helper()
	d := r.conn.Object("net.reactivated.Fprint", r.dev)
	if err := d.Call(deviceIface+".Claim", 0, "").Err; err != nil {
		t.Fatalf("claim for enrollment: %v", err)
	}
	defer d.Call(deviceIface+".Release", 0)
	if err := r.conn.AddMatchSignal(dbus.WithMatchObjectPath(r.dev), dbus.WithMatchMember("EnrollStatus")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 16)
	r.conn.Signal(ch)
	defer r.conn.RemoveSignal(ch)
	if err := d.Call(deviceIface+".EnrollStart", 0, finger).Err; err != nil {
		t.Fatalf("EnrollStart: %v", err)
	}
	var stages int32
	if err := d.StoreProperty(deviceIface+".num-enroll-stages", &stages); err != nil || stages < 1 {
		t.Fatalf("num-enroll-stages = %d, %v", stages, err)
	}
	for range stages {
		if _, err := r.fprintd.send("SCAN " + id); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		s, err := waitSignal(ctx, ch, deviceIface+".EnrollStatus")
		if err != nil {
			t.Fatalf("enrollment: %v\n%s", err, r.fprintd.Output())
		}
		if done, _ := s.Body[1].(bool); done {
			if s.Body[0] != "enroll-completed" {
				t.Fatalf("enrollment ended with %v", s.Body[0])
			}
			break
		}
	}
	if err := d.Call(deviceIface+".EnrollStop", 0).Err; err != nil {
		t.Fatalf("EnrollStop: %v", err)
	}
}

// DeleteFinger deletes one enrolled finger (fprintd's
// DeleteEnrolledFinger).
func (r *Rig) DeleteFinger(t *testing.T, finger string) {
	t.Helper()
	d := r.conn.Object("net.reactivated.Fprint", r.dev)
	if err := d.Call(deviceIface+".Claim", 0, "").Err; err != nil {
		t.Fatalf("claim: %v", err)
	}
	defer d.Call(deviceIface+".Release", 0)
	if err := d.Call(deviceIface+".DeleteEnrolledFinger", 0, finger).Err; err != nil {
		t.Fatalf("DeleteEnrolledFinger(%s): %v", finger, err)
	}
}

// Claimable fails the test unless another client can claim the reader
// now: nothing holds it.
func (r *Rig) Claimable(t *testing.T) {
	t.Helper()
	d := r.conn.Object("net.reactivated.Fprint", r.dev)
	if err := d.Call(deviceIface+".Claim", 0, "").Err; err != nil {
		t.Fatalf("the reader is still claimed: %v", err)
	}
	if err := d.Call(deviceIface+".Release", 0).Err; err != nil {
		t.Fatalf("release: %v", err)
	}
}

// ForgeMatch sends verify-match signals from the rig's connection, as any
// client of the bus can: broadcast, and unicast to each bus name in to.
func (r *Rig) ForgeMatch(t *testing.T, to ...string) {
	t.Helper()
	if err := r.conn.Emit(r.dev, deviceIface+".VerifyStatus", "verify-match", true); err != nil {
		t.Fatal(err)
	}
	for _, dest := range to {
		m := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:        dbus.MakeVariant(r.dev),
			dbus.FieldInterface:   dbus.MakeVariant(deviceIface),
			dbus.FieldMember:      dbus.MakeVariant("VerifyStatus"),
			dbus.FieldDestination: dbus.MakeVariant(dest),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf("", true)),
		}, Body: []any{"verify-match", true}}
		if call := r.conn.Send(m, nil); call.Err != nil {
			t.Fatal(call.Err)
		}
	}
}

// Names lists the names on the bus.
func (r *Rig) Names(t *testing.T) []string {
	t.Helper()
	var names []string
	if err := r.conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
		t.Fatal(err)
	}
	return names
}
