package biometric

// Waiting returns how many calls wait for the shared prompt of a caller
// (0 when none is in progress), for tests to know when concurrent calls
// have all joined it.
func (s *StepUp) Waiting(window, webview, origin string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.flights[caller{window, webview, origin}]; f != nil {
		return f.waiters
	}
	return 0
}
