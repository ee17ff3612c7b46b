package mobile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/capguard/capguard/native"
)

// The sealed records of Android live in files that Go writes, one per
// record, under the directory the Kotlin shim names (Android.StorageDir,
// the app's no-backup files directory):
//
//	<dir>/capguard-vault/<hex(domain)>/<hex(SHA-256(name))>.rec
//
// The domain is hex-encoded so that no domain ("..", ".") names another
// directory, the name hashed so that any name of up to MaxNameLen bytes
// makes a short file name; the AAD binds the real domain and name, so a
// file moved to another place does not open. A file is
//
//	version (1 byte) | IV length (1 byte) | IV | ciphertext and tag
//
// and is replaced atomically: written to a temporary file in the same
// directory, synced, renamed over the old one, and the directory synced.
// A failure leaves the previous record, and every other one, as it was.

const (
	// recordVersion is the format version of a record file, also bound
	// into its AAD.
	recordVersion = 1
	// gcmIVLen and gcmTagLen are the sizes of AES-GCM's IV and tag as
	// Android's Keystore makes them (12-byte IV, 128-bit tag).
	gcmIVLen  = 12
	gcmTagLen = 16
	// recordDirName is the folder of the records inside StorageDir.
	recordDirName = "capguard-vault"
	recordExt     = ".rec"
	// maxRecordFile is the largest well-formed record file.
	maxRecordFile = 2 + gcmIVLen + native.MaxDataLen + gcmTagLen
)

// record is a sealed record as stored.
type record struct {
	iv, sealed []byte
}

// recordStore keeps the record files under one directory. Its methods
// are safe for concurrent use.
type recordStore struct {
	dir string // <StorageDir>/capguard-vault

	mu sync.Mutex
	// beforeRename, if set (tests only), runs between writing the
	// temporary file and renaming it; an error aborts the write.
	beforeRename func(tmp string) error
}

// newRecordStore checks the directory the platform names: absolute and
// clean, so that the records cannot land somewhere relative to the
// process's working directory.
func newRecordStore(storageDir string) (*recordStore, error) {
	if storageDir == "" || !filepath.IsAbs(storageDir) {
		return nil, native.NewError(native.InternalError, fmt.Sprintf("The platform's storage directory %q is not an absolute path.", storageDir))
	}
	return &recordStore{dir: filepath.Join(filepath.Clean(storageDir), recordDirName)}, nil
}

func (st *recordStore) domainDir(domain string) string {
	return filepath.Join(st.dir, hex.EncodeToString([]byte(domain)))
}

func (st *recordStore) path(domain, name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(st.domainDir(domain), hex.EncodeToString(sum[:])+recordExt)
}

// storeError is an InternalError for a file operation that failed.
func storeError(what string, err error) error {
	return &native.Error{Code: native.InternalError, Message: "The record store failed to " + what + ".", Err: err}
}

// encode writes a record in the file format.
func (r record) encode() []byte {
	b := make([]byte, 0, 2+len(r.iv)+len(r.sealed))
	b = append(b, recordVersion, byte(len(r.iv)))
	b = append(b, r.iv...)
	return append(b, r.sealed...)
}

// errBadRecord is the DecryptionFailed of a record file that is not well
// formed (corrupted or truncated): it is left as it is.
func errBadRecord(why string) error {
	return native.NewError(native.DecryptionFailed, "The stored data does not decrypt: the record is corrupted or truncated ("+why+").")
}

// decodeRecord reads a record file.
func decodeRecord(b []byte) (record, error) {
	switch {
	case len(b) < 2:
		return record{}, errBadRecord("no header")
	case b[0] != recordVersion:
		return record{}, errBadRecord(fmt.Sprintf("format version %d, not %d", b[0], recordVersion))
	case int(b[1]) != gcmIVLen:
		return record{}, errBadRecord(fmt.Sprintf("an IV of %d bytes, not %d", b[1], gcmIVLen))
	case len(b) < 2+gcmIVLen+gcmTagLen:
		return record{}, errBadRecord(fmt.Sprintf("%d bytes, shorter than an IV and a tag", len(b)))
	case len(b) > maxRecordFile:
		return record{}, errBadRecord(fmt.Sprintf("%d bytes, longer than the largest record", len(b)))
	}
	return record{iv: clone(b[2 : 2+gcmIVLen]), sealed: clone(b[2+gcmIVLen:])}, nil
}

// read returns the record; DataNotFound when there is none,
// DecryptionFailed when its file is not well formed.
func (st *recordStore) read(domain, name string) (record, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f, err := os.Open(st.path(domain, name))
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, native.NewError(native.DataNotFound, "No data is stored under this domain and name.")
	}
	if err != nil {
		return record{}, storeError("open the record", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecordFile+1))
	if err != nil {
		return record{}, storeError("read the record", err)
	}
	return decodeRecord(b)
}

// exists tells whether the record's file exists.
func (st *recordStore) exists(domain, name string) (bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, err := os.Lstat(st.path(domain, name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, storeError("look the record up", err)
}

// write replaces the record atomically.
func (st *recordStore) write(domain, name string, r record) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	dir := st.domainDir(domain)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return storeError("make the record directory", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return storeError("create a temporary file", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(r.encode()); err != nil {
		return storeError("write the record", err)
	}
	if err := tmp.Sync(); err != nil {
		return storeError("sync the record", err)
	}
	if err := tmp.Close(); err != nil {
		return storeError("close the record", err)
	}
	if st.beforeRename != nil {
		if err := st.beforeRename(tmp.Name()); err != nil {
			return storeError("replace the record", err)
		}
	}
	if err := os.Rename(tmp.Name(), st.path(domain, name)); err != nil {
		return storeError("replace the record", err)
	}
	done = true
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable; a directory that cannot be
// synced (some file systems) is no error, the rename already happened.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// remove deletes the record; a missing one is no error.
func (st *recordStore) remove(domain, name string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := os.Remove(st.path(domain, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return storeError("remove the record", err)
	}
	return nil
}

// removeDomain deletes every record of domain (and leftover temporary
// files): the records of a key that is gone.
func (st *recordStore) removeDomain(domain string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	dir := st.domainDir(domain)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return storeError("list the records of the domain", err)
	}
	var errs []error
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, recordExt) || strings.HasPrefix(n, ".tmp-") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return storeError("remove the records of the domain", errors.Join(errs...))
	}
	return nil
}
