package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"vouch/store"
)

// testRegistrationNonces checks store.RegistrationNonces and the nonce part
// of store.Expiry: a nonce can be used once, a second use is refused
// without changing the stored expiry, and the sweep deletes exactly the
// records that expired strictly before its cut-off (after which the nonce
// could be recorded again, though the server refuses an expired nonce
// before it reaches the store).
func testRegistrationNonces(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.UseRegistrationNonce(ctx, "n1", 1000))
	wantErr(t, s.UseRegistrationNonce(ctx, "n1", 1000), store.ErrConflict)
	wantErr(t, s.UseRegistrationNonce(ctx, "n1", 9000), store.ErrConflict)
	must(t, s.UseRegistrationNonce(ctx, "n2", 1000))

	for _, n := range []struct {
		nonce   string
		expires int64
	}{{"e100", 100}, {"e199", 199}, {"l200", 200}, {"l300", 300}} {
		must(t, s.UseRegistrationNonce(ctx, n.nonce, n.expires))
	}
	sweeps := []struct {
		name   string
		before int64
		want   int
	}{
		{"nothing older", 100, 0},
		{"strictly before", 200, 2},
		{"again is a no-op", 200, 0},
	}
	for _, tc := range sweeps {
		u, x, n, err := s.DeleteExpired(ctx, 0, 0, tc.before)
		must(t, err)
		eq(t, tc.name+": deleted", [3]int{u, x, n}, [3]int{0, 0, tc.want})
	}
	// A swept record is gone (the nonce can be recorded again); a kept one
	// is still there. "n1" kept its first expiry, 1000: a sweep at 1000
	// keeps it, one at 1001 takes it.
	for nonce, swept := range map[string]bool{"e100": true, "e199": true, "l200": false, "l300": false} {
		err := s.UseRegistrationNonce(ctx, nonce, 5000)
		if swept {
			must(t, err)
		} else {
			wantErr(t, err, store.ErrConflict)
		}
	}
	_, _, n, err := s.DeleteExpired(ctx, 0, 0, 1000)
	must(t, err)
	eq(t, "sweep at n1's expiry", n, 2) // l200, l300
	wantErr(t, s.UseRegistrationNonce(ctx, "n1", 1000), store.ErrConflict)
	_, _, n, err = s.DeleteExpired(ctx, 0, 0, 1001)
	must(t, err)
	eq(t, "sweep after n1's expiry", n, 2) // n1, n2
}

// testRegistrationNoncesConcurrent uses each of several nonces from 8
// goroutines released together: exactly one use of each succeeds, the
// others get ErrConflict.
func testRegistrationNoncesConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const rounds, users = 5, 8
	for r := range rounds {
		nonce := fmt.Sprint("race", r)
		var won, lost atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, users)
		for range users {
			wg.Go(func() {
				<-start
				switch err := s.UseRegistrationNonce(ctx, nonce, 1000); {
				case err == nil:
					won.Add(1)
				case errors.Is(err, store.ErrConflict):
					lost.Add(1)
				default:
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		eq(t, nonce+": successful uses", won.Load(), int32(1))
		eq(t, nonce+": refused uses", lost.Load(), int32(users-1))
	}
}

// testRegistrationNoncesBacklog: more expired records than one batch (1000
// in sqldb) go in one DeleteExpired call, and a live one stays.
func testRegistrationNoncesBacklog(t *testing.T, s store.Store) {
	ctx := context.Background()
	const many, workers = 2100, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < many; i += workers {
				if err := s.UseRegistrationNonce(ctx, fmt.Sprint("bulk", i), int64(i)); err != nil {
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
	must(t, s.UseRegistrationNonce(ctx, "live", many))
	u, x, n, err := s.DeleteExpired(ctx, 0, 0, many)
	must(t, err)
	eq(t, "backlog deleted", [3]int{u, x, n}, [3]int{0, 0, many})
	must(t, s.UseRegistrationNonce(ctx, "bulk2099", 0)) // swept: recorded anew
	wantErr(t, s.UseRegistrationNonce(ctx, "live", many), store.ErrConflict)
}
