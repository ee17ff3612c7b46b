package demo

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
)

// dashboardHandler serves the dashboard, its API and the IPC bridge.
func (s *Server) dashboardHandler() http.Handler {
	mux := http.NewServeMux()
	bridge := http.StripPrefix("/ipc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.bridge.ServeHTTP(w, r)
		if r.Method == http.MethodPost {
			s.feed.touch() // the device may have been used
		}
	}))
	mux.Handle("/ipc/", bridge)
	mux.HandleFunc("GET /{$}", s.serveDashboard)
	mux.HandleFunc("GET /static/{name}", func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, r.PathValue("name")) })
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.state()) })
	mux.HandleFunc("GET /api/events", s.serveEvents)
	mux.HandleFunc("POST /api/device/next", s.control(s.deviceNext))
	mux.HandleFunc("POST /api/device/unlock", s.control(s.unlock))
	mux.HandleFunc("POST /api/device/enroll", s.control(s.enroll))
	mux.HandleFunc("POST /api/stepup/forget", s.control(s.forget))
	return mux
}

// windowHandler serves one window's page (or the untrusted page), its
// scripts and the npm packages.
func (s *Server) windowHandler(w Window) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, r *http.Request) { s.serveWindow(rw, r, w) })
	mux.HandleFunc("GET /static/{name}", func(rw http.ResponseWriter, r *http.Request) { serveAsset(rw, r, r.PathValue("name")) })
	mux.HandleFunc("GET /npm/{path...}", func(rw http.ResponseWriter, r *http.Request) { s.packages.serveModule(rw, r, r.PathValue("path")) })
	return mux
}

func (s *Server) serveDashboard(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("key")), []byte(s.key)) != 1 {
		securityHeaders(w)
		http.Error(w, "open the dashboard with the URL capguard demo printed: it carries the dashboard's key", http.StatusForbidden)
		return
	}
	frames := make([]string, 0, len(s.windows))
	windows := make([]Window, 0, len(s.windows))
	for _, win := range s.windows {
		frames = append(frames, win.Origin)
		u, err := s.LaunchURL(win.Name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		win.URL = u // each frame opens its window with a launch secret
		windows = append(windows, win)
	}
	securityHeaders(w)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-src "+strings.Join(frames, " ")+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.ExecuteTemplate(w, "dashboard.html", struct {
		Name     string
		Windows  []Window
		Packages Packages
		Live     live
	}{s.cfg.Name, windows, s.packages, s.live()}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// importMap maps the packages' bare specifiers to the files the window
// servers serve.
const importMap = `{"imports":{` +
	`"@tauri-apps/api/core":"/npm/@tauri-apps/api/core.js",` +
	`"@tauri-apps/api/":"/npm/@tauri-apps/api/",` +
	`"@tauri-apps/plugin-biometric":"/npm/@tauri-apps/plugin-biometric/dist-js/index.js",` +
	`"@choochmeque/tauri-plugin-biometry-api":"/npm/@choochmeque/tauri-plugin-biometry-api/dist-js/index.js"}}`

