package sqldb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vouch/store"
)

// The one-time key journal (SQLite only; docs/storage.md, "The one-time key
// journal").
//
// A plain top-up — an upload of nothing but one-time keys, at most
// maxOTKBatch of them, of one algorithm, none of whose IDs the device
// already has, for a device the writer's index holds — is acknowledged
// once it is in an append-only file beside the database and that file has
// been flushed to disk, instead of once a SQLite transaction holding it
// has committed. The committer makes the top-ups of a group commit records
// and hands them to the flusher goroutine, which writes what has gathered
// with one write and one flush (a fraction of a SQLite commit) and then
// answers them, while the committer goes on with the next group.
//
// The journaled uploads wait in memory (pending) and are folded into
// one_time_key_batches and one_time_key_counts at the start of the next
// SQLite write transaction, inside it, together with the number of the
// last record folded (otk_journal.applied_lsn, migration 10). Because every
// write transaction folds first, a claim, a device deletion or any other
// write sees journaled keys exactly as if SQLite had stored them; the
// committer also folds on its own when pending holds foldRecords records
// or has waited foldDelay. Reads of the counts add the pending keys.
//
// When the store opens, the records after applied_lsn are folded before
// anything else runs, and the file is cut back to its header. A torn last
// write was never acknowledged and is ignored; every acknowledged record
// lies before it. A failed write or flush stops the journal; the LSNs
// handed out until then are voided (applied_lsn moves past them) by the
// next transaction, so that a failed upload's record is never replayed on
// top of its retry.
//
// File layout: journalMagic, the database's 16-byte journal ID (from
// otk_journal, so that a journal is never replayed into another database),
// then records: a little-endian uint32 payload length, the CRC-32C of the
// journal ID followed by the payload (so that no bytes a client chose can
// pass for a record), and the payload — uvarint LSN, then user ID, device
// ID, algorithm and the batch's JSON object (as encodeOTKBatch writes it),
// each as a uvarint length and bytes. LSNs increase by one per record. Once
// everything in the file is folded the committer writes from the start
// again; replay stops at the first record that is torn or does not carry a
// higher LSN than the one before it (an older record left from before
// that rewind).

// journalMagic starts a one-time key journal file.
const journalMagic = "vouchOTKjournal1"

// journalHeaderSize is the magic and the journal ID.
const journalHeaderSize = len(journalMagic) + 16

// maxJournalRecord bounds a record's payload when reading, far above
// maxJournalWrite, the most a record may carry when written (a batch of
// maxOTKBatch keys is about 2 KB; a larger upload goes through SQL).
const (
	maxJournalRecord = 1 << 20
	maxJournalWrite  = 64 << 10
)

// maxJournalLSN bounds LSNs, so that pseudoSeq stays negative and an LSN
// fits applied_lsn.
const maxJournalLSN = 1 << 62

// foldRecords is how many pending records make the committer fold them
// without waiting for another write transaction. A fold costs the writer
// some 30 µs per record, during which every write waits: 256 records keep
// that wait near 10 ms.
const foldRecords = 256

// foldDelay is how long pending records wait for a write transaction to
// fold them before the committer folds them on its own.
const foldDelay = 200 * time.Millisecond

// crc32c is the table of the records' checksums.
var crc32c = crc32.MakeTable(crc32.Castagnoli)

