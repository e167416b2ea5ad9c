// Package sqldb is the SQL of the vouch key server, written once for every
// SQL backend. A backend (store/sqlite, store/postgres) opens its *sql.DB
// pools, picks a [Dialect] and calls [New]; the result implements store.Store.
//
// The package is not a general database layer: it knows exactly the tables
// of the key server. Differences between SQL dialects are confined to the
// Dialect table; the schema lives in numbered migrations (migrations.go) that
// every backend applies in the same order.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vouch/store"
)

// Dialect is everything that differs between SQL backends.
//
// Both SQLite (3.35+) and PostgreSQL accept the same upsert syntax
// (INSERT … ON CONFLICT (cols) DO UPDATE SET c = excluded.c / DO NOTHING) and
// UPDATE … RETURNING, so those need no entry. Stream positions come from a
// one-row counter table instead of an auto-increment column, which keeps
// positions in commit order on both backends (see docs/storage.md).
type Dialect struct {
	// Name identifies the dialect in errors ("sqlite", "postgres").
	Name string
	// NumberedPlaceholders selects $1, $2, … instead of ?.
	NumberedPlaceholders bool
	// Blob is the column type for byte strings ("BLOB", "BYTEA").
	Blob string
	// WithoutRowID is true where tables can be clustered on their primary
	// key (SQLite's WITHOUT ROWID). Migration statements starting with
	// {{WITHOUT_ROWID}} run only on such backends; see migration 4.
	WithoutRowID bool
	// BinaryCollate, appended to a text column in a comparison, makes that
	// comparison bytewise: "" on SQLite (whose default BINARY collation
	// already is), ` COLLATE "C"` on PostgreSQL (whose database collation
	// may ignore punctuation such as ':' and ';').
	BinaryCollate string
	// OneProcess is true where one process owns the database and all its
	// writes go through this package's one writer (SQLite): the writer may
	// then keep an exact in-memory index of what it wrote (otkIndex).
	OneProcess bool
	// LastInsertID is true where the driver reports the rowid an INSERT
	// created through sql.Result.LastInsertId (SQLite); elsewhere the
	// INSERT says RETURNING.
	LastInsertID bool
	// KeyIDTable is true where the unclaimed one-time key IDs are also
	// kept in one_time_key_ids (migration 9, PostgreSQL): an upload looks
	// its key IDs up there instead of reading all the device's batches.
	// Dialects with OneProcess use the writer's in-memory index instead.
	KeyIDTable bool
}

// SQLite is the dialect of modernc.org/sqlite.
var SQLite = Dialect{Name: "sqlite", Blob: "BLOB", WithoutRowID: true, OneProcess: true, LastInsertID: true}

// Postgres is the dialect of PostgreSQL (pgx stdlib driver).
var Postgres = Dialect{Name: "postgres", NumberedPlaceholders: true, Blob: "BYTEA", BinaryCollate: ` COLLATE "C"`, KeyIDTable: true}

// DB implements store.Store over two connection pools: one serialized writer
// and readers that run in parallel. For PostgreSQL both may be the same pool.
type DB struct {
	w, r *sql.DB
	d    Dialect

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt

	// Statements prepared on the writer connection, used only by the
	// goroutine that runs write transactions (the committer; migrations
	// before it starts). Queries first seen inside a transaction are
	// prepared after it ends, when the connection is free again.
	wstmts   map[string]*sql.Stmt
	wpending map[string]bool

	// Group commit (see inTx): write jobs, the committer's stop signal and
	// its exit.
	jobs    chan *job
	quit    chan struct{}
	stopped chan struct{}
	closing sync.Once
	// waiting counts the jobs submitted and not yet taken by the
	// committer (WriterStats.Waiting; tests wait on it to line a batch
	// up).
	waiting atomic.Int32
	// stats counts what the committer did (WriterStats).
	stats writerStats

	// otk indexes unclaimed one-time key IDs where Dialect.OneProcess
	// (nil elsewhere); see otk.go.
	otk *otkIndex
	// journal is the one-time key journal (Options.OTKJournal), or nil;
	// see otkjournal.go.
	journal *otkJournal

	// inFlight counts the flush requests handed to the journal's flusher
	// and not yet reported back (committer only).
	inFlight int

	// keepPendingOnClose makes Close leave the journal's pending records
	// unfolded, as a crash would (tests).
	keepPendingOnClose bool

	// savepointBatches counts down the batches that still run with a
	// savepoint per job after an optimistic run failed (runBatch); only
	// the committer uses it.
	savepointBatches int
}

