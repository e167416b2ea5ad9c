package server

import "sync"

// Notifier wakes /sync long-polls. Notify is called after a change that
// concerns the given users is committed; Subscribe returns a channel that
// receives a value after a later Notify for userID, and a function that must
// be called to unsubscribe. The in-process implementation is
// [NewLocalNotifier]; a PostgreSQL LISTEN/NOTIFY one can replace it when
// several server processes share a database.
type Notifier interface {
	Notify(userIDs ...string)
	Subscribe(userID string) (<-chan struct{}, func())
}

type localNotifier struct {
	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
}

// NewLocalNotifier returns a Notifier for a single process.
func NewLocalNotifier() Notifier {
	return &localNotifier{waiters: map[string]map[chan struct{}]struct{}{}}
}

func (n *localNotifier) Notify(userIDs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, u := range userIDs {
		for ch := range n.waiters[u] {
			select {
			case ch <- struct{}{}:
			default: // already signalled
			}
		}
	}
}

func (n *localNotifier) Subscribe(userID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.waiters[userID] == nil {
		n.waiters[userID] = map[chan struct{}]struct{}{}
	}
	n.waiters[userID][ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(n.waiters[userID], ch)
		if len(n.waiters[userID]) == 0 {
			delete(n.waiters, userID)
		}
		n.mu.Unlock()
	}
}
