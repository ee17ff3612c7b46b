package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// A format is one layout of the capability schema, named by the first
// tauri-utils release that wrote it. The boundaries come from Tauri itself:
// the differential test in conformance/ (TestSchemaLayoutsByVersion)
// generates the schema with every tauri-utils 2.x release and groups the
// releases by their output.
// Formats differ in the doc-comment texts of the fixed part and in how
// permission identifiers are described.
type format struct {
	name string
	// markdown: identifier entries repeat their description as
	// markdownDescription, and sets list their permissions.
	markdown bool
	// edits turn the texts of the next newer format into this one's.
	edits []edit
}

// edit replaces text in the string at pointer of the fixed part.
type edit struct {
	pointer  string
	old, new string
}

const (
	capabilityDesc  = "/definitions/Capability/description"
	descriptionDesc = "/definitions/Capability/properties/description/description"
	windowsDesc     = "/definitions/Capability/properties/windows/description"
	webviewsDesc    = "/definitions/Capability/properties/webviews/description"
	permissionsDesc = "/definitions/Capability/properties/permissions/description"
)

// formats lists the layouts from newest to oldest. Each entry's edits
// apply on top of those of every newer entry.
var formats = []format{
	{name: "2.5.0", markdown: true},
	{name: "2.3.1", markdown: true, edits: []edit{
		{capabilityDesc, "programmatic", "programatic"},
		{descriptionDesc, "programmatic", "programatic"},
	}},
	{name: "2.3.0"},
	{name: "2.1.0", edits: []edit{
		{capabilityDesc, "application windows' and webviews' fine grained", "application windows fine grained"},
		{capabilityDesc, "If a webview or its window is not matching", "If a window is not matching"},
		{windowsDesc,
			"\n\nIf a window label matches any of the patterns in this list, the capability will be enabled on all the webviews of that window, regardless of the value of [`Self::webviews`].\n\nOn multiwebview windows, prefer specifying [`Self::webviews`] and omitting [`Self::windows`] for a fine grained access control.",
			"\n\nOn multiwebview windows, prefer [`Self::webviews`] for a fine grained access control."},
		{webviewsDesc,
			"The capability will be enabled on all the webviews whose label matches any of the patterns in this list, regardless of whether the webview's window label matches a pattern in [`Self::windows`].",
			"This is only required when using on multiwebview contexts, by default all child webviews of a window that matches [`Self::windows`] are linked."},
	}},
	{name: "2.0.2", edits: []edit{
		{permissionsDesc, "} ] ```", "} ```"},
	}},
	{name: "2.0.0", edits: []edit{
		{capabilityDesc, `}] }, ], "platforms"`, `}] }, "platforms"`},
	}},
}

// Latest is the newest schema format: the one tauri-build writes from
// tauri-utils 2.5.0 on (Tauri 2.6 and later).
const Latest = "2.5.0"

// NewestKnown is the newest tauri-utils release whose schema layout has been
// checked against the real crate (the oracle's main build). A Cargo.lock that
// pins a newer release gets an error from LockedFormat rather than a guess.
const NewestKnown = "2.10.2"

// Formats returns the names of the schema formats capguard writes, newest
// first. A format is named by the first tauri-utils version that wrote it.
func Formats() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.name
	}
	return out
}

// FormatFor returns the name of the schema format that tauri-utils
// version v writes ("2.8.1" gives "2.5.0"); "" and "latest" give Latest.
// The error says which versions capguard knows.
func FormatFor(v string) (string, error) {
	i, err := pickFormat(v)
	if err != nil {
		return "", err
	}
	return formats[i].name, nil
}

// pickFormat returns the index in formats of the layout written by
// tauri-utils version v ("2.7.0", "2.4", "" for the newest).
func pickFormat(v string) (int, error) {
	if v == "" || v == "latest" {
		return 0, nil
	}
	want, pre, ok := parseVersion(v)
	if !ok {
		return 0, fmt.Errorf("format version %q: expected a tauri-utils version such as 2.5.0 (known formats: %s)", v, strings.Join(Formats(), ", "))
	}
	for i, f := range formats {
		have, _, _ := parseVersion(f.name)
		if versionLess(have, want) || have == want && !pre {
			return i, nil
		}
	}
	return 0, fmt.Errorf("format version %q: capguard writes the schema formats of tauri-utils 2.0.0 and later (known formats: %s)", v, strings.Join(Formats(), ", "))
}

// parseVersion reads "MAJOR.MINOR[.PATCH][-PRE][+BUILD]"; pre tells
// whether there is a pre-release part (which sorts before the release).
func parseVersion(v string) (out [3]int, pre, ok bool) {
	if j := strings.IndexByte(v, '+'); j >= 0 {
		v = v[:j]
	}
	if j := strings.IndexByte(v, '-'); j >= 0 {
		v, pre = v[:j], true
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p != strconv.Itoa(n) {
			return out, false, false
		}
		out[i] = n
	}
	return out, pre, true
}

func versionLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
