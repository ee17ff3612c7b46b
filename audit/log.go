package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"sync"
	"sync/atomic"

	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// Sink receives the entries of a Log, one at a time and in order, on the
// Log's goroutine (never concurrently). An error counts as a failed write
// (Stats.Failed) and does not stop the log. A Sink that is also an
// io.Closer is closed by Log.Close; one with a Flush() error method is
// flushed by Log.Flush.
type Sink interface {
	Write(e *Entry) error
}

// SinkFunc adapts a function to a Sink (for a live view of decisions).
type SinkFunc func(e *Entry) error

// Write calls f.
func (f SinkFunc) Write(e *Entry) error { return f(e) }

// JSONLines is the default Sink: each entry as one line of JSON, written
// with a single Write call (so that lines of several processes appending to
// one file do not interleave).
//
// A write that fails part-way (a full disk) leaves a partial line; the
// next entry then starts on a new line, so that one lost entry never
// corrupts the one after it.
type JSONLines struct {
	w      io.Writer
	buf    bytes.Buffer
	enc    *json.Encoder
	broken bool // the last write left a partial line
}

// NewJSONLines returns a sink writing JSON Lines to w.
func NewJSONLines(w io.Writer) *JSONLines {
	j := &JSONLines{w: w}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}

// Write writes one entry and a newline.
func (j *JSONLines) Write(e *Entry) error {
	if j == nil || j.w == nil {
		return ErrNoSink
	}
	j.buf.Reset()
	if j.broken {
		j.buf.WriteByte('\n')
	}
	if err := j.enc.Encode(e); err != nil {
		return err
	}
	n, err := j.w.Write(j.buf.Bytes())
	switch {
	case err == nil:
		j.broken = false
	case n > 0:
		j.broken = true
	}
	return err
}

