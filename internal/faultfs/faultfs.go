// Package faultfs is a file system for tests in which chosen names exist
// but cannot be read, as with a file of mode 000 under os.DirFS, which a
// test running as root cannot produce on disk.
package faultfs

import (
	"io/fs"
	"sync/atomic"
)

// FS serves Base, except that opening or stating one of its refused names
// fails with fs.ErrPermission while the fault is on. It implements only
// fs.FS and fs.StatFS, so that every read (fs.ReadFile, fs.ReadDir, ...)
// goes through Open. It is safe for concurrent use.
type FS struct {
	base    fs.FS
	refused map[string]bool
	off     atomic.Bool
}

// New returns an FS over base that refuses names (slash-separated paths
// relative to base's root), with the fault on.
func New(base fs.FS, names ...string) *FS {
	f := &FS{base: base, refused: map[string]bool{}}
	for _, n := range names {
		f.refused[n] = true
	}
	return f
}

// Set turns the fault on or off.
func (f *FS) Set(on bool) { f.off.Store(!on) }

func (f *FS) refuses(name string) bool { return !f.off.Load() && f.refused[name] }

// Open opens name in Base unless it is refused.
func (f *FS) Open(name string) (fs.File, error) {
	if f.refuses(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.base.Open(name)
}

// Stat stats name in Base unless it is refused.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if f.refuses(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrPermission}
	}
	return fs.Stat(f.base, name)
}
