package sqldb

import (
	"context"
	"errors"
	"testing"
	"time"

	"vouch/store"
)

// lineUpBatch holds the committer with a job that blocks, runs each of
// submit in its own goroutine, one after another, waiting each time until
// the committer has one more job waiting, and then lets the committer go:
// the submitted jobs form one batch, in submit order. It returns when all
// of them have returned.
func lineUpBatch(t *testing.T, db *DB, submit ...func()) {
	t.Helper()
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	blocker := make(chan error, 1)
	go func() {
		blocker <- db.inTx(ctx, func(*tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	done := make(chan struct{}, len(submit))
	for i, f := range submit {
		go func() {
			f()
			done <- struct{}{}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for db.waiting.Load() != int32(i+1) {
			if time.Now().After(deadline) {
				t.Fatalf("job %d never reached the committer's queue", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	for range submit {
		<-done
	}
}

// TestBatchRerunAfterFailingJob checks the group commit's optimistic run:
// when the last job of a batch fails, the jobs before it (which had run
// without savepoints) run again with a savepoint each and commit once, with
// the answers a single run gives; the failing job's writes are gone; and
// the next batches use savepoints straight away, running each job once.
func TestBatchRerunAfterFailingJob(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteForTest(t)
	addDevices(t, db, "D0", "D1", "GONE")
	if _, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D0", OneTimeKeys: []store.OneTimeKey{
		{KeyID: "signed_curve25519:A0", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"a0"}`)},
		{KeyID: "signed_curve25519:A1", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"a1"}`)},
		{KeyID: "signed_curve25519:A2", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"a2"}`)},
	}}); err != nil {
		t.Fatal(err)
	}

	var (
		runs                  [2]int
		deleted               int
		claimed               map[string]map[string]map[string][]byte
		dup                   bool
		errDelete, errClaim   error
		errSend, errCounted   error
		errFailing            error
		errSecond, errSecond2 error
	)
	counted := func(i int, session string) func(t *tx) error {
		return func(t *tx) error {
			runs[i]++
			_, err := t.exec(`INSERT INTO uia_sessions (session_id, user_id, completed, created_ms) VALUES (?, '@a:x', '[]', 1)`, session)
			return err
		}
	}
	lineUpBatch(t, db,
		func() { errCounted = db.inTx(ctx, counted(0, "kept")) },
		func() { deleted, errDelete = db.DeleteDevices(ctx, "@a:x", []string{"GONE"}) },
		func() {
			claimed, errClaim = db.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D0": "signed_curve25519"}})
		},
		func() {
			dup, errSend = db.SendToDevice(ctx, "@a:x", "D1", "txn1", []store.ToDeviceMessage{{RecipientUser: "@a:x", RecipientDevice: "D0", Type: "m.test", Content: []byte(`{}`)}})
		},
		func() {
			errFailing = db.inTx(ctx, func(t *tx) error {
				if _, err := t.exec(`INSERT INTO uia_sessions (session_id, user_id, completed, created_ms) VALUES ('lost', '@a:x', '[]', 1)`); err != nil {
					return err
				}
				return errInjected
			})
		},
	)
	for _, err := range []error{errCounted, errDelete, errClaim, errSend} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !errors.Is(errFailing, errInjected) {
		t.Fatalf("failing job: %v, want the injected error", errFailing)
	}
	if runs[0] != 2 {
		t.Errorf("a job before the failing one ran %d times, want 2 (optimistic run, then the rerun)", runs[0])
	}
	if s := db.WriterStats(); s.Reruns != 1 || s.Jobs < s.Batches || s.Waiting != 0 {
		t.Errorf("writer stats after one rerun: %+v", s)
	}
	if deleted != 1 {
		t.Errorf("DeleteDevices in a rerun batch reported %d devices, want 1", deleted)
	}
	if len(claimed["@a:x"]["D0"]) != 1 {
		t.Errorf("claim in a rerun batch = %v, want one key", claimed)
	}
	if dup {
		t.Error("a new to-device txn in a rerun batch was reported as a duplicate")
	}
	var kept, lost int
	if err := db.w.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE session_id = 'kept'), COUNT(*) FILTER (WHERE session_id = 'lost') FROM uia_sessions`).Scan(&kept, &lost); err != nil {
		t.Fatal(err)
	}
	if kept != 1 || lost != 0 {
		t.Errorf("stored: kept %d, lost %d; want 1 and 0", kept, lost)
	}
	counts, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D0"})
	if err != nil {
		t.Fatal(err)
	}
	if counts["signed_curve25519"] != 2 {
		t.Errorf("after one claim of three keys: counts %v, want 2 left", counts)
	}

	// The next batch, with a failing job again, runs with savepoints
	// straight away: the job before the failure runs once.
	lineUpBatch(t, db,
		func() { errSecond = db.inTx(ctx, counted(1, "second")) },
		func() { errSecond2 = db.inTx(ctx, func(*tx) error { return errInjected }) },
	)
	if errSecond != nil || !errors.Is(errSecond2, errInjected) {
		t.Fatalf("second batch: %v, %v", errSecond, errSecond2)
	}
	if runs[1] != 1 {
		t.Errorf("after a failed optimistic run, a job ran %d times, want 1", runs[1])
	}
	if s := db.WriterStats(); s.Reruns != 1 {
		t.Errorf("reruns %d after a batch run with savepoints straight away, want still 1", s.Reruns)
	}
}
