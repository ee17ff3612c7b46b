package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/capguard/capguard/acl"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

var errBoom = errors.New("boom")

// eventLog is an observer that keeps every event.
type eventLog struct {
	mu     sync.Mutex
	events []ipc.DecisionEvent
}

func (l *eventLog) observe(ev ipc.DecisionEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *eventLog) all() []ipc.DecisionEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ipc.DecisionEvent(nil), l.events...)
}

func TestObserverReportsEveryDecision(t *testing.T) {
	res := resolveFiles(t)
	engine := compile(t, res)
	met := errors.New("declined")
	for _, tc := range []struct {
		name        string
		engine      policy.Engine
		oblige      ipc.ObligationFunc // nil: no obligation handler
		inv         *ipc.Invocation
		allowed     bool
		refs        []string // capability/permission
		obligations []string // type=outcome
		errIs       error
	}{
		{
			name: "allowed", engine: engine,
			inv:     &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main", Args: json.RawMessage(`{"secret":"hunter2"}`)},
			allowed: true, refs: []string{"main/files:allow-stat", "remote/files:allow-stat"},
		},
		{
			name: "denied", engine: engine,
			inv:  &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "settings", Args: json.RawMessage(`{"secret":"hunter2"}`)},
			refs: nil,
		},
		{
			name: "denied by a deny entry", engine: engine,
			inv:  &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|write", Window: "main"},
			refs: []string{"lock/files:deny-write"},
		},
		{
			name: "engine error", engine: failingEngine{errBoom},
			inv:   &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"},
			errIs: errBoom,
		},
		{
			name:    "obligation met",
			engine:  obligingEngine{engine, []policy.Obligation{{Type: "biometric", Reason: "r"}}},
			oblige:  func(context.Context, *ipc.Invocation, policy.Obligation) error { return nil },
			inv:     &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"},
			allowed: true, refs: []string{"main/files:allow-stat", "remote/files:allow-stat"}, obligations: []string{"biometric=met"},
		},
		{
			name:   "obligation failed",
			engine: obligingEngine{engine, []policy.Obligation{{Type: "biometric"}, {Type: "second"}}},
			oblige: func(context.Context, *ipc.Invocation, policy.Obligation) error { return met },
			inv:    &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"},
			refs:   []string{"main/files:allow-stat", "remote/files:allow-stat"}, obligations: []string{"biometric=declined"}, errIs: met,
		},
		{
			name:   "obligation without handler",
			engine: obligingEngine{engine, []policy.Obligation{{Type: "biometric"}}},
			inv:    &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"},
			refs:   []string{"main/files:allow-stat", "remote/files:allow-stat"}, obligations: []string{"biometric=obligation not met: no handler for obligation \"biometric\""}, errIs: ipc.ErrObligation,
		},
		{
			name: "nil invocation", engine: engine,
			inv: nil, errIs: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := filesRouter(t)
			var log eventLog
			var second int
			opts := []ipc.GuardOption{ipc.WithScopes(res), ipc.WithObserver(log.observe), ipc.WithObserver(func(ipc.DecisionEvent) { second++ }), ipc.WithObserver(nil)}
			if tc.oblige != nil {
				opts = append(opts, ipc.WithObligation("biometric", tc.oblige))
			}
			g := r.Guard(tc.engine, opts...)
			before := time.Now()
			_, err := g.Invoke(context.Background(), tc.inv)
			if (err == nil) != tc.allowed {
				t.Fatalf("Invoke: %v, want allowed=%v", err, tc.allowed)
			}
			evs := log.all()
			if len(evs) != 1 || second != 1 {
				t.Fatalf("got %d events (second observer %d), want 1 each", len(evs), second)
			}
			ev := evs[0]
			if ev.Allowed != tc.allowed {
				t.Errorf("Allowed = %v, want %v", ev.Allowed, tc.allowed)
			}
			if tc.inv != nil {
				if ev.Command != tc.inv.Command || ev.Window != tc.inv.Window || ev.Webview != tc.inv.Window || ev.Origin != tc.inv.Origin {
					t.Errorf("event names %q %q/%q %v, want the call's %q %q", ev.Command, ev.Window, ev.Webview, ev.Origin, tc.inv.Command, tc.inv.Window)
				}
			} else if ev.Err == nil || ev.Command != "" {
				t.Errorf("nil invocation: event %+v, want an error and no command", ev)
			}
			var refs []string
			for _, ref := range ev.Decision.References {
				refs = append(refs, ref.Capability+"/"+ref.Permission)
			}
			if strings.Join(refs, ",") != strings.Join(tc.refs, ",") {
				t.Errorf("references %v, want %v", refs, tc.refs)
			}
			var obls []string
			for _, o := range ev.Obligations {
				out := "met"
				if o.Err != nil {
					out = o.Err.Error()
				}
				obls = append(obls, o.Obligation.Type+"="+out)
			}
			if strings.Join(obls, ",") != strings.Join(tc.obligations, ",") {
				t.Errorf("obligations %v, want %v", obls, tc.obligations)
			}
			if tc.errIs != nil && !errors.Is(ev.Err, tc.errIs) {
				t.Errorf("Err = %v, want one matching %v", ev.Err, tc.errIs)
			}
			if tc.allowed && ev.Err != nil {
				t.Errorf("allowed call with Err %v", ev.Err)
			}
			if ev.Time.Before(before) || ev.Time.After(time.Now()) || ev.Latency < 0 {
				t.Errorf("Time %v / Latency %v outside the call", ev.Time, ev.Latency)
			}
			if s := fmt.Sprintf("%+v", ev); strings.Contains(s, "hunter2") {
				t.Errorf("the event carries the arguments: %s", s)
			}
		})
	}
}

