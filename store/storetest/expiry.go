package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"vouch/store"
)

// testExpiry checks store.Expiry: sessions and transaction IDs older than
// the cut-offs go, newer ones stay, the counts are what was deleted, a
// forgotten transaction ID delivers again, a second run deletes nothing,
// and a backlog larger than one batch goes in one call.
func testExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	user(t, s, "@b:x", "E1")
	for _, ms := range []int64{100, 199, 200, 300} {
		must(t, s.CreateUIASession(ctx, store.UIASession{ID: fmt.Sprint("s", ms), UserID: "@a:x", CreatedMs: ms}))
	}
	msg := []store.ToDeviceMessage{{RecipientUser: "@b:x", RecipientDevice: "E1", Type: "m.x", Content: []byte(`{}`)}}
	send := func(txn string) bool {
		t.Helper()
		dup, err := s.SendToDevice(ctx, "@a:x", "D1", txn, msg)
		must(t, err)
		return dup
	}
	eq(t, "first send", send("t1"), false)
	// Transaction IDs carry the backend's clock; a cut-off an hour ago
	// keeps them, one after now removes them.
	hourAgo := time.Now().Add(-time.Hour).UnixMilli()

	tests := []struct {
		name                 string
		uiaBefore, txnBefore int64
		wantUIA, wantTxns    int
		gone, kept           []string // session IDs
	}{
		{"nothing older", 100, hourAgo, 0, 0, nil, []string{"s100", "s199", "s200", "s300"}},
		{"strictly before", 200, hourAgo, 2, 0, []string{"s100", "s199"}, []string{"s200", "s300"}},
		{"again is a no-op", 200, hourAgo, 0, 0, []string{"s100", "s199"}, []string{"s200", "s300"}},
		{"txns too", 301, time.Now().Add(time.Second).UnixMilli(), 2, 1, []string{"s200", "s300"}, nil},
	}
	for _, tc := range tests {
		if tc.wantTxns == 0 {
			eq(t, tc.name+": replay before expiry", send("t1"), true)
		}
		u, n, nn, err := s.DeleteExpired(ctx, tc.uiaBefore, tc.txnBefore, 0)
		must(t, err)
		eq(t, tc.name+": deleted", [3]int{u, n, nn}, [3]int{tc.wantUIA, tc.wantTxns, 0})
		for _, id := range tc.gone {
			_, err := s.GetUIASession(ctx, id)
			wantErr(t, err, store.ErrNotFound)
		}
		for _, id := range tc.kept {
			_, err := s.GetUIASession(ctx, id)
			must(t, err)
		}
	}
	// The forgotten transaction ID is new again: the message is stored twice.
	eq(t, "send after expiry", send("t1"), false)
	to, err := s.CurrentPosition(ctx)
	must(t, err)
	got, err := s.ToDeviceMessages(ctx, "@b:x", "E1", 0, to, 100)
	must(t, err)
	eq(t, "messages delivered", len(got), 2)

	// A backlog of more than one batch (1000 in sqldb) goes in one call.
	// Created from several goroutines so that the writes group-commit.
	const many, workers = 2100, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < many; i += workers {
				if err := s.CreateUIASession(ctx, store.UIASession{ID: fmt.Sprint("bulk", i), CreatedMs: int64(i)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	u, n, nn, err := s.DeleteExpired(ctx, many, 0, 0)
	must(t, err)
	eq(t, "backlog deleted", [3]int{u, n, nn}, [3]int{many, 0, 0})
	_, err = s.GetUIASession(ctx, "bulk2099")
	wantErr(t, err, store.ErrNotFound)
}
