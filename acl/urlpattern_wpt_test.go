package acl

// This file replays the web-platform-tests URLPattern data
// (../shared/conformance/wpt-urlpattern/urlpatterntestdata.json, see the
// README next to it) against github.com/dunglas/go-urlpattern, to record
// exactly how far that library conforms. Each data entry is one subtest.
//
// The harness follows the rules of the wpt runner
// (urlpattern/resources/urlpatterntests.js), restated here:
//
//   - expected_obj "error": the constructor must fail. Otherwise every
//     component's compiled pattern string must equal expected_obj[c] when
//     given, else a default: "" for components in exactly_empty_components,
//     else the component as written in the pattern object, else "*" if the
//     pattern object names an earlier component, else the base URL's value
//     (never for username/password), else "*".
//   - expected_match "error": test() and exec() must fail. null: test() is
//     false and exec() returns nothing. An object: test() is true and exec()
//     returns, per component, the given input and groups; a component left
//     out means {input: "", groups: {"0": ""}}, or groups {} if it is in
//     exactly_empty_components. exec().inputs must equal
//     expected_match.inputs, or else the entry's own inputs.
//
// Where the Go API cannot say what the JavaScript one says, the harness
// makes these choices (each is a property of the API, not of the data):
//
//   - Calls that JavaScript rejects with a TypeError because of their
//     argument shape (a base URL next to a URLPatternInit, options placed
//     before the base URL) cannot be written against the Go API at all, so
//     they count as "the call failed".
//   - A base URL of "" is how the Go API spells "no base URL".
//   - A group that did not take part in the match is undefined in
//     JavaScript (null in the data). Go's map[string]string has no
//     undefined; the library reports "", so null is checked as "" and the
//     key must be present.
//   - Six hostname entries (bad#hostname and friends) give expected_match
//     but no inputs. Their expected inputs ("bad" for "bad#hostname",
//     "badhostname" for "bad\nhostname") only make sense if the pattern's
//     own URLPatternInit is used as the input, so that is what is used.
//
// One library deviation is tolerated globally rather than per entry, and
// counted in its own summary line: see wptDroppedEmptyGroup.

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
	"github.com/dunglas/go-urlpattern"
)

// wptDataSHA1 pins the data file: the indexes in wptKnownFailures are only
// meaningful for this exact file.
const wptDataSHA1 = "b66e649a8b0ee41ad1ac79cae0230658b6d55e6b"

// wptKnownFailures lists the data entries (by index in the JSON array) that
// go-urlpattern v1.0.0 gets wrong, with the reason. The test fails if any
// other entry fails, and also if a listed entry passes, so keep it exact.
//
// The data is pinned at wpt commit 153c3e9, which sits between wpt PR #49782
// (which rewrote the port "80 " and bad-hostname entries) and PR #51316
// (which corrected some of them again); several reasons below refer to that.
//
// Entries 336 and 339 (the no-match halves of the v-flag cases) pass only by
// accident: Go reads the class differently and also fails to match.
var wptKnownFailures = map[int]string{
	157: `data (wpt PR #49782) wants {port: "80 "} dropped as http's default port; library compiles port "80" and does not match, which is what wpt PR #51316 later expects`,
	222: `data wants a TypeError; library accepts it (hostname "{sub.}?example.com", pathname "*"), which is what wpt PR #51316 later expects`,
	276: `malformed data (no inputs, port listed as exactly empty): the default expects hostname "bad#hostname" and port ""; library gives "bad" (the host parser stops there) and "*" and its exec result matches the data`,
	277: `library canonicalizes a "*"-protocol hostname as a domain and rejects "%" (forbidden domain code point); data expects it kept as "bad%hostname"`,
	278: `malformed data (no inputs, port listed as exactly empty): the default expects hostname "bad/hostname" and port ""; library gives "bad" (the host parser stops there) and "*" and its exec result matches the data`,
	286: `library canonicalizes a "*"-protocol hostname as a special-scheme host, where "\" ends the host, giving "bad"; data expects a TypeError`,
	289: `malformed data (no inputs, port listed as exactly empty): the default expects hostname "bad\nhostname" and port ""; library gives "badhostname" (tab/CR/LF stripped) and "*" and its exec result matches the data`,
	290: `malformed data (no inputs, port listed as exactly empty): the default expects hostname "bad\rhostname" and port ""; library gives "badhostname" (tab/CR/LF stripped) and "*" and its exec result matches the data`,
	291: `malformed data (no inputs, port listed as exactly empty): the default expects hostname "bad\thostname" and port ""; library gives "badhostname" (tab/CR/LF stripped) and "*" and its exec result matches the data`,
	337: `ECMAScript v-flag class subtraction [[a-z]--a]: RE2 has no class-set syntax, compiles a different class without error, and "/z" does not match`,
	338: `ECMAScript v-flag class intersection [\d&&[0-1]]: RE2 has no class-set syntax, compiles a different class without error, and "/0" does not match`,
}

