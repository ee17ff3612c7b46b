// Command loadtest drives capguard's HTTP bridge from a second process on
// loopback: a bounded number of mixed calls (allowed, denied, malformed,
// refused) at a fixed concurrency, each checked against the answer it
// must get. It prints throughput, latency percentiles, the number of
// wrong answers and of 5xx, and the server's resident size (peak, and
// sampled during the run, to show it stays flat).
//
//	go run ./ipc/internal/loadtest -calls 1000000 -concurrency 64
//
// It is not part of the test suite (scripts/load-bridge.sh runs it); it
// exits 1 when any answer was wrong or any 5xx was seen.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
)

// device is an always-ready biometric device that remembers nothing.
type device struct{}

func (device) Status(context.Context) (native.Status, error) {
	return native.Status{Type: native.TouchID, Available: true, Enrolled: true}, nil
}

func (device) Authenticate(context.Context, native.Prompt) error { return nil }

// clientConfig is what the server hands the client process.
type clientConfig struct {
	URL                   string
	Calls, Concurrency    int
	MainOrigin, SetOrigin string
	Key                   string
	MainToken, SetToken   string
}

// result is what the client reports.
type result struct {
	Calls, Wrong, Status5xx int64
	ByKind                  map[string]int64
	Seconds                 float64
	P50, P99, P999, Max     float64 // milliseconds
	FirstWrong              string
}

func main() {
	client := flag.String("client", "", "run as the client with this JSON configuration (internal)")
	calls := flag.Int("calls", 1_000_000, "number of calls")
	conc := flag.Int("concurrency", 64, "concurrent clients")
	flag.Parse()
	if *client != "" {
		var cfg clientConfig
		if err := json.Unmarshal([]byte(*client), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		res := runClient(cfg)
		_ = json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	if err := runServer(*calls, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

var keyRE = regexp.MustCompile(`"invokeKey":"([0-9a-f]+)"`)

func runServer(calls, conc int) error {
	// A device that keeps no call log (the simulator logs every call, for
	// tests, and would grow with the run).
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, device{})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + l.Addr().String()
	mainOrigin, setOrigin := "http://127.0.0.1:1", "http://127.0.0.1:2"
	b, err := ipc.NewBridge(app.IPC, ipc.BridgeConfig{URL: base + "/", LocalOrigins: []string{mainOrigin, setOrigin}})
	if err != nil {
		return err
	}
	mainPage, err := b.Bind(ipc.Binding{Window: "main", Origin: mainOrigin})
	if err != nil {
		return err
	}
	setPage, err := b.Bind(ipc.Binding{Window: "settings", Origin: setOrigin})
	if err != nil {
		return err
	}
	srv := ipc.NewServer(b, ipc.ServerConfig{})
	go func() { _ = srv.Serve(ipc.LimitListener(l, ipc.ServerConfig{})) }()
	defer srv.Close()

	cfg := clientConfig{URL: base, Calls: calls, Concurrency: conc, MainOrigin: mainOrigin, SetOrigin: setOrigin,
		Key: keyRE.FindStringSubmatch(mainPage.Script)[1], MainToken: mainPage.Token, SetToken: setPage.Token}
	arg, _ := json.Marshal(cfg)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	resetPeak()
	var samples []int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				samples = append(samples, status("VmRSS"))
			}
		}
	}()
	cmd := exec.Command(self, "-client", string(arg))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	close(stop)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("client: %v", err)
	}
	var res result
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("client output %q: %v", out, err)
	}
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	var sampled []string
	for i, s := range samples {
		if i%max(1, len(samples)/8) == 0 || i == len(samples)-1 {
			sampled = append(sampled, mib(s))
		}
	}
	fmt.Printf("calls %d at concurrency %d from a second process (GOMAXPROCS %d): %.0f calls/s over %.1f s\n",
		res.Calls, conc, runtime.GOMAXPROCS(0), float64(res.Calls)/res.Seconds, res.Seconds)
	kinds := make([]string, 0, len(res.ByKind))
	for k, n := range res.ByKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	fmt.Printf("mix: %s\n", strings.Join(kinds, ", "))
	fmt.Printf("latency ms: p50 %.3f, p99 %.3f, p99.9 %.3f, max %.3f\n", res.P50, res.P99, res.P999, res.Max)
	fmt.Printf("wrong answers %d, 5xx %d\n", res.Wrong, res.Status5xx)
	fmt.Printf("server resident size: peak %s; sampled every second: %s\n", mib(status("VmHWM")), strings.Join(sampled, ", "))
	if res.Wrong > 0 || res.Status5xx > 0 {
		return fmt.Errorf("%d wrong answers (first: %s), %d 5xx", res.Wrong, res.FirstWrong, res.Status5xx)
	}
	return nil
}

