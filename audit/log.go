package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capguard/capguard/biometric"
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

// DefaultQueue is the number of entries of each class (see Class) a Log
// holds for its sink.
const DefaultQueue = 4096

// DefaultQueueBytes bounds the memory the entries of each class waiting
// for the sink may hold (their text: labels, URLs, reasons), so that long
// fields cannot make a full queue large.
const DefaultQueueBytes = 16 << 20

// MaxGroups bounds the groups of refusals a Log keeps while its queue of
// refusals is full; refusals that fit none share one more group, whose
// entry has an empty Input (see Refusals.Other).
const MaxGroups = 64

// ErrClosed is returned by Flush on a closed Log.
var ErrClosed = errors.New("audit: log closed")

// ErrNoSink is the error of every write of a log made with a nil sink.
var ErrNoSink = errors.New("audit: no sink")

// noSink is the sink of a log made with a nil one.
type noSink struct{}

func (noSink) Write(*Entry) error { return ErrNoSink }

// ErrLost is wrapped by Close's error when entries were lost: the sink
// failed or panicked (Stats().Failed; the next entry written carries their
// number, MetricFailed; OnError was told about each), or entries were
// dropped (Stats().Dropped: kept entries that found their queue full, or
// entries observed after Close; the next entry queued carries their
// number, MetricDropped). Refusals summed up in group entries are not
// lost: every one of them is counted in an entry (Stats().Grouped).
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

// Queue sets how many entries of each class may wait for the sink
// (DefaultQueue; at least 1).
func Queue(n int) Option { return func(l *Log) { l.queue = max(n, 1) } }

// QueueBytes sets the memory the entries of each class waiting for the
// sink may hold (DefaultQueueBytes; at least one entry always fits).
func QueueBytes(n int) Option { return func(l *Log) { l.queueBytes = max(n, 1) } }

// Block makes Observe (and the other Observe methods) wait for room in
// the queue when it is full, instead of dropping a kept entry or grouping
// a refusal: no entry is lost or summed up, but a slow sink then slows
// down (back-pressure) the calls being decided. Without it, a full queue
// of kept entries drops them (counted in Stats.Dropped, reported by the
// next entry with MetricDropped and by Close), and a full queue of
// refusals sums them up in group entries (Stats.Grouped).
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
	// Dropped entries were lost: kept entries that found their queue
	// full (without Block), and entries observed after Close. Refusals
	// are never dropped while the log is open.
	Dropped uint64
	// Grouped refusals were not written one by one but counted in the
	// entry of their group (Path PathRefusals), because the queue of
	// refusals was full.
	Grouped uint64
}

// Log is an audit log: Observe queues the guard's decisions and a
// background goroutine writes them to the sink. Create it with New, attach
// it with ipc.WithObserver(log.Observe) (or capguard.WithAudit), and Close
// it when the app stops. It is safe for concurrent use.
//
// Entries come in two classes (see Class), each with its own queue, so
// that a flood of one cannot push out the other. Kept entries (allowed
// decisions, step-ups, reloads, secret access) are written one by one;
// refusals are written one by one while their queue has room, and summed
// up by group (same call, same reason) with a count while it is full.
// Entries are written in the order they were queued.
type Log struct {
	sink       Sink
	queue      int
	queueBytes int
	block      bool
	labels     map[string]string
	onError    func(error)

	mu      sync.Mutex
	room    *sync.Cond // signalled when the writer takes entries (Block)
	closed  bool
	classes [2]queue // by Class
	groups  map[groupKey]*group
	order   []*group      // groups in the order they were opened
	other   *group        // refusals beyond MaxGroups groups
	flushes []flushReq    // waiting Flush calls
	wake    chan struct{} // one token: the writer has something to do
	done    chan struct{}
	// pendingDrops is the number of drops not yet reported in an entry.
	pendingDrops int64
	seq          uint64 // entries queued so far, both classes

	written, failed, dropped, grouped atomic.Uint64
	lastErr                           atomic.Pointer[error]
	unreported                        uint64 // failures since the last written entry; the goroutine's
}

// queue is the entries of one class waiting for the sink.
type queue struct {
	ring    []queued // entries from head, n of them
	head, n int
	bytes   int
	in, out uint64 // entries ever queued, and taken by the writer
	// grouping: the queue was full; its refusals go to groups until the
	// writer has emptied it.
	grouping bool
}

// queued is an entry and its place among all entries queued.
type queued struct {
	Entry
	seq uint64
}

type flushReq struct {
	kept, refused uint64 // the classes' in counters to wait for
	res           chan error
}

// groupKey is what the refusals of one group share.
type groupKey struct {
	input          Input
	reason, errMsg string
}

type group struct {
	entry Entry // the first refusal of the group
	count uint64
	last  time.Time
}

