package acl

import (
	"errors"
	"strconv"

	"github.com/capguard/capguard/internal/doc"
)

// Sentinel errors. Every error the package returns wraps one of them (or an
// *os.PathError for a file that cannot be read), so that callers can tell
// bad input from I/O trouble with errors.Is.
var (
	// ErrSyntax: the file is not valid JSON, JSON5 or TOML.
	ErrSyntax = errors.New("syntax error")
	// ErrInvalid: the file parses but a value has the wrong type or is
	// missing, or an identifier, pattern or URL is malformed.
	ErrInvalid = errors.New("invalid value")
	// ErrInvalidIdentifier: an identifier breaks Tauri's identifier rules.
	ErrInvalidIdentifier = errors.New("invalid identifier")
	// ErrUnknownFormat: a file extension capguard does not read.
	ErrUnknownFormat = errors.New("unknown file format")
	// ErrTooLarge: a file is larger than MaxFileSize.
	ErrTooLarge = errors.New("file too large")
	// ErrDuplicate: two capabilities share an identifier.
	ErrDuplicate = errors.New("duplicate identifier")
	// ErrUnknownPermission: a capability or a set names a permission, set
	// or plugin that no manifest defines.
	ErrUnknownPermission = errors.New("unknown permission")
	// ErrCycle: a permission set includes itself.
	ErrCycle = errors.New("permission set cycle")
)

// IsInputError tells whether err is about bad input (as opposed to I/O).
func IsInputError(err error) bool {
	for _, s := range []error{ErrSyntax, ErrInvalid, ErrInvalidIdentifier, ErrUnknownFormat, ErrTooLarge, ErrDuplicate, ErrUnknownPermission, ErrCycle} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// Position is a place in an input file: line and column (1-based, columns
// count characters), and the JSON pointer of the value when known.
type Position struct {
	File    string
	Line    int
	Col     int
	Pointer string
}

// String formats the position as "file:line:col", or "file" when the line
// is unknown.
func (p Position) String() string {
	s := p.File
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	}
	return s
}

// IsZero tells whether the position is unknown.
func (p Position) IsZero() bool { return p.File == "" && p.Line == 0 }

func posOf(file string, p doc.Pos, pointer string) Position {
	return Position{File: file, Line: p.Line, Col: p.Col, Pointer: pointer}
}

// Error is an error at a position of an input file. Its text is
// "file:line:col: message"; Unwrap gives the sentinel (or a wrapped cause).
type Error struct {
	Pos Position
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Pos.IsZero() {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Unwrap returns the sentinel or the cause.
func (e *Error) Unwrap() error { return e.Err }

func errorAt(pos Position, kind error, msg string) *Error {
	return &Error{Pos: pos, Msg: msg, Err: kind}
}
