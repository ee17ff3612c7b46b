package policy_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
)

// copyExampleApp writes the example app's src-tauri folder to a temporary
// directory and returns it.
func copyExampleApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := examples.CopyTo(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write a hidden temporary file and rename it, as many editors save:
	// the watcher never sees a half-written file.
	tmp := filepath.Join(filepath.Dir(p), ".tmp-"+filepath.Base(p))
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// nextReload waits for the watcher's next reload; the deadline only turns
// a hang into a failure.
func nextReload(t *testing.T, events <-chan policy.ReloadEvent) policy.ReloadEvent {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no reload after the change")
	}
	return policy.ReloadEvent{}
}

func decide(t *testing.T, s *policy.Store, cmd, window string) policy.Decision {
	t.Helper()
	d, err := s.Decide(context.Background(), policy.Request{Command: cmd, Window: window, Webview: window})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestWatch edits the files of a src-tauri directory the way a developer
// does and checks that each change reaches the store, or is refused with
// its position while the store keeps deciding.
func TestWatch(t *testing.T) {
	dir := copyExampleApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := policy.NewStore(ctx, policy.AppSource(dir, acl.Linux, nil))
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan policy.ReloadEvent, 16)
	w, err := policy.Watch(ctx, dir, store, policy.Debounce(20*time.Millisecond), policy.OnReload(func(ev policy.ReloadEvent) { events <- ev }))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	if decide(t, store, "open_vault", "settings").Allowed {
		t.Fatal("settings may open the vault before any change")
	}

	// 1. Grant open_vault to settings.
	write(t, dir, "capabilities/settings.toml", `identifier = "settings-window"
windows = ["settings"]
permissions = ["biometric:allow-status", "allow-open-vault"]
`)
	ev := nextReload(t, events)
	if ev.Err != nil || ev.Version == nil || ev.Version.Seq != 2 {
		t.Fatalf("reload: %+v", ev)
	}
	if !strings.Contains(strings.Join(ev.Changed, " "), "capabilities/settings.toml") {
		t.Errorf("changed %q", ev.Changed)
	}
	if !decide(t, store, "open_vault", "settings").Allowed {
		t.Error("settings may not open the vault after the change")
	}

	// 2. A broken file: refused with its position, the store keeps version 2.
	write(t, dir, "capabilities/main.json", "{\n  \"identifier\": \"main-window\",\n  \"windows\": [\"main\"],,\n}")
	ev = nextReload(t, events)
	if ev.Version != nil || !errors.Is(ev.Err, policy.ErrReload) || !errors.Is(ev.Err, acl.ErrSyntax) || !strings.Contains(ev.Err.Error(), filepath.Join(dir, "capabilities", "main.json")+":3:") {
		t.Fatalf("broken file: %+v", ev)
	}
	if store.Current().Seq != 2 || !decide(t, store, "open_vault", "main").Allowed {
		t.Error("the store did not keep the last good version")
	}

	// 3. Fix it and add capguard.json: obligations appear.
	write(t, dir, "capabilities/main.json", `{"identifier":"main-window","windows":["main"],"permissions":["biometric:default","allow-open-vault"]}`)
	write(t, dir, "capguard.json", `{"obligations":[{"commands":["open_vault"],"type":"biometric","max_age_s":60}]}`)
	for {
		ev = nextReload(t, events)
		if ev.Err != nil {
			t.Fatalf("reload: %v", ev.Err)
		}
		if ev.Version.Extension != nil {
			break // the two writes may come as one reload or two
		}
	}
	if d := decide(t, store, "open_vault", "main"); !d.Allowed || len(d.Obligations) != 1 || d.Obligations[0].MaxAgeS != 60 {
		t.Errorf("after capguard.json: %+v", d)
	}

	// 4. A capability moved to a new subfolder is found (the
	// configuration selects capabilities by identifier).
	if err := os.Remove(filepath.Join(dir, "capabilities", "settings.toml")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "capabilities/extra/settings.json", `{"identifier":"settings-window","windows":["settings","kiosk"],"permissions":["biometric:allow-status"]}`)
	for !decide(t, store, "plugin:biometric|status", "kiosk").Allowed {
		// Between the removal and the new file, a reload may fail
		// (settings-window not found); the next one succeeds.
		nextReload(t, events)
	}

	// 5. Files the ACL is not read from do not reload.
	write(t, dir, "src/main.rs", "fn main() {}")
	write(t, dir, "capabilities/notes.txt", "todo")
	write(t, dir, "capguard.json", `{"obligations":[]}`) // a relevant change after them
	for {
		ev = nextReload(t, events)
		for _, c := range ev.Changed {
			if c == "src/main.rs" || c == "capabilities/notes.txt" {
				t.Errorf("reloaded for %s", c)
			}
		}
		if ev.Version != nil && ev.Version.Extension != nil && len(ev.Version.Extension.Obligations) == 0 {
			break
		}
	}

	// Close stops the watcher; later changes reload nothing.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Done():
	default:
		t.Fatal("Done is open after Close")
	}
	seq := store.Current().Seq
	write(t, dir, "capguard.json", `{}`)
	if _, err := store.Reload(ctx); err != nil { // the store itself still reloads
		t.Fatal(err)
	}
	if store.Current().Seq != seq+1 {
		t.Errorf("version %d, want %d", store.Current().Seq, seq+1)
	}
	select {
	case ev := <-events:
		t.Errorf("reload after Close: %+v", ev)
	default:
	}
}