func (s *Server) serveWindow(w http.ResponseWriter, r *http.Request, win Window) {
	// Only a load the host launched gets a token: a GET without a valid
	// launch secret (another local process, another page) mints nothing.
	page, err := s.bridge.BindLaunch(r.URL.Query().Get(ipc.QueryLaunch), win.Origin)
	if err != nil {
		securityHeaders(w)
		http.Error(w, "this window is opened by the demo's dashboard (its launch secret is missing, used or expired): open the dashboard URL capguard demo printed", http.StatusForbidden)
		return
	}
	n := nonce()
	securityHeaders(w)
	w.Header().Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; script-src 'self' 'nonce-%s'; style-src 'self'; connect-src %s; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors %s 'self'", n, s.dash, s.dash))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := struct {
		Window    Window
		Name      string
		Dashboard string
		Nonce     string
		Shim      template.JS
		ImportMap template.HTML
		Packages  Packages
	}{win, s.cfg.Name, s.URL(), n, template.JS(page.Script), "", s.packages}
	if s.packages.Installed {
		// html/template does not know import maps (it would escape the
		// JSON as HTML text): the element is written whole. The nonce is
		// hex and the map a constant.
		data.ImportMap = template.HTML(`<script type="importmap" nonce="` + n + `">` + importMap + `</script>`)
	}
	if err := s.tmpl.ExecuteTemplate(w, "window.html", data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// state is everything the dashboard shows.
type state struct {
	Name      string    `json:"name"`
	Target    string    `json:"target"`
	Dashboard string    `json:"dashboard"`
	IPC       string    `json:"ipc"`
	Windows   []Window  `json:"windows"`
	Packages  Packages  `json:"packages"`
	Matrix    matrix    `json:"matrix"`
	Entries   []Entry   `json:"entries"`
	Device    deviceLog `json:"device"`
	Outcomes  []string  `json:"outcomes"`
	Live      live      `json:"live"`
	// Audit are the latest lines of the audit log, oldest first.
	Audit []AuditLine `json:"audit"`
}

// live is what changes with reloads and step-ups: the version deciding,
// whether Dir is watched, the audit file, the step-up rules and memory,
// and how often the app's command ran.
type live struct {
	// Version is the store's current version (1 until a reload).
	Version uint64 `json:"version"`
	// Watching is the directory reloaded on changes ("" without Watch).
	Watching string `json:"watching"`
	// AuditFile is where the audit log is written ("" for nowhere).
	AuditFile string `json:"auditFile"`
	// StepUps describe the current version's capguard.json rules.
	StepUps []string `json:"stepUps"`
	// Remembered is the number of callers whose last step-up is
	// remembered (see biometric.StepUp).
	Remembered int `json:"remembered"`
	// VaultOpened counts the runs of open_vault's handler.
	VaultOpened int64 `json:"vaultOpened"`
}

func (s *Server) live() live {
	v := s.store.Current()
	l := live{Version: v.Seq, AuditFile: s.cfg.AuditFile, StepUps: []string{}, Remembered: s.app.StepUp.Remembered(), VaultOpened: s.opened.Load()}
	if s.cfg.Watch {
		l.Watching = s.cfg.Dir
	}
	if v.Extension != nil {
		for _, r := range v.Extension.Obligations {
			l.StepUps = append(l.StepUps, ruleText(r))
		}
	}
	return l
}

// ruleText describes a capguard.json rule: "open_vault from windows main:
// biometric, at most 60 s old: "Unlock your vault"".
func ruleText(r *acl.ObligationRule) string {
	var b strings.Builder
	for i, c := range r.Commands {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.String())
	}
	labels := func(what string, gs []*acl.Glob) {
		if len(gs) == 0 {
			return
		}
		b.WriteString(" from " + what + " ")
		for i, g := range gs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(g.String())
		}
	}
	labels("windows", r.Windows)
	labels("webviews", r.Webviews)
	b.WriteString(": ")
	b.WriteString(obligationText(r.Type, r.MaxAgeS, r.Reason, r.Binding))
	return b.String()
}

func (s *Server) state() state {
	entries, _, _ := s.feed.since(0)
	st := state{
		Name: s.cfg.Name, Target: s.cfg.Resolved.Target.String(), Dashboard: s.URL(), IPC: s.dash + "/ipc/",
		Windows: s.windows, Packages: s.packages, Matrix: s.currentMatrix(), Entries: entries, Device: s.deviceLog(),
		Live: s.live(), Audit: s.feed.auditSince(0),
	}
	if st.Entries == nil {
		st.Entries = []Entry{}
	}
	if st.Audit == nil {
		st.Audit = []AuditLine{}
	}
	for _, o := range sim.Outcomes() {
		if o != sim.Hang {
			st.Outcomes = append(st.Outcomes, string(o))
		}
	}
	return st
}

