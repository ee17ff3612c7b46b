package fprintd

import (
	"context"

	"github.com/godbus/dbus/v5"

	"github.com/capguard/capguard/native"
)

// Authenticate runs one attempt: one fprintd verification on a device
// claimed for it and released before it returns (see the package doc for
// how fprintd's results map onto codes).
func (s *Shim) Authenticate(ctx context.Context, p native.Prompt) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	// Closing the connection is the last resort: fprintd releases a
	// device whose claimer left the bus.
	defer c.Close()

	// Subscribe before anything can emit: the verification's signals and
	// the fprintd name changing hands.
	signals := make(chan *dbus.Signal, 32)
	c.Signal(signals)
	defer c.RemoveSignal(signals)
	if err := c.AddMatchSignalContext(ctx,
		dbus.WithMatchSender(busName), dbus.WithMatchInterface(deviceIface), dbus.WithMatchMember("VerifyStatus")); err != nil {
		return callError(ctx, "subscribe to the verification's results", err)
	}
	if err := c.AddMatchSignalContext(ctx,
		dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, busName)); err != nil {
		return callError(ctx, "watch fprintd", err)
	}

	path, err := defaultDevice(ctx, c)
	if err != nil {
		return err
	}
	// The name is owned now (GetDefaultDevice started fprintd if it was
	// not running): only its owner's signals count from here on.
	var owner string
	if err := c.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner); err != nil {
		return callError(ctx, "find fprintd on the bus", err)
	}
	dev := c.Object(busName, path)
	cleanup := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
	}

	if err := dev.CallWithContext(ctx, deviceIface+".Claim", 0, s.opts.Username).Err; err != nil {
		if ctx.Err() != nil {
			// The claim may have gone through before ctx ended.
			cctx, cancel := cleanup()
			_ = dev.CallWithContext(cctx, deviceIface+".Release", 0).Err
			cancel()
		}
		return callError(ctx, "claim the fingerprint reader", err)
	}
	defer func() {
		cctx, cancel := cleanup()
		defer cancel()
		_ = dev.CallWithContext(cctx, deviceIface+".Release", 0).Err
	}()

	// stop is called once the verification ended or must end; not after
	// verify-disconnected, when the device is gone.
	stop := func() {
		cctx, cancel := cleanup()
		defer cancel()
		_ = dev.CallWithContext(cctx, deviceIface+".VerifyStop", 0).Err
	}
	if err := dev.CallWithContext(ctx, deviceIface+".VerifyStart", 0, s.opts.Finger).Err; err != nil {
		if ctx.Err() != nil {
			stop()
		}
		return callError(ctx, "start the verification", err)
	}
	s.progress(p, ProgressReady)

	verifying, err := s.wait(ctx, signals, owner, path, p)
	// Stop listening before the clean-up calls, so that signals nobody
	// reads cannot hold up their replies.
	c.RemoveSignal(signals)
	if verifying {
		stop()
	}
	return err
}

// wait waits for the end of the verification and returns whether the
// verification still needs a VerifyStop, and its result.
func (s *Shim) wait(ctx context.Context, signals <-chan *dbus.Signal, owner string, path dbus.ObjectPath, p native.Prompt) (verifying bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return true, native.Canceled(ctx)
		case sig, ok := <-signals:
			if !ok {
				return false, callError(ctx, "wait for the verification", dbus.ErrClosed)
			}
			switch {
			case sig.Name == "org.freedesktop.DBus.NameOwnerChanged" && sig.Sender == "org.freedesktop.DBus":
				// The name changing hands during a prompt ends the
				// attempt: the verification died with its daemon.
				if len(sig.Body) == 3 && sig.Body[0] == busName && sig.Body[1] == owner {
					return false, &native.Error{Code: native.BiometryNotAvailable, Message: "fprintd exited during the verification."}
				}
			case sig.Name == deviceIface+".VerifyStatus" && sig.Sender == owner && sig.Path == path:
				result, ok1 := bodyString(sig.Body, 0)
				done, ok2 := bodyBool(sig.Body, 1)
				if !ok1 || !ok2 {
					continue
				}
				s.progress(p, result)
				switch out, e := verifyOutcome(result, done); out {
				case matched:
					return true, nil
				case failed:
					// After verify-disconnected the device is gone.
					return result != "verify-disconnected", e
				}
			}
		}
	}
}

// progress reports a status to Options.Progress, if set.
func (s *Shim) progress(p native.Prompt, status string) {
	if s.opts.Progress != nil {
		s.opts.Progress(p, status)
	}
}

func bodyString(body []any, i int) (string, bool) {
	if i >= len(body) {
		return "", false
	}
	v, ok := body[i].(string)
	return v, ok
}

func bodyBool(body []any, i int) (bool, bool) {
	if i >= len(body) {
		return false, false
	}
	v, ok := body[i].(bool)
	return v, ok
}
