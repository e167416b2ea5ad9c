package wakeup

import "testing"

func signalled(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestSet checks that Wake signals exactly the user's subscribers, that
// signals merge instead of blocking, that WakeAll reaches everyone and that
// an unsubscribed channel is no longer signalled.
func TestSet(t *testing.T) {
	var s Set
	a1, unA1 := s.Subscribe("@a:x")
	a2, _ := s.Subscribe("@a:x")
	b, unB := s.Subscribe("@b:x")

	s.Wake("@a:x")
	s.Wake("@a:x") // merged with the first, does not block
	if !signalled(a1) || !signalled(a2) {
		t.Fatal("a subscriber of @a:x was not woken")
	}
	if signalled(a1) {
		t.Fatal("two wakes before a read gave two signals")
	}
	if signalled(b) {
		t.Fatal("@b:x woken by a wake of @a:x")
	}

	s.WakeAll()
	if !signalled(a1) || !signalled(a2) || !signalled(b) {
		t.Fatal("WakeAll missed a subscriber")
	}

	unA1()
	unB()
	unB() // a second unsubscribe is harmless
	s.Wake("@a:x", "@b:x")
	if signalled(a1) || signalled(b) {
		t.Fatal("an unsubscribed channel was woken")
	}
	if !signalled(a2) {
		t.Fatal("the remaining subscriber was not woken")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.waiters["@b:x"]; ok {
		t.Fatal("a user without subscribers keeps an entry")
	}
}