// deviceLog is the simulated device as the dashboard shows it.
type deviceLog struct {
	// Pending is the number of scripted outcomes not yet used.
	Pending int `json:"pending"`
	// Status and Authenticate count the calls of each method.
	Status       int `json:"status"`
	Authenticate int `json:"authenticate"`
	// Vault counts the attempts of set_data and get_data (each prompts,
	// the key being bound to an authentication), Sign those of signed
	// step-ups.
	Vault int `json:"vault"`
	Sign  int `json:"sign"`
	// LockedOut tells whether biometry is locked, worked out from the log
	// with the simulator's rules (asking the device would add a status
	// call to its log): LockoutAfter misses in a row, or a scripted
	// lockout when LockoutFor is set, lock it for LockoutFor (or until
	// unlocked); a match unlocks it.
	LockedOut bool `json:"lockedOut"`
	// Calls are the latest calls, newest last.
	Calls []deviceCall `json:"calls"`
}

type deviceCall struct {
	N       int       `json:"n"`
	Time    time.Time `json:"time"`
	Method  string    `json:"method"`
	Attempt int       `json:"attempt,omitempty"`
	Max     int       `json:"max,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Code    string    `json:"code,omitempty"`
	MS      int64     `json:"ms"`
}

const shownCalls = 40

func (s *Server) deviceLog() deviceLog {
	calls := s.device.Calls()
	// The totals come from the device's counters: its call log keeps only
	// the last calls.
	d := deviceLog{Pending: s.device.Pending(), Calls: []deviceCall{},
		Status: s.device.Count(sim.MethodStatus), Authenticate: s.device.Count(sim.MethodAuthenticate),
		Vault: s.device.Count(sim.MethodSetData) + s.device.Count(sim.MethodGetData), Sign: s.device.Count(sim.MethodSign)}
	s.mu.Lock()
	unlocked := s.unlocked
	s.mu.Unlock()
	var lockedAt time.Time // zero: not locked
	misses := 0
	expire := func(now time.Time) {
		if !lockedAt.IsZero() && s.devCfg.LockoutFor > 0 && !now.Before(lockedAt.Add(s.devCfg.LockoutFor)) {
			lockedAt, misses = time.Time{}, 0
		}
	}
	for i, c := range calls {
		switch c.Method {
		case sim.MethodAuthenticate, sim.MethodSetData, sim.MethodGetData, sim.MethodSign:
			if c.Outcome == "" {
				break // refused before a sample (a missing record, bad input)
			}
			if c.Start.Before(unlocked) {
				break // before the last unlock, which reset everything
			}
			expire(c.Start)
			switch sim.Outcome(c.Outcome) {
			case sim.Match:
				lockedAt, misses = time.Time{}, 0
			case sim.NoMatch:
				misses++
				if s.devCfg.LockoutAfter > 0 && misses >= s.devCfg.LockoutAfter && lockedAt.IsZero() {
					lockedAt = c.End
				}
			case sim.Lockout:
				if s.devCfg.LockoutFor > 0 {
					lockedAt = c.End
				}
			}
		}
		if i < len(calls)-shownCalls {
			continue
		}
		dc := deviceCall{N: i + 1, Time: c.Start, Method: string(c.Method), Outcome: string(c.Outcome), Code: string(c.Code), MS: c.End.Sub(c.Start).Milliseconds()}
		if c.Prompt.Reason != "" {
			dc.Attempt, dc.Max, dc.Reason = c.Prompt.Attempt, c.Prompt.MaxAttempts, c.Prompt.Reason
		}
		d.Calls = append(d.Calls, dc)
	}
	expire(time.Now())
	d.LockedOut = !lockedAt.IsZero()
	return d
}

// forget drops the step-up memory: every caller's next obligation
// prompts.
func (s *Server) forget(*http.Request) error {
	s.app.StepUp.Forget()
	return nil
}

// enroll plays a new biometric enrollment on the simulated device: every
// key it made before is invalidated (stored secrets answer
// dataNeedsReenrollment), and the step-up key is enrolled again so that
// signed step-up keeps working, as an app would after re-enrollment.
func (s *Server) enroll(r *http.Request) error {
	s.device.Enroll()
	_, err := s.app.StepUp.EnrollKey(r.Context())
	return err
}

func (s *Server) unlock(*http.Request) error {
	s.device.Unlock()
	s.mu.Lock()
	s.unlocked = time.Now()
	s.mu.Unlock()
	return nil
}

// control wraps a device control: JSON requests of the dashboard only.
// A cross-site page cannot send them: it would need a CORS preflight,
// which is not answered, and its Origin header is not the dashboard's.
func (s *Server) control(f func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && o != s.dash {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "device controls are for the dashboard (" + s.dash + ") only"})
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send Content-Type: application/json"})
			return
		}
		if err := f(r); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.feed.touch()
		writeJSON(w, http.StatusOK, s.deviceLog())
	}
}

// deviceNext scripts outcomes: {"outcome": "user-cancel", "count": 1}.
func (s *Server) deviceNext(r *http.Request) error {
	var req struct {
		Outcome string `json:"outcome"`
		Count   int    `json:"count"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("want {\"outcome\": \"match\", \"count\": 1}: %v", err)
	}
	o := sim.Outcome(req.Outcome)
	if !o.Valid() || o == sim.Hang {
		var names []string
		for _, v := range sim.Outcomes() {
			if v != sim.Hang {
				names = append(names, string(v))
			}
		}
		return fmt.Errorf("unknown outcome %q; outcomes are %s", req.Outcome, strings.Join(names, ", "))
	}
	if req.Count == 0 {
		req.Count = 1
	}
	if req.Count < 1 || req.Count > 100 {
		return fmt.Errorf("count must be from 1 to 100, not %d", req.Count)
	}
	for i := 0; i < req.Count; i++ {
		s.device.Push(sim.Step{Outcome: o})
	}
	return nil
}