// otkJournal is the open journal of a store. Only the committer writes it
// and changes pending; readers of the counts take mu for reading.
type otkJournal struct {
	f    *os.File
	path string
	id   []byte
	// crcSeed is the checksum of id, which every record's checksum
	// continues: a record's checksum depends on the journal ID, which no
	// client knows, so no bytes a client chooses (a key ID, an algorithm
	// name) can pass for a record of their own.
	crcSeed uint32
	// off is where the next record is written: the flusher's while it
	// runs, the committer's while nothing is in flight (it rewinds it).
	off int64
	// nextLSN numbers the next record (the committer's).
	nextLSN uint64
	// appliedDB is otk_journal.applied_lsn as last committed; voidThrough,
	// after a failed flush, the last LSN handed out then: the records up
	// to it that are not pending must never be replayed, since their
	// uploads failed and may since have been stored through SQL. The next
	// write transaction moves applied_lsn past them (foldJournal). Both
	// the committer's.
	appliedDB, voidThrough uint64
	// err, once set, stops further journaling (a failed write or flush
	// leaves the file's state unknown); top-ups then go through SQLite.
	// The committer's.
	err error
	// failed is set by the flusher when a write or flush fails, before it
	// answers the clients.
	failed atomic.Bool
	// flushes carries records to the flusher goroutine, flushed its
	// reports; flusherDone is closed when it has stopped.
	flushes     chan *flushRequest
	flushed     chan flushResult
	flusherDone chan struct{}
	// foldDelay is how long pending records wait before the committer
	// folds them on its own (the constant foldDelay but in tests).
	foldDelay time.Duration

	// gen and foldMu order the counts' readers with a fold's commit: gen
	// is odd from just before such a commit until the folded records have
	// left pending, and the committer holds foldMu meanwhile. A reader
	// that saw gen change while it read starts again, so that it counts
	// each key once (in SQLite or in pending); one that finds gen odd
	// waits on foldMu. No lock is held across a reader's query.
	gen    atomic.Uint64
	foldMu sync.RWMutex
	// mu guards pending and pendingCounts.
	mu      sync.RWMutex
	pending []journalRecord
	// pendingCounts are pending's keys per device and algorithm.
	pendingCounts map[deviceRef]map[string]int
}

// journalRecord is one journaled upload.
type journalRecord struct {
	lsn  uint64
	dev  deviceRef
	alg  string
	ids  []string // the keys' IDs, sorted (the batch's order)
	blob []byte   // the batch's JSON object
}

// pseudoSeq is what the index records, in place of a batch seq, for the
// keys of a record not folded yet: negative and distinct from ambiguous
// and from every other record's.
func (r *journalRecord) pseudoSeq() int64 { return -2 - int64(r.lsn) }

// journalUpload is a top-up that may be journaled, carried by its job.
type journalUpload struct {
	dev   deviceRef
	alg   string
	ids   []string
	blob  []byte
	limit int
	// counts is the answer when the committer journaled the upload (nil
	// when it ran the job's SQL instead).
	counts map[string]int
}

// journalable returns u as a top-up the journal may take, or nil: only
// one-time keys, at most maxOTKBatch, one algorithm, distinct IDs.
func journalable(u store.KeysUpload) (*journalUpload, error) {
	if u.DeviceKeys != nil || len(u.FallbackKeys) > 0 || len(u.OneTimeKeys) == 0 || len(u.OneTimeKeys) > maxOTKBatch {
		return nil, nil
	}
	keys := slices.Clone(u.OneTimeKeys)
	slices.SortFunc(keys, func(a, b store.OneTimeKey) int { return strings.Compare(a.KeyID, b.KeyID) })
	ids := make([]string, len(keys))
	for i, k := range keys {
		if k.Algorithm != keys[0].Algorithm || (i > 0 && k.KeyID == keys[i-1].KeyID) {
			return nil, nil
		}
		ids[i] = k.KeyID
	}
	blob, err := encodeOTKBatch(keys)
	if err != nil {
		return nil, err
	}
	// A record must read back as exactly this batch (replay stops at one
	// that does not): key JSON that is not valid, or an ID that does not
	// survive JSON, goes through SQL, and so does anything large.
	if len(blob)+len(u.UserID)+len(u.DeviceID)+len(keys[0].Algorithm)+64 > maxJournalWrite {
		return nil, nil
	}
	back, err := decodeOTKBatch(blob)
	if err != nil || len(back) != len(ids) {
		return nil, nil
	}
	for i := range back {
		if back[i].id != ids[i] {
			return nil, nil
		}
	}
	return &journalUpload{dev: deviceRef{u.UserID, u.DeviceID}, alg: keys[0].Algorithm, ids: ids, blob: blob, limit: u.MaxUnclaimed}, nil
}

