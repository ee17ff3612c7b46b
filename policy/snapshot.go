package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// A reload must enforce a state of the app's files that existed: the
// capabilities, the configuration, the manifests and capguard.json of one
// moment, never the capabilities of one edit with the obligations of
// another. AppSource and AppSourceFS therefore read through a snapshot:
// every file and folder the read touched (and every name it found
// missing) is recorded with a hash of what was read, and, on disk, the
// real path its name resolved to through symbolic links. After the read,
// each is read again; when any differs, the files changed during the
// read, and the read is retried (SnapshotAttempts times, with a growing
// pause) before the reload fails with ErrUnsettled and the store keeps
// its version.
//
// Comparing real paths makes the check exact for the layout Kubernetes
// gives a ConfigMap (top-level entries that are symbolic links into a
// data folder, itself a link that one rename replaces): a read that
// straddles a swap sees two data folders, and the data folder's new name
// never equals the old one. Comparing contents covers files edited in
// place, with one limit: a file changed and changed back between the read
// and the check is not seen. See docs/security.md.

// SnapshotAttempts is how many times AppSource and AppSourceFS read the
// app's files before giving up on a tree that keeps changing.
const SnapshotAttempts = 6

// snapshotBackoff is the pause before the second attempt; it doubles
// for each further one (10, 20, 40, 80, 160 ms).
var snapshotBackoff = 10 * time.Millisecond

// verifySnapshots can be turned off by tests, to measure what a read
// without the check yields.
var verifySnapshots = true

// ErrUnsettled is wrapped by the error of a read of the app's files that
// kept changing while they were read: no consistent state could be read.
var ErrUnsettled = errors.New("the app's files kept changing while they were read")

// snapshotFS reads fsys, remembering what each name gave. It is used by
// one read at a time.
type snapshotFS struct {
	fsys fs.FS
	disk string // the directory fsys reads on disk, or ""
	mu   sync.Mutex
	seen map[string]observation
}

type observation struct {
	sum  [sha256.Size]byte // of the content, or of the folder listing
	kind byte              // 'f' file, 'd' folder, 'm' missing, 'e' another error
	real string            // on disk: the path through symbolic links
}

func newSnapshot(fsys fs.FS, disk string) *snapshotFS {
	return &snapshotFS{fsys: fsys, disk: disk, seen: map[string]observation{}}
}

// look reads name from the underlying file system.
func (s *snapshotFS) look(name string) (observation, fs.File, error) {
	var o observation
	if s.disk != "" {
		if real, err := filepath.EvalSymlinks(filepath.Join(s.disk, filepath.FromSlash(name))); err == nil {
			o.real = real
		}
	}
	info, err := fs.Stat(s.fsys, name)
	if err != nil {
		o.kind = 'e'
		if errors.Is(err, fs.ErrNotExist) {
			o.kind = 'm'
		}
		o.sum = sha256.Sum256([]byte(err.Error()))
		return o, nil, err
	}
	if info.IsDir() {
		entries, err := fs.ReadDir(s.fsys, name)
		if err != nil {
			o.kind = 'e'
			return o, nil, err
		}
		h := sha256.New()
		for _, e := range entries {
			fmt.Fprintf(h, "%s\x00%v\x00", e.Name(), e.Type())
		}
		o.kind = 'd'
		copy(o.sum[:], h.Sum(nil))
		return o, &memFile{info: info, entries: entries}, nil
	}
	data, err := fs.ReadFile(s.fsys, name)
	if err != nil {
		o.kind = 'e'
		return o, nil, err
	}
	o.kind, o.sum = 'f', sha256.Sum256(data)
	return o, &memFile{info: info, r: bytes.NewReader(data)}, nil
}

// Open reads name whole and records what it saw.
func (s *snapshotFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	o, f, err := s.look(name)
	s.mu.Lock()
	if _, ok := s.seen[name]; !ok {
		s.seen[name] = o
	} else if s.seen[name] != o {
		// The same name read twice in one read, differently.
		s.seen[name] = observation{kind: 'x'}
	}
	s.mu.Unlock()
	return f, err
}

// verify reads every recorded name again and reports the first that
// differs.
func (s *snapshotFS) verify() error {
	s.mu.Lock()
	names := make([]string, 0, len(s.seen))
	for n := range s.seen {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		was := s.seen[n]
		now, f, _ := s.look(n)
		if f != nil {
			f.Close()
		}
		if was != now {
			return fmt.Errorf("%s changed while it was read", n)
		}
	}
	return nil
}

// readSnapshot runs read on a snapshot of fsys until one read saw a tree
// that did not change under it.
func readSnapshot(ctx context.Context, fsys fs.FS, disk string, read func(fs.FS) (*Input, error)) (*Input, error) {
	if ctx == nil {
		return nil, errors.New("policy: reading the app's files: nil context")
	}
	pause := snapshotBackoff
	var last error
	for attempt := 0; attempt < SnapshotAttempts; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			pause *= 2
		}
		snap := newSnapshot(fsys, disk)
		in, err := read(snap)
		if !verifySnapshots {
			return in, err
		}
		if last = snap.verify(); last == nil {
			return in, err
		}
	}
	return nil, fmt.Errorf("%w (%d attempts; the last: %v); deploy changes with an atomic directory swap (docs/security.md)", ErrUnsettled, SnapshotAttempts, last)
}

// memFile is a file or folder read whole.
type memFile struct {
	info    fs.FileInfo
	r       *bytes.Reader
	entries []fs.DirEntry
	pos     int
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

func (f *memFile) Read(p []byte) (int, error) {
	if f.r == nil {
		return 0, &fs.PathError{Op: "read", Path: f.info.Name(), Err: errors.New("is a directory")}
	}
	return f.r.Read(p)
}

func (f *memFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if f.r != nil {
		return nil, &fs.PathError{Op: "readdir", Path: f.info.Name(), Err: errors.New("not a directory")}
	}
	rest := f.entries[f.pos:]
	if n <= 0 {
		f.pos = len(f.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	f.pos += n
	return rest[:n], nil
}

var _ fs.ReadDirFile = (*memFile)(nil)