// serveEvents streams the feed as server-sent events: "entry" for every
// new entry, "audit" for every new line of the audit log, "device" when
// the device may have changed, "live" with the reload and step-up state,
// and "matrix" when a reload rebuilt the permission matrix.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	// ?since=N: the page already has the entries up to N (from /api/state).
	q := r.URL.Query()
	last, _ := strconv.ParseUint(q.Get("since"), 10, 64)
	lastAudit, _ := strconv.ParseUint(q.Get("audit"), 10, 64)
	matrixVersion, _ := strconv.ParseUint(q.Get("matrix"), 10, 64)
	keepalive := time.NewTicker(20 * time.Second)
	defer keepalive.Stop()
	for {
		entries, changed, closed := s.feed.since(last)
		for _, e := range entries {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: entry\ndata: %s\n\n", b)
			last = e.Seq
		}
		for _, l := range s.feed.auditSince(lastAudit) {
			b, _ := json.Marshal(l)
			fmt.Fprintf(w, "event: audit\ndata: %s\n\n", b)
			lastAudit = l.Seq
		}
		if m := s.currentMatrix(); m.Version != matrixVersion {
			b, _ := json.Marshal(m)
			fmt.Fprintf(w, "event: matrix\ndata: %s\n\n", b)
			matrixVersion = m.Version
		}
		b, _ := json.Marshal(s.live())
		fmt.Fprintf(w, "event: live\ndata: %s\n\n", b)
		b, _ = json.Marshal(s.deviceLog())
		fmt.Fprintf(w, "event: device\ndata: %s\n\n", b)
		fl.Flush()
		if closed {
			return
		}
		select {
		case <-changed:
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case <-r.Context().Done():
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
