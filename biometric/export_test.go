package biometric

// Waiting returns how many calls wait for the shared prompts of a caller,
// under any reason (0 when none is in progress), for tests to know when
// concurrent calls have all joined.
func (s *StepUp) Waiting(window, webview, origin string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, f := range s.flights {
		if k.caller == (caller{window, webview, origin}) {
			n += f.waiters
		}
	}
	return n
}
