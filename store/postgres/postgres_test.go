package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"vouch/internal/pgtest"
	"vouch/store"
	"vouch/store/postgres"
	"vouch/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t testing.TB, dsn string) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.Start(t)) })
}

func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{"postgres://[::1", "port=notanumber"} {
		if _, err := postgres.Open(context.Background(), u); !errors.Is(err, postgres.ErrDatabaseURL) {
			t.Errorf("Open(%q) error %v, want ErrDatabaseURL", u, err)
		}
	}
}

// TestConcurrentStartMigratesOnce opens several instances on one empty
// database at the same time: without the advisory lock they race on
// CREATE TABLE and the schema_migrations rows.
func TestConcurrentStartMigratesOnce(t *testing.T) {
	dsn := pgtest.Start(t)
	const n = 4
	stores := make([]store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	ctx := context.Background()
	if err := stores[0].CreateAccount(ctx, store.Account{UserID: "@a:x", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[n-1].GetAccount(ctx, "@a:x"); err != nil {
		t.Fatalf("account written through instance 0 not seen by instance %d: %v", n-1, err)
	}
}

// TestPositionsOrderedAcrossInstances writes through two instances at once
// and checks that every position is used exactly once and that whatever
// CurrentPosition reports is fully readable (no change committed late below
// it).
func TestPositionsOrderedAcrossInstances(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := context.Background()
	const writers, each = 4, 15
	var wg sync.WaitGroup
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range each {
				if err := s.PutAccountData(ctx, "@u:x", fmt.Sprintf("t.%d.%d", w, i), []byte(`{}`)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// A reader that samples the position while writes go on: everything at
	// or below it must already be visible.
	stop := make(chan struct{})
	var rg sync.WaitGroup
	rg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			pos, err := b.CurrentPosition(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			got, err := a.AccountDataSince(ctx, "@u:x", 0, pos)
			if err != nil {
				t.Error(err)
				return
			}
			if int64(len(got)) != pos {
				t.Errorf("at position %d, %d account data rows visible", pos, len(got))
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	rg.Wait()
	pos, err := a.CurrentPosition(ctx)
	if err != nil || pos != writers*each {
		t.Fatalf("final position %d (%v), want %d", pos, err, writers*each)
	}
}

// TestReopenKeepsData checks that data and positions survive a restart.
func TestReopenKeepsData(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccountData(ctx, "@a:x", "m.t", []byte(`{"k":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dsn)
	got, err := s.GetAccountData(ctx, "@a:x", "m.t")
	if err != nil || string(got) != `{"k":1}` {
		t.Fatalf("after reopen: %s, %v", got, err)
	}
	if pos, err := s.CurrentPosition(ctx); err != nil || pos != 1 {
		t.Fatalf("position after reopen %d (%v), want 1", pos, err)
	}
}

// BenchmarkWrite measures one durable (synchronous_commit=on) write
// transaction, comparable to store/sqlite's BenchmarkWrite.
func BenchmarkWrite(b *testing.B) {
	storetest.BenchmarkWrite(b, open(b, pgtest.Start(b)))
}

// BenchmarkGetDeviceKeys measures the /keys/query reads in parallel,
// comparable to store/sqlite's BenchmarkGetDeviceKeys.
func BenchmarkGetDeviceKeys(b *testing.B) {
	storetest.BenchmarkKeysQueryReads(b, open(b, pgtest.Start(b)))
}

// BenchmarkUploadKeys measures one-time key uploads from 16 goroutines,
// comparable to store/sqlite's BenchmarkUploadKeys.
func BenchmarkUploadKeys(b *testing.B) {
	storetest.BenchmarkUploadKeys(b, open(b, pgtest.Start(b)))
}

// TestCrossSigningConflictAcrossInstances races two instances replacing the
// same master key, both expecting the current one: exactly one may win,
// the other must see ErrConflict (the write lock serializes the check and
// the write across processes).
func TestCrossSigningConflictAcrossInstances(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := context.Background()
	if err := a.CreateAccount(ctx, store.Account{UserID: "@u:x"}); err != nil {
		t.Fatal(err)
	}
	master := func(pub string) store.CrossSigningKeyRecord {
		return store.CrossSigningKeyRecord{UserID: "@u:x", Usage: store.UsageMaster, PublicKey: pub, KeyJSON: []byte(`{"k":"` + pub + `"}`)}
	}
	current := ""
	for round := range 20 {
		var wg sync.WaitGroup
		var errs [2]error
		for i, s := range []store.Store{a, b} {
			pub := fmt.Sprintf("M%d-%d", round, i)
			wg.Go(func() {
				_, errs[i] = s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@u:x", ExpectMaster: current, Keys: []store.CrossSigningKeyRecord{master(pub)}})
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("round %d: both instances replaced the master key expecting %q", round, current)
			case err == nil:
				won = i
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: instance %d: %v", round, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no instance won", round)
		}
		current = fmt.Sprintf("M%d-%d", round, won)
		got, err := b.GetCrossSigningKeys(ctx, []string{"@u:x"})
		if err != nil || got["@u:x"][store.UsageMaster].PublicKey != current {
			t.Fatalf("round %d: stored master %v (%v), want %s", round, got["@u:x"][store.UsageMaster].PublicKey, err, current)
		}
	}
}

// TestWriterStats checks that the PostgreSQL store reports its write path
// for /metrics: a write is one write transaction in at least one batch.
func TestWriterStats(t *testing.T) {
	s := open(t, pgtest.Start(t))
	before, ok := store.WriterStatsOf(s)
	if !ok {
		t.Fatal("the PostgreSQL store reports no writer stats")
	}
	if err := s.CreateAccount(context.Background(), store.Account{UserID: "@stats:x"}); err != nil {
		t.Fatal(err)
	}
	after, _ := store.WriterStatsOf(s)
	if after.Jobs != before.Jobs+1 || after.Batches < before.Batches+1 || after.BatchSeconds <= before.BatchSeconds {
		t.Errorf("writer stats: %+v before a write, %+v after", before, after)
	}
}
