// Package wakeup is the in-process fan-out behind /sync long-polls: channels
// subscribed per user ID and signalled by user ID. Both of the server's
// notifiers use it, the single-process one and the PostgreSQL one (which
// adds delivery between processes). It is not a message queue: a signal
// carries no data, and signals to a channel not yet drained are merged.
package wakeup

import "sync"

// Set holds the subscribed channels. The zero value is ready to use; a Set
// must not be copied after first use.
type Set struct {
	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a value after a later Wake of
// userID (or WakeAll), and the function that unsubscribes it.
func (s *Set) Subscribe(userID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.waiters == nil {
		s.waiters = map[string]map[chan struct{}]struct{}{}
	}
	if s.waiters[userID] == nil {
		s.waiters[userID] = map[chan struct{}]struct{}{}
	}
	s.waiters[userID][ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.waiters[userID], ch)
		if len(s.waiters[userID]) == 0 {
			delete(s.waiters, userID)
		}
		s.mu.Unlock()
	}
}

// Wake signals every channel subscribed for userIDs. It never blocks: a
// channel already signalled stays signalled once.
func (s *Set) Wake(userIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range userIDs {
		s.wakeLocked(u)
	}
}

// WakeAll signals every subscribed channel (for when signals may have been
// lost, such as a dropped connection between processes).
func (s *Set) WakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u := range s.waiters {
		s.wakeLocked(u)
	}
}

func (s *Set) wakeLocked(userID string) {
	for ch := range s.waiters[userID] {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
}
