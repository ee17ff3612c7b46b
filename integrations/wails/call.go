package capwails

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// wailsCall is a binding call as the guard read it.
type wailsCall struct {
	command string
	// args is the invocation's arguments: {"args": [...]}.
	args json.RawMessage
	// query, when not empty, replaces the call's query for Wails: the
	// same call id and arguments, the method by its full name.
	query string
}

// callOptions is a binding call's args parameter: Wails's
// application.CallOptions and the call id, read in one pass.
type callOptions struct {
	CallID     json.RawMessage `json:"call-id"`
	MethodID   uint32          `json:"methodID"`
	MethodName string          `json:"methodName"`
	Args       json.RawMessage `json:"args"`
}

// parseCall reads the args parameter of a binding call the way Wails
// reads it (application.QueryParams.Args and ToStruct: the same fields,
// the call id printed with %v), and maps the method to its command. The
// call it returns for Wails is canonical: whatever the page sent, Wails
// gets exactly the call id, method and arguments that were decided.
func (g *Guard) parseCall(query url.Values) (wailsCall, *refusal) {
	bad := func(format string, args ...any) *refusal {
		return &refusal{http.StatusBadRequest, "capguard: invalid binding call: " + fmt.Sprintf(format, args...)}
	}
	raw := query["args"]
	if len(raw) != 1 {
		return wailsCall{}, bad("want one args parameter, got %d", len(raw))
	}
	var opts callOptions
	if err := json.Unmarshal([]byte(raw[0]), &opts); err != nil {
		return wailsCall{}, bad("unable to parse arguments: %v", err)
	}
	callID, err := callIDText(opts.CallID)
	if err != nil || callID == "" {
		return wailsCall{}, bad("missing argument 'call-id'")
	}
	positional := bytes.TrimSpace(opts.Args)
	switch {
	case len(positional) == 0 || string(positional) == "null":
		positional = []byte("[]")
	case positional[0] != '[':
		return wailsCall{}, bad("error parsing call options: args is not an array")
	}
	fqn, byID := opts.MethodName, false
	if fqn == "" {
		byID = true
		name, ok := g.byID[opts.MethodID]
		if !ok {
			return wailsCall{}, &refusal{http.StatusNotFound, fmt.Sprintf("capguard: unknown bound method id %d", opts.MethodID)}
		}
		fqn = name
	}
	cmd, ok := g.methods[fqn]
	if !ok {
		return wailsCall{}, &refusal{http.StatusNotFound, fmt.Sprintf("capguard: unknown bound method name '%s'", fqn)}
	}
	args := make([]byte, 0, len(positional)+10)
	args = append(append(append(args, `{"args":`...), positional...), '}')
	if !byID {
		// Wails reads the method's name and arguments with the same
		// decoder and fields: it runs what was decided.
		return wailsCall{command: cmd, args: args}, nil
	}
	// A call by id: Wails could map the id differently (its BindAliases);
	// hand it the method by name.
	handed := make([]byte, 0, len(callID)+len(fqn)+len(positional)+48)
	handed = append(handed, `{"call-id":`...)
	handed = appendString(handed, callID)
	handed = append(handed, `,"methodName":`...)
	handed = appendString(handed, fqn)
	handed = append(append(append(handed, `,"args":`...), positional...), '}')
	return wailsCall{command: cmd, args: args, query: "object=0&method=0&args=" + url.QueryEscape(string(handed))}, nil
}

// callIDText is the call id as Wails prints it (%v of the decoded value).
func callIDText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	return fmt.Sprintf("%v", v), nil
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return append(dst, b...)
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
