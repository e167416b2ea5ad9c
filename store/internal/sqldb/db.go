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
}

// SQLite is the dialect of modernc.org/sqlite.
var SQLite = Dialect{Name: "sqlite", Blob: "BLOB"}

// Postgres is the dialect of PostgreSQL (pgx stdlib driver).
var Postgres = Dialect{Name: "postgres", NumberedPlaceholders: true, Blob: "BYTEA"}

// DB implements store.Store over two connection pools: one serialized writer
// and readers that run in parallel. For PostgreSQL both may be the same pool.
type DB struct {
	w, r *sql.DB
	d    Dialect

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	query string
}

// maxCachedStmts bounds the prepared-statement cache (IN lists of many
// lengths produce distinct statements).
const maxCachedStmts = 512

// New migrates the database to the newest schema version and returns the
// store. writer must allow only the writes this process serializes; reader
// may be the same pool.
func New(ctx context.Context, writer, reader *sql.DB, d Dialect) (*DB, error) {
	db := &DB{w: writer, r: reader, d: d, stmts: map[stmtKey]*sql.Stmt{}}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// Close closes the cached statements and both pools.
func (db *DB) Close() error {
	db.mu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = map[stmtKey]*sql.Stmt{}
	db.mu.Unlock()
	err := db.w.Close()
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
}

// Statements inside a transaction run on the transaction's connection
// directly: preparing through the writer pool would wait for the one writer
// connection the transaction already holds.

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	res, err := t.t.ExecContext(t.ctx, t.db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: exec: %w", t.db.d.Name, err)
	}
	return res, nil
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	rows, err := t.t.QueryContext(t.ctx, t.db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: query: %w", t.db.d.Name, err)
	}
	return rows, nil
}

func (t *tx) queryRow(q string, args ...any) (*sql.Row, error) {
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

// inTx runs fn in one write transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(t *tx) error) error {
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", db.d.Name, err)
	}
	if err := fn(&tx{db: db, ctx: ctx, t: sqlTx}); err != nil {
		return errors.Join(err, ignoreDone(sqlTx.Rollback()))
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", db.d.Name, err)
	}
	return nil
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