// job is one write transaction waiting for the committer.
type job struct {
	ctx  context.Context
	fn   func(t *tx) error
	done chan error
	// submitted is when inTx handed the job over.
	submitted time.Time
	// otk, when set, is a top-up the journal may take instead of running
	// fn (otkjournal.go).
	otk *journalUpload
}

// writerStats are the committer's counters behind WriterStats, written by
// the committer and read by metrics scrapes.
type writerStats struct {
	batches, jobs, reruns  atomic.Uint64
	queueNanos, batchNanos atomic.Int64
}

// WriterStats implements store.WriterStatsReporter.
func (db *DB) WriterStats() store.WriterStats {
	return store.WriterStats{
		Batches:      db.stats.batches.Load(),
		Jobs:         db.stats.jobs.Load(),
		Reruns:       db.stats.reruns.Load(),
		QueueSeconds: time.Duration(db.stats.queueNanos.Load()).Seconds(),
		BatchSeconds: time.Duration(db.stats.batchNanos.Load()).Seconds(),
		Waiting:      int(db.waiting.Load()),
	}
}

// maxBatch is the most write transactions committed together.
const maxBatch = 64

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("sqldb: store closed")

type stmtKey struct {
	query string
}

// maxCachedStmts bounds the prepared-statement cache (IN lists of many
// lengths produce distinct statements).
const maxCachedStmts = 512

// Options are a store's optional features.
type Options struct {
	// OTKJournal, when set, is the path of the one-time key journal
	// (otkjournal.go): plain one-time key top-ups are then acknowledged
	// once flushed there, and folded into the database later. Only for
	// dialects with OneProcess, and only for the process that owns the
	// database: the file is part of the data.
	OTKJournal string

	// foldDelay replaces the journal's foldDelay (tests).
	foldDelay time.Duration
}

// New migrates the database to the newest schema version and returns the
// store. writer must allow only the writes this process serializes; reader
// may be the same pool.
func New(ctx context.Context, writer, reader *sql.DB, d Dialect, o Options) (*DB, error) {
	db := &DB{w: writer, r: reader, d: d, stmts: map[stmtKey]*sql.Stmt{}, wstmts: map[string]*sql.Stmt{}, wpending: map[string]bool{}}
	if d.OneProcess {
		db.otk = newOTKIndex()
	}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	if o.OTKJournal != "" {
		if !d.OneProcess {
			return nil, fmt.Errorf("%s: a one-time key journal needs a database that one process owns", d.Name)
		}
		if reader == writer {
			// A fold's commit and the counts' readers must not wait for
			// the one pool each other holds.
			return nil, fmt.Errorf("%s: a one-time key journal needs separate reader and writer pools", d.Name)
		}
		j, err := openOTKJournal(ctx, db, o.OTKJournal)
		if err != nil {
			return nil, err
		}
		j.foldDelay = foldDelay
		if o.foldDelay > 0 {
			j.foldDelay = o.foldDelay
		}
		db.journal = j
		// What an earlier run left pending is folded before anything
		// else runs.
		if err := db.foldNow(); err != nil {
			return nil, errors.Join(fmt.Errorf("one-time key journal: fold on opening: %w", err), j.close())
		}
		if err := j.resetFile(); err != nil {
			return nil, errors.Join(err, j.close())
		}
		j.start()
	}
	db.jobs = make(chan *job)
	db.quit = make(chan struct{})
	db.stopped = make(chan struct{})
	go db.committer()
	return db, nil
}

