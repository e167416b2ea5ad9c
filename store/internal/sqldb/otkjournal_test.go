package sqldb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vouch/store"
)

// openJournaledForTest opens a SQLite store in dir with its one-time key
// journal beside the database.
func openJournaledForTest(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := openJournaled(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close() //nolint:errcheck // test cleanup; may be closed already
	})
	return db
}

// openJournaled opens the store in dir, its idle folds foldDelay apart.
func openJournaled(dir string, foldDelay time.Duration) (*DB, error) {
	path := filepath.Join(dir, "j.db")
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db, err := New(context.Background(), w, r, SQLite, Options{OTKJournal: filepath.Join(dir, "j.db-otk-journal"), foldDelay: foldDelay})
	if err != nil {
		return nil, errors.Join(err, w.Close(), r.Close())
	}
	return db, nil
}

// reopenAfterCrash closes db leaving its pending journal records unfolded,
// as a crash would, and opens the store in dir again.
func reopenAfterCrash(t *testing.T, db *DB, dir string) *DB {
	t.Helper()
	db.keepPendingOnClose = true
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return openJournaledForTest(t, dir)
}

func topUp(t *testing.T, db *DB, dev string, ids ...string) map[string]int {
	t.Helper()
	keys := make([]store.OneTimeKey, len(ids))
	for i, id := range ids {
		keys[i] = store.OneTimeKey{KeyID: "c:" + id, Algorithm: "c", JSON: fmt.Appendf(nil, `{"key":%q}`, id)}
	}
	counts, err := db.UploadKeys(context.Background(), store.KeysUpload{UserID: "@a:x", DeviceID: dev, OneTimeKeys: keys})
	if err != nil {
		t.Fatalf("upload %v: %v", ids, err)
	}
	return counts
}