// resetPeak resets the process's peak resident size (Linux).
func resetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func status(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

// kind is one sort of call and the answer it must get.
type kind struct {
	name     string
	command  string
	origin   string
	token    string
	key      string
	body     string
	status   int
	response string // Tauri-Response, "" for a refusal
	want     string // the body must start with it
}

func kinds(c clientConfig) []kind {
	return []kind{
		{"allowed", "plugin:biometric|status", c.MainOrigin, c.MainToken, c.Key, `{}`, 200, "ok", `{"isAvailable":true`},
		{"denied", "plugin:biometric|authenticate", c.SetOrigin, c.SetToken, c.Key, `{"reason":"x"}`, 200, "error", `"Command plugin:biometric|authenticate not allowed by ACL"`},
		{"denied-unknown", "open_vault", c.SetOrigin, c.SetToken, c.Key, `{}`, 200, "error", `"Command open_vault not allowed by ACL"`},
		{"malformed-json", "plugin:biometric|status", c.MainOrigin, c.MainToken, c.Key, `{"x":`, 400, "", "the body is not valid JSON"},
		{"bad-token", "plugin:biometric|status", c.MainOrigin, "0123", c.Key, `{}`, 403, "", "failed to acquire webview reference"},
		{"bad-key", "plugin:biometric|status", c.MainOrigin, c.MainToken, "nope", `{}`, 403, "", "invalid Tauri-Invoke-Key"},
		{"foreign-origin", "plugin:biometric|status", "https://evil.example", c.MainToken, c.Key, `{}`, 403, "", "failed to acquire webview reference"},
	}
}

func runClient(c clientConfig) result {
	tr := &http.Transport{MaxIdleConns: c.Concurrency, MaxIdleConnsPerHost: c.Concurrency, IdleConnTimeout: 30 * time.Second}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ks := kinds(c)
	var next, wrong, fives atomic.Int64
	var firstWrong atomic.Pointer[string]
	byKind := make([]atomic.Int64, len(ks))
	lat := make([][]float64, c.Concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < c.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512)
			for {
				i := next.Add(1) - 1
				if i >= int64(c.Calls) {
					return
				}
				k := ks[int(i)%len(ks)]
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, c.URL+"/"+url.PathEscape(k.command), strings.NewReader(k.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", k.origin)
				req.Header.Set(ipc.HeaderCallback, "1")
				req.Header.Set(ipc.HeaderError, "2")
				req.Header.Set(ipc.HeaderInvokeKey, k.key)
				req.Header.Set(ipc.HeaderToken, k.token)
				t0 := time.Now()
				res, err := client.Do(req)
				ok := false
				if err == nil {
					b := bytes.NewBuffer(buf[:0])
					_, _ = io.Copy(b, res.Body)
					res.Body.Close()
					if res.StatusCode >= 500 {
						fives.Add(1)
					}
					ok = res.StatusCode == k.status && res.Header.Get(ipc.HeaderResponse) == k.response && bytes.Contains(b.Bytes(), []byte(k.want))
					if !ok {
						msg := fmt.Sprintf("%s: %d %q %.120s", k.name, res.StatusCode, res.Header.Get(ipc.HeaderResponse), b.String())
						firstWrong.CompareAndSwap(nil, &msg)
					}
				} else {
					msg := k.name + ": " + err.Error()
					firstWrong.CompareAndSwap(nil, &msg)
				}
				lat[w] = append(lat[w], float64(time.Since(t0).Microseconds())/1000)
				if !ok {
					wrong.Add(1)
				}
				byKind[int(i)%len(ks)].Add(1)
			}
		}()
	}
	wg.Wait()
	res := result{Calls: int64(c.Calls), Wrong: wrong.Load(), Status5xx: fives.Load(), Seconds: time.Since(start).Seconds(), ByKind: map[string]int64{}}
	for i, k := range ks {
		res.ByKind[k.name] = byKind[i].Load()
	}
	var all []float64
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	res.P50, res.P99, res.P999, res.Max = pct(0.50), pct(0.99), pct(0.999), pct(1)
	if p := firstWrong.Load(); p != nil {
		res.FirstWrong = *p
	}
	return res
}
