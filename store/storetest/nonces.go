package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"vouch/store"
)

// testRegistrationNonces checks store.RegistrationNonces and the nonce part
// of store.Expiry: a nonce is valid up to and including its expiry, is
// taken once, an expired or unknown one is refused, a duplicate is refused
// without changing the stored one, and the sweep deletes exactly the
// nonces that expired strictly before its cut-off.
func testRegistrationNonces(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, n := range []struct {
		nonce   string
		expires int64
	}{{"n1", 1000}, {"n2", 1000}, {"n3", 500}, {"n4", 2000}} {
		must(t, s.CreateRegistrationNonce(ctx, n.nonce, n.expires))
	}
	// A duplicate is refused and leaves the stored expiry alone.
	wantErr(t, s.CreateRegistrationNonce(ctx, "n4", 9000), store.ErrConflict)

	takes := []struct {
		name  string
		nonce string
		now   int64
		want  bool
	}{
		{"at its expiry", "n1", 1000, true},
		{"taken twice", "n1", 0, false},
		{"before its expiry", "n2", 999, true},
		{"never issued", "unknown", 0, false},
		{"empty", "", 0, false},
		{"expired", "n3", 501, false},
		{"expired, then again before expiry", "n3", 0, false},
		{"duplicate kept the first expiry", "n4", 2001, false},
	}
	for _, tc := range takes {
		ok, err := s.TakeRegistrationNonce(ctx, tc.nonce, tc.now)
		must(t, err)
		eq(t, tc.name+": take "+tc.nonce, ok, tc.want)
	}

	// The sweep: strictly before the cut-off goes, the rest stays.
	for _, n := range []struct {
		nonce   string
		expires int64
	}{{"e100", 100}, {"e199", 199}, {"l200", 200}, {"l300", 300}} {
		must(t, s.CreateRegistrationNonce(ctx, n.nonce, n.expires))
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
	// Taken at time 0 every one of them would still be valid, so false
	// means the sweep removed it.
	for nonce, kept := range map[string]bool{"e100": false, "e199": false, "l200": true, "l300": true} {
		ok, err := s.TakeRegistrationNonce(ctx, nonce, 0)
		must(t, err)
		eq(t, "after the sweep: take "+nonce, ok, kept)
	}
}

// testRegistrationNoncesConcurrent takes each of several nonces from 8
// goroutines released together: exactly one take of each succeeds.
func testRegistrationNoncesConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const rounds, takers = 5, 8
	for r := range rounds {
		nonce := fmt.Sprint("race", r)
		must(t, s.CreateRegistrationNonce(ctx, nonce, 1000))
		var won atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, takers)
		for range takers {
			wg.Go(func() {
				<-start
				ok, err := s.TakeRegistrationNonce(ctx, nonce, 500)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					won.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		eq(t, nonce+": successful takes", won.Load(), int32(1))
	}
}

// testRegistrationNoncesBacklog: more expired nonces than one batch (1000
// in sqldb) go in one DeleteExpired call, and a live one stays.
func testRegistrationNoncesBacklog(t *testing.T, s store.Store) {
	ctx := context.Background()
	const many, workers = 2100, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < many; i += workers {
				if err := s.CreateRegistrationNonce(ctx, fmt.Sprint("bulk", i), int64(i)); err != nil {
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
	must(t, s.CreateRegistrationNonce(ctx, "live", many))
	u, x, n, err := s.DeleteExpired(ctx, 0, 0, many)
	must(t, err)
	eq(t, "backlog deleted", [3]int{u, x, n}, [3]int{0, 0, many})
	ok, err := s.TakeRegistrationNonce(ctx, "bulk2099", 0)
	must(t, err)
	eq(t, "take a swept nonce", ok, false)
	ok, err = s.TakeRegistrationNonce(ctx, "live", many)
	must(t, err)
	eq(t, "take the live nonce", ok, true)
}