// The event of an allowed call arrives before the handler runs, and the
// latency covers an obligation's time.
func TestObserverTiming(t *testing.T) {
	res := resolveFiles(t)
	var order []string
	r := ipc.NewRouter()
	_ = r.HandlePlugin("files", "stat", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) {
		order = append(order, "handler")
		return nil, nil
	}))
	var latency time.Duration
	g := r.Guard(obligingEngine{compile(t, res), []policy.Obligation{{Type: "slow"}}},
		ipc.WithObligation("slow", func(context.Context, *ipc.Invocation, policy.Obligation) error {
			time.Sleep(20 * time.Millisecond)
			return nil
		}),
		ipc.WithObserver(func(ev ipc.DecisionEvent) { order = append(order, "event"); latency = ev.Latency }))
	if _, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "event,handler" {
		t.Errorf("order %v, want the event before the handler", order)
	}
	if latency < 20*time.Millisecond {
		t.Errorf("latency %v does not include the obligation's 20ms", latency)
	}
}

// A panicking observer fails the call instead of crashing the app.
func TestObserverPanic(t *testing.T) {
	res := resolveFiles(t)
	r, recs := filesRouter(t)
	g := r.Guard(compile(t, res), ipc.WithObserver(func(ipc.DecisionEvent) { panic("observer") }))
	_, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"})
	if !errors.Is(err, ipc.ErrInternal) {
		t.Fatalf("err = %v, want ErrInternal", err)
	}
	if n := len(recs["stat"].calls); n != 0 {
		t.Errorf("the handler ran %d times after the observer panicked", n)
	}
}

// Observers are called concurrently by concurrent calls (run with -race).
func TestObserverConcurrent(t *testing.T) {
	res := resolveFiles(t)
	r := ipc.NewRouter()
	_ = r.HandlePlugin("files", "stat", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return nil, nil }))
	var log eventLog
	g := r.Guard(compile(t, res), ipc.WithObserver(log.observe))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := "main"
			if i%2 == 1 {
				w = "settings"
			}
			for j := 0; j < 50; j++ {
				_, _ = g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: w})
			}
		}(i)
	}
	wg.Wait()
	evs := log.all()
	allowed := 0
	for _, ev := range evs {
		if ev.Allowed {
			allowed++
			if ev.Window != "main" {
				t.Fatalf("allowed event for window %q", ev.Window)
			}
		}
	}
	if len(evs) != 400 || allowed != 200 {
		t.Errorf("%d events, %d allowed; want 400 and 200", len(evs), allowed)
	}
}

// BenchmarkGuardObserver compares a call through the guard without and
// with an observer.
func BenchmarkGuardObserver(b *testing.B) {
	res := resolveFiles(b)
	engine := compile(b, res)
	for _, bc := range []struct {
		name string
		opts []ipc.GuardOption
	}{
		{"none", nil},
		{"observer", []ipc.GuardOption{ipc.WithObserver(func(ipc.DecisionEvent) {})}},
	} {
		r := ipc.NewRouter()
		_ = r.HandlePlugin("files", "stat", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return nil, nil }))
		g := r.Guard(engine, bc.opts...)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if _, err := g.Invoke(ctx, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