func TestWatchStopsWithContext(t *testing.T) {
	dir := copyExampleApp(t)
	store, err := policy.NewStore(context.Background(), policy.AppSource(dir, acl.Linux, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := policy.Watch(ctx, dir, store)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-w.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the watcher did not stop with its context")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWatchErrors(t *testing.T) {
	dir := copyExampleApp(t)
	store, err := policy.NewStore(context.Background(), policy.AppSource(dir, acl.Linux, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Watch(context.Background(), filepath.Join(dir, "missing"), store); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := policy.Watch(context.Background(), filepath.Join(dir, "tauri.conf.json"), store); err == nil {
		t.Error("a file was watched as a directory")
	}
	if _, err := policy.Watch(context.Background(), dir, nil); !errors.Is(err, policy.ErrNilEngine) {
		t.Errorf("nil store: %v", err)
	}
}

func TestAppSource(t *testing.T) {
	dir := copyExampleApp(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T)
		want  string
	}{
		{"missing directory", func(t *testing.T) { os.RemoveAll(dir) }, "no such file"},
		{"no manifests", func(t *testing.T) { os.Remove(filepath.Join(dir, "gen", "schemas", "acl-manifests.json")) }, "has no gen/schemas/acl-manifests.json"},
		{"bad capguard.json", func(t *testing.T) { write(t, dir, "capguard.json", `{"obligation": []}`) }, `capguard.json:1:2: the document: unknown field "obligation" (expected one of $schema, obligations); did you mean "obligations"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir = copyExampleApp(t)
			tc.setup(t)
			_, err := policy.AppSource(dir, acl.Linux, nil)(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestZeroWatcher is issue 25's item 5: Close of a zero or nil Watcher
// panicked (close of a nil channel); now it is an error, and Done is
// closed (the watcher watches nothing).
func TestZeroWatcher(t *testing.T) {
	for name, w := range map[string]*policy.Watcher{"zero": {}, "nil": nil} {
		if err := w.Close(); !errors.Is(err, policy.ErrNotWatching) {
			t.Errorf("%s: Close: %v, want ErrNotWatching", name, err)
		}
		select {
		case <-w.Done():
		default:
			t.Errorf("%s: Done is not closed", name)
		}
	}
}

// startWatch watches a copy of the example app with the given options and
// returns its folder, its store and its reload events.
func startWatch(t *testing.T, opts ...policy.WatchOption) (string, *policy.Store, <-chan policy.ReloadEvent) {
	t.Helper()
	dir := copyExampleApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store, err := policy.NewStore(ctx, policy.AppSource(dir, acl.Linux, nil))
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan policy.ReloadEvent, 64)
	opts = append(opts, policy.OnReload(func(ev policy.ReloadEvent) { events <- ev }))
	w, err := policy.Watch(ctx, dir, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return dir, store, events
}

// TestWatchUnsettledWriterCannotPostponeReloads is issue 25's item 7 for
// the watcher: a process that keeps touching a policy file (every 20 ms,
// faster than the settle time) used to postpone every reload for as long
// as it kept at it; now a reload comes at the latest MaxWait after the
// first change, while the writer still writes.
func TestWatchUnsettledWriterCannotPostponeReloads(t *testing.T) {
	dir, _, events := startWatch(t, policy.Debounce(100*time.Millisecond), policy.MaxWait(500*time.Millisecond))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			_ = os.WriteFile(filepath.Join(dir, "capabilities", "churn.json"), []byte(`{"identifier":"churn","windows":["main"],"permissions":[]}`+strings.Repeat(" ", i%7)), 0o644)
		}
	}()
	select {
	case ev := <-events:
		t.Logf("reload while the writer writes: changed %v, err %v", ev.Changed, ev.Err)
	case <-time.After(10 * time.Second):
		t.Fatal("no reload in 10 s while a writer keeps the tree changing")
	}
}

// TestWatchJunkDoesNotDelayReloads: a process that floods the watched
// folders with files that are not part of the ACL (logs, editor swap
// files, other extensions) neither triggers reloads nor delays the reload
// of a real change.
func TestWatchJunkDoesNotDelayReloads(t *testing.T) {
	dir, store, events := startWatch(t, policy.Debounce(50*time.Millisecond))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, name := range []string{"build.log", ".main.json.swp", "capabilities/notes.txt", "capabilities/main.json~"} {
				_ = os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte{byte(i)}, 0o644)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	select {
	case ev := <-events:
		t.Fatalf("junk files made a reload: %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
	write(t, dir, "capabilities/settings.toml", "identifier = \"settings-window\"\nwindows = [\"settings\"]\npermissions = [\"biometric:allow-status\", \"allow-open-vault\"]\n")
	ev := nextReload(t, events)
	if ev.Err != nil || !slices.Equal(ev.Changed, []string{"capabilities/settings.toml"}) {
		t.Fatalf("reload under junk: %+v", ev)
	}
	if !decide(t, store, "open_vault", "settings").Allowed {
		t.Error("the change did not reach the store")
	}
}

// TestWatchChangedIsBounded: a writer that creates files without end
// cannot make the list of changed files grow without bound.
func TestWatchChangedIsBounded(t *testing.T) {
	dir, _, events := startWatch(t, policy.Debounce(time.Second), policy.MaxWait(2*time.Second))
	const n = policy.MaxChanged + 100
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, "capabilities", fmt.Sprintf("c%04d.json", i)), []byte(`{"identifier":"c`+fmt.Sprint(i)+`","windows":["x"],"permissions":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ev := nextReload(t, events)
	if len(ev.Changed) != policy.MaxChanged || len(ev.Changed)+ev.More < n {
		t.Errorf("%d files listed and %d more, want %d listed and %d in all", len(ev.Changed), ev.More, policy.MaxChanged, n)
	}
}