func claimID(t *testing.T, db *DB, dev string) string {
	t.Helper()
	got, err := db.ClaimKeys(context.Background(), map[string]map[string]string{"@a:x": {dev: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	for id := range got["@a:x"][dev] {
		return strings.TrimPrefix(id, "c:")
	}
	return ""
}

func storedCounts(t *testing.T, db *DB, dev string) map[string]int {
	t.Helper()
	counts, err := db.OneTimeKeyCounts(context.Background(), "@a:x", dev)
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestJournalTopUps checks the journal's path end to end: a device's first
// upload goes through SQLite (it loads the device), the next ones are
// journaled (pending, counted, not yet in one_time_key_batches), a reused
// ID with other content is still refused, and a claim folds the pending
// records first and hands the keys out in upload order.
func TestJournalTopUps(t *testing.T) {
	db := openJournaledForTest(t, t.TempDir())
	addDevices(t, db, "D")
	topUp(t, db, "D", "a1", "a2")
	if pendingLen(db) != 0 {
		t.Fatalf("the device's first upload was journaled")
	}
	if got := topUp(t, db, "D", "b2", "b1"); got["c"] != 4 {
		t.Fatalf("journaled upload answered %v, want c: 4", got)
	}
	topUp(t, db, "D", "c1")
	if n := pendingLen(db); n != 2 {
		t.Fatalf("%d records pending, want 2", n)
	}
	var rows int
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM one_time_key_batches`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d batch rows before folding, want 1", rows)
	}
	if got := storedCounts(t, db, "D"); got["c"] != 5 {
		t.Fatalf("counts %v with two records pending, want c: 5", got)
	}
	_, err := db.UploadKeys(context.Background(), store.KeysUpload{UserID: "@a:x", DeviceID: "D",
		OneTimeKeys: []store.OneTimeKey{{KeyID: "c:b1", Algorithm: "c", JSON: []byte(`"other"`)}}})
	if !errors.Is(err, store.ErrOneTimeKeyExists) {
		t.Fatalf("pending ID reused with other content: %v", err)
	}
	// An identical re-upload of a pending key is accepted and adds nothing.
	if got := topUp(t, db, "D", "b1"); got["c"] != 5 {
		t.Fatalf("identical re-upload answered %v, want c: 5", got)
	}
	checkClaims(t, db, "D", "a1 a2 b1 b2 c1")
	if pendingLen(db) != 0 || db.journal.off != int64(journalHeaderSize) {
		t.Errorf("after folding: %d pending, writing at %d", pendingLen(db), db.journal.off)
	}
	var applied int64
	if err := db.r.QueryRow(`SELECT applied_lsn FROM otk_journal`).Scan(&applied); err != nil || applied != 2 {
		t.Errorf("applied_lsn %d (%v), want 2", applied, err)
	}
}

// TestJournalReplayAfterCrash checks that records left unfolded by a crash
// are folded when the store opens again, once: the keys are claimable in
// order, counted once, and a torn record after them (a write that was never
// acknowledged) is ignored.
func TestJournalReplayAfterCrash(t *testing.T) {
	dir := t.TempDir()
	db := openJournaledForTest(t, dir)
	addDevices(t, db, "D", "E")
	topUp(t, db, "D", "a")
	topUp(t, db, "E", "e")
	topUp(t, db, "D", "b")
	topUp(t, db, "D", "c", "d")
	if n := pendingLen(db); n != 2 {
		t.Fatalf("%d records pending, want 2", n)
	}
	db = reopenAfterCrash(t, db, dir)
	if got := storedCounts(t, db, "D"); got["c"] != 4 {
		t.Fatalf("counts after replay %v, want c: 4", got)
	}
	// Crash again with nothing pending: nothing is folded twice.
	db = reopenAfterCrash(t, db, dir)
	if got := storedCounts(t, db, "D"); got["c"] != 4 {
		t.Fatalf("counts after a second opening %v, want c: 4", got)
	}
	topUp(t, db, "D", "x") // loads D
	topUp(t, db, "D", "y") // journaled
	if n := pendingLen(db); n != 1 {
		t.Fatalf("%d records pending, want 1", n)
	}
	path, seed := db.journal.path, db.journal.crcSeed
	db.keepPendingOnClose = true
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn write after the last acknowledged record.
	torn := appendJournalRecord(nil, &journalRecord{lsn: 99, dev: deviceRef{"@a:x", "D"}, alg: "c", blob: []byte(`{"c:z":"z"}`)}, seed)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(torn[:len(torn)-3]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db = openJournaledForTest(t, dir)
	checkClaims(t, db, "D", "a b c d x y ")
	if got := claimID(t, db, "E"); got != "e" {
		t.Errorf("E's key %q, want e", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal file mode %v (%v), want 0600", fi.Mode(), err)
	}
}

// TestJournalOfAnotherDatabase checks that a journal file is never replayed
// into a database it does not belong to.
func TestJournalOfAnotherDatabase(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	dbA := openJournaledForTest(t, a)
	addDevices(t, dbA, "D")
	topUp(t, dbA, "D", "1")
	topUp(t, dbA, "D", "2")
	dbA.keepPendingOnClose = true
	dbA.Close()
	dbB := openJournaledForTest(t, b)
	dbB.Close()
	data, err := os.ReadFile(filepath.Join(a, "j.db-otk-journal"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "j.db-otk-journal"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := openJournaled(b, time.Hour); err == nil || !strings.Contains(err.Error(), "another database") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("opening with another database's journal: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b, "j.db-otk-journal"), []byte("not a journal at all, just text"), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := openJournaled(b, time.Hour); err == nil {
		db.Close()
		t.Fatal("opened with a file that is not a journal")
	}
}

// TestJournalDeviceDeleted checks that the keys of a pending record go
// with their device: deleting it folds them first, and a device created
// again with the same ID starts with none.
func TestJournalDeviceDeleted(t *testing.T) {
	ctx := context.Background()
	db := openJournaledForTest(t, t.TempDir())
	addDevices(t, db, "D")
	topUp(t, db, "D", "a")
	topUp(t, db, "D", "b")
	if pendingLen(db) != 1 {
		t.Fatal("second upload not journaled")
	}
	if _, err := db.DeleteDevices(ctx, "@a:x", []string{"D"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: "D"}, []byte("tokD2")); err != nil {
		t.Fatal(err)
	}
	if got := storedCounts(t, db, "D"); len(got) != 0 {
		t.Errorf("new device's counts %v, want none", got)
	}
	if id := claimID(t, db, "D"); id != "" {
		t.Errorf("new device handed out %q", id)
	}
}

// TestJournalRecordForGoneDevice checks the fold of a record whose device
// no longer exists (it was journaled after the deletion committed): its
// keys are dropped and the fold, and the transaction carrying it, succeed.
func TestJournalRecordForGoneDevice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openJournaledForTest(t, dir)
	addDevices(t, db, "D", "E")
	topUp(t, db, "D", "a")
	topUp(t, db, "E", "e1")
	topUp(t, db, "D", "b")
	topUp(t, db, "E", "e2")
	if pendingLen(db) != 2 {
		t.Fatal("uploads not journaled")
	}
	db.keepPendingOnClose = true
	db.Close()
	// Delete D behind the journal's back, as if the record had been
	// written after the deletion.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "j.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM devices WHERE device_id = 'D'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db = openJournaledForTest(t, dir)
	if got := storedCounts(t, db, "E"); got["c"] != 2 {
		t.Errorf("E's counts %v, want c: 2", got)
	}
	var rows int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_key_batches WHERE device_id = 'D'`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d batch rows of the gone device (%v)", rows, err)
	}
}

// TestParseJournal checks the reader against torn and stale records: it
// keeps the records up to the first damaged one, and stops where an older
// record left from before a rewind follows the newer ones.
func TestParseJournal(t *testing.T) {
	rec := func(lsn uint64, id string) []byte {
		return appendJournalRecord(nil, &journalRecord{lsn: lsn, dev: deviceRef{"@a:x", "D"}, alg: "c", blob: fmt.Appendf(nil, `{"c:%s":{"key":"%s"}}`, id, id)}, 7)
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i] ^= 1
		return b
	}
	r7, r8, r9 := rec(7, "g"), rec(8, "h"), rec(9, "i")
	// A record whose checksum holds but which does not decode is an
	// error, not the end of the journal.
	for name, bad := range map[string]*journalRecord{
		"not a batch": {lsn: 8, dev: deviceRef{"@a:x", "D"}, alg: "c", blob: []byte(`[1]`)},
		"huge LSN":    {lsn: maxJournalLSN, dev: deviceRef{"@a:x", "D"}, alg: "c", blob: []byte(`{"c:x":1}`)},
	} {
		data := appendJournalRecord(nil, bad, 7)
		if bad.lsn == 8 {
			data = cat(r7, data)
		}
		if _, _, err := parseJournal(data, 7); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for _, c := range []struct {
		name string
		data []byte
		want []uint64
	}{
		{"empty", nil, nil},
		{"three", cat(r7, r8, r9), []uint64{7, 8, 9}},
		{"torn last", cat(r7, r8, r9[:len(r9)-1]), []uint64{7, 8}},
		{"torn header", cat(r7, r8[:5]), []uint64{7}},
		{"bad checksum", cat(r7, flip(r8, len(r8)-2), r9), []uint64{7}},
		{"older after newer", cat(r8, r9, rec(3, "c"), rec(4, "d")), []uint64{8, 9}},
		{"gap", cat(r7, r9), []uint64{7}},
		{"zeros", cat(r7, make([]byte, 64)), []uint64{7}},
	} {
		recs, end, err := parseJournal(c.data, 7)
		if other, _, _ := parseJournal(c.data, 8); len(c.want) > 0 && len(other) != 0 {
			t.Errorf("%s: records read with another journal's checksum seed", c.name)
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		var got []uint64
		size := 0
		for _, r := range recs {
			got = append(got, r.lsn)
			size += len(rec(r.lsn, string(rune('a'+r.lsn-1))))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || end != size {
			t.Errorf("%s: records %v ending at %d, want %v ending at %d", c.name, got, end, c.want, size)
		}
		for _, r := range recs {
			if r.dev != (deviceRef{"@a:x", "D"}) || r.alg != "c" || len(r.ids) != 1 || r.ids[0] != "c:"+string(rune('a'+r.lsn-1)) {
				t.Errorf("%s: record %+v", c.name, r)
			}
		}
	}
}

// TestJournalFoldsOnItsOwn checks the committer's own folds: once
// foldRecords records are pending, and after foldDelay without another
// write transaction.
func TestJournalFoldsOnItsOwn(t *testing.T) {
	db, err := openJournaled(t.TempDir(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	addDevices(t, db, "D")
	topUp(t, db, "D", "first")
	for i := range foldRecords {
		topUp(t, db, "D", fmt.Sprintf("k%04d", i))
	}
	// The 256th record made the committer fold after answering.
	waitFor(t, func() bool { return pendingLen(db) == 0 })
	topUp(t, db, "D", "late")
	if pendingLen(db) != 1 {
		t.Fatal("upload not journaled")
	}
	waitFor(t, func() bool { return pendingLen(db) == 0 })
	want := map[string]int{"c": foldRecords + 2}
	if got := storedCounts(t, db, "D"); !maps.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failFlushLeavingRecord makes the journal's next write fail, checks that
// a top-up of key "lost" to D then fails, and writes that top-up's record
// into the file where the failed write went, as if the write had reached
// the file and only the flush had failed. It returns the upload.
func failFlushLeavingRecord(t *testing.T, db *DB) store.KeysUpload {
	t.Helper()
	j := db.journal
	failedOff, failedLSN := j.off, j.nextLSN
	again, err := os.OpenFile(j.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := j.f.Close(); err != nil { // the next write fails
		t.Fatal(err)
	}
	up := store.KeysUpload{UserID: "@a:x", DeviceID: "D",
		OneTimeKeys: []store.OneTimeKey{{KeyID: "c:lost", Algorithm: "c", JSON: []byte(`{"key":"lost"}`)}}}
	if _, err := db.UploadKeys(context.Background(), up); err == nil {
		t.Fatal("upload succeeded with the journal's write failing")
	}
	ju, err := journalable(up)
	if err != nil || ju == nil {
		t.Fatal(ju, err)
	}
	rec := journalRecord{lsn: failedLSN, dev: ju.dev, alg: ju.alg, ids: ju.ids, blob: ju.blob}
	if _, err := again.WriteAt(appendJournalRecord(nil, &rec, j.crcSeed), failedOff); err != nil {
		t.Fatal(err)
	}
	return up
}

// journaledAB opens a journaled store in a new directory with device D of
// @a:x, whose key "a" went through SQL (loading D into the index) and "b"
// through the journal, still pending.
func journaledAB(t *testing.T) (string, *DB) {
	t.Helper()
	dir := t.TempDir()
	db := openJournaledForTest(t, dir)
	addDevices(t, db, "D")
	topUp(t, db, "D", "a")
	topUp(t, db, "D", "b")
	if pendingLen(db) != 1 {
		t.Fatalf("%d records pending after the second upload, want 1", pendingLen(db))
	}
	return dir, db
}

// checkClaims claims the device's "c" keys until none is left and checks
// their IDs, in order, against want (space-separated, without "c:"; a
// trailing space is ignored).
func checkClaims(t *testing.T, db *DB, dev, want string) {
	t.Helper()
	var got []string
	for len(got) <= len(strings.Fields(want)) {
		id := claimID(t, db, dev)
		if id == "" {
			break
		}
		got = append(got, id)
	}
	if strings.Join(got, " ") != strings.TrimSpace(want) {
		t.Errorf("%s's keys claimed in the order %q, want %q", dev, strings.Join(got, " "), strings.TrimSpace(want))
	}
}

// pendingLen reads the number of pending records under the journal's lock
// (the committer changes it).
func pendingLen(db *DB) int {
	db.journal.mu.RLock()
	defer db.journal.mu.RUnlock()
	return len(db.journal.pending)
}

// TestJournalBatchConflicts checks uploads of one device in one group
// commit: of two uploads of one key ID with different content, the first
// is journaled and the second refused; two uploads that together pass the
// unclaimed limit are not both accepted; the others are journaled.
func TestJournalBatchConflicts(t *testing.T) {
	ctx := context.Background()
	db := openJournaledForTest(t, t.TempDir())
	addDevices(t, db, "D", "E")
	topUp(t, db, "D", "first")
	topUp(t, db, "E", "first")
	up := func(dev string, limit int, errp *error, idsJSON ...string) func() {
		return func() {
			var keys []store.OneTimeKey
			for i := 0; i < len(idsJSON); i += 2 {
				keys = append(keys, store.OneTimeKey{KeyID: "c:" + idsJSON[i], Algorithm: "c", JSON: []byte(idsJSON[i+1])})
			}
			_, *errp = db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: dev, MaxUnclaimed: limit, OneTimeKeys: keys})
		}
	}
	var e1, e2, e3, e4, e5 error
	lineUpBatch(t, db,
		up("D", 0, &e1, "x", `"one"`),
		up("D", 0, &e2, "x", `"two"`),
		up("D", 0, &e3, "y", `"y"`),
		up("E", 4, &e4, "a", `"a"`, "b", `"b"`),
		up("E", 4, &e5, "c", `"c"`, "d", `"d"`),
	)
	if e1 != nil || !errors.Is(e2, store.ErrOneTimeKeyExists) || e3 != nil {
		t.Errorf("D's uploads: %v / %v / %v, want nil / ErrOneTimeKeyExists / nil", e1, e2, e3)
	}
	if e4 != nil || !errors.Is(e5, store.ErrTooManyOneTimeKeys) {
		t.Errorf("E's uploads: %v / %v, want nil / ErrTooManyOneTimeKeys", e4, e5)
	}
	if got := storedCounts(t, db, "D"); got["c"] != 3 {
		t.Errorf("D's counts %v, want c: 3", got)
	}
	if got := storedCounts(t, db, "E"); got["c"] != 3 {
		t.Errorf("E's counts %v, want c: 3", got)
	}
	checkClaims(t, db, "D", "first x y ")
	got, err := db.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D": "c"}})
	if err != nil || len(got) != 0 {
		t.Errorf("claim from an empty device: %v, %v", got, err)
	}
}

// TestJournalWriteFailure checks a failed journal write: the top-up fails,
// its key is neither counted nor claimable, journaling stops, and later
// top-ups go through SQLite and are stored.
func TestJournalWriteFailure(t *testing.T) {
	ctx := context.Background()
	db := openJournaledForTest(t, t.TempDir())
	addDevices(t, db, "D")
	topUp(t, db, "D", "a")
	topUp(t, db, "D", "b") // journaled
	// The flusher is idle between uploads; its next write fails.
	if err := db.journal.f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D",
		OneTimeKeys: []store.OneTimeKey{{KeyID: "c:lost", Algorithm: "c", JSON: []byte(`"lost"`)}}})
	if err == nil || !strings.Contains(err.Error(), "journal") {
		t.Fatalf("upload with the journal's write failing: %v", err)
	}
	if got := topUp(t, db, "D", "d"); got["c"] != 3 {
		t.Errorf("upload after the failure answered %v, want c: 3", got)
	}
	if got := storedCounts(t, db, "D"); got["c"] != 3 {
		t.Errorf("counts %v, want c: 3", got)
	}
	checkClaims(t, db, "D", "a b d ")
}

// FuzzParseJournal feeds the journal reader arbitrary file contents: it
// never panics, returns records with consecutive LSNs ending within the
// data, each with the key IDs of its batch, and what it returns encodes
// and parses back to the same records.
func FuzzParseJournal(f *testing.F) {
	r1 := appendJournalRecord(nil, &journalRecord{lsn: 1, dev: deviceRef{"@a:x", "D"}, alg: "signed_curve25519", blob: []byte(`{"signed_curve25519:AAA":{"key":"k","signatures":{}}}`)}, 0)
	r2 := appendJournalRecord(nil, &journalRecord{lsn: 2, dev: deviceRef{"@b:x", "E"}, alg: "c", blob: []byte(`{"c:1":"a","c:2":"b"}`)}, 0)
	f.Add(r1)
	f.Add(append(append([]byte(nil), r1...), r2...))
	f.Add(append(append([]byte(nil), r2...), r1...))
	f.Add(r1[:len(r1)-2])
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, end, err := parseJournal(data, 0)
		if err != nil {
			return
		}
		if end < 0 || end > len(data) {
			t.Fatalf("end %d outside %d bytes", end, len(data))
		}
		var again []byte
		for i, r := range recs {
			if i > 0 && r.lsn != recs[i-1].lsn+1 {
				t.Fatalf("LSN %d after %d", r.lsn, recs[i-1].lsn)
			}
			keys, err := decodeOTKBatch(r.blob)
			if err != nil || len(keys) != len(r.ids) {
				t.Fatalf("record %d: batch %q: %v", r.lsn, r.blob, err)
			}
			for k := range keys {
				if keys[k].id != r.ids[k] {
					t.Fatalf("record %d: ids %q", r.lsn, r.ids)
				}
			}
			again = appendJournalRecord(again, &r, 0)
		}
		back, n, err := parseJournal(again, 0)
		if err != nil || n != len(again) || len(back) != len(recs) {
			t.Fatalf("re-encoded %d records, parsed back %d (%d of %d bytes)", len(recs), len(back), n, len(again))
		}
		for i := range back {
			if back[i].lsn != recs[i].lsn || back[i].dev != recs[i].dev || back[i].alg != recs[i].alg || string(back[i].blob) != string(recs[i].blob) {
				t.Fatalf("record %d changed in a round trip", i)
			}
		}
	})
}

// TestJournalFailedFlushNotReplayed checks a flush that failed although
// its bytes reached the file: the upload failed, the client retries and
// the retry is stored through SQL; reopening must not replay the failed
// record as well (the key would be stored, and handed out, twice).
func TestJournalFailedFlushNotReplayed(t *testing.T) {
	ctx := context.Background()
	dir, db := journaledAB(t)
	up := failFlushLeavingRecord(t, db)
	if _, err := db.UploadKeys(ctx, up); err != nil { // the retry, through SQL
		t.Fatal(err)
	}
	db.keepPendingOnClose = true
	db.Close()
	db = openJournaledForTest(t, dir)
	if got := storedCounts(t, db, "D"); got["c"] != 3 {
		t.Errorf("counts after reopening %v, want c: 3", got)
	}
	checkClaims(t, db, "D", "a b lost ")
}

// TestJournalTakesOnlyWhatReadsBack checks that uploads whose record
// would be large, or would not read back as the same batch, go through
// SQL: they are stored, counted and survive a crash with the top-ups
// after them.
func TestJournalTakesOnlyWhatReadsBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openJournaledForTest(t, dir)
	addDevices(t, db, "D")
	topUp(t, db, "D", "a")
	for name, key := range map[string]store.OneTimeKey{
		"large":        {KeyID: "c:large", Algorithm: "c", JSON: []byte(`"` + strings.Repeat("x", maxJournalWrite) + `"`)},
		"invalid JSON": {KeyID: "c:invalid", Algorithm: "c", JSON: []byte(`{"key":`)},
		"invalid ID":   {KeyID: "c:\xff", Algorithm: "c", JSON: []byte(`"k"`)},
	} {
		if ju, err := journalable(store.KeysUpload{UserID: "@a:x", DeviceID: "D", OneTimeKeys: []store.OneTimeKey{key}}); err != nil || ju != nil {
			t.Errorf("%s: journalable (%v)", name, err)
		}
		if _, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D", OneTimeKeys: []store.OneTimeKey{key}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	topUp(t, db, "D", "z") // journaled
	if pendingLen(db) != 1 {
		t.Fatalf("%d pending, want 1", pendingLen(db))
	}
	db = reopenAfterCrash(t, db, dir)
	if got := storedCounts(t, db, "D"); got["c"] != 5 {
		t.Errorf("counts after a crash %v, want c: 5", got)
	}
}

// TestJournalStaleRecordsBeyondStopNotReplayed checks opening a journal
// whose replay stopped at a torn record with intact (never acknowledged)
// records after it: those records are gone once the store has opened, so
// that later records written over the torn one can never line up with
// them and bring them back.
func TestJournalStaleRecordsBeyondStopNotReplayed(t *testing.T) {
	ctx := context.Background()
	dir, db := journaledAB(t)
	off, path, seed := db.journal.off, db.journal.path, db.journal.crcSeed
	db.keepPendingOnClose = true
	db.Close()
	rec := func(lsn uint64, id string) []byte {
		return appendJournalRecord(nil, &journalRecord{lsn: lsn, dev: deviceRef{"@a:x", "D"}, alg: "c", blob: fmt.Appendf(nil, `{"c:%s":{"key":"%s"}}`, id, id)}, seed)
	}
	long := strings.Repeat("t", 80)
	// A torn LSN 2 as long as a later LSN 2 of key "long" written after
	// the header, then an intact LSN 3 that was never acknowledged.
	torn := make([]byte, len(rec(2, long))-(int(off)-journalHeaderSize))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(append(torn, rec(3, "s")...), off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db = openJournaledForTest(t, dir)
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(journalHeaderSize) {
		t.Fatalf("journal after opening: %v bytes (%v), want the header alone", fi.Size(), err)
	}
	// The client retries "s" through SQL, then a top-up is journaled
	// from the header on.
	if _, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D",
		OneTimeKeys: []store.OneTimeKey{{KeyID: "c:s", Algorithm: "c", JSON: []byte(`{"key":"s"}`)}}}); err != nil {
		t.Fatal(err)
	}
	topUp(t, db, "D", long)
	if pendingLen(db) != 1 {
		t.Fatal("not journaled")
	}
	db = reopenAfterCrash(t, db, dir)
	checkClaims(t, db, "D", "a b s "+long+" ")
}

// craftedFrame returns a 9-byte journal frame whose checksum holds but whose
// payload does not decode, with no ':' and only ASCII bytes (so that it can
// be part of an algorithm name an HTTP client sends).
func craftedFrame(t *testing.T) []byte {
	t.Helper()
	for c := byte('A'); c <= 'z'; c++ {
		p := []byte{c}
		if _, ok := decodeJournalRecord(p); ok {
			continue
		}
		f := make([]byte, 8, 9)
		binary.LittleEndian.PutUint32(f, 1)
		binary.LittleEndian.PutUint32(f[4:], crc32.Checksum(p, crc32c))
		f = append(f, p...)
		good := true
		for _, b := range f {
			if b == ':' || b >= 0x80 {
				good = false
			}
		}
		if good {
			return f
		}
	}
	t.Fatal("no frame")
	return nil
}

// TestJournalKeyBytesCannotFrameRecords checks that a user cannot make
// the journal unreadable with the bytes of their own uploads: an
// algorithm name carrying a frame whose checksum holds (and whose
// contents do not decode) is journaled and folded, the file is rewound,
// and a later top-up sized to end exactly where that frame lay is
// journaled over it. The store must still open (a record's checksum is
// seeded with the journal ID, which the client does not know, and replay
// checks the LSN before the contents).
func TestJournalKeyBytesCannotFrameRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openJournaledForTest(t, dir)
	addDevices(t, db, "A")
	topUp(t, db, "A", "first") // SQL, loads A
	frame := craftedFrame(t)
	pad := strings.Repeat("p", 40)
	alg := pad + string(frame)
	up := func(keyID, alg string, js string) {
		t.Helper()
		_, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "A",
			OneTimeKeys: []store.OneTimeKey{{KeyID: keyID, Algorithm: alg, JSON: []byte(js)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	lsnB := db.journal.nextLSN
	up(alg+":b", alg, `{"key":"b"}`) // journaled at the header
	if pendingLen(db) != 1 {
		t.Fatal("B not journaled")
	}
	// Where the frame lies in the file.
	user, dev := "@a:x", "A"
	fOff := journalHeaderSize + 8 + len(binary.AppendUvarint(nil, lsnB)) + 1 + len(user) + 1 + len(dev) +
		len(binary.AppendUvarint(nil, uint64(len(alg)))) + len(pad)
	// Any SQL write folds B; nothing pending: the committer rewinds.
	if _, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "A",
		FallbackKeys: []store.OneTimeKey{{KeyID: "c:fb", Algorithm: "c", JSON: []byte(`{"key":"fb"}`)}}}); err != nil {
		t.Fatal(err)
	}
	if pendingLen(db) != 0 || db.journal.off != int64(journalHeaderSize) {
		t.Fatal("not rewound")
	}
	// R: a top-up sized to end exactly where the frame starts.
	lsnR := db.journal.nextLSN
	var js string
	for n := 0; n < 200; n++ {
		js = fmt.Sprintf(`{"key":"%s"}`, strings.Repeat("r", n))
		ju, _ := journalable(store.KeysUpload{UserID: user, DeviceID: dev, OneTimeKeys: []store.OneTimeKey{{KeyID: "c:r", Algorithm: "c", JSON: []byte(js)}}})
		rec := journalRecord{lsn: lsnR, dev: ju.dev, alg: ju.alg, blob: ju.blob}
		if journalHeaderSize+len(appendJournalRecord(nil, &rec, 0)) == fOff {
			break
		}
	}
	up("c:r", "c", js)
	if pendingLen(db) != 1 {
		t.Fatal("R not journaled")
	}
	// A clean shutdown (folds R), then the next start.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openJournaledForTest(t, dir)
	if got := storedCounts(t, db, "A"); got["c"] != 2 || got[alg] != 1 {
		t.Errorf("counts after reopening %v, want c: 2 and the crafted algorithm 1", got)
	}
}

// TestJournalVoidPersistedOnClose checks a failed flush whose bytes
// reached the file, followed by a clean Close with no write in between:
// closing moves applied_lsn past the failed record, which the next opening
// does not replay (the client saw that upload fail).
func TestJournalVoidPersistedOnClose(t *testing.T) {
	dir := t.TempDir()
	db := openJournaledForTest(t, dir)
	addDevices(t, db, "D")
	topUp(t, db, "D", "a")
	failFlushLeavingRecord(t, db)
	db.Close()
	db = openJournaledForTest(t, dir)
	if got := storedCounts(t, db, "D"); got["c"] != 1 {
		t.Errorf("counts after reopening %v, want c: 1", got)
	}
	checkClaims(t, db, "D", "a")
}