// New returns a log writing to sink and starts its goroutine. A nil sink
// gives a log that records nothing and says so: every entry counts as
// failed (Stats, OnError) and Close returns an error wrapping ErrNoSink.
func New(sink Sink, opts ...Option) *Log {
	if sink == nil {
		sink = noSink{}
	}
	l := &Log{sink: sink, queue: DefaultQueue, queueBytes: DefaultQueueBytes, labels: map[string]string{"id": newID()}}
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	l.room = sync.NewCond(&l.mu)
	l.groups = map[groupKey]*group{}
	l.wake = make(chan struct{}, 1)
	l.done = make(chan struct{})
	go l.run()
	return l
}

// Observe records one decision of the guard: pass it to ipc.WithObserver.
// It copies what it needs and queues the entry; it never waits for the
// sink (unless Block was given and the queue is full).
func (l *Log) Observe(ev ipc.DecisionEvent) { l.Record(NewEntry(ev)) }

// ObserveReload records a reload of a live-reloaded ACL (policy.Notify;
// capguard.WithAudit with capguard.WithReload wires it): the version
// swapped in and the capabilities and obligations it removed, or why it
// failed. It is a kept entry.
func (l *Log) ObserveReload(ev policy.ReloadEvent) { l.Record(NewReloadEntry(ev)) }

// ObserveSecret records a call of the secure-storage commands
// (biometric.OnSecretAccess; capguard.WithAudit wires it): which record,
// for which caller, how it ended and how the device bound the secret,
// never the data. It is a kept entry.
func (l *Log) ObserveSecret(ev biometric.SecretEvent) { l.Record(NewSecretEntry(ev)) }

// Record queues an entry as Observe does, in the queue of its class
// (Entry.Class). DecisionID and Labels are set by the log.
func (l *Log) Record(e Entry) {
	if l == nil || l.done == nil {
		return
	}
	c := e.Class()
	size := e.size()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.drop()
		return
	}
	q := &l.classes[c]
	for l.block && !l.closed && q.full(l, size) {
		l.room.Wait()
	}
	switch {
	case l.closed:
		l.drop()
		return
	case c == ClassRefusal && (q.grouping || q.full(l, size)):
		q.grouping = true
		l.group(&e)
		return
	case q.full(l, size):
		l.drop()
		return
	}
	// The first entry queued after drops reports them.
	if l.pendingDrops > 0 {
		e.Metrics = maps.Clone(e.Metrics)
		if e.Metrics == nil {
			e.Metrics = map[string]int64{}
		}
		e.Metrics[MetricDropped] = l.pendingDrops
		l.pendingDrops = 0
	}
	l.push(q, e, size)
	l.signal()
}

// full tells whether an entry of size bytes finds no room in q (an empty
// queue always has room).
func (q *queue) full(l *Log, size int) bool {
	return q.n > 0 && (q.n >= l.queue || q.bytes+size > l.queueBytes)
}

// front is the oldest entry of a non-empty q.
func (q *queue) front() *queued { return &q.ring[q.head] }

// pop removes and returns the oldest entry of a non-empty q.
func (q *queue) pop() Entry {
	e := q.ring[q.head].Entry
	q.ring[q.head] = queued{}
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	q.bytes -= e.size()
	q.out++
	return e
}