// wptDroppedEmptyGroup documents the one deviation the harness tolerates
// instead of listing it per entry. When a component's regexp has exactly one
// group and both the whole match and that group are empty (the default "*"
// pattern run on an empty component, which is most components of most
// entries), go-urlpattern v1.0.0 returns no groups at all, where the
// standard gives {"0": ""} (createComponentMatchResult returns early when
// len(execResult) == 2 and both strings are empty). It only affects exec()
// groups of empty components; test() and every non-empty group are
// unaffected. Treated strictly it would fail about 200 of the 340 entries
// and hide every other finding, so the comparison accepts exactly this case
// (groups {} where {"0": ""} is expected and the input is "") and counts the
// entries that needed it in a second summary line.
const wptDroppedEmptyGroup = `exec() gives groups {} instead of {"0": ""} for an empty component matched by a lone wildcard`

// wptComponents is the component order used for reporting.
var wptComponents = []string{"protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"}

// wptEarlier lists, per component, the components that come before it in a
// URL; naming one of them in a pattern object makes the component default to
// "*" instead of inheriting from the base URL.
var wptEarlier = map[string][]string{
	"hostname": {"protocol"},
	"port":     {"protocol", "hostname"},
	"pathname": {"protocol", "hostname", "port"},
	"search":   {"protocol", "hostname", "port", "pathname"},
	"hash":     {"protocol", "hostname", "port", "pathname", "search"},
}

type wptEntry struct {
	Pattern       []json.RawMessage `json:"pattern"`
	Inputs        *[]any            `json:"inputs"`
	ExpectedObj   json.RawMessage   `json:"expected_obj"`
	ExpectedMatch json.RawMessage   `json:"expected_match"`
	ExactlyEmpty  []string          `json:"exactly_empty_components"`
}

type wptComponentResult struct {
	Input  string             `json:"input"`
	Groups map[string]*string `json:"groups"`
}

// errWPTShape marks a call whose argument shape JavaScript rejects and the
// Go API cannot express.
var errWPTShape = errors.New("argument shape not expressible in the Go API (a TypeError in JavaScript)")

func TestWPTURLPattern(t *testing.T) {
	path := conformance.Path(t, "wpt-urlpattern", "urlpatterntestdata.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(raw)
	if got := hex.EncodeToString(sum[:]); got != wptDataSHA1 {
		t.Fatalf("%s has SHA-1 %s, want %s: the data changed, so wptKnownFailures must be redone", path, got, wptDataSHA1)
	}
	var entries []wptEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		t.Fatal(err)
	}
	for idx := range wptKnownFailures {
		if idx < 0 || idx >= len(entries) {
			t.Errorf("wptKnownFailures has index %d, outside the %d entries", idx, len(entries))
		}
	}

	pass, passDropped := 0, 0
	for i := range entries {
		e := &entries[i]
		t.Run(fmt.Sprintf("%03d_%s", i, wptShortName(e)), func(t *testing.T) {
			dropped := false
			problems := wptCheck(e, &dropped)
			reason, known := wptKnownFailures[i]
			switch {
			case len(problems) == 0 && known:
				t.Errorf("entry %d passes but wptKnownFailures lists it (%q): remove it from the table", i, reason)
			case len(problems) == 0:
				pass++
				if dropped {
					passDropped++
				}
			case known:
				t.Logf("known failure: %s", reason)
				for _, p := range problems {
					t.Logf("  %s", p)
				}
			default:
				t.Errorf("entry %d: %s", i, wptDescribe(e))
				for _, p := range problems {
					t.Errorf("  %s", p)
				}
			}
		})
	}
	t.Logf("wpt URLPattern: %d of %d entries pass; %d known failures", pass, len(entries), len(wptKnownFailures))
	t.Logf("wpt URLPattern: %d of the %d passing entries rely on the tolerated deviation (%s); %d pass strictly", passDropped, pass, wptDroppedEmptyGroup, pass-passDropped)
}

