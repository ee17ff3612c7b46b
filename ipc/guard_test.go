package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// filesRouter registers a recorder for every command of the fixture.
func filesRouter(t testing.TB) (*ipc.Router, map[string]*recorder) {
	r := ipc.NewRouter()
	recs := map[string]*recorder{}
	for _, c := range []string{"read", "stat", "write"} {
		rec := &recorder{reply: map[string]string{"command": c}}
		recs[c] = rec
		if err := r.HandlePlugin("files", c, rec); err != nil {
			t.Fatal(err)
		}
	}
	return r, recs
}

func TestGuardDecisions(t *testing.T) {
	res := resolveFiles(t)
	for _, tc := range []struct {
		name    string
		inv     ipc.Invocation
		allowed bool
	}{
		{"allowed window", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main", Webview: "main"}, true},
		{"webview defaults to the window label", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main"}, true},
		{"webview glob", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "other", Webview: "panel"}, true},
		{"disallowed window", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "settings"}, false},
		{"allowed remote origin", ipc.Invocation{Command: "plugin:files|stat", Window: "main", Origin: remote}, true},
		{"disallowed remote origin", ipc.Invocation{Command: "plugin:files|read", Window: "main", Origin: remote}, false},
		{"unknown remote origin", ipc.Invocation{Command: "plugin:files|stat", Window: "main", Origin: evil}, false},
		{"explicit deny from another window's capability", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|write", Window: "main"}, false},
		{"unknown command", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|delete", Window: "main"}, false},
		{"no window label", ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, recs := filesRouter(t)
			g := r.Guard(compile(t, res), ipc.WithScopes(res))
			inv := tc.inv
			out, err := g.Invoke(context.Background(), &inv)
			var reached int
			for _, rec := range recs {
				reached += len(rec.calls)
			}
			if !tc.allowed {
				if !errors.Is(err, ipc.ErrNotAllowed) {
					t.Fatalf("got %s, %v; want a denial", out, err)
				}
				var de *ipc.DeniedError
				if !errors.As(err, &de) || de.Command != tc.inv.Command {
					t.Errorf("error %#v is not a *DeniedError for the command", err)
				}
				want := `"Command ` + tc.inv.Command + ` not allowed by ACL"`
				if got := string(ipc.RejectValue(err)); got != want {
					t.Errorf("rejection %s, want %s", got, want)
				}
				if reached != 0 {
					t.Errorf("a denied call reached %d handler(s)", reached)
				}
				return
			}
			if err != nil {
				t.Fatalf("denied: %v", err)
			}
			cmd := strings.TrimPrefix(tc.inv.Command, "plugin:files|")
			if want := `{"command":"` + cmd + `"}`; string(out) != want {
				t.Errorf("result %s, want %s", out, want)
			}
			rec := recs[cmd]
			if reached != 1 || len(rec.calls) != 1 {
				t.Fatalf("handler reached %d times", reached)
			}
			got := rec.calls[0]
			if got.Access == nil || !got.Access.Decision.Allowed || len(got.Access.Decision.References) == 0 {
				t.Errorf("handler got Access %+v", got.Access)
			}
			if got.Webview == "" {
				t.Error("the handler saw an empty webview label")
			}
			if inv.Access != nil {
				t.Error("the guard modified the caller's invocation")
			}
		})
	}
}

func TestGuardVerboseExplains(t *testing.T) {
	res := resolveFiles(t)
	for _, engine := range []struct {
		name string
		e    policy.Engine
	}{{"native", compile(t, res)}} {
		t.Run(engine.name, func(t *testing.T) {
			r, _ := filesRouter(t)
			g := r.Guard(engine.e, ipc.Verbose())
			for _, inv := range []ipc.Invocation{
				{Command: "plugin:files|read", Window: "settings", Webview: "settings", Origin: acl.LocalOrigin},
				{Command: "plugin:files|write", Window: "main", Webview: "main", Origin: acl.LocalOrigin},
				{Command: "plugin:files|stat", Window: "main", Webview: "main", Origin: evil},
			} {
				_, err := g.Invoke(context.Background(), &inv)
				want := res.Decide(acl.Request{Command: inv.Command, Window: inv.Window, Webview: inv.Webview, Origin: inv.Origin}).Message
				if err == nil || err.Error() != want {
					t.Errorf("%s from %s: got %v\nwant %s", inv.Command, inv.Window, err, want)
				}
				if !errors.Is(err, ipc.ErrNotAllowed) {
					t.Errorf("verbose denial does not match ErrNotAllowed: %v", err)
				}
			}
		})
	}
	// The explicit deny names the capability that denied.
	r, _ := filesRouter(t)
	_, err := r.Guard(compile(t, res), ipc.Verbose()).Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|write", Window: "main"})
	if err == nil || !strings.Contains(err.Error(), "explicitly denied") || !strings.Contains(err.Error(), "capability: lock") {
		t.Errorf("got %v", err)
	}
}

func TestGuardFailsClosed(t *testing.T) {
	res := resolveFiles(t)
	boom := errors.New("engine exploded")
	for _, tc := range []struct {
		name   string
		engine policy.Engine
		inv    *ipc.Invocation
		cause  error
	}{
		{"engine error", failingEngine{boom}, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"}, boom},
		{"nil engine", nil, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"}, nil},
		{"nil invocation", compile(t, res), nil, nil},
		{"obligation without handler", obligingEngine{compile(t, res), []policy.Obligation{{Type: "biometric"}}},
			&ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"}, ipc.ErrObligation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, recs := filesRouter(t)
			_, err := r.Guard(tc.engine).Invoke(context.Background(), tc.inv)
			if !errors.Is(err, ipc.ErrNotAllowed) {
				t.Fatalf("got %v, want a denial", err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("%v does not wrap %v", err, tc.cause)
			}
			if len(recs["stat"].calls) != 0 {
				t.Error("the handler ran")
			}
			if got := string(ipc.RejectValue(err)); strings.Contains(got, "exploded") {
				t.Errorf("release text leaks the engine error: %s", got)
			}
		})
	}
}

func TestGuardObligations(t *testing.T) {
	res := resolveFiles(t)
	ob := policy.Obligation{Type: "biometric", Reason: "confirm"}
	var met []string
	refuse := errors.New("user said no")
	for _, tc := range []struct {
		name    string
		fn      ipc.ObligationFunc
		allowed bool
	}{
		{"met", func(_ context.Context, inv *ipc.Invocation, o policy.Obligation) error {
			met = append(met, inv.Window+":"+o.Reason)
			return nil
		}, true},
		{"refused", func(context.Context, *ipc.Invocation, policy.Obligation) error { return refuse }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, recs := filesRouter(t)
			g := r.Guard(obligingEngine{compile(t, res), []policy.Obligation{ob}}, ipc.WithObligation("biometric", tc.fn))
			_, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"})
			if tc.allowed {
				if err != nil || len(recs["stat"].calls) != 1 {
					t.Fatalf("err %v, calls %d", err, len(recs["stat"].calls))
				}
				return
			}
			if !errors.Is(err, ipc.ErrNotAllowed) || !errors.Is(err, refuse) || !errors.Is(err, ipc.ErrObligation) {
				t.Fatalf("got %v", err)
			}
			if len(recs["stat"].calls) != 0 {
				t.Error("the handler ran")
			}
		})
	}
	if len(met) != 1 || met[0] != "main:confirm" {
		t.Errorf("obligation calls %q", met)
	}
}

func TestGuardedInvokeResults(t *testing.T) {
	res := resolveFiles(t)
	for _, tc := range []struct {
		name  string
		reply any
		err   error
		want  string // result, or rejection
		isErr error
	}{
		{"nil is null", nil, nil, "null", nil},
		{"struct", struct {
			A string `json:"a"`
		}{"<&>"}, nil, `{"a":"<&>"}`, nil},
		{"raw JSON", json.RawMessage(`[1,2]`), nil, `[1,2]`, nil},
		{"invalid raw JSON", json.RawMessage(`[1,`), nil, "", ipc.ErrInternal},
		{"unencodable", make(chan int), nil, "", ipc.ErrInternal},
		{"handler error is a string", nil, errors.New("disk <full>"), `"disk <full>"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ipc.NewRouter()
			if err := r.HandlePlugin("files", "stat", &recorder{reply: tc.reply, err: tc.err}); err != nil {
				t.Fatal(err)
			}
			out, err := r.Guard(compile(t, res)).Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"})
			switch {
			case tc.isErr != nil:
				if !errors.Is(err, tc.isErr) {
					t.Fatalf("got %s, %v; want %v", out, err, tc.isErr)
				}
			case tc.err != nil:
				if got := string(ipc.RejectValue(err)); got != tc.want {
					t.Errorf("rejection %s, want %s", got, tc.want)
				}
			default:
				if err != nil || string(out) != tc.want {
					t.Errorf("got %s, %v; want %s", out, err, tc.want)
				}
			}
		})
	}
}

func TestGuardedNotFoundAndPanic(t *testing.T) {
	res := resolveFiles(t)
	r := ipc.NewRouter()
	g := r.Guard(compile(t, res))
	// Allowed by the ACL, but nobody handles it: Tauri's text.
	_, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"})
	if !errors.Is(err, ipc.ErrNotFound) || string(ipc.RejectValue(err)) != `"Command stat not found"` {
		t.Fatalf("got %v (%s)", err, ipc.RejectValue(err))
	}
	// Commands registered after Guard are served, and guarded.
	if err := g.Router().HandlePlugin("files", "stat", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) {
		panic("bug")
	})); err != nil {
		t.Fatal(err)
	}
	_, err = g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"})
	if !errors.Is(err, ipc.ErrInternal) || !strings.Contains(err.Error(), "bug") {
		t.Fatalf("panic: got %v", err)
	}
	if got := string(ipc.RejectValue(err)); got != `"Command plugin:files|stat failed: internal error"` {
		t.Errorf("the frontend gets %s", got)
	}
	_, err = g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "settings"})
	if !errors.Is(err, ipc.ErrNotAllowed) {
		t.Fatalf("late registration not guarded: %v", err)
	}
}

type jsonErr struct{ raw string }

func (e jsonErr) Error() string                { return "json error" }
func (e jsonErr) MarshalJSON() ([]byte, error) { return []byte(e.raw), nil }

func TestRejectValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, "null"},
		{"plain", errors.New(`say "hi"`), `"say \"hi\""`},
		{"marshaler", jsonErr{`{"message":"m","code":"userCancel"}`}, `{"message":"m","code":"userCancel"}`},
		{"wrapped marshaler", fmt.Errorf("ctx: %w", jsonErr{`{"code":"x"}`}), `{"code":"x"}`},
		{"invalid marshaler output falls back to text", jsonErr{`{`}, `"json error"`},
		{"invalid UTF-8", errors.New("a\xffb"), "\"a\uFFFDb\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ipc.RejectValue(tc.err)
			if string(got) != tc.want || !json.Valid(got) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGuardConcurrent(t *testing.T) {
	res := resolveFiles(t)
	var mu sync.Mutex
	served := map[string]int{}
	r := ipc.NewRouter()
	for _, c := range []string{"read", "stat", "write"} {
		if err := r.HandlePlugin("files", c, ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
			mu.Lock()
			served[inv.Window+" "+inv.Command]++
			mu.Unlock()
			return nil, nil
		})); err != nil {
			t.Fatal(err)
		}
	}
	g := r.Guard(compile(t, res), ipc.WithScopes(res))
	windows := []string{"main", "settings", "kiosk"}
	cmds := []string{"plugin:files|read", "plugin:files|stat", "plugin:files|write"}
	var wg sync.WaitGroup
	var denied sync.Map
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			inv := &ipc.Invocation{Origin: acl.LocalOrigin, Command: cmds[i%3], Window: windows[(i/3)%3]}
			if _, err := g.Invoke(context.Background(), inv); err != nil {
				if !errors.Is(err, ipc.ErrNotAllowed) {
					t.Errorf("%v", err)
				}
				denied.Store(inv.Window+" "+inv.Command, true)
			}
		}(i)
	}
	wg.Wait()
	// Only main may read and stat; write is denied everywhere (lock).
	want := map[string]int{}
	for i := 0; i < 300; i++ {
		if w, c := windows[(i/3)%3], cmds[i%3]; w == "main" && c != "plugin:files|write" {
			want[w+" "+c]++
		}
	}
	if fmt.Sprint(served) != fmt.Sprint(want) {
		t.Errorf("served %v, want %v", served, want)
	}
	for k := range served {
		if _, ok := denied.Load(k); ok {
			t.Errorf("%s was both served and denied", k)
		}
	}
}
