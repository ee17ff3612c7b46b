// Package tpm keeps capguard's sealed secrets on Linux in files that only
// this machine's TPM 2.0 opens, through github.com/google/go-tpm.
//
// # Sealing
//
// Each record (domain, name) is one file in the store's directory. SetData
// draws a fresh AES-256 key, encrypts the data with AES-256-GCM (the AAD is
// native.RecordAAD of the record, so that a file copied over another
// record's does not open), and seals the key in the TPM: a keyedHash
// object created under the storage primary key (the TCG's ECC P-256 SRK
// template, re-derived from the owner hierarchy's seed for every
// operation, never stored), fixedTPM and fixedParent, whose authValue is
// the record's binding. The file holds the object's public and wrapped
// private areas, the nonce and the ciphertext; the AES key leaves the TPM
// only inside an unseal, over a session salted with the storage key and
// encrypting the response, so that a listener on the TPM's bus does not
// see it either.
//
// The binding is a 32-byte value chosen by the caller: native/linux passes
// a digest of the fingers enrolled in fprintd, so that a new enrollment
// changes the authValue that the TPM demands and the record no longer
// opens. The binding is not a secret (anyone who can list the enrolled
// fingers can compute it): what it gives is invalidation, not secrecy. The
// sealed objects are noDA, so that invalidated records never count
// towards the TPM's dictionary-attack lockout.
//
// # What opens, what does not
//
//   - a record whose file is intact and whose binding and storage key
//     match opens;
//   - a record bound to another enrollment, or sealed under another
//     storage key (the TPM was cleared, the file comes from another
//     machine): DataNeedsReenrollment, and the file is removed;
//   - a file that is truncated, damaged, or not for this domain and name:
//     DecryptionFailed, and the file is left as it is;
//   - a TPM that cannot be reached: InternalError.
//
// Writes are atomic (a temporary file in the same directory, fsync,
// rename, fsync of the directory): after a failure the previous record is
// unchanged, and no failure touches another record. The directory is
// created 0700, files are 0600.
//
// # What it protects
//
// The TPM protects the data at rest: a copy of the files (a stolen disk, a
// backup, another account's root on another machine) does not open without
// this TPM. It does not protect against a process running as the user: it
// can talk to the TPM as the app does (/dev/tpmrm0 is open to the tss group
// or to everybody on most distributions) and compute the binding. The
// release after a fingerprint match is the app's decision (native/linux),
// not the TPM's.
//
// This package is the only one of capguard that imports go-tpm.
package tpm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/capguard/capguard/native"
)

// DefaultDevice is the TPM of a Linux machine: the kernel's resource
// manager, which lets several programs use the TPM at once.
const DefaultDevice = "/dev/tpmrm0"

// BindingLen is the length of a binding, in bytes (a SHA-256 digest).
const BindingLen = 32

// Options configure a Store.
type Options struct {
	// Dir is the directory of the records; it is created (0700) if it does
	// not exist. Required.
	Dir string
	// Device is the TPM's character device; empty means DefaultDevice
	// unless Address is set.
	Device string
	// Address is the "host:port" of a TPM simulator's server socket
	// (swtpm socket --server type=tcp), for tests. Set Device or Address,
	// not both.
	Address string
	// Timeout bounds each TPM command (default 30s).
	Timeout time.Duration
}

// Store is a directory of records sealed by a TPM. It is safe for
// concurrent use; the TPM is used by one operation at a time.
type Store struct {
	opts Options
	// mu serializes the store's use of the TPM and its changes to the
	// directory (a record removed as invalid is compared with what was
	// read, under mu, so that a record written meanwhile survives).
	mu sync.Mutex
}

// New returns a store of the records in opts.Dir. It creates the
// directory, but does not contact the TPM (Probe does).
func New(opts Options) (*Store, error) {
	switch {
	case opts.Dir == "":
		return nil, errors.New("tpm: Options.Dir is empty")
	case opts.Device != "" && opts.Address != "":
		return nil, errors.New("tpm: set Options.Device or Options.Address, not both")
	case opts.Timeout < 0:
		return nil, fmt.Errorf("tpm: negative Timeout %v", opts.Timeout)
	}
	if opts.Device == "" && opts.Address == "" {
		opts.Device = DefaultDevice
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tpm: %w", err)
	}
	fi, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("tpm: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("tpm: %s is not a directory", opts.Dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("tpm: %s is writable by others (mode %v): use a directory only its owner can write", opts.Dir, fi.Mode().Perm())
	}
	return &Store{opts: opts}, nil
}

// Dir returns the directory of the records.
func (s *Store) Dir() string { return s.opts.Dir }

// open connects to the TPM.
func (s *Store) open() (transport.TPMCloser, error) {
	if s.opts.Address != "" {
		return dial(s.opts.Address, s.opts.Timeout)
	}
	return openDevice(s.opts.Device)
}

// srk is the storage primary key, loaded for one operation.
type srk struct {
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName
	public tpm2.TPMTPublic
}

// salted returns an HMAC session for one command, salted with the storage
// key (so that only this TPM derives the session key), carrying auth, and
// and encrypting the parameters in the direction dir, if given.
func (k *srk) salted(auth []byte, dir ...tpm2.AuthOption) tpm2.Session {
	opts := append([]tpm2.AuthOption{tpm2.Auth(auth), tpm2.Salted(k.handle, k.public)}, dir...)
	return tpm2.HMAC(tpm2.TPMAlgSHA256, 16, opts...)
}

// parent is the storage key as the parent of Create and Load.
func (k *srk) parent(dir ...tpm2.AuthOption) tpm2.AuthHandle {
	return tpm2.AuthHandle{Handle: k.handle, Name: k.name, Auth: k.salted(nil, dir...)}
}

// withTPM runs f with a connection to the TPM and the storage key loaded
// on it, one operation at a time; the key is flushed and the connection
// closed afterwards.
func (s *Store) withTPM(ctx context.Context, f func(t transport.TPM, k *srk) error) error {
	if err := ctx.Err(); err != nil {
		return native.Canceled(ctx)
	}
	t, err := s.open()
	if err != nil {
		return tpmError("reach the TPM", err)
	}
	defer t.Close()
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t)
	if err != nil {
		return tpmError("load the storage key", err)
	}
	defer tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(t) //nolint:errcheck // the connection closes next
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		return tpmError("read the storage key", err)
	}
	return f(t, &srk{handle: rsp.ObjectHandle, name: rsp.Name, public: *pub})
}

// Probe tells whether the TPM can be reached and derives its storage key:
// nil when the store can seal.
func (s *Store) Probe(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.withTPM(ctx, func(transport.TPM, *srk) error { return nil })
}

// tpmError is the InternalError of a TPM operation that failed.
func tpmError(what string, err error) error {
	return &native.Error{Code: native.InternalError, Message: "The TPM failed to " + what + ".", Err: fmt.Errorf("tpm: %s: %w", what, err)}
}
