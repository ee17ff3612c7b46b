package demo

import (
	"context"
	"fmt"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/policy"
)

// setUp builds the guarded app: a policy.Store whose first version is the
// configured ACL and capguard.json (later ones read from Dir), the audit
// log, and the biometric step-up that reports to the feed.
func (s *Server) setUp() error {
	src, err := s.source()
	if err != nil {
		return err
	}
	ctx := context.Background()
	s.store, err = policy.NewStore(ctx, src)
	if err != nil {
		return err
	}
	if s.audit, err = s.openAudit(); err != nil {
		return err
	}
	opts := []capguard.Option{
		// The store is the engine: every version brings its own
		// obligations (capguard.json) and scopes (ipc.Versioned).
		capguard.WithEngine(s.store),
		capguard.WithObserver(s.observe),
		capguard.WithAudit(s.audit),
		capguard.WithStepUp(biometric.OnStepUp(s.steppedUp)),
		capguard.WithSecretObserver(s.secretAccess),
	}
	if s.cfg.Verbose {
		opts = append(opts, capguard.Verbose())
	}
	if s.app, err = capguard.New(s.cfg.Resolved, s.device, opts...); err != nil {
		return err
	}
	// The simulated device's step-up key is enrolled at start, as an app
	// enrolls it once at set-up: signed obligations (capguard.json's
	// "binding": "signed") verify against it.
	if _, err := s.app.StepUp.EnrollKey(ctx); err != nil {
		return fmt.Errorf("demo: enrolling the step-up key: %w", err)
	}
	return s.app.Router.Handle("open_vault", ipc.HandlerFunc(s.openVault))
}

// source gives the store its versions: first the configured ACL and
// extension, then, for reloads, Dir as capguard.Load reads it (plugins
// its manifests lack taken from the biometric plugin's).
func (s *Server) source() (policy.Source, error) {
	first := &policy.Input{Resolved: s.cfg.Resolved, Extension: s.cfg.Extension}
	if s.cfg.Dir == "" {
		return policy.Static(first), nil
	}
	m, err := biometric.Manifest()
	if err != nil {
		return nil, err
	}
	bm, err := biometric.BiometryManifest()
	if err != nil {
		return nil, err
	}
	reread := policy.AppSource(s.cfg.Dir, s.cfg.Resolved.Target, acl.Manifests{biometric.Name: m, biometric.BiometryName: bm})
	done := false // NewStore reads the first version once, before any reload
	return func(ctx context.Context) (*policy.Input, error) {
		if !done {
			done = true
			return first, nil
		}
		return reread(ctx)
	}, nil
}

// watch starts reloading the store when the files of Dir change.
func (s *Server) watch() error {
	ctx, stop := context.WithCancel(context.Background())
	w, err := policy.Watch(ctx, s.cfg.Dir, s.store, policy.OnReload(s.reloaded))
	if err != nil {
		stop()
		return fmt.Errorf("demo: watching %s: %w", s.cfg.Dir, err)
	}
	s.watcher, s.stop = w, stop
	return nil
}

// reloaded reports a reload of the watcher in the feed and, when a new
// version was swapped in, rebuilds the permission matrix from it.
func (s *Server) reloaded(ev policy.ReloadEvent) {
	e := Entry{Time: s.now(), Kind: "reload", Changed: ev.Changed, Allowed: ev.Err == nil}
	if ev.Version != nil {
		s.setMatrix(s.buildMatrix(ev.Version))
		e.Version = ev.Version.Seq
		e.Explanation = fmt.Sprintf("reloaded %s: version %d decides from now on", s.cfg.Dir, ev.Version.Seq)
		if r := ev.Version.Removed; !r.Empty() {
			e.Explanation += "; it removed " + r.String()
		}
	} else {
		cur := s.store.Current()
		e.Version = cur.Seq
		e.Explanation = fmt.Sprintf("the edit of %s was not applied: version %d, the last good one, still decides", s.cfg.Dir, cur.Seq)
	}
	if ev.Err != nil {
		e.Error = ev.Err.Error()
	}
	if s.audit != nil {
		s.audit.ObserveReload(ev) // the audit log records reloads too
	}
	s.feed.add(e)
}

// steppedUp reports how the biometric step-up met (or failed) an
// obligation. It runs before the guard's decision event of the same call.
func (s *Server) steppedUp(ev biometric.StepUpEvent) {
	e := Entry{
		Time: s.now(), Kind: "stepup", Command: ev.Command, Window: ev.Window, Webview: ev.Webview,
		Origin: ev.Origin, Allowed: ev.Outcome != biometric.StepUpFailed, Outcome: string(ev.Outcome),
		Obligations: []Obligation{{Type: ev.Obligation.Type, MaxAgeS: ev.Obligation.MaxAgeS, Reason: ev.Obligation.Reason, Met: ev.Err == nil}},
	}
	switch ev.Outcome {
	case biometric.StepUpSigned:
		e.Explanation = "prompted the user; the device's step-up key signed this call's challenge, and the signature verified"
	case biometric.StepUpPrompted:
		e.Explanation = "prompted the user; recognized"
	case biometric.StepUpRemembered:
		e.Explanation = fmt.Sprintf("met without a prompt: this window recognized the user less than %d s ago", ev.Obligation.MaxAgeS)
	case biometric.StepUpShared:
		e.Explanation = "met by the prompt of a concurrent call; recognized"
	case biometric.StepUpFailed:
		e.Explanation = "the user was not recognized: the call is refused and its handler does not run"
		if ev.Binding == policy.BindingSigned {
			e.Explanation = "no valid signature of this call: the call is refused and its handler does not run"
		}
	}
	e.Binding = ev.Binding
	if ev.Err != nil {
		e.Error = ev.Err.Error()
		e.Obligations[0].Error = e.Error
		if code, ok := native.CodeOf(ev.Err); ok {
			e.Code = string(code)
		}
	}
	s.feed.add(e)
}

// secretAccess reports a secure-storage call (never its data).
func (s *Server) secretAccess(ev biometric.SecretEvent) {
	e := Entry{
		Time: s.now(), Kind: "secret", Command: "plugin:biometry|" + string(ev.Op), Window: ev.Window, Webview: ev.Webview,
		Origin: ev.Origin, Allowed: ev.Code == "", Code: string(ev.Code), Error: ev.Message, Binding: string(ev.Binding),
		Explanation: fmt.Sprintf("%s of %s / %s", ev.Op, ev.Domain, ev.Name),
	}
	s.feed.add(e)
}

// openAudit starts the audit log: it shows every line on the dashboard
// and appends it to AuditFile when set.
func (s *Server) openAudit() (*audit.Log, error) {
	sink := &auditSink{show: s.feed.auditLine}
	if s.cfg.AuditFile != "" {
		f, err := audit.OpenFile(s.cfg.AuditFile)
		if err != nil {
			return nil, fmt.Errorf("demo: the audit log: %w", err)
		}
		sink.file = f
	}
	sink.enc = audit.NewJSONLines(&sink.buf)
	var opts []audit.Option
	if s.cfg.Name != "" {
		opts = append(opts, audit.Labels(map[string]string{"app": s.cfg.Name}))
	}
	return audit.New(sink, opts...), nil
}
