// Package fprintd is a native.Shim for Linux: fingerprint authentication
// through fprintd, the fingerprint daemon of Linux desktops, over its
// D-Bus API (service net.reactivated.Fprint on the system bus).
//
// # Status
//
// Status asks fprintd's manager for the default device
// (Manager.GetDefaultDevice), reads the device's properties (its name and
// scan-type, "press" or "swipe") and lists the prints enrolled for the user
// (Device.ListEnrolledFingers):
//
//   - no device (NoSuchDevice): biometry type none, not available;
//   - a device: biometry type 1 (touchID, which stands for any fingerprint
//     reader), available, enrolled when at least one finger is;
//   - a device that the user may not use (polkit said no:
//     PermissionDenied) or that is busy: not available, with fprintd's
//     reason as the message;
//   - fprintd not reachable at all (no bus, service not installed, not
//     answering): an error with code biometryNotAvailable.
//
// fprintd knows neither lockouts nor a device credential: LockedOut and
// DeviceCredential are always false, so a prompt that allows the device
// credential on a machine whose reader is unusable fails with
// passcodeNotSet in the biometric plugin.
//
// # Authenticate: one attempt is one fprintd verification
//
// The plugin's contract is that Authenticate runs ONE attempt and that the
// plugin itself retries after authenticationFailed, up to maxAttemps. An
// fprintd verification (VerifyStart) ends at the first sample that is
// recognized or not (a VerifyStatus signal with done set), so one attempt
// maps onto one complete fprintd session:
//
//	Claim(username) → VerifyStart(finger) → VerifyStatus signals → VerifyStop → Release
//
// with the VerifyStatus results mapped as follows:
//
//	verify-match                  → nil (recognized)
//	verify-no-match               → authenticationFailed (the plugin counts it
//	                                and calls again for the next attempt)
//	verify-retry-scan,
//	verify-swipe-too-short,
//	verify-finger-not-centered,
//	verify-remove-and-retry       → keep waiting in the same attempt (not counted)
//	verify-disconnected           → biometryNotAvailable (no VerifyStop: the
//	                                device is gone)
//	verify-unknown-error          → systemCancel
//	any other result with done    → systemCancel (fail closed)
//
// The device is claimed for one attempt only and released before
// Authenticate returns, whatever happens: after a result, after an error of
// any call, and when ctx ends mid-prompt (then Authenticate stops the
// verification, releases the device and returns appCancel). Claiming per
// attempt costs a Claim and a Release per attempt (fprintd opens and closes
// the reader), and in exchange no claim can outlive the call that made it,
// even when the plugin gives up between attempts. Every Authenticate and
// Status call uses its own connection to the bus and closes it before
// returning; fprintd also releases any device claimed by a connection that
// goes away, a second guarantee behind the explicit Release.
//
// Signals are accepted only from the bus name that owned
// net.reactivated.Fprint when the attempt started: any other client on the
// bus can broadcast a VerifyStatus signal, and a forged verify-match must
// not authenticate anyone. If fprintd exits or is replaced during a prompt,
// the attempt fails with biometryNotAvailable.
//
// fprintd's D-Bus errors map to codes: NoEnrolledPrints →
// biometryNotEnrolled; NoSuchDevice, PermissionDenied, AlreadyInUse and a
// missing or unreachable service → biometryNotAvailable; InvalidFingername
// → invalidContext; Internal, ClaimDevice, a timeout and anything else →
// systemCancel. The D-Bus error stays in the error's chain, as the cause
// of the *native.Error (errors.As with a dbus.Error target finds it).
//
// fprintd shows no UI of its own: a desktop app shows its prompt (the
// Prompt's Reason and Title) itself while Authenticate runs, and can follow
// the reader's progress through Options.Progress.
//
// This package is the only one of capguard that imports godbus.
package fprintd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/capguard/capguard/native"
)

// D-Bus names of fprintd's API.
const (
	busName      = "net.reactivated.Fprint"
	managerPath  = dbus.ObjectPath("/net/reactivated/Fprint/Manager")
	managerIface = "net.reactivated.Fprint.Manager"
	deviceIface  = "net.reactivated.Fprint.Device"
)

// The fingers fprintd knows, as its API names them.
var fingers = []string{
	"left-thumb", "left-index-finger", "left-middle-finger", "left-ring-finger", "left-little-finger",
	"right-thumb", "right-index-finger", "right-middle-finger", "right-ring-finger", "right-little-finger",
}

// Fingers returns the finger names of fprintd's API (for Options.Finger,
// and as Device.Fingers lists them), "any" excluded.
func Fingers() []string { return slices.Clone(fingers) }

// Progress values passed to Options.Progress besides fprintd's own
// VerifyStatus results.
const (
	// ProgressReady: the verification has started and the reader waits
	// for a finger.
	ProgressReady = "ready"
)

