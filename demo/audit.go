package demo

import (
	"bytes"
	"strings"

	"github.com/capguard/capguard/audit"
)

// auditSink is the demo's audit.Sink: each entry as the JSON line the
// audit log writes, shown on the dashboard and, with Config.AuditFile,
// appended to the file (through audit.OpenFile's sink).
type auditSink struct {
	file *audit.JSONLines // nil without a file
	enc  *audit.JSONLines // writes to buf, for the dashboard
	buf  bytes.Buffer
	show func(line string)
}

// Write shows the entry's line and writes it to the file. The log calls
// it from one goroutine at a time.
func (a *auditSink) Write(e *audit.Entry) error {
	a.buf.Reset()
	if err := a.enc.Write(e); err != nil {
		return err
	}
	a.show(strings.TrimSuffix(a.buf.String(), "\n"))
	if a.file == nil {
		return nil
	}
	return a.file.Write(e)
}

// Close closes the file.
func (a *auditSink) Close() error {
	if a.file == nil {
		return nil
	}
	return a.file.Close()
}
