package policy

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/fsnotify/fsnotify"
)

// fakeTimers hands out debounce timers that fire when the test says so.
type fakeTimers struct {
	armed   chan chan time.Time // each new timer's channel
	stopped int
}

func (f *fakeTimers) after(time.Duration) (<-chan time.Time, func()) {
	c := make(chan time.Time, 1)
	f.armed <- c
	return c, func() { f.stopped++ }
}

// TestWatchDebounce drives the watcher's loop with synthetic events and a
// fake timer: a burst of changes gives one reload, only once the timer
// fires, and irrelevant files arm nothing.
func TestWatchDebounce(t *testing.T) {
	dir := t.TempDir()
	r, err := acl.Resolve(acl.Manifests{}, acl.CapabilitySet{}, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	store, err := NewStore(context.Background(), Static(&Input{Resolved: r}))
	if err != nil {
		t.Fatal(err)
	}
	reloads := make(chan ReloadEvent, 4)
	w := newWatcher(dir, store, []WatchOption{Debounce(time.Hour), OnReload(func(ev ReloadEvent) { reloads <- ev })})
	timers := &fakeTimers{armed: make(chan chan time.Time, 64)}
	w.after = timers.after
	events := make(chan fsnotify.Event)
	errs := make(chan error)
	go w.run(context.Background(), events, errs)
	defer w.Close()

	send := func(name string, op fsnotify.Op) {
		events <- fsnotify.Event{Name: filepath.Join(dir, filepath.FromSlash(name)), Op: op}
	}
	// A burst: each relevant change re-arms the timer.
	send("capabilities/main.json", fsnotify.Write)
	send("capabilities/main.json", fsnotify.Write)
	send("capabilities/main.json", fsnotify.Chmod) // ignored
	send("capabilities/.main.json.swp", fsnotify.Write)
	send("capabilities/main.json~", fsnotify.Create)
	send("src/main.rs", fsnotify.Write)
	send("target/debug/app", fsnotify.Create)
	send("tauri.conf.json", fsnotify.Write)
	send("tauri.linux.conf.json", fsnotify.Create)
	send("Tauri.toml", fsnotify.Write)
	send("capguard.json", fsnotify.Rename)
	send("gen/schemas/acl-manifests.json", fsnotify.Write)
	send("gen/schemas/desktop-schema.json", fsnotify.Write)
	send("capabilities/sub/a.toml", fsnotify.Remove)
	events <- fsnotify.Event{Name: filepath.Join(filepath.Dir(dir), "elsewhere.json"), Op: fsnotify.Write}

	var last chan time.Time
	armed := 0
	for len(timers.armed) > 0 {
		last = <-timers.armed
		armed++
	}
	if armed != 8 {
		t.Errorf("the timer was armed %d times, want 8 (one per relevant change)", armed)
	}
	select {
	case ev := <-reloads:
		t.Fatalf("reloaded before the timer fired: %+v", ev)
	default:
	}
	last <- time.Now()
	ev := <-reloads
	want := []string{"Tauri.toml", "capabilities/main.json", "capabilities/sub/a.toml", "capguard.json", "gen/schemas/acl-manifests.json", "tauri.conf.json", "tauri.linux.conf.json"}
	if !slices.Equal(ev.Changed, want) || ev.Err != nil || ev.Version == nil || ev.Version.Seq != 2 {
		t.Errorf("reload %+v, want changes %q", ev, want)
	}

	// A watcher error reloads too (events may have been lost), and says so.
	errs <- errors.New("queue overflow")
	(<-timers.armed) <- time.Now()
	ev = <-reloads
	if ev.Version == nil || ev.Err == nil || len(ev.Changed) != 0 {
		t.Errorf("after a watcher error: %+v", ev)
	}
}
