package ipc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/capguard/capguard/internal/doc"
	"github.com/capguard/capguard/policy"
)

// Guarded is a router behind the guard: the only thing that dispatches
// invocations, and what transports serve. It is made by Router.Guard and
// is safe for concurrent use.
type Guarded struct {
	router *Router
	h      Handler
}

// Guard puts the router behind Guard(engine, opts...) and returns the
// result. Commands registered on the router later are guarded too.
func (r *Router) Guard(engine policy.Engine, opts ...GuardOption) *Guarded {
	return &Guarded{router: r, h: Guard(engine, opts...)(HandlerFunc(r.dispatch))}
}

// Router returns the guarded router, to register more commands (nil for a
// nil Guarded).
func (g *Guarded) Router() *Router {
	if g == nil {
		return nil
	}
	return g.router
}

// ErrInternal is wrapped by the error of a call whose handler panicked or
// returned a result that cannot be encoded as JSON.
var ErrInternal = errors.New("internal error")

// Invoke runs one invocation through the guard and the router, and
// returns the JSON the frontend's promise resolves with. On failure the
// error is a *DeniedError (errors.Is(err, ErrNotAllowed)), a "Command ...
// not found" error (ErrNotFound), or the handler's error; RejectValue(err)
// is the JSON the promise rejects with. A panicking handler (or engine),
// or a result that cannot be encoded, rejects the call with an error
// matching ErrInternal instead of crashing the app; its details stay on
// the Go side, the frontend gets "Command <cmd> failed: internal error".
func (g *Guarded) Invoke(ctx context.Context, inv *Invocation) (result json.RawMessage, err error) {
	if g == nil || g.h == nil {
		return nil, &internalError{command: "", detail: "the Guarded was not made by Router.Guard"}
	}
	defer func() {
		if p := recover(); p != nil {
			cmd := ""
			if inv != nil {
				cmd = inv.Command
			}
			result, err = nil, &internalError{command: cmd, detail: fmt.Sprintf("panicked: %v", p)}
		}
	}()
	v, err := g.h.ServeIPC(ctx, inv)
	if err != nil {
		return nil, err
	}
	result, err = encodeResult(v)
	if err != nil {
		return nil, &internalError{command: inv.Command, detail: err.Error()}
	}
	return result, nil
}

// internalError is a failure of the app's own code. Its details are for
// the Go side (logs); the frontend only learns that the command failed.
type internalError struct {
	command, detail string
}

func (e *internalError) Error() string {
	return "ipc: internal error: command " + e.command + ": " + e.detail
}

func (e *internalError) Unwrap() error { return ErrInternal }

func (e *internalError) MarshalJSON() ([]byte, error) {
	return []byte(quote("Command " + e.command + " failed: internal error")), nil
}

// encodeResult writes a handler's value as JSON without HTML escaping, as
// serde_json writes it.
func encodeResult(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case json.RawMessage:
		if len(x) == 0 {
			return json.RawMessage("null"), nil
		}
		if !json.Valid(x) {
			return nil, errors.New("the handler returned invalid JSON")
		}
		return x, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the result: %v", err)
	}
	return json.RawMessage(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// RejectValue returns the JSON value the frontend's promise rejects with
// for err. An error that implements json.Marshaler (itself or one it
// wraps; the first found wins) chooses its own value: a denial is a
// string ("Command <cmd> not allowed by ACL"), a biometric failure the
// object {"message", "code"}, and so is a denial caused by a failed
// biometric obligation (see DeniedError). Any other error becomes its text
// as a JSON string, as Tauri sends a command's error. A nil error gives
// null.
func RejectValue(err error) json.RawMessage {
	if err == nil {
		return json.RawMessage("null")
	}
	var m json.Marshaler
	if errors.As(err, &m) {
		if b, merr := m.MarshalJSON(); merr == nil && json.Valid(b) {
			return json.RawMessage(b)
		}
	}
	return json.RawMessage(quote(err.Error()))
}

// quote writes s as a JSON string the way serde_json does.
func quote(s string) string { return doc.Quote(strings.ToValidUTF8(s, "\uFFFD")) }
