package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/audit"
)

// fullDisk accepts the first ok writes, then writes half of each buffer
// and fails, as a file on a full disk does, until it is given room again.
type fullDisk struct {
	mu   sync.Mutex
	ok   int
	full bool
	buf  bytes.Buffer
}

var errNoSpace = errors.New("write audit.jsonl: no space left on device")

func (d *fullDisk) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ok > 0 {
		d.ok--
	} else if d.full {
		n := len(p) / 2
		d.buf.Write(p[:n])
		return n, errNoSpace
	}
	return d.buf.Write(p)
}

func (d *fullDisk) setFull(full bool) {
	d.mu.Lock()
	d.full = full
	d.mu.Unlock()
}

// TestDiskFullLosesNothingSilently fills the disk under the log: entries
// that cannot be written are counted, reported to OnError, announced by
// the next entry that is written (counter_audit_failed), and Close says
// how many were lost; the partial lines they left never corrupt the
// entries after them.
func TestDiskFullLosesNothingSilently(t *testing.T) {
	disk := &fullDisk{ok: 1, full: true}
	var mu sync.Mutex
	var reported []error
	l := audit.New(audit.NewJSONLines(disk), audit.OnError(func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}))
	l.Observe(event("one"))   // written
	l.Observe(event("two"))   // half written: disk full
	l.Observe(event("three")) // half written: disk full
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	disk.setFull(false)
	l.Observe(event("four")) // written, carrying the count of the two lost
	err := l.Close()
	if !errors.Is(err, audit.ErrLost) || !errors.Is(err, errNoSpace) || !strings.Contains(err.Error(), "2 entries") {
		t.Errorf("Close: %v, want ErrLost naming 2 entries and the disk's error", err)
	}
	if s := l.Stats(); s.Written != 2 || s.Failed != 2 || s.Dropped != 0 {
		t.Errorf("stats %+v, want 2 written, 2 failed", s)
	}
	if len(reported) != 2 || !errors.Is(reported[0], errNoSpace) {
		t.Errorf("OnError was told %v, want the disk's error twice", reported)
	}
	// Lines: one, a partial two, a partial three, four. Every complete
	// entry parses; four says two were lost.
	var complete []audit.Entry
	for _, line := range strings.Split(strings.TrimSuffix(disk.buf.String(), "\n"), "\n") {
		var e audit.Entry
		if json.Unmarshal([]byte(line), &e) == nil {
			complete = append(complete, e)
		}
	}
	if len(complete) != 2 || complete[0].Input.Command != "one" || complete[1].Input.Command != "four" {
		t.Fatalf("complete entries %+v, want one and four\n%s", complete, disk.buf.String())
	}
	if got := complete[1].Metrics[audit.MetricFailed]; got != 2 {
		t.Errorf("four's %s = %d, want 2", audit.MetricFailed, got)
	}
	if _, ok := complete[0].Metrics[audit.MetricFailed]; ok {
		t.Errorf("one carries %s though nothing was lost before it", audit.MetricFailed)
	}
}

// TestNilSinkSaysSo: a log made without a sink records nothing and says
// so, instead of panicking or pretending.
func TestNilSinkSaysSo(t *testing.T) {
	l := audit.New(nil)
	l.Observe(event("x"))
	err := l.Close()
	if !errors.Is(err, audit.ErrNoSink) || !errors.Is(err, audit.ErrLost) {
		t.Errorf("Close: %v, want ErrNoSink and ErrLost", err)
	}
	if s := l.Stats(); s.Failed != 1 {
		t.Errorf("stats %+v", s)
	}
}