// wptShortName is a short, readable form of the pattern for the subtest name.
func wptShortName(e *wptEntry) string {
	var parts []string
	for _, p := range e.Pattern {
		parts = append(parts, string(p))
	}
	s := strings.Join(parts, ",")
	if s == "" {
		s = "no-args"
	}
	r := []rune(s)
	if len(r) > 48 {
		s = string(r[:48]) + "…"
	}
	return s
}

func wptDescribe(e *wptEntry) string {
	var in any = "(none)"
	if e.Inputs != nil {
		in = *e.Inputs
	}
	pb, _ := json.Marshal(e.Pattern)
	ib, _ := json.Marshal(in)
	return fmt.Sprintf("pattern %s, inputs %s", pb, ib)
}

// wptCheck runs one entry and returns what went wrong, or nothing. A panic
// in the library is reported as a problem rather than stopping the run.
func wptCheck(e *wptEntry, droppedEmptyGroup *bool) (problems []string) {
	defer func() {
		if r := recover(); r != nil {
			problems = append(problems, fmt.Sprintf("panic: %v", r))
		}
	}()
	fail := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}

	var expectedObj map[string]string
	wantCtorError := false
	if len(e.ExpectedObj) > 0 {
		var s string
		if json.Unmarshal(e.ExpectedObj, &s) == nil {
			if s != "error" {
				fail("harness: unknown expected_obj %q", s)
				return
			}
			wantCtorError = true
		} else if err := json.Unmarshal(e.ExpectedObj, &expectedObj); err != nil {
			fail("harness: bad expected_obj: %v", err)
			return
		}
	}

	pattern, err := wptConstruct(e.Pattern)
	if wantCtorError {
		if err == nil {
			fail("constructor succeeded, want an error; patterns %s", wptPatternStrings(pattern))
		}
		return
	}
	if err != nil {
		fail("constructor failed: %v", err)
		return
	}

	// Compiled pattern strings.
	got := wptPatternMap(pattern)
	for _, c := range wptComponents {
		want, err := wptExpectedPattern(e, expectedObj, c)
		if err != nil {
			fail("harness: %s: %v", c, err)
			continue
		}
		if got[c] != want {
			fail("pattern %s = %q, want %q", c, got[c], want)
		}
	}

	// test() and exec().
	var inputs []any
	switch {
	case e.Inputs != nil:
		inputs = *e.Inputs
	case len(e.Pattern) > 0 && e.Pattern[0][0] == '{':
		var self map[string]any
		if err := json.Unmarshal(e.Pattern[0], &self); err != nil {
			fail("harness: %v", err)
			return
		}
		inputs = []any{self}
	default:
		if len(e.ExpectedMatch) > 0 {
			fail("harness: expected_match without inputs and without a pattern object")
		}
		return
	}
	if len(e.ExpectedMatch) == 0 {
		return
	}

	var matchErr string
	var wantMatch map[string]json.RawMessage
	wantNull := string(e.ExpectedMatch) == "null"
	if !wantNull {
		if json.Unmarshal(e.ExpectedMatch, &matchErr) == nil {
			if matchErr != "error" {
				fail("harness: unknown expected_match %q", matchErr)
				return
			}
		} else if err := json.Unmarshal(e.ExpectedMatch, &wantMatch); err != nil {
			fail("harness: bad expected_match: %v", err)
			return
		}
	}

	ok, testErr := wptTest(pattern, inputs)
	res, execErr := wptExec(pattern, inputs)
	if matchErr == "error" {
		if testErr == nil {
			fail("test() = %v, want an error", ok)
		}
		if execErr == nil {
			fail("exec() succeeded, want an error")
		}
		return
	}
	if testErr != nil {
		fail("test() failed: %v", testErr)
		return
	}
	if execErr != nil {
		fail("exec() failed: %v", execErr)
		return
	}
	if ok != !wantNull {
		fail("test() = %v, want %v", ok, !wantNull)
	}
	if wantNull {
		if res != nil {
			fail("exec() returned a result, want none: %s", wptResultString(res))
		}
		return
	}
	if res == nil {
		fail("exec() returned no result, want a match")
		return
	}

	// exec().inputs
	wantInputs := inputs
	if rawInputs, has := wantMatch["inputs"]; has {
		if err := json.Unmarshal(rawInputs, &wantInputs); err != nil {
			fail("harness: bad expected_match.inputs: %v", err)
			return
		}
	}
	gotInputs := wptResultInputs(res)
	if len(gotInputs) != len(wantInputs) {
		fail("exec().inputs has %d elements, want %d", len(gotInputs), len(wantInputs))
	} else {
		for k := range wantInputs {
			if g, w := wptInputString(gotInputs[k]), wptInputString(wantInputs[k]); g != w {
				fail("exec().inputs[%d] = %s, want %s", k, g, w)
			}
		}
	}

	// Per-component input and groups.
	gotComps := map[string]urlpattern.URLPatternComponentResult{
		"protocol": res.Protocol, "username": res.Username, "password": res.Password,
		"hostname": res.Hostname, "port": res.Port, "pathname": res.Pathname,
		"search": res.Search, "hash": res.Hash,
	}
	for _, c := range wptComponents {
		want := wptComponentResult{Input: "", Groups: map[string]*string{}}
		if rawComp, has := wantMatch[c]; has {
			if err := json.Unmarshal(rawComp, &want); err != nil {
				fail("harness: bad expected_match.%s: %v", c, err)
				continue
			}
		} else if !slices.Contains(e.ExactlyEmpty, c) {
			empty := ""
			want.Groups["0"] = &empty
		}
		g := gotComps[c]
		if g.Input != want.Input {
			fail("exec().%s.input = %q, want %q", c, g.Input, want.Input)
		}
		gs, ws := wptGroupsString(g.Groups), wptWantGroupsString(want.Groups)
		if gs != ws && gs == "{}" && ws == `{"0":""}` && g.Input == "" {
			// See wptDroppedEmptyGroup.
			*droppedEmptyGroup = true
			continue
		}
		if gs != ws {
			fail("exec().%s.groups = %s, want %s", c, gs, ws)
		}
	}
	return problems
}

