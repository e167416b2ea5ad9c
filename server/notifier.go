package server

import "vouch/internal/wakeup"

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

type localNotifier struct{ set wakeup.Set }

// NewLocalNotifier returns a Notifier for a single process.
func NewLocalNotifier() Notifier { return &localNotifier{} }

func (n *localNotifier) Notify(userIDs ...string) { n.set.Wake(userIDs...) }

func (n *localNotifier) Subscribe(userID string) (<-chan struct{}, func()) {
	return n.set.Subscribe(userID)
}