// Close closes the writer when it is an io.Closer.
func (j *JSONLines) Close() error {
	if j == nil {
		return ErrNoSink
	}
	if c, ok := j.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// OpenFile returns a JSON Lines sink appending to the file at path,
// created with mode 0600 if missing (decisions say who did what: keep
// them private). Close the Log (or the sink) to close the file.
func OpenFile(path string) (*JSONLines, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return NewJSONLines(f), nil
}

// DefaultQueue is the number of entries a Log holds for its sink.
const DefaultQueue = 4096

// ErrClosed is returned by Flush on a closed Log.
var ErrClosed = errors.New("audit: log closed")

// ErrNoSink is the error of every write of a log made with a nil sink.
var ErrNoSink = errors.New("audit: no sink")

// noSink is the sink of a log made with a nil one.
type noSink struct{}

func (noSink) Write(*Entry) error { return ErrNoSink }

// ErrLost is wrapped by Close's error when entries could not be written
// (the sink failed or panicked): they are counted in Stats().Failed, the
// next entry written carries their number (MetricFailed), and OnError was
// told about each.
var ErrLost = errors.New("audit: entries lost")

// OnError makes the log report every entry its sink fails to write to f
// (a full disk, a closed pipe, a panicking sink), on the log's goroutine.
// Entries that cannot be written are never lost silently: besides f, they
// are counted (Stats().Failed), the next entry that is written carries
// their number (metrics.counter_audit_failed), and Close returns an error
// wrapping ErrLost.
func OnError(f func(error)) Option { return func(l *Log) { l.onError = f } }

// Option configures New.
type Option func(*Log)

// Queue sets how many entries may wait for the sink (DefaultQueue; at
// least 1).
func Queue(n int) Option { return func(l *Log) { l.queue = max(n, 1) } }

// Block makes Observe wait for room in the queue when it is full, instead
// of dropping the entry: no entry is lost, but a slow sink then slows down
// (back-pressure) the calls being decided. Without it, a full queue drops
// entries, counts them (Stats.Dropped) and marks the next written entry
// with MetricDropped.
func Block() Option { return func(l *Log) { l.block = true } }

// Labels adds labels to every entry (for example {"app": "vault",
// "version": "1.2.0"}), as OPA's decision logs carry theirs.
func Labels(labels map[string]string) Option {
	return func(l *Log) { maps.Copy(l.labels, labels) }
}

// Stats counts what a Log did with the entries it was given.
type Stats struct {
	// Written entries reached the sink without error; Failed ones made
	// it return an error.
	Written, Failed uint64
	// Dropped entries were lost because the queue was full (without
	// Block) or the log was closed.
	Dropped uint64
}

// Log is an audit log: Observe queues the guard's decisions and a
// background goroutine writes them to the sink. Create it with New, attach
// it with ipc.WithObserver(log.Observe) (or capguard.WithAudit), and Close
// it when the app stops. It is safe for concurrent use.
type Log struct {
	sink   Sink
	queue  int
	block  bool
	labels map[string]string

	// mu guards closed against sends on the closed channel: Observe holds
	// it for reading while it sends, Close for writing while it closes.
	mu     sync.RWMutex
	closed bool
	ch     chan item
	done   chan struct{}

	written, failed, dropped atomic.Uint64
	onError                  func(error)
	lastErr                  atomic.Pointer[error]
	unreported               uint64 // failures since the last written entry; the goroutine's
	// pendingDrops is the number of drops not yet reported in an entry.
	pendingDrops atomic.Int64
}

// item is a queued entry, or a flush request.
type item struct {
	entry Entry
	flush chan error
}

// New returns a log writing to sink and starts its goroutine. A nil sink
// gives a log that records nothing and says so: every entry counts as
// failed (Stats, OnError) and Close returns an error wrapping ErrNoSink.
func New(sink Sink, opts ...Option) *Log {
	if sink == nil {
		sink = noSink{}
	}
	l := &Log{sink: sink, queue: DefaultQueue, labels: map[string]string{"id": newID()}}
	for _, o := range opts {
		o(l)
	}
	l.ch = make(chan item, l.queue)
	l.done = make(chan struct{})
	go l.run()
	return l
}

// Observe records one decision of the guard: pass it to ipc.WithObserver.
// It copies what it needs and queues the entry; it never waits for the
// sink (unless Block was given and the queue is full).
func (l *Log) Observe(ev ipc.DecisionEvent) { l.enqueue(NewEntry(ev)) }

func (l *Log) enqueue(e Entry) {
	if l == nil || l.ch == nil {
		return
	}
	if e.Metrics == nil {
		e.Metrics = map[string]int64{}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.drop()
		return
	}
	// The first entry queued after drops reports them.
	if n := l.pendingDrops.Swap(0); n > 0 {
		e.Metrics[MetricDropped] = n
	}
	if l.block {
		l.ch <- item{entry: e}
		return
	}
	select {
	case l.ch <- item{entry: e}:
	default:
		l.pendingDrops.Add(e.Metrics[MetricDropped])
		l.drop()
	}
}

// ObserveReload records a reload of a live-reloaded ACL (policy.Notify;
// capguard.WithAudit with capguard.WithReload wires it): the version
// swapped in and the capabilities and obligations it removed, or why it
// failed. It is queued like a decision.
func (l *Log) ObserveReload(ev policy.ReloadEvent) { l.enqueue(NewReloadEntry(ev)) }

func (l *Log) drop() {
	l.dropped.Add(1)
	l.pendingDrops.Add(1)
}

// run writes the queued entries until the log is closed.
func (l *Log) run() {
	defer close(l.done)
	for it := range l.ch {
		if it.flush != nil {
			var err error
			if f, ok := l.sink.(interface{ Flush() error }); ok {
				err = f.Flush()
			}
			it.flush <- err
			continue
		}
		e := it.entry
		e.DecisionID = newID()
		e.Labels = l.labels
		if l.unreported > 0 {
			e.Metrics = maps.Clone(e.Metrics)
			if e.Metrics == nil {
				e.Metrics = map[string]int64{}
			}
			e.Metrics[MetricFailed] = int64(l.unreported)
		}
		if err := l.write(&e); err != nil {
			l.failed.Add(1)
			l.unreported++
			l.lastErr.Store(&err)
			if l.onError != nil {
				l.report(err)
			}
		} else {
			l.written.Add(1)
			l.unreported = 0
		}
	}
}

// write hands an entry to the sink; a panicking sink counts as a failure
// rather than stopping the log.
func (l *Log) report(err error) {
	defer func() { _ = recover() }()
	l.onError(err)
}

func (l *Log) write(e *Entry) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("audit: sink panicked")
		}
	}()
	return l.sink.Write(e)
}

// Flush waits until every entry queued before the call has been written,
// then flushes the sink if it can be. It returns ErrClosed on a closed log.
func (l *Log) Flush() error {
	if l == nil || l.ch == nil {
		return ErrClosed
	}
	res := make(chan error, 1)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	l.ch <- item{flush: res}
	l.mu.RUnlock()
	return <-res
}

// Close writes the entries still queued, stops the goroutine and closes
// the sink if it is an io.Closer. Decisions observed afterwards are
// dropped. It is safe to call more than once.
func (l *Log) Close() error {
	if l == nil || l.ch == nil {
		return ErrClosed
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.ch)
	l.mu.Unlock()
	<-l.done
	var err error
	if _, ok := l.sink.(noSink); ok {
		err = ErrNoSink
	}
	if c, ok := l.sink.(io.Closer); ok {
		err = c.Close()
	}
	if n := l.failed.Load(); n > 0 {
		lost := fmt.Errorf("%w: %d entries could not be written", ErrLost, n)
		if p := l.lastErr.Load(); p != nil {
			lost = fmt.Errorf("%w: %d entries could not be written, the last because: %w", ErrLost, n, *p)
		}
		err = errors.Join(lost, err)
	}
	return err
}

// Stats returns the log's counters so far.
func (l *Log) Stats() Stats {
	return Stats{Written: l.written.Load(), Failed: l.failed.Load(), Dropped: l.dropped.Load()}
}