// wptConstruct calls the constructor with the arguments of a pattern array:
// () | (input) | (input, baseURL) | (input, options) | (input, baseURL,
// options), where input is a string or a URLPatternInit.
func wptConstruct(args []json.RawMessage) (*urlpattern.URLPattern, error) {
	if len(args) == 0 {
		return (&urlpattern.URLPatternInit{}).New(nil)
	}
	var (
		initObj map[string]any
		str     string
		isStr   bool
	)
	if json.Unmarshal(args[0], &str) == nil {
		isStr = true
	} else if err := json.Unmarshal(args[0], &initObj); err != nil {
		return nil, fmt.Errorf("harness: pattern[0]: %w", err)
	}

	var (
		baseURL string
		opts    *urlpattern.Options
	)
	for k, a := range args[1:] {
		var s string
		var o struct {
			IgnoreCase bool `json:"ignoreCase"`
		}
		switch {
		case json.Unmarshal(a, &s) == nil:
			// A base URL must come straight after the input, and only
			// after a string input.
			if k != 0 || !isStr {
				return nil, errWPTShape
			}
			baseURL = s
		case json.Unmarshal(a, &o) == nil:
			// Options must come last.
			if k != len(args)-2 {
				return nil, errWPTShape
			}
			opts = &urlpattern.Options{IgnoreCase: o.IgnoreCase}
		default:
			return nil, fmt.Errorf("harness: pattern[%d] is neither a string nor an options object", k+1)
		}
	}
	if isStr {
		return urlpattern.New(str, baseURL, opts)
	}
	init, err := wptInit(initObj)
	if err != nil {
		return nil, err
	}
	return init.New(opts)
}