// add appends an entry, growing the ring when it is full.
func (q *queue) add(e queued, size int) {
	if q.n == len(q.ring) {
		ring := make([]queued, max(16, 2*len(q.ring)))
		for i := range q.n {
			ring[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = ring, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = e
	q.n++
	q.bytes += size
	q.in++
}

// group counts a refusal in its group; l.mu is held.
func (l *Log) group(e *Entry) {
	l.grouped.Add(1)
	k := groupKey{input: e.Input, reason: e.Result.Reason, errMsg: e.Result.Error}
	g := l.groups[k]
	if g == nil && len(l.order) >= MaxGroups {
		if l.other == nil {
			l.other = &group{entry: Entry{Path: PathRefusals, Timestamp: e.Timestamp}}
		}
		g = l.other
	}
	if g == nil {
		g = &group{entry: *e}
		l.groups[k] = g
		l.order = append(l.order, g)
	}
	g.count++
	g.last = e.Timestamp
}

// emitGroups queues the entries of the groups (beyond the queue's bound:
// at most MaxGroups+1 of them) and starts afresh; l.mu is held.
func (l *Log) emitGroups() {
	q := &l.classes[ClassRefusal]
	q.grouping = false
	if l.other != nil {
		l.order = append(l.order, l.other)
	}
	for _, g := range l.order {
		e := g.entry
		e.Path, e.Metrics = PathRefusals, nil // the first refusal's latency is not the group's
		e.Refusals = &Refusals{Count: g.count, Last: g.last, Other: g == l.other}
		l.push(q, e, e.size())
	}
	l.order, l.other = nil, nil
	clear(l.groups)
}

// push appends e to q; l.mu is held.
func (l *Log) push(q *queue, e Entry, size int) {
	l.seq++
	q.add(queued{e, l.seq}, size)
}

func (l *Log) drop() {
	l.dropped.Add(1)
	l.pendingDrops++
}

// signal wakes the writer; l.mu is held.
func (l *Log) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run writes the queued entries in the order they were queued, until the
// log is closed and its queues are empty.
func (l *Log) run() {
	defer close(l.done)
	for {
		l.mu.Lock()
		var e Entry
		for {
			if i := l.ready(); i >= 0 {
				f := l.flushes[i]
				l.flushes = slices.Delete(l.flushes, i, i+1)
				l.mu.Unlock()
				var err error
				if s, ok := l.sink.(interface{ Flush() error }); ok {
					err = s.Flush()
				}
				f.res <- err
				l.mu.Lock()
				continue
			}
			kept, refused := &l.classes[ClassKept], &l.classes[ClassRefusal]
			if refused.n == 0 && (len(l.order) > 0 || l.other != nil) {
				l.emitGroups()
			}
			if q := kept; q.n > 0 || refused.n > 0 {
				if q.n == 0 || refused.n > 0 && refused.front().seq < q.front().seq {
					q = refused
				}
				e = q.pop()
				l.room.Broadcast()
				break
			}
			if l.closed {
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
			<-l.wake
			l.mu.Lock()
		}
		l.mu.Unlock()
		l.writeOne(&e)
	}
}

// ready returns the index of a Flush whose entries are all written, or
// -1; l.mu is held.
func (l *Log) ready() int {
	for i, f := range l.flushes {
		if l.classes[ClassKept].out >= f.kept && l.classes[ClassRefusal].out >= f.refused {
			return i
		}
	}
	return -1
}

// writeOne writes one entry on the log's goroutine and counts it.
func (l *Log) writeOne(e *Entry) {
	e.DecisionID = newID()
	e.Labels = l.labels
	if l.unreported > 0 {
		e.Metrics = maps.Clone(e.Metrics)
		if e.Metrics == nil {
			e.Metrics = map[string]int64{}
		}
		e.Metrics[MetricFailed] = int64(l.unreported)
	}
	if err := l.write(e); err != nil {
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

// report tells OnError about a failure; a panicking callback is ignored.
func (l *Log) report(err error) {
	defer func() { _ = recover() }()
	l.onError(err)
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

// Flush waits until every entry queued before the call has been written
// (the groups of refusals counted so far included), then flushes the sink
// if it can be. It returns ErrClosed on a closed log.
func (l *Log) Flush() error {
	if l == nil || l.done == nil {
		return ErrClosed
	}
	res := make(chan error, 1)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if len(l.order) > 0 || l.other != nil {
		l.emitGroups()
	}
	l.flushes = append(l.flushes, flushReq{kept: l.classes[ClassKept].in, refused: l.classes[ClassRefusal].in, res: res})
	l.signal()
	l.mu.Unlock()
	return <-res
}

// Close writes the entries still queued (and the groups of refusals),
// stops the goroutine and closes the sink if it is an io.Closer. Entries
// observed afterwards are dropped. Its error wraps ErrLost when entries
// were lost (see ErrLost). It is safe to call more than once.
func (l *Log) Close() error {
	if l == nil || l.done == nil {
		return ErrClosed
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	if len(l.order) > 0 || l.other != nil {
		l.emitGroups()
	}
	l.signal()
	l.room.Broadcast()
	l.mu.Unlock()
	<-l.done
	var err error
	if _, ok := l.sink.(noSink); ok {
		err = ErrNoSink
	}
	if c, ok := l.sink.(io.Closer); ok {
		err = c.Close()
	}
	var lost []string
	if n := l.dropped.Load(); n > 0 {
		lost = append(lost, fmt.Sprintf("%d entries were dropped", n))
	}
	if n := l.failed.Load(); n > 0 {
		lost = append(lost, fmt.Sprintf("%d entries could not be written", n))
	}
	if len(lost) > 0 {
		lostErr := fmt.Errorf("%w: %s", ErrLost, strings.Join(lost, "; "))
		if p := l.lastErr.Load(); p != nil {
			lostErr = fmt.Errorf("%w: %s, the last because: %w", ErrLost, strings.Join(lost, "; "), *p)
		}
		err = errors.Join(lostErr, err)
	}
	return err
}

// Stats returns the log's counters so far.
func (l *Log) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return Stats{Written: l.written.Load(), Failed: l.failed.Load(), Dropped: l.dropped.Load(), Grouped: l.grouped.Load()}
}
