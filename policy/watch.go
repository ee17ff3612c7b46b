package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long Watch waits after the last change before it
// reloads: editors write a file in several steps (truncate, write, rename),
// and a save of several files should give one reload.
const DefaultDebounce = 150 * time.Millisecond

// MaxChanged bounds the paths a ReloadEvent lists (ReloadEvent.More
// counts the others), so that a writer creating files without end cannot
// make a watcher's memory grow.
const MaxChanged = 256

// ReloadEvent is one reload that Watch made.
type ReloadEvent struct {
	// Changed lists the files whose changes led to the reload (paths
	// under the watched directory), sorted, without duplicates: the
	// first MaxChanged of them. It is empty when the reload followed a
	// watcher error.
	Changed []string
	// More is the number of further changed files not in Changed.
	More int
	// Version is the new version, nil when the reload failed.
	Version *Version
	// Err is why the reload failed (it wraps ErrReload; the store kept its
	// version), or a trouble of the watcher itself.
	Err error
}

// WatchOption configures Watch.
type WatchOption func(*watchConfig)

type watchConfig struct {
	debounce, maxWait time.Duration
	onReload          func(ReloadEvent)
}

// MaxWait bounds how long changes that never settle postpone a reload:
// a writer that keeps the files changing (an editor saving every 100 ms, a
// sync tool, a process that may write there) gets a reload at the latest
// that long after the first change (0: 20 times the debounce). The reload
// then reads one consistent state or fails with ErrUnsettled, keeping the
// version in force.
func MaxWait(d time.Duration) WatchOption {
	return func(c *watchConfig) { c.maxWait = max(d, 0) }
}

// Debounce sets how long Watch waits for changes to settle before it
// reloads (DefaultDebounce; at least 1 ms).
func Debounce(d time.Duration) WatchOption {
	return func(c *watchConfig) { c.debounce = max(d, time.Millisecond) }
}

// OnReload makes Watch report every reload, successful or not, to f. f
// runs on the watcher's goroutine: further changes wait until it returns.
func OnReload(f func(ReloadEvent)) WatchOption {
	return func(c *watchConfig) { c.onReload = f }
}

// Watcher reloads a Store when the files of a src-tauri directory change.
// It is made by Watch and stopped by Close or by the end of Watch's
// context.
type Watcher struct {
	dir   string
	store *Store
	cfg   watchConfig
	fw    *fsnotify.Watcher
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	err   error // of closing fw, set before done is closed

	// after makes the debounce timer; tests replace it.
	after func(time.Duration) (<-chan time.Time, func())
}

// Watch starts reloading s whenever a file that makes up the ACL of the
// src-tauri directory dir changes: tauri.conf.json and its platform
// overlays (and their .json5 and Tauri.toml forms), the capability files
// under capabilities/ (folders included), gen/schemas/acl-manifests.json
// and capguard.json. Changes are debounced (see Debounce); every reload
// goes through s.Reload, so a broken file keeps the current version and
// is reported through OnReload with its file:line:col.
//
// s reloads from its own source (AppSource(dir, ...) for what Watch
// watches). Watch returns once the directory is watched; the watching
// goes on in the background until ctx ends or Close is called. It uses
// the operating system's file notifications (fsnotify: inotify, kqueue,
// ReadDirectoryChangesW).
//
// The debounce is the settle time: a change is applied only once the tree
// has been quiet that long, and the reload then reads one consistent state
// (AppSource). A tree laid out as Kubernetes mounts a ConfigMap (top-level
// entries linked through a "..data" link that one rename replaces) is
// followed: the swap of "..data" triggers a reload, and the folders are
// watched again where their names now lead.
func Watch(ctx context.Context, dir string, s *Store, opts ...WatchOption) (*Watcher, error) {
	if s.Current() == nil {
		return nil, errNoStore
	}
	if ctx == nil {
		return nil, errors.New("policy: Watch: nil context")
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &fs.PathError{Op: "watch", Path: dir, Err: errors.New("not a directory")}
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("policy: cannot watch %s: %w", dir, err)
	}
	w := newWatcher(dir, s, opts)
	w.fw = fw
	for _, d := range []string{dir, filepath.Join(dir, "gen"), filepath.Join(dir, "gen", "schemas")} {
		if err := fw.Add(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fw.Close()
			return nil, fmt.Errorf("policy: cannot watch %s: %w", d, err)
		}
	}
	if err := w.addTree(filepath.Join(dir, "capabilities")); err != nil {
		fw.Close()
		return nil, err
	}
	go w.run(ctx, fw.Events, fw.Errors)
	return w, nil
}

func newWatcher(dir string, s *Store, opts []WatchOption) *Watcher {
	w := &Watcher{
		dir:   dir,
		store: s,
		cfg:   watchConfig{debounce: DefaultDebounce},
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		after: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTimer(d)
			return t.C, func() { t.Stop() }
		},
	}
	for _, o := range opts {
		if o != nil {
			o(&w.cfg)
		}
	}
	if w.cfg.maxWait == 0 {
		w.cfg.maxWait = 20 * w.cfg.debounce
	}
	return w
}