// openOTKJournal opens (creating it when missing) the journal at path for
// db, whose migrations have run, and makes the records it holds beyond the
// database's applied LSN pending.
func openOTKJournal(ctx context.Context, db *DB, path string) (*otkJournal, error) {
	var id []byte
	var applied int64
	if err := db.w.QueryRowContext(ctx, `SELECT journal_id, applied_lsn FROM otk_journal WHERE id = 0`).Scan(&id, &applied); err != nil {
		return nil, fmt.Errorf("one-time key journal: read state: %w", err)
	}
	if len(id) != 16 {
		return nil, fmt.Errorf("one-time key journal: journal ID of %d bytes", len(id))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("one-time key journal: %w", err)
	}
	j := &otkJournal{f: f, path: path, id: id, crcSeed: crc32.Update(0, crc32c, id), pendingCounts: map[deviceRef]map[string]int{}}
	if err := j.load(uint64(applied)); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// load reads the file: it writes the header into an empty one, checks it
// otherwise, and makes the records after applied pending.
func (j *otkJournal) load(applied uint64) error {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return fmt.Errorf("one-time key journal: read: %w", err)
	}
	j.nextLSN = applied + 1
	j.appliedDB = applied
	if len(data) == 0 {
		hdr := append([]byte(journalMagic), j.id...)
		if _, err := j.f.WriteAt(hdr, 0); err != nil {
			return fmt.Errorf("one-time key journal: %w", err)
		}
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("one-time key journal: %w", err)
		}
		if err := syncDir(filepath.Dir(j.path)); err != nil {
			return fmt.Errorf("one-time key journal: %w", err)
		}
		j.off = int64(journalHeaderSize)
		return nil
	}
	if len(data) < journalHeaderSize || string(data[:len(journalMagic)]) != journalMagic {
		return fmt.Errorf("one-time key journal %s: not a journal file", j.path)
	}
	if !bytes.Equal(data[len(journalMagic):journalHeaderSize], j.id) {
		return fmt.Errorf("one-time key journal %s: belongs to another database", j.path)
	}
	recs, end, err := parseJournal(data[journalHeaderSize:], j.crcSeed)
	if err != nil {
		return fmt.Errorf("one-time key journal %s: %w", j.path, err)
	}
	j.off = int64(journalHeaderSize + end)
	for _, r := range recs {
		if r.lsn > applied {
			j.addPending(r)
		}
		j.nextLSN = max(j.nextLSN, r.lsn+1)
	}
	if len(j.pending) == 0 {
		j.off = int64(journalHeaderSize)
	}
	return nil
}

// parseJournal returns the records of data (the file after its header) up
// to the first torn one or the first whose LSN does not follow the one
// before it, and where they end. A record whose checksum holds but which
// does not decode was written damaged, which a torn write does not explain:
// that is an error.
func parseJournal(data []byte, seed uint32) ([]journalRecord, int, error) {
	var out []journalRecord
	off := 0
	for len(data)-off >= 8 {
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n == 0 || n > maxJournalRecord || uint64(len(data)-off-8) < uint64(n) {
			break
		}
		payload := data[off+8 : off+8+int(n)]
		if crc32.Update(seed, crc32c, payload) != sum {
			break
		}
		if lsn, n := binary.Uvarint(payload); n > 0 && len(out) > 0 && lsn != out[len(out)-1].lsn+1 {
			// Not the next record: an older one, or bytes that only
			// look like one. Replay ends here.
			break
		}
		r, ok := decodeJournalRecord(payload)
		if !ok {
			return nil, 0, fmt.Errorf("record at byte %d: checksum holds, contents damaged", journalHeaderSize+off)
		}
		out = append(out, r)
		off += 8 + int(n)
	}
	return out, off, nil
}

