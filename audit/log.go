package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"sync"
	"sync/atomic"

	"github.com/capguard/capguard/ipc"
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
type JSONLines struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
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
	j.buf.Reset()
	if err := j.enc.Encode(e); err != nil {
		return err
	}
	_, err := j.w.Write(j.buf.Bytes())
	return err
}

// Close closes the writer when it is an io.Closer.
func (j *JSONLines) Close() error {
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
	// pendingDrops is the number of drops not yet reported in an entry.
	pendingDrops atomic.Int64
}

// item is a queued entry, or a flush request.
type item struct {
	entry Entry
	flush chan error
}

// New returns a log writing to sink and starts its goroutine.
func New(sink Sink, opts ...Option) *Log {
	if sink == nil {
		panic("audit.New: nil sink")
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
func (l *Log) Observe(ev ipc.DecisionEvent) {
	e := NewEntry(ev)
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
		if err := l.write(&e); err != nil {
			l.failed.Add(1)
		} else {
			l.written.Add(1)
		}
	}
}

// write hands an entry to the sink; a panicking sink counts as a failure
// rather than stopping the log.
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
	if c, ok := l.sink.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Stats returns the log's counters so far.
func (l *Log) Stats() Stats {
	return Stats{Written: l.written.Load(), Failed: l.failed.Load(), Dropped: l.dropped.Load()}
}
