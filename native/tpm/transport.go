package tpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// The TPM's command and response header: tag (2 bytes), size (4 bytes,
// big endian, the whole message), code (4 bytes).
const (
	headerLen      = 10
	maxResponseLen = 8192 // TPM2's largest responses (a full TPM2B_PRIVATE, a sealed blob) are far smaller
)

// dial opens the TPM at addr: swtpm's server socket ("host:port"), which
// carries TPM 2.0 commands and responses as they are, one after the other.
func dial(addr string, timeout time.Duration) (transport.TPMCloser, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &stream{c: c, timeout: timeout}, nil
}

// openDevice opens a TPM character device (/dev/tpmrm0, the kernel's
// resource manager, or /dev/tpm0).
func openDevice(path string) (transport.TPMCloser, error) {
	return linuxtpm.Open(path)
}

// stream is a TPM reached through a byte stream. Unlike a character device,
// a socket may deliver a response in pieces: it reads the header first and
// then exactly the size the header announces.
type stream struct {
	c       net.Conn
	timeout time.Duration
}

// errResponse marks a response that is not a TPM response.
var errResponse = errors.New("tpm: malformed response")

// Send writes one command and reads its response.
func (s *stream) Send(cmd []byte) ([]byte, error) {
	if s.timeout > 0 {
		_ = s.c.SetDeadline(time.Now().Add(s.timeout))
	}
	if _, err := s.c.Write(cmd); err != nil {
		return nil, err
	}
	rsp := make([]byte, headerLen, 256)
	if _, err := io.ReadFull(s.c, rsp); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(rsp[2:6])
	if size < headerLen || size > maxResponseLen {
		return nil, fmt.Errorf("%w: size %d", errResponse, size)
	}
	rsp = append(rsp, make([]byte, size-headerLen)...)
	if _, err := io.ReadFull(s.c, rsp[headerLen:]); err != nil {
		return nil, err
	}
	return rsp, nil
}

// Close closes the connection.
func (s *stream) Close() error { return s.c.Close() }