// appendJournalRecord appends r's framed record to b, its checksum seeded
// with seed.
func appendJournalRecord(b []byte, r *journalRecord, seed uint32) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	b = binary.AppendUvarint(b, r.lsn)
	for _, s := range []string{r.dev.user, r.dev.device, r.alg} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.blob)))
	b = append(b, r.blob...)
	payload := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Update(seed, crc32c, payload))
	return b
}

// decodeJournalRecord parses a record's payload; the key IDs come from
// its batch.
func decodeJournalRecord(p []byte) (journalRecord, bool) {
	var r journalRecord
	lsn, n := binary.Uvarint(p)
	if n <= 0 || lsn == 0 || lsn >= maxJournalLSN {
		return r, false
	}
	r.lsn = lsn
	p = p[n:]
	var fields [4][]byte
	for i := range fields {
		l, n := binary.Uvarint(p)
		if n <= 0 || uint64(len(p)-n) < l {
			return r, false
		}
		fields[i] = p[n : n+int(l)]
		p = p[n+int(l):]
	}
	if len(p) != 0 {
		return r, false
	}
	r.dev = deviceRef{string(fields[0]), string(fields[1])}
	r.alg = string(fields[2])
	r.blob = bytes.Clone(fields[3])
	keys, err := decodeOTKBatch(r.blob)
	if err != nil || len(keys) == 0 || len(keys) > maxOTKBatch {
		return r, false
	}
	r.ids = make([]string, len(keys))
	for i, k := range keys {
		r.ids[i] = k.id
	}
	return r, true
}

// needsFold reports whether a transaction would fold something: pending
// records, or LSNs voided by a failed flush that applied_lsn has not
// passed yet (committer only).
func (j *otkJournal) needsFold() bool {
	return len(j.pending) > 0 || j.voidThrough > j.appliedDB
}

// addPending records r as pending (mu held, or no reader yet).
func (j *otkJournal) addPending(r journalRecord) {
	j.pending = append(j.pending, r)
	c := j.pendingCounts[r.dev]
	if c == nil {
		c = map[string]int{}
		j.pendingCounts[r.dev] = c
	}
	c[r.alg] += len(r.ids)
}

// countsWithPending returns read's counts (of the database) plus dev's
// pending keys, read so that a fold committing meanwhile is seen either
// entirely or not at all (see gen).
func (j *otkJournal) countsWithPending(dev deviceRef, read func() (map[string]int, error)) (map[string]int, error) {
	for try := 0; ; try++ {
		if try == 3 {
			// Folds keep committing: hold them off for one read (the
			// reader pool is not the writer's, so this cannot wait on
			// itself).
			j.foldMu.RLock()
			defer j.foldMu.RUnlock()
		}
		g := j.gen.Load()
		if g&1 == 1 {
			// A commit is under way, holding foldMu: once it is over,
			// gen is even again.
			j.foldMu.RLock()
			g = j.gen.Load()
			j.foldMu.RUnlock()
		}
		counts, err := read()
		if err != nil {
			return nil, err
		}
		j.mu.RLock()
		for alg, n := range j.pendingCounts[dev] {
			counts[alg] += n
		}
		j.mu.RUnlock()
		if j.gen.Load() == g {
			return counts, nil
		}
	}
}

// resetFile empties the file after its header (everything in it folded):
// what opening does, so that records beyond where replay stopped can never
// be mistaken for later ones.
func (j *otkJournal) resetFile() error {
	if err := j.f.Truncate(int64(journalHeaderSize)); err != nil {
		return fmt.Errorf("one-time key journal: %w", err)
	}
	if err := syncData(j.f); err != nil {
		return fmt.Errorf("one-time key journal: %w", err)
	}
	j.off = int64(journalHeaderSize)
	return nil
}

