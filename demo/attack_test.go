package demo_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestForeignGETsMintNothing is issue 14's cases 2 and 8 at the demo:
// 10,000 GETs of a window's page by another client (no launch secret)
// mint no token, show neither key nor token, and the page the dashboard
// opened still calls.
func TestForeignGETsMintNothing(t *testing.T) {
	s := start(t, nil)
	main := window(t, s, "main")
	key, token, _ := page(t, s, main)
	call := func() response {
		return do(t, "POST", s.URL()+"ipc/plugin%3Abiometric%7Cstatus", map[string]string{
			"Content-Type": "application/json", "Origin": main.Origin, "Tauri-Callback": "1", "Tauri-Error": "2",
			"Tauri-Invoke-Key": key, "Capguard-Webview-Token": token,
		}, `{}`)
	}
	client := &http.Client{}
	for i := 0; i < 10_000; i++ {
		u := main.URL
		if i%2 == 1 {
			u += "?capguard-launch=" + strings.Repeat("0", 32)
		}
		res, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var buf [512]byte
		n, _ := res.Body.Read(buf[:])
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || keyRE.Match(buf[:n]) || tokenRE.Match(buf[:n]) {
			t.Fatalf("foreign GET %d: %d %q", i, res.StatusCode, buf[:n])
		}
	}
	if r := call(); r.status != 200 || r.header.Get("Tauri-Response") != "ok" {
		t.Errorf("the first page after 10,000 foreign GETs: %d %s", r.status, r.body)
	}
}

// TestRejectionsAreAggregated is case 3: a flood of refused requests used
// to push the real decisions out of the 500-entry feed. Refusals are now
// one counted entry per source and reason, and the decisions stay.
func TestRejectionsAreAggregated(t *testing.T) {
	s := start(t, nil)
	main := window(t, s, "main")
	if r := invoke(t, s, main, "plugin:biometric|status", `{}`); r.header.Get("Tauri-Response") != "ok" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for i := 0; i < 2000; i++ {
		origin := main.Origin
		if i%2 == 1 {
			origin = "http://127.0.0.1:" + string(rune('1'+i%9)) + "999" // many sources
		}
		r := do(t, "POST", s.URL()+"ipc/plugin%3Abiometric%7Cstatus", map[string]string{
			"Content-Type": "application/json", "Origin": origin, "Tauri-Callback": "1", "Tauri-Error": "2",
			"Tauri-Invoke-Key": "bad", "Capguard-Webview-Token": "bad",
		}, `{}`)
		if r.status != http.StatusForbidden {
			t.Fatalf("refusal %d: %d", i, r.status)
		}
	}
	entries := state(t, s)["entries"].([]any)
	decisions, refusals, counted := 0, 0, 0.0
	for _, e := range entries {
		e := e.(map[string]any)
		switch e["kind"] {
		case "decision":
			decisions++
		case "refused":
			refusals++
			counted += e["count"].(float64)
		}
	}
	if decisions != 1 {
		t.Errorf("%d decisions in the feed after the flood, want the 1 made before it", decisions)
	}
	if refusals == 0 || refusals > 33 || counted != 2000 {
		t.Errorf("%d refusal entries counting %v refusals, want at most 33 counting 2000", refusals, counted)
	}
}

// TestDenialsAreAggregated is issue 25's item 7 for the feed: a page with
// a valid token that floods calls the ACL denies (one command, then
// hundreds of made-up ones) used to push the allowed decisions out of the
// 500-entry feed, one entry per denial. Denials are now grouped per
// command and caller, counted, and the allowed decisions stay.
func TestDenialsAreAggregated(t *testing.T) {
	s := start(t, nil)
	main, settings := window(t, s, "main"), window(t, s, "settings")
	for range 3 {
		if r := invoke(t, s, main, "plugin:biometric|status", `{}`); r.header.Get("Tauri-Response") != "ok" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	key, token, _ := page(t, s, settings)
	const n = 2000
	for i := range n {
		command := "plugin%3Abiometric%7Cauthenticate"
		if i%2 == 1 {
			command = "made_up_" + strconv.Itoa(i) // many groups
		}
		r := do(t, "POST", s.URL()+"ipc/"+command, map[string]string{
			"Content-Type": "application/json", "Origin": settings.Origin, "Tauri-Callback": "1", "Tauri-Error": "2",
			"Tauri-Invoke-Key": key, "Capguard-Webview-Token": token,
		}, `{}`)
		if r.status != http.StatusOK || r.header.Get("Tauri-Response") != "error" {
			t.Fatalf("denial %d: %d %s", i, r.status, r.body)
		}
	}
	allowed, denials, counted := 0, 0, 0.0
	for _, e := range state(t, s)["entries"].([]any) {
		e := e.(map[string]any)
		if e["kind"] != "decision" {
			continue
		}
		if e["allowed"] == true {
			allowed++
			continue
		}
		denials++
		c, ok := e["count"].(float64)
		if !ok {
			c = 1 // an entry of one denial, not grouped
		}
		counted += c
	}
	if allowed != 3 {
		t.Errorf("%d allowed decisions in the feed after the flood, want the 3 made before it", allowed)
	}
	if denials == 0 || denials > 33 || counted != n {
		t.Errorf("%d denial entries counting %v denials, want at most 33 counting %d", denials, counted, n)
	}
}
