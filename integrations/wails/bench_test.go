package capwails_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/capguard/capguard/native/sim"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// BenchService is the bound service of the benchmark.
type BenchService struct{}

// VaultInfo is a small binding, bound as vault_info.
func (*BenchService) VaultInfo(ctx context.Context, name string) (map[string]any, error) {
	return map[string]any{"name": name, "entries": 3}, nil
}

// wailsRuntime is Wails v3 alpha.38's path for one binding call behind the
// asset server (assetServer), made of Wails's exported parts and doing
// Wails's own per-call work: the runtime endpoint's parsing of object,
// method and arguments (application.QueryParams, CallOptions), the
// lookup of the calling window, the running-calls table, the 200 answer,
// and, in a goroutine, the bound method's lookup and call through
// reflection (application.Bindings, BoundMethod.Call) with the "started"
// and "complete" log records, written by the logger of a production build
// (a text handler into io.Discard). Wails then sends the result into the
// window with ExecJS, which needs a real webview; here the handler waits
// for it and writes it into the response.
func wailsRuntime(b *testing.B, svc application.Service, logger *slog.Logger) http.Handler {
	startWails()
	bindings := application.NewBindings(nil, nil)
	if err := bindings.Add(svc); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	running := map[string]context.CancelFunc{}
	var winMu sync.RWMutex
	wins := map[uint64]string{1: "main", 2: "settings"}
	runtime := func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		if _, err := strconv.Atoi(query.Get("object")); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		if _, err := strconv.Atoi(query.Get("method")); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		params := application.QueryParams(query)
		id, _ := strconv.ParseUint(r.Header.Get(capwails.HeaderWindowID), 10, 64)
		winMu.RLock()
		_, ok := wins[id]
		winMu.RUnlock()
		if !ok {
			http.Error(w, "window not found", http.StatusUnprocessableEntity)
			return
		}
		args, err := params.Args()
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		callID := args.String("call-id")
		if callID == nil || *callID == "" {
			http.Error(w, "missing call-id", http.StatusUnprocessableEntity)
			return
		}
		var opts application.CallOptions
		if err := params.ToStruct(&opts); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		mu.Lock()
		running[*callID] = cancel
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		logger.Info("Binding call started:", "id", *callID, "method", opts.MethodName)
		done := make(chan []byte, 1)
		go func() {
			defer func() {
				mu.Lock()
				delete(running, *callID)
				mu.Unlock()
				cancel()
			}()
			m := bindings.Get(&opts)
			if m == nil {
				m = bindings.GetByID(opts.MethodID)
			}
			if m == nil {
				done <- []byte(`"unknown method"`)
				return
			}
			jsonArgs, _ := json.Marshal(opts.Args)
			result, err := m.Call(ctx, opts.Args)
			var out []byte
			if err == nil {
				out, _ = json.Marshal(result)
			}
			logger.Info("Binding call complete:", "id", *callID, "method", m, "args", string(jsonArgs), "result", string(out))
			done <- out
		}()
		_, _ = w.Write(<-done)
	}
	return http.HandlerFunc(runtime)
}

// assetServer is Wails's asset server around the whole chain (middleware
// included): its logger in the request's context, and one log record per
// request.
func assetServer(logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = r.WithContext(context.WithValue(r.Context(), loggerKey{}, logger))
		h.ServeHTTP(w, r)
		logger.Info("Asset Request:", "windowName", r.Header.Get(capwails.HeaderWindowName), "windowID", r.Header.Get(capwails.HeaderWindowID),
			"code", 200, "method", r.Method, "path", r.URL.EscapedPath(), "duration", time.Since(start))
	})
}

// benchHost is the fake host with the logger of a production build, so
// that the guard logs its binding calls as Wails does.
type benchHost struct {
	*fakeHost
	logger *slog.Logger
}

func (h benchHost) Logger() *slog.Logger { return h.logger }

// provenToken serves a page to window main and proves it, as the page
// script does, and returns its token.
func provenToken(b *testing.B, h http.Handler, host *fakeHost) string {
	do := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.Header.Set(capwails.HeaderWindowID, "1")
		h.ServeHTTP(w, r)
		return w
	}
	m := configRE.FindStringSubmatch(do(httptest.NewRequest("GET", "/", nil)).Body.String())
	if m == nil {
		b.Fatal("no page script")
	}
	var p page
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &p); err != nil {
		b.Fatal(err)
	}
	post := func(path, body string) int {
		r := httptest.NewRequest("POST", "/capguard/"+path, strings.NewReader(body))
		r.Header.Set(capwails.HeaderToken, p.Token)
		return do(r).Code
	}
	if post("start", "") != http.StatusAccepted {
		b.Fatal("start")
	}
	c := proveRE.FindStringSubmatch(host.lastExec(1))
	if c == nil || post("prove", `{"challenge":"`+c[2]+`"}`) != http.StatusNoContent {
		b.Fatal("prove")
	}
	return p.Token
}

type loggerKey struct{}