// wptInit converts a JSON URLPatternInit to the library's type. A key that
// is absent stays nil (undefined). Unknown keys are ignored, as a WebIDL
// dictionary ignores them (entry 329 passes {"ignoreCase": true} as the
// init, which JavaScript reads as an empty URLPatternInit).
func wptInit(m map[string]any) (*urlpattern.URLPatternInit, error) {
	init := &urlpattern.URLPatternInit{}
	fields := map[string]**string{
		"protocol": &init.Protocol, "username": &init.Username, "password": &init.Password,
		"hostname": &init.Hostname, "port": &init.Port, "pathname": &init.Pathname,
		"search": &init.Search, "hash": &init.Hash, "baseURL": &init.BaseURL,
	}
	for k, v := range m {
		dst, ok := fields[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("harness: URLPatternInit key %q is not a string", k)
		}
		*dst = &s
	}
	return init, nil
}

// wptTest calls test() with the arguments of an inputs array:
// () | (url) | (url, baseURL) | (init).
func wptTest(p *urlpattern.URLPattern, inputs []any) (bool, error) {
	u, base, init, err := wptInputArgs(inputs)
	if err != nil {
		return false, err
	}
	if init != nil {
		return p.TestInit(init), nil
	}
	return p.Test(u, base), nil
}

// wptExec is wptTest for exec().
func wptExec(p *urlpattern.URLPattern, inputs []any) (*urlpattern.URLPatternResult, error) {
	u, base, init, err := wptInputArgs(inputs)
	if err != nil {
		return nil, err
	}
	if init != nil {
		return p.ExecInit(init), nil
	}
	return p.Exec(u, base), nil
}

func wptInputArgs(inputs []any) (u, base string, init *urlpattern.URLPatternInit, err error) {
	if len(inputs) == 0 {
		return "", "", &urlpattern.URLPatternInit{}, nil
	}
	if len(inputs) > 2 {
		return "", "", nil, fmt.Errorf("harness: %d input arguments", len(inputs))
	}
	switch v := inputs[0].(type) {
	case string:
		u = v
		if len(inputs) == 2 {
			b, ok := inputs[1].(string)
			if !ok {
				return "", "", nil, fmt.Errorf("harness: inputs[1] is not a string")
			}
			base = b
		}
		return u, base, nil, nil
	case map[string]any:
		if len(inputs) == 2 {
			return "", "", nil, errWPTShape
		}
		init, err = wptInit(v)
		return "", "", init, err
	}
	return "", "", nil, fmt.Errorf("harness: inputs[0] has type %T", inputs[0])
}

// wptExpectedPattern gives the compiled pattern string the harness expects
// for component c.
func wptExpectedPattern(e *wptEntry, expectedObj map[string]string, c string) (string, error) {
	if v, ok := expectedObj[c]; ok {
		return v, nil
	}
	if slices.Contains(e.ExactlyEmpty, c) {
		return "", nil
	}
	var obj map[string]any
	if len(e.Pattern) > 0 {
		_ = json.Unmarshal(e.Pattern[0], &obj) // stays nil for a string
	}
	if s, _ := obj[c].(string); s != "" {
		return s, nil
	}
	for _, earlier := range wptEarlier[c] {
		if _, ok := obj[earlier]; ok {
			return "*", nil
		}
	}
	base := ""
	if s, _ := obj["baseURL"].(string); s != "" {
		base = s
	} else if len(e.Pattern) > 1 {
		_ = json.Unmarshal(e.Pattern[1], &base)
	}
	if base != "" && c != "username" && c != "password" {
		return wptBaseComponent(base, c)
	}
	return "*", nil
}