// splitJournaled takes out of batch the jobs the journal may take (their
// devices indexed, their IDs new to the device and to the batch, within
// the unclaimed limit) and returns the rest and them. Only the committer
// calls it.
func (db *DB) splitJournaled(batch []*job) (rest, journaled []*job) {
	x := db.otk
	x.mu.Lock()
	defer x.mu.Unlock()
	type claimed struct {
		hashes map[uint64]bool
		added  int
	}
	var inBatch map[deviceRef]*claimed
	for _, jb := range batch {
		ju := jb.otk
		if ju == nil || jb.ctx.Err() != nil {
			rest = append(rest, jb)
			continue
		}
		d, ok := x.devices[ju.dev]
		if !ok {
			// Loading the device needs a transaction: SQL it is.
			rest = append(rest, jb)
			continue
		}
		c := inBatch[ju.dev]
		fresh := true
		for _, id := range ju.ids {
			h := x.hash(id)
			if _, dup := d.ids[h]; dup || (c != nil && c.hashes[h]) {
				fresh = false
				break
			}
		}
		if fresh && ju.limit > 0 {
			total := len(ju.ids)
			if c != nil {
				total += c.added
			}
			for _, n := range d.counts {
				total += n
			}
			fresh = total <= ju.limit
		}
		if !fresh {
			rest = append(rest, jb)
			continue
		}
		if c == nil {
			if inBatch == nil {
				inBatch = map[deviceRef]*claimed{}
			}
			c = &claimed{hashes: map[uint64]bool{}}
			inBatch[ju.dev] = c
		}
		for _, id := range ju.ids {
			c.hashes[x.hash(id)] = true
		}
		c.added += len(ju.ids)
		journaled = append(journaled, jb)
	}
	return rest, journaled
}

// maxFlushesInFlight bounds the writes handed to the flusher and not yet
// reported back; the flusher merges the ones waiting into one write.
const maxFlushesInFlight = 8

// flushRequest is a group commit's journaled top-ups for the flusher.
type flushRequest struct {
	buf      []byte
	jobs     []*job
	firstLSN uint64
}

// flushResult reports requests the flusher has written and flushed (err
// nil) or failed; firstLSN is the first record of the first of them.
type flushResult struct {
	requests int
	firstLSN uint64
	err      error
}

// flusher writes and flushes the requests the committer hands it, merging
// those that wait into one write and one fdatasync, then acknowledges
// their jobs and reports back. After a failure it fails everything.
func (j *otkJournal) flusher() {
	defer close(j.flusherDone)
	var failed error
	for req := range j.flushes {
		reqs := []*flushRequest{req}
	more:
		for {
			select {
			case r, ok := <-j.flushes:
				if !ok {
					break more
				}
				reqs = append(reqs, r)
			default:
				break more
			}
		}
		err := failed
		if err == nil {
			buf := req.buf
			if len(reqs) > 1 {
				buf = nil
				for _, r := range reqs {
					buf = append(buf, r.buf...)
				}
			}
			_, err = j.f.WriteAt(buf, j.off)
			if err == nil {
				err = syncData(j.f)
			}
			if err != nil {
				// Whether the records reached the disk is unknown:
				// answer as a failed commit would, and stop.
				failed = fmt.Errorf("one-time key journal: %w", err)
				err = failed
			} else {
				j.off += int64(len(buf))
			}
		}
		if err != nil {
			// Before any client hears of the failure, so that the
			// committer, which looks at this before journaling, takes
			// the report first and journals nothing more.
			j.failed.Store(true)
		}
		for _, r := range reqs {
			for _, jb := range r.jobs {
				jb.done <- err
			}
		}
		j.flushed <- flushResult{requests: len(reqs), firstLSN: req.firstLSN, err: err}
	}
}

