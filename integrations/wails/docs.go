package capwails

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// document is one load of an HTML page of the app into a window: the
// token the page was given and what the guard learnt about it.
type document struct {
	token    string // the page's secret (HeaderToken)
	load     string // the page load's public id
	windowID uint
	window   string
	issued   time.Time

	// challenge is what the host ran in the window's top-level document
	// (see Guard.start); the page proves with it.
	challenge string

	// state is guarded by docStore.mu.
	state docState
	// events holds the page's listeners of Tauri's event API and what
	// waits for delivery (see events.go); set once, at issue.
	events *docEvents
}

type docState uint8

const (
	// pending: the page was served, it has not proved that it is the
	// window's top-level document.
	pending docState = iota
	// active: the window's current top-level document; the only state in
	// which the page's calls are accepted.
	active
	// retired: an earlier top-level document of the window, replaced by a
	// later one; it may prove again (a page shown again from the
	// back-forward cache).
	retired
)

// windowDocs are one window's documents. Only what happens in that
// window changes them, and a page that has not proved anything can only
// push out other unproved pages: the active document is replaced only by
// another document of the same window that proved it is top-level.
type windowDocs struct {
	active  *document
	pending []*document // oldest first, at most maxPending
	retired []*document // oldest first, at most maxRetired
}

// docStore holds every window's documents.
type docStore struct {
	mu         sync.RWMutex
	byToken    map[string]*document
	byWindow   map[uint]*windowDocs
	maxPending int
	maxRetired int
	pendingTTL time.Duration
	now        func() time.Time
	// newEvents makes a document's event state.
	newEvents func(*document) *docEvents
}

func newDocStore(perWindow int) *docStore {
	return &docStore{
		byToken:    map[string]*document{},
		byWindow:   map[uint]*windowDocs{},
		maxPending: 2 * perWindow,
		maxRetired: perWindow,
		pendingTTL: 2 * time.Minute,
		now:        time.Now,
	}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("capwails: no randomness for a page token: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

// issue records a page load in a window, pending until it proves.
func (s *docStore) issue(windowID uint, window string) (*document, error) {
	token, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	load, err := randomHex(8)
	if err != nil {
		return nil, err
	}
	d := &document{token: token, load: load, windowID: windowID, window: window, issued: s.now()}
	if s.newEvents != nil {
		d.events = s.newEvents(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.windowOf(windowID)
	s.expire(w)
	w.pending = append(w.pending, d)
	for len(w.pending) > s.maxPending {
		s.drop(w.pending[0])
		w.pending = w.pending[1:]
	}
	s.byToken[token] = d
	return d, nil
}

func (s *docStore) windowOf(id uint) *windowDocs {
	w := s.byWindow[id]
	if w == nil {
		w = &windowDocs{}
		s.byWindow[id] = w
	}
	return w
}

// expire forgets pending documents older than pendingTTL.
func (s *docStore) expire(w *windowDocs) {
	cut := s.now().Add(-s.pendingTTL)
	n := 0
	for n < len(w.pending) && w.pending[n].issued.Before(cut) {
		s.drop(w.pending[n])
		n++
	}
	w.pending = w.pending[n:]
}

func (s *docStore) drop(d *document) {
	delete(s.byToken, d.token)
	if d.events != nil {
		d.events.close()
	}
}

// lookup returns the document of a token.
func (s *docStore) lookup(token string) (*document, docState, bool) {
	s.mu.RLock()
	d, ok := s.byToken[token]
	var st docState
	if ok {
		st = d.state
	}
	s.mu.RUnlock()
	return d, st, ok
}

// setChallenge gives a pending or retired document a fresh challenge.
func (s *docStore) setChallenge(d *document) (string, error) {
	c, err := randomHex(16)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byToken[d.token]; !ok {
		return "", errForgotten
	}
	d.challenge = c
	return c, nil
}

var errForgotten = fmt.Errorf("the page's token was forgotten (too many newer pages in its window): reload the page")

// prove makes a document the active one of its window when challenge is
// what the host ran in the window's top-level document for it. The
// document it replaces is retired, and its event listeners end.
func (s *docStore) prove(d *document, challenge string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byToken[d.token]; !ok {
		return errForgotten
	}
	if d.state == active {
		return nil // nothing to change
	}
	if d.challenge == "" || subtle.ConstantTimeCompare([]byte(d.challenge), []byte(challenge)) != 1 {
		return fmt.Errorf("the challenge is not the one the window's top-level document was given")
	}
	d.challenge = "" // one use
	w := s.windowOf(d.windowID)
	switch d.state {
	case pending:
		w.pending = without(w.pending, d)
	case retired:
		w.retired = without(w.retired, d)
	}
	if old := w.active; old != nil {
		old.state = retired
		if old.events != nil {
			// A window's listeners are its top-level document's.
			old.events.close()
		}
		w.retired = append(w.retired, old)
		for len(w.retired) > s.maxRetired {
			s.drop(w.retired[0])
			w.retired = w.retired[1:]
		}
	}
	d.state = active
	w.active = d
	if d.events != nil {
		d.events.reopen()
	}
	return nil
}

func without(list []*document, d *document) []*document {
	for i, x := range list {
		if x == d {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// counts tells how many documents a window has in each state (for tests
// and the flood check).
func (s *docStore) counts(windowID uint) (activeDocs, pendingDocs, retiredDocs int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.byWindow[windowID]
	if w == nil {
		return 0, 0, 0
	}
	if w.active != nil {
		activeDocs = 1
	}
	return activeDocs, len(w.pending), len(w.retired)
}