// wptBaseComponent reads a component of a base URL the way the WHATWG URL
// getters report it (without the ":", "?" and "#" separators). It uses
// net/url, not the library's own URL parser, with the two WHATWG rules that
// matter for the base URLs in the data: a special scheme's default port is
// dropped and its empty path reads as "/".
func wptBaseComponent(base, c string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	defaultPort := map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}
	dp, special := defaultPort[scheme]
	switch c {
	case "protocol":
		return scheme, nil
	case "hostname":
		return strings.ToLower(u.Hostname()), nil
	case "port":
		if special && u.Port() == dp {
			return "", nil
		}
		return u.Port(), nil
	case "pathname":
		p := u.EscapedPath()
		if p == "" && special {
			p = "/"
		}
		return p, nil
	case "search":
		return u.RawQuery, nil
	case "hash":
		return u.EscapedFragment(), nil
	}
	return "", fmt.Errorf("no base URL value for %s", c)
}

func wptPatternMap(p *urlpattern.URLPattern) map[string]string {
	return map[string]string{
		"protocol": p.Protocol(), "username": p.Username(), "password": p.Password(),
		"hostname": p.Hostname(), "port": p.Port(), "pathname": p.Pathname(),
		"search": p.Search(), "hash": p.Hash(),
	}
}

func wptPatternStrings(p *urlpattern.URLPattern) string {
	m := wptPatternMap(p)
	var parts []string
	for _, c := range wptComponents {
		parts = append(parts, fmt.Sprintf("%s=%q", c, m[c]))
	}
	return strings.Join(parts, " ")
}

// wptResultInputs turns exec().inputs into JSON-like values (a string, or a
// map of the components that are set) for comparison with the data.
func wptResultInputs(r *urlpattern.URLPatternResult) []any {
	var out []any
	for _, s := range r.Inputs {
		out = append(out, s)
	}
	for _, in := range r.InitInputs {
		m := map[string]any{}
		for k, v := range map[string]*string{
			"protocol": in.Protocol, "username": in.Username, "password": in.Password,
			"hostname": in.Hostname, "port": in.Port, "pathname": in.Pathname,
			"search": in.Search, "hash": in.Hash,
		} {
			if v != nil {
				m[k] = *v
			}
		}
		out = append(out, m)
	}
	return out
}

// wptInputString renders an exec() input for comparison. For an init object
// only the eight components are compared (not baseURL), as upstream does.
func wptInputString(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		b, _ := json.Marshal(v)
		return string(b)
	}
	var parts []string
	for _, c := range wptComponents {
		if s, ok := m[c]; ok {
			parts = append(parts, fmt.Sprintf("%s:%q", c, s))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func wptGroupsString(g map[string]string) string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%q:%q", k, g[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// wptWantGroupsString renders expected groups; null (undefined) is expected
// as "", the only value the Go API can give for it.
func wptWantGroupsString(g map[string]*string) string {
	m := make(map[string]string, len(g))
	for k, v := range g {
		if v == nil {
			m[k] = ""
		} else {
			m[k] = *v
		}
	}
	return wptGroupsString(m)
}

func wptResultString(r *urlpattern.URLPatternResult) string {
	comps := []urlpattern.URLPatternComponentResult{r.Protocol, r.Username, r.Password, r.Hostname, r.Port, r.Pathname, r.Search, r.Hash}
	var parts []string
	for k, c := range wptComponents {
		parts = append(parts, fmt.Sprintf("%s=%q%s", c, comps[k].Input, wptGroupsString(comps[k].Groups)))
	}
	return strings.Join(parts, " ")
}
