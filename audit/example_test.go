package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// ExampleLog attaches an audit log to a guard and prints the JSON Lines it
// writes (the random ids, the time and the latency are masked here).
func ExampleLog() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		panic(err)
	}
	r, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		panic(err)
	}
	engine, err := policy.Compile(r)
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	log := audit.New(audit.NewJSONLines(&out), audit.Labels(map[string]string{"app": "vault"}))
	router := ipc.NewRouter()
	_ = router.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return nil, nil }))
	guarded := router.Guard(engine, ipc.WithObserver(log.Observe))

	for _, window := range []string{"main", "settings"} {
		_, _ = guarded.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: window, Args: []byte(`{"password":"hunter2"}`)})
	}
	if err := log.Close(); err != nil {
		panic(err)
	}
	masked := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f-]{27}`).ReplaceAllString(out.String(), "<uuid>")
	masked = regexp.MustCompile(`"timestamp":"[^"]+"`).ReplaceAllString(masked, `"timestamp":"`+time.Time{}.Format(time.RFC3339)+`"`)
	masked = regexp.MustCompile(`_ns":\d+`).ReplaceAllString(masked, `_ns":0`)
	fmt.Print(masked)
	// Output:
	// {"decision_id":"<uuid>","labels":{"app":"vault","id":"<uuid>"},"path":"capguard/authz","input":{"command":"open_vault","window":"main","webview":"main","origin":{"local":true,"url":""}},"result":{"allowed":true,"reason":"allowed by capability \"main-window\" (permission allow-open-vault, local)","references":[{"capability":"main-window","permission":"allow-open-vault"}]},"timestamp":"0001-01-01T00:00:00Z","metrics":{"timer_capguard_decide_ns":0}}
	// {"decision_id":"<uuid>","labels":{"app":"vault","id":"<uuid>"},"path":"capguard/authz","input":{"command":"open_vault","window":"settings","webview":"settings","origin":{"local":true,"url":""}},"result":{"allowed":false,"reason":"open_vault not allowed on this window, webview and origin; allowed on: [windows: \"main\", URL: local]"},"timestamp":"0001-01-01T00:00:00Z","metrics":{"timer_capguard_decide_ns":0}}
}