// Close stops the committer, then closes the cached statements and both
// pools. Writes submitted afterwards fail.
func (db *DB) Close() error {
	db.closing.Do(func() {
		if db.quit != nil {
			close(db.quit)
			<-db.stopped
		}
	})
	for _, s := range db.wstmts {
		s.Close()
	}
	var jerr error
	if db.journal != nil {
		jerr = db.journal.close()
	}
	db.mu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = map[stmtKey]*sql.Stmt{}
	db.mu.Unlock()
	err := errors.Join(jerr, db.w.Close())
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// rebind rewrites ? placeholders for the dialect.
func (db *DB) rebind(q string) string {
	if !db.d.NumberedPlaceholders {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// stmt returns a cached prepared statement on the reader pool, or nil when
// the cache is full (the caller then runs the query unprepared).
func (db *DB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	k := stmtKey{q}
	db.mu.Lock()
	s, ok := db.stmts[k]
	full := len(db.stmts) >= maxCachedStmts
	db.mu.Unlock()
	if ok || full {
		return s, nil
	}
	s, err := db.r.PrepareContext(ctx, db.rebind(q))
	if err != nil {
		return nil, fmt.Errorf("%s: prepare: %w", db.d.Name, err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if old, ok := db.stmts[k]; ok {
		s.Close()
		return old, nil
	}
	db.stmts[k] = s
	return s, nil
}

// query runs a read on the reader pool.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := db.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if s != nil {
		rows, err = s.QueryContext(ctx, args...)
	} else {
		rows, err = db.r.QueryContext(ctx, db.rebind(q), args...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: query: %w", db.d.Name, err)
	}
	return rows, nil
}

// queryRow runs a single-row read on the reader pool.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	s, err := db.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return db.r.QueryRowContext(ctx, db.rebind(q), args...), nil
	}
	return s.QueryRowContext(ctx, args...), nil
}

// tx is a write transaction on the writer pool.
type tx struct {
	db  *DB
	ctx context.Context
	t   *sql.Tx
	// otkTouched lists the devices this transaction loaded into or changed
	// in the one-time key index, otkChanged those it changed (otk.go): they
	// are dropped from the index if the transaction, or for otkChanged the
	// job, fails.
	otkTouched, otkChanged []deviceRef
	// folded is how many pending journal records the transaction folded
	// (foldJournal) and applied the applied_lsn it wrote (0: none);
	// commit removes them from pending.
	folded  int
	applied uint64
}

// Statements inside a transaction run on the transaction's connection:
// preparing through the writer pool there would wait for the one writer
// connection the transaction already holds. A statement is prepared on the
// writer pool after the first transaction that used it, and later
// transactions bind that prepared statement to themselves (Tx.StmtContext).

// wstmt returns the writer-prepared statement for q bound to the
// transaction, or nil (and remembers q) when it is not prepared yet.
func (t *tx) wstmt(q string) *sql.Stmt {
	if s, ok := t.db.wstmts[q]; ok {
		return t.t.StmtContext(t.ctx, s)
	}
	if len(t.db.wstmts) < maxCachedStmts {
		t.db.wpending[q] = true
	}
	return nil
}

// prepareWriter prepares the statements first seen in the last transaction.
// It runs on the writing goroutine after the transaction ended.
func (db *DB) prepareWriter() {
	for q := range db.wpending {
		if s, err := db.w.Prepare(db.rebind(q)); err == nil {
			db.wstmts[q] = s
		}
		delete(db.wpending, q)
	}
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	var res sql.Result
	var err error
	if s := t.wstmt(q); s != nil {
		res, err = s.ExecContext(t.ctx, args...)
	} else {
		res, err = t.t.ExecContext(t.ctx, t.db.rebind(q), args...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: exec: %w", t.db.d.Name, err)
	}
	return res, nil
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	var err error
	if s := t.wstmt(q); s != nil {
		rows, err = s.QueryContext(t.ctx, args...)
	} else {
		rows, err = t.t.QueryContext(t.ctx, t.db.rebind(q), args...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: query: %w", t.db.d.Name, err)
	}
	return rows, nil
}

func (t *tx) queryRow(q string, args ...any) (*sql.Row, error) {
	if s := t.wstmt(q); s != nil {
		return s.QueryRowContext(t.ctx, args...), nil
	}
	return t.t.QueryRowContext(t.ctx, t.db.rebind(q), args...), nil
}

// exists reports whether q returns a row.
func (t *tx) exists(q string, args ...any) (bool, error) {
	row, err := t.queryRow(q, args...)
	if err != nil {
		return false, err
	}
	var one int
	switch err := row.Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s: scan: %w", t.db.d.Name, err)
	}
	return true, nil
}

// nextPositions allocates n consecutive stream positions and returns the last.
func (t *tx) nextPositions(n int) (int64, error) {
	row, err := t.queryRow(`UPDATE stream_position SET pos = pos + ? WHERE id = 1 RETURNING pos`, n)
	if err != nil {
		return 0, err
	}
	var pos int64
	if err := row.Scan(&pos); err != nil {
		return 0, fmt.Errorf("%s: stream position: %w", t.db.d.Name, err)
	}
	return pos, nil
}

// deviceListChange appends a device-list change of userID; onlyFor restricts
// it to one viewer ("" for everyone interested in userID).
func (t *tx) deviceListChange(userID, onlyFor string) error {
	pos, err := t.nextPositions(1)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO device_list_changes (pos, user_id, only_for) VALUES (?, ?, ?)`, pos, userID, onlyFor)
	return err
}

// inTx runs fn as one write transaction: all of fn's writes are committed,
// or none. Transactions are group-committed: the committer goroutine takes
// every job waiting at that moment (up to maxBatch) and runs them in one
// database transaction, so that they share one commit (one fsync); a
// failing job is rolled back alone while the others commit (runBatch). A
// job is told it succeeded only after that commit.
//
// fn may run more than once: when another job of its batch fails, the
// batch's transaction is rolled back and run again. Each run must start
// over: results fn hands back through variables it captures are assigned
// afresh on every run, never accumulated from an earlier one.
func (db *DB) inTx(ctx context.Context, fn func(t *tx) error) error {
	if db.jobs == nil { // migrations, before the committer runs
		return db.runTx(ctx, fn)
	}
	return db.submit(&job{ctx: ctx, fn: fn, done: make(chan error, 1), submitted: time.Now()})
}

// submit hands j to the committer and waits for its outcome.
func (db *DB) submit(j *job) error {
	ctx := j.ctx
	db.waiting.Add(1)
	select {
	case db.jobs <- j:
		db.waiting.Add(-1)
	case <-ctx.Done():
		db.waiting.Add(-1)
		return ctx.Err()
	case <-db.quit:
		db.waiting.Add(-1)
		return errClosed
	}
	return <-j.done
}

// runTx runs fn alone in one transaction.
func (db *DB) runTx(ctx context.Context, fn func(t *tx) error) error {
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", db.d.Name, err)
	}
	t := &tx{db: db, ctx: ctx, t: sqlTx}
	if err := t.foldJournal(); err != nil {
		t.rollbackOTKIndex()
		return errors.Join(err, ignoreDone(sqlTx.Rollback()))
	}
	if err := fn(t); err != nil {
		t.rollbackOTKIndex()
		return errors.Join(err, ignoreDone(sqlTx.Rollback()))
	}
	if err := t.commit(); err != nil {
		t.rollbackOTKIndex()
		return fmt.Errorf("%s: commit: %w", db.d.Name, err)
	}
	return nil
}

// committer runs write jobs until Close. With a journal it also folds the
// pending records when foldRecords have gathered, when they have waited
// foldDelay with no write transaction to fold them, and before it stops.
func (db *DB) committer() {
	defer close(db.stopped)
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	var flushed chan flushResult
	if db.journal != nil {
		flushed = db.journal.flushed
	}
	for {
		var wait <-chan time.Time
		if db.journal != nil && db.journal.needsFold() {
			idle.Reset(db.journal.foldDelay)
			wait = idle.C
		}
		var first *job
		select {
		case first = <-db.jobs:
		case res := <-flushed:
			db.flushDone(res)
			continue
		case <-wait:
			db.waitFlushed()
			db.foldNow() //nolint:errcheck // what failed to fold stays pending for the next transaction
			continue
		case <-db.quit:
			if db.journal != nil {
				db.waitFlushed()
				if db.journal.needsFold() && !db.keepPendingOnClose {
					db.foldNow() //nolint:errcheck // what failed to fold is replayed from the journal at the next opening
				}
				db.journal.stop()
			}
			return
		}
		idle.Stop()
		batch := []*job{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case j := <-db.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		start := time.Now()
		var queued time.Duration
		for _, j := range batch {
			queued += start.Sub(j.submitted)
		}
		// Top-ups the journal takes go to the flusher, which
		// acknowledges them once they are on disk; the rest run in SQL
		// once nothing is in flight, and their transaction folds them
		// (otkjournal.go).
		rest := batch
		if db.journal != nil && db.journal.err == nil && db.journal.failed.Load() {
			// A flush failed: its report stops journaling before this
			// batch is looked at.
			db.waitFlushed()
		}
		if j := db.journal; j != nil && j.err == nil && j.nextLSN < maxJournalLSN-maxBatch {
			var journaled []*job
			rest, journaled = db.splitJournaled(batch)
			if len(journaled) > 0 {
				// Counted before the flusher can acknowledge them.
				db.stats.jobs.Add(uint64(len(journaled)))
				db.sendJournaled(journaled)
			}
			if len(rest) > 0 {
				db.waitFlushed()
			}
		}
		var errs []error
		switch len(rest) {
		case 0:
		case 1:
			err := rest[0].ctx.Err()
			if err == nil {
				err = db.runTx(rest[0].ctx, rest[0].fn)
			}
			errs = []error{err}
		default:
			errs = db.runBatch(rest)
		}
		// The statistics are counted before any job hears its outcome, so
		// that a write its caller has seen acknowledged is already in them.
		db.stats.batches.Add(1)
		db.stats.jobs.Add(uint64(len(rest)))
		db.stats.queueNanos.Add(int64(queued))
		db.stats.batchNanos.Add(int64(time.Since(start)))
		for i, j := range rest {
			j.done <- errs[i]
		}
		if db.journal != nil && len(db.journal.pending) >= foldRecords {
			db.waitFlushed()
			db.foldNow() //nolint:errcheck // what failed to fold stays pending for the next transaction
		}
		db.prepareWriter()
	}
}

// savepointBatchesAfterFailure is how many batches after one whose
// optimistic run failed go straight to a savepoint per job: a stream of
// failing requests then costs each batch its savepoints instead of running
// it twice.
const savepointBatchesAfterFailure = 8

// runBatch commits several jobs in one transaction. It first runs them one
// after another with no savepoints (runOptimistic), which on SQLite saves
// the writer about a tenth of its CPU per one-time-key upload (the
// SAVEPOINT and RELEASE statements and their statement journal). If one of
// them fails, that transaction is rolled back whole and the batch runs
// again with a savepoint per job (runWithSavepoints), so that the failing
// job alone is rolled back and the others commit. A job's function may
// therefore run twice; inTx says what that asks of it. It returns each
// job's outcome, in batch order.
func (db *DB) runBatch(batch []*job) []error {
	if db.savepointBatches > 0 {
		db.savepointBatches--
		return db.runWithSavepoints(batch)
	}
	if errs, ok := db.runOptimistic(batch); ok {
		return errs
	}
	db.stats.reruns.Add(1)
	db.savepointBatches = savepointBatchesAfterFailure
	return db.runWithSavepoints(batch)
}

// batchContext is the context of a batch's statements. The batch outlives
// any one request: a cancelled request must not abort the others'
// transaction, so statements use a fresh context and a cancelled job is
// skipped before it starts.
var batchContext = context.Background()

// runOptimistic runs batch in one transaction without savepoints. It
// reports false, having rolled back, when a job failed; otherwise it
// returns every job's outcome.
func (db *DB) runOptimistic(batch []*job) ([]error, bool) {
	ctx := batchContext
	errs := make([]error, len(batch))
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fillErrors(errs, fmt.Errorf("%s: begin: %w", db.d.Name, err)), true
	}
	t := &tx{db: db, ctx: ctx, t: sqlTx}
	if err := t.foldJournal(); err != nil {
		t.rollbackOTKIndex()
		sqlTx.Rollback() //nolint:errcheck // the error is the fold's
		return fillErrors(errs, err), true
	}
	for i, j := range batch {
		if errs[i] = j.ctx.Err(); errs[i] != nil {
			continue
		}
		if j.fn(t) != nil {
			// Its error is found again, and reported, by the rerun.
			t.rollbackOTKIndex()
			sqlTx.Rollback() //nolint:errcheck // the rerun begins afresh; a broken connection fails it there
			return nil, false
		}
	}
	if err := t.commit(); err != nil {
		t.rollbackOTKIndex()
		return fillErrors(errs, fmt.Errorf("%s: commit: %w", db.d.Name, err)), true
	}
	return errs, true
}

// runWithSavepoints commits batch in one transaction, one savepoint each,
// so that a failing job is rolled back alone. It returns each job's
// outcome.
func (db *DB) runWithSavepoints(batch []*job) []error {
	ctx := batchContext
	errs := make([]error, len(batch))
	var t *tx
	fail := func(err error) []error {
		if t != nil {
			t.rollbackOTKIndex()
		}
		return fillErrors(errs, err)
	}
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(fmt.Errorf("%s: begin: %w", db.d.Name, err))
	}
	t = &tx{db: db, ctx: ctx, t: sqlTx}
	if err := t.foldJournal(); err != nil {
		sqlTx.Rollback() //nolint:errcheck // reported through fail
		return fail(err)
	}
	for i, j := range batch {
		if errs[i] = j.ctx.Err(); errs[i] != nil {
			continue
		}
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT vouch_job"); err != nil {
			sqlTx.Rollback() //nolint:errcheck // reported through fail
			return fail(fmt.Errorf("%s: savepoint: %w", db.d.Name, err))
		}
		mark := len(t.otkChanged)
		if errs[i] = j.fn(t); errs[i] != nil {
			t.rollbackOTKJob(mark)
			if _, err := sqlTx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT vouch_job"); err != nil {
				sqlTx.Rollback() //nolint:errcheck // reported through fail
				return fail(fmt.Errorf("%s: rollback to savepoint: %w", db.d.Name, err))
			}
		}
		if _, err := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT vouch_job"); err != nil {
			sqlTx.Rollback() //nolint:errcheck // reported through fail
			return fail(fmt.Errorf("%s: release savepoint: %w", db.d.Name, err))
		}
	}
	if err := t.commit(); err != nil {
		return fail(fmt.Errorf("%s: commit: %w", db.d.Name, err))
	}
	return errs
}

// fillErrors gives err to every job in errs that has no error of its own,
// and returns errs.
func fillErrors(errs []error, err error) []error {
	if err == nil {
		return errs
	}
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// anys converts strings to query arguments, prefixed by extra.
func anys(ss []string, extra ...any) []any {
	out := make([]any, 0, len(ss)+len(extra))
	out = append(out, extra...)
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}