// BenchmarkBindingCall measures one binding call through Wails's runtime
// route over loopback HTTP, without and with the guard in front, in the
// same run, and the same two handlers called in process (no network). With
// the guard, the guard reads, decides and runs the call (through Wails's
// bindings, with Wails's log records) and Wails's runtime route is never
// reached; both go through the asset server's wrapper. The paired
// sub-benchmarks report the ratio of the medians (docs/wails.md has the
// figures).
func BenchmarkBindingCall(b *testing.B) {
	// The wails-vault example's ACL: vault_info is allowed in window main,
	// without a step-up.
	app, err := capguard.Load("../../examples/wails-vault/app", acl.Linux, sim.New(sim.Ready()))
	if err != nil {
		b.Fatal(err)
	}
	svc := application.NewService(&BenchService{})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	host := newFakeHost()
	opts := &application.Options{Services: []application.Service{svc}}
	guard, err := capwails.New(capwails.Config{IPC: app.IPC, App: opts, Host: benchHost{host, logger}})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(capwails.RuntimePath, wailsRuntime(b, svc, logger))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><html><head></head><body></body></html>")
	})
	handlers := []struct {
		name string
		h    http.Handler
	}{{"wails", assetServer(logger, mux)}, {"wails+capguard", assetServer(logger, opts.Assets.Middleware(mux))}}
	token := provenToken(b, handlers[1].h, host)
	_ = guard
	args, _ := json.Marshal(map[string]any{"call-id": "bench", "methodName": pkg + ".BenchService.VaultInfo", "args": []string{"Personal"}})
	query := url.Values{"object": {"0"}, "method": {"0"}, "args": {string(args)}}.Encode()
	const want = `{"entries":3,"name":"Personal"}`

	for _, h := range handlers {
		b.Run("loopback/"+h.name, func(b *testing.B) {
			srv := httptest.NewServer(h.h)
			defer srv.Close()
			client := srv.Client()
			req, _ := http.NewRequest("GET", srv.URL+capwails.RuntimePath+"?"+query, nil)
			req.Header.Set(capwails.HeaderWindowID, "1")
			req.Header.Set(capwails.HeaderToken, token)
			b.ReportAllocs()
			for b.Loop() {
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || string(body) != want {
					b.Fatalf("%d %s", res.StatusCode, body)
				}
			}
		})
	}
	// Both, paired: each iteration makes one call of each kind (in
	// alternating order), so that a machine whose load changes during the
	// run slows both alike. It reports the median of each kind and the
	// ratio of the medians.
	b.Run("loopback/paired", func(b *testing.B) {
		var reqs [2]*http.Request
		var clients [2]*http.Client
		for i, h := range handlers {
			srv := httptest.NewServer(h.h)
			defer srv.Close()
			clients[i] = srv.Client()
			reqs[i], _ = http.NewRequest("GET", srv.URL+capwails.RuntimePath+"?"+query, nil)
			reqs[i].Header.Set(capwails.HeaderWindowID, "1")
			reqs[i].Header.Set(capwails.HeaderToken, token)
		}
		one := func(i int) time.Duration {
			start := time.Now()
			res, err := clients[i].Do(reqs[i])
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			d := time.Since(start)
			if res.StatusCode != 200 || string(body) != want {
				b.Fatalf("%d %s", res.StatusCode, body)
			}
			return d
		}
		var times [2][]time.Duration
		n := 0
		for b.Loop() {
			first := n % 2
			times[first] = append(times[first], one(first))
			times[1-first] = append(times[1-first], one(1-first))
			n++
		}
		plain, guarded := median(times[0]), median(times[1])
		b.ReportMetric(float64(plain.Nanoseconds()), "ns/wails")
		b.ReportMetric(float64(guarded.Nanoseconds()), "ns/wails+capguard")
		b.ReportMetric(float64(guarded)/float64(plain), "ratio")
	})

	b.Run("inprocess/paired", func(b *testing.B) {
		one := func(i int) time.Duration {
			req := httptest.NewRequest("GET", capwails.RuntimePath+"?"+query, nil)
			req.Header.Set(capwails.HeaderWindowID, "1")
			req.Header.Set(capwails.HeaderToken, token)
			w := httptest.NewRecorder()
			start := time.Now()
			handlers[i].h.ServeHTTP(w, req)
			d := time.Since(start)
			if w.Code != 200 || w.Body.String() != want {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
			return d
		}
		var times [2][]time.Duration
		n := 0
		for b.Loop() {
			first := n % 2
			times[first] = append(times[first], one(first))
			times[1-first] = append(times[1-first], one(1-first))
			n++
		}
		plain, guarded := median(times[0]), median(times[1])
		b.ReportMetric(float64(plain.Nanoseconds()), "ns/wails")
		b.ReportMetric(float64(guarded.Nanoseconds()), "ns/wails+capguard")
		b.ReportMetric(float64(guarded)/float64(plain), "ratio")
	})

	// The guard alone, in front of a handler that does nothing.
	noop := guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	// (The guard runs the call itself: "capguard-only" is the guard's
	// decision, the bound method's run through Wails's bindings and the
	// answer, without the asset server.)
	b.Run("inprocess/capguard-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("GET", capwails.RuntimePath+"?"+query, nil)
			req.Header.Set(capwails.HeaderWindowID, "1")
			req.Header.Set(capwails.HeaderToken, token)
			w := httptest.NewRecorder()
			noop.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
	b.Run("inprocess/request-only", func(b *testing.B) {
		// What the loop costs without any handler: subtract it.
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("GET", capwails.RuntimePath+"?"+query, nil)
			req.Header.Set(capwails.HeaderWindowID, "1")
			req.Header.Set(capwails.HeaderToken, token)
			_ = httptest.NewRecorder()
		}
	})
	for _, h := range handlers {
		b.Run("inprocess/"+h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", capwails.RuntimePath+"?"+query, nil)
				req.Header.Set(capwails.HeaderWindowID, "1")
				req.Header.Set(capwails.HeaderToken, token)
				w := httptest.NewRecorder()
				h.h.ServeHTTP(w, req)
				if w.Code != 200 || w.Body.String() != want {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