// Options configure a Shim. The zero value talks to fprintd on the system
// bus, for the user the process runs as, accepting any enrolled finger.
type Options struct {
	// Address is the D-Bus address of the bus fprintd is on, such as
	// "unix:path=/run/dbus/system_bus_socket". Empty means the system bus
	// (DBUS_SYSTEM_BUS_ADDRESS, or the platform's default socket). Tests
	// point it at a private bus.
	Address string
	// Username is whose prints to verify. Empty means the user the
	// process runs as (fprintd finds it from the connection's
	// credentials); another user's name needs fprintd's
	// net.reactivated.fprint.device.setusername authorization.
	Username string
	// Finger is the finger to verify, one of Fingers(); empty or "any"
	// accepts any enrolled finger.
	Finger string
	// CleanupTimeout bounds the VerifyStop and Release calls made after
	// the caller's context ended or a call failed (default 5s). The device
	// is released by fprintd anyway when the connection closes.
	CleanupTimeout time.Duration
	// Progress, when set, is called during Authenticate with ProgressReady
	// once the reader waits for a finger, then with each VerifyStatus
	// result of fprintd (such as "verify-swipe-too-short"), so that an app
	// can show its own prompt and hints. It runs on the authenticating
	// goroutine and must return quickly.
	Progress func(p native.Prompt, status string)
}

// Shim is fprintd as a native.Shim. It holds no connection between calls
// and is safe for concurrent use.
type Shim struct {
	opts Options
}

var _ native.Shim = (*Shim)(nil)

// New returns a shim configured by opts. It fails only when opts are
// invalid (an unknown finger name, a negative timeout); it does not
// contact fprintd.
func New(opts Options) (*Shim, error) {
	if opts.Finger == "" {
		opts.Finger = "any"
	}
	if opts.Finger != "any" && !slices.Contains(fingers, opts.Finger) {
		return nil, fmt.Errorf("fprintd: unknown finger %q: want \"any\" or one of %s", opts.Finger, strings.Join(fingers, ", "))
	}
	if opts.CleanupTimeout < 0 {
		return nil, fmt.Errorf("fprintd: negative CleanupTimeout %v", opts.CleanupTimeout)
	}
	if opts.CleanupTimeout == 0 {
		opts.CleanupTimeout = 5 * time.Second
	}
	return &Shim{opts: opts}, nil
}

// Device describes fprintd's default fingerprint reader.
type Device struct {
	// Path is the device's D-Bus object path.
	Path string
	// Name is the reader's name, as libfprint's driver gives it.
	Name string
	// ScanType is "press" or "swipe".
	ScanType string
	// Fingers lists the fingers enrolled for the user, in fprintd's order.
	Fingers []string
}

// errNoDevice marks fprintd's answer that there is no reader.
var errNoDevice = errors.New("no fingerprint reader")

// Device returns fprintd's default reader and the fingers enrolled on it.
// Without a reader the error matches native.BiometryNotAvailable and
// carries fprintd's NoSuchDevice error. When the reader was found but its
// fingers could not be listed (polkit refused, for example), the error
// comes with the Device's Path, Name and ScanType filled in.
func (s *Shim) Device(ctx context.Context) (Device, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return Device{}, err
	}
	defer c.Close()
	return s.device(ctx, c)
}

// device reads the default device's facts over c.
func (s *Shim) device(ctx context.Context, c *dbus.Conn) (Device, error) {
	path, err := defaultDevice(ctx, c)
	if err != nil {
		return Device{}, err
	}
	d := Device{Path: string(path)}
	obj := c.Object(busName, path)
	var props map[string]dbus.Variant
	if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.GetAll", 0, deviceIface).Store(&props); err != nil {
		return Device{}, callError(ctx, "read the reader's properties", err)
	}
	d.Name, _ = props["name"].Value().(string)
	d.ScanType, _ = props["scan-type"].Value().(string)
	err = obj.CallWithContext(ctx, deviceIface+".ListEnrolledFingers", 0, s.opts.Username).Store(&d.Fingers)
	if err != nil && dbusName(err) != errNoEnrolledPrints {
		return d, callError(ctx, "list the enrolled fingers", err)
	}
	return d, nil
}

// defaultDevice asks fprintd's manager for the default device.
func defaultDevice(ctx context.Context, c *dbus.Conn) (dbus.ObjectPath, error) {
	var path dbus.ObjectPath
	err := c.Object(busName, managerPath).CallWithContext(ctx, managerIface+".GetDefaultDevice", 0).Store(&path)
	if err != nil {
		return "", callError(ctx, "find the fingerprint reader", err)
	}
	return path, nil
}

// Status reports the default reader's facts (see the package doc).
func (s *Shim) Status(ctx context.Context) (native.Status, error) {
	d, err := s.Device(ctx)
	if err != nil {
		if errors.Is(err, errNoDevice) {
			return native.Status{Type: native.None, Message: "No fingerprint reader found."}, nil
		}
		var e *native.Error
		if errors.As(err, &e) && d.Path != "" && ctx.Err() == nil {
			// The reader exists but cannot be used by this user now
			// (polkit refused, or fprintd failed to read the prints).
			return native.Status{Type: native.TouchID, Message: e.Message}, nil
		}
		return native.Status{}, err
	}
	return native.Status{Type: native.TouchID, Available: true, Enrolled: len(d.Fingers) > 0}, nil
}

// connect opens a connection of its own to the bus fprintd is on. The
// connection outlives ctx (the cleanup after a cancellation needs it);
// only the wait for it ends with ctx.
func (s *Shim) connect(ctx context.Context) (*dbus.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, native.Canceled(ctx)
	}
	type result struct {
		c   *dbus.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		if s.opts.Address == "" {
			r.c, r.err = dbus.ConnectSystemBus()
		} else {
			r.c, r.err = dbus.Connect(s.opts.Address)
		}
		ch <- r
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, &native.Error{Code: native.BiometryNotAvailable, Message: "Cannot connect to the D-Bus system bus to reach fprintd.", Err: r.err}
		}
		return r.c, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, native.Canceled(ctx)
	}
}