// sendJournaled makes the jobs' uploads records: it numbers them, makes
// them pending, indexes their keys, sets each job's answer and hands the
// records to the flusher, which acknowledges the jobs once the records
// are on disk. Only the committer calls it; the committer runs no SQL
// transaction while records are in flight (waitFlushed), so that a fold
// only ever writes acknowledged records into the database.
func (db *DB) sendJournaled(jobs []*job) {
	j := db.journal
	x := db.otk
	req := &flushRequest{firstLSN: j.nextLSN}
	recs := make([]journalRecord, 0, len(jobs))
	x.mu.Lock()
	for _, jb := range jobs {
		ju := jb.otk
		d := x.devices[ju.dev]
		if d == nil {
			// splitJournaled found it and only the committer drops
			// devices: this does not happen.
			jb.done <- errors.New("one-time key journal: device left the index")
			continue
		}
		r := journalRecord{lsn: j.nextLSN, dev: ju.dev, alg: ju.alg, ids: ju.ids, blob: ju.blob}
		j.nextLSN++
		for _, id := range ju.ids {
			x.add(d, ju.alg, id, r.pseudoSeq())
		}
		counts := make(map[string]int, len(d.counts))
		for alg, n := range d.counts {
			if n > 0 {
				counts[alg] = n
			}
		}
		ju.counts = counts
		req.buf = appendJournalRecord(req.buf, &r, j.crcSeed)
		req.jobs = append(req.jobs, jb)
		recs = append(recs, r)
	}
	x.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	j.mu.Lock()
	for _, r := range recs {
		j.addPending(r)
	}
	j.mu.Unlock()
	if db.inFlight == maxFlushesInFlight {
		db.flushDone(<-j.flushed)
	}
	db.inFlight++
	j.flushes <- req
}

// flushDone takes a flusher's report. After a failure the records from
// the failed one on are not on disk: they leave pending and their devices
// leave the index (to be read back, with what was folded, when next
// used), and journaling stops.
func (db *DB) flushDone(res flushResult) {
	db.inFlight -= res.requests
	if res.err == nil {
		return
	}
	j := db.journal
	j.err = res.err
	j.voidThrough = j.nextLSN - 1
	j.mu.Lock()
	keep := len(j.pending)
	for keep > 0 && j.pending[keep-1].lsn >= res.firstLSN {
		keep--
	}
	var devs []deviceRef
	for _, r := range j.pending[keep:] {
		devs = append(devs, r.dev)
		c := j.pendingCounts[r.dev]
		if c[r.alg] -= len(r.ids); c[r.alg] <= 0 {
			delete(c, r.alg)
		}
		if len(c) == 0 {
			delete(j.pendingCounts, r.dev)
		}
	}
	j.pending = j.pending[:keep]
	j.mu.Unlock()
	db.otk.drop(devs)
}

// waitFlushed waits until the flusher has reported every record handed to
// it: what the committer does before it runs SQL.
func (db *DB) waitFlushed() {
	for db.inFlight > 0 {
		db.flushDone(<-db.journal.flushed)
	}
}

