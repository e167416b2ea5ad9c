// Package sqlite is the embedded default storage backend of the vouch key
// server: SQLite through the pure-Go driver modernc.org/sqlite, with the SQL
// shared with the other backends in store/internal/sqldb.
//
// The database runs in WAL mode with foreign keys on and synchronous=FULL,
// so every acknowledged write is on disk. Writes go through a single
// connection (SQLite allows one writer at a time; serializing them in-process
// avoids busy retries); reads use a separate pool and run in parallel.
//
// Open puts the in-memory read cache of store/cache in front of the
// database, which is correct because one server process owns the file.
// Other processes may still add accounts (vouch user add): accounts are not
// cached. It is not meant for several server processes sharing one file.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"vouch/store"
	"vouch/store/cache"
	"vouch/store/internal/sqldb"
)

// FileName is the database file inside the data directory.
const FileName = "vouch.db"

// readers is the size of the read connection pool.
const readers = 4

// Open creates dataDir (mode 0700) and the database file (mode 0600) when
// missing, applies migrations and returns the store behind the read cache.
func Open(ctx context.Context, dataDir string) (store.Store, error) {
	s, err := OpenUncached(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	return cache.New(s), nil
}

// OpenUncached is Open without the read cache: every call reaches SQLite.
func OpenUncached(ctx context.Context, dataDir string) (store.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: data dir: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open: %w", err), w.Close())
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxLifetime(0)
	db, err := sqldb.New(ctx, w, r, sqldb.SQLite)
	if err != nil {
		return nil, errors.Join(err, w.Close(), r.Close())
	}
	return db, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}