// addTree watches a folder and its subfolders; a missing folder is not an
// error (it may be created later, which the parent's watch sees).
func (w *Watcher) addTree(root string) error {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := w.fw.Add(p); err != nil {
				return fmt.Errorf("policy: cannot watch %s: %w", p, err)
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ErrNotWatching is the error of Close on a Watcher that Watch did not
// make (a nil or zero Watcher): it watches nothing.
var ErrNotWatching = errors.New("policy: not a watcher made by Watch")

// Close stops watching and waits for a reload in progress to finish. It
// returns the error of closing the notifications, if any, and
// ErrNotWatching for a nil or zero Watcher.
func (w *Watcher) Close() error {
	if w == nil || w.done == nil {
		return ErrNotWatching
	}
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return w.err
}

// stopped is the Done channel of a Watcher that watches nothing.
var stopped = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Done is closed when the watcher has stopped (ctx ended or Close); for a
// nil or zero Watcher it is closed already.
func (w *Watcher) Done() <-chan struct{} {
	if w == nil || w.done == nil {
		return stopped
	}
	return w.done
}

// dataLink is the symbolic link a Kubernetes ConfigMap mount replaces in
// one rename to swap every file at once (the top-level entries are links
// through it).
const dataLink = "..data"

// rewatch watches the folders again after the tree was swapped under
// them: their names now lead to other folders.
func (w *Watcher) rewatch() error {
	for _, d := range []string{filepath.Join(w.dir, "gen"), filepath.Join(w.dir, "gen", "schemas")} {
		if err := w.fw.Add(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return w.addTree(filepath.Join(w.dir, "capabilities"))
}

// relevant tells whether a change of path p (under w.dir) can change the
// ACL, and returns its path relative to w.dir.
func (w *Watcher) relevant(p string) (string, bool) {
	rel, err := filepath.Rel(w.dir, p)
	rel = filepath.ToSlash(rel)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	if rel == dataLink {
		return rel, true // a ConfigMap-style swap of the whole tree
	}
	base := filepath.Base(p)
	if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
		return "", false // editor swap and backup files
	}
	switch {
	case rel == "capabilities":
		return rel, true // the folder itself appeared or went away
	case strings.HasPrefix(rel, "capabilities/"):
		if isCapabilityFile(base) {
			return rel, true
		}
		// A new subfolder is watched by run; a file of another kind is
		// not read by the loader.
		return rel, !strings.Contains(base, ".")
	case rel == "gen", rel == "gen/schemas", rel == "gen/schemas/acl-manifests.json":
		return rel, true
	case !strings.Contains(rel, "/"):
		return rel, isConfigFile(base)
	}
	return "", false
}

func isCapabilityFile(base string) bool {
	switch filepath.Ext(base) {
	case ".json", ".json5", ".toml":
		return true
	}
	return false
}

func isConfigFile(base string) bool {
	if base == "capguard.json" {
		return true
	}
	return (strings.HasPrefix(base, "tauri.") && (strings.HasSuffix(base, ".conf.json") || strings.HasSuffix(base, ".conf.json5"))) ||
		(strings.HasPrefix(base, "Tauri.") && strings.HasSuffix(base, ".toml"))
}

// run is the watcher's loop: it collects relevant changes and reloads once
// they have settled for the debounce time.
func (w *Watcher) run(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error) {
	defer close(w.done)
	defer func() {
		if w.fw != nil {
			w.err = w.fw.Close()
		}
	}()
	var (
		timer   <-chan time.Time
		cancel  = func() {}
		changed = map[string]bool{}
		more    int
		werr    error
		first   time.Time // of the changes waiting for a reload
	)
	// arm (re)starts the settle time, but never beyond maxWait after the
	// first change waiting.
	arm := func() {
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		d := w.cfg.debounce
		if rest := first.Add(w.cfg.maxWait).Sub(now); rest < d {
			d = max(rest, 0)
		}
		cancel()
		timer, cancel = w.after(d)
	}
	defer func() { cancel() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			rel, ok := w.relevant(ev.Name)
			if !ok {
				continue
			}
			if ev.Op.Has(fsnotify.Create) && w.fw != nil {
				if err := w.watchNewDir(ev.Name, rel); err != nil {
					werr = err
				}
			}
			if rel == dataLink && w.fw != nil {
				if err := w.rewatch(); err != nil {
					werr = err
				}
			}
			if changed[rel] || len(changed) < MaxChanged {
				changed[rel] = true
			} else {
				more++
			}
			arm()
		case err, ok := <-errs:
			if !ok {
				return
			}
			// Events may have been lost (a queue overflow): reload to be
			// sure the store matches the files.
			werr = err
			arm()
		case <-timer:
			timer, first = nil, time.Time{}
			ev := ReloadEvent{Changed: slices.Sorted(maps.Keys(changed)), More: more}
			clear(changed)
			more = 0
			ev.Version, ev.Err = w.store.Reload(ctx)
			if ev.Err == nil && werr != nil {
				ev.Err = fmt.Errorf("policy: watching %s: %w", w.dir, werr)
			}
			werr = nil
			if w.cfg.onReload != nil {
				w.cfg.onReload(ev)
			}
		}
	}
}

// watchNewDir starts watching a folder that was just created, when it is
// one the ACL is read from.
func (w *Watcher) watchNewDir(p, rel string) error {
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return nil
	}
	switch {
	case rel == "capabilities" || strings.HasPrefix(rel, "capabilities/"):
		return w.addTree(p)
	case rel == "gen":
		for _, d := range []string{p, filepath.Join(p, "schemas")} {
			if err := w.fw.Add(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	case rel == "gen/schemas":
		return w.fw.Add(p)
	}
	return nil
}