// foldJournal writes the pending records into the transaction: each
// record becomes a batch row (unless its device is gone, in which case
// its keys went with the device), the counts grow, the index's entries
// for its keys get the row's seq, and applied_lsn moves to the last
// record. commit then removes them from pending.
func (t *tx) foldJournal() error {
	j := t.db.journal
	if j == nil {
		return nil
	}
	n := len(j.pending)
	applied := j.voidThrough
	if n > 0 {
		applied = max(applied, j.pending[n-1].lsn)
	}
	if applied <= j.appliedDB {
		return nil
	}
	added := map[deviceRef]map[string]int{}
	for i := range n {
		r := &j.pending[i]
		res, err := t.exec(`INSERT INTO one_time_key_batches (user_id, device_id, algorithm, n, claimed, keys)
			SELECT ?, ?, ?, ?, 0, ? WHERE EXISTS (SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?)`,
			r.dev.user, r.dev.device, r.alg, len(r.ids), r.blob, r.dev.user, r.dev.device)
		if err != nil {
			return fmt.Errorf("fold one-time key journal: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("fold one-time key journal: %w", err)
		}
		if added[r.dev] == nil {
			added[r.dev] = map[string]int{}
		}
		added[r.dev][r.alg] += len(r.ids)
		x := t.db.otk
		x.mu.Lock()
		if d, ok := x.devices[r.dev]; ok {
			pseudo := r.pseudoSeq()
			for _, id := range r.ids {
				if h := x.hash(id); d.ids[h] == pseudo {
					d.ids[h] = seq
				}
			}
		}
		x.mu.Unlock()
		t.change(r.dev)
	}
	devs := slices.SortedFunc(maps.Keys(added), func(a, b deviceRef) int {
		if c := strings.Compare(a.user, b.user); c != 0 {
			return c
		}
		return strings.Compare(a.device, b.device)
	})
	for _, dev := range devs {
		for _, alg := range sortedKeys(added[dev]) {
			if _, err := t.exec(`INSERT INTO one_time_key_counts (user_id, device_id, algorithm, n) VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET n = one_time_key_counts.n + excluded.n`,
				dev.user, dev.device, alg, added[dev][alg]); err != nil {
				return fmt.Errorf("fold one-time key journal: %w", err)
			}
		}
	}
	if _, err := t.exec(`UPDATE otk_journal SET applied_lsn = ? WHERE id = 0`, int64(applied)); err != nil {
		return fmt.Errorf("fold one-time key journal: %w", err)
	}
	t.folded, t.applied = n, applied
	return nil
}

// commit commits the transaction; when it folded journal records, it does
// so with gen odd and foldMu held, and then removes them from pending.
func (t *tx) commit() error {
	j := t.db.journal
	if j == nil || t.applied == 0 {
		return t.t.Commit()
	}
	j.foldMu.Lock()
	defer j.foldMu.Unlock()
	j.gen.Add(1)
	defer j.gen.Add(1)
	if err := t.t.Commit(); err != nil {
		return err
	}
	j.appliedDB = t.applied
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range j.pending[:t.folded] {
		c := j.pendingCounts[r.dev]
		if c[r.alg] -= len(r.ids); c[r.alg] <= 0 {
			delete(c, r.alg)
		}
		if len(c) == 0 {
			delete(j.pendingCounts, r.dev)
		}
	}
	j.pending = slices.Delete(j.pending, 0, t.folded)
	if len(j.pending) == 0 {
		// Everything in the file is folded and nothing is in flight:
		// write from the start again. The old records left behind carry
		// lower LSNs, at which replay stops. (Cutting the file instead
		// would make every later flush extend it, and a flush that
		// extends a file costs about twice one that overwrites.)
		j.off = int64(journalHeaderSize)
	}
	return nil
}

// foldNow folds the pending records in a transaction of their own. Its
// time counts as the writer's (WriterStats.BatchSeconds).
func (db *DB) foldNow() error {
	start := time.Now()
	err := db.runTx(batchContext, func(*tx) error { return nil })
	db.stats.batchNanos.Add(int64(time.Since(start)))
	return err
}

// start starts the flusher.
func (j *otkJournal) start() {
	j.flushes = make(chan *flushRequest, maxFlushesInFlight)
	j.flushed = make(chan flushResult, maxFlushesInFlight)
	j.flusherDone = make(chan struct{})
	go j.flusher()
}

// stop stops the flusher (nothing in flight).
func (j *otkJournal) stop() {
	if j.flushes != nil {
		close(j.flushes)
		<-j.flusherDone
	}
}

// close closes the file.
func (j *otkJournal) close() error {
	return j.f.Close()
}

// syncDir flushes a directory, so that a file created in it survives a
// crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
