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
// database, and the writer keeps an in-memory index of one-time key IDs
// (store/internal/sqldb); both are correct because one process owns the
// file, which Open makes sure of with an exclusive lock on LockFileName in
// the data directory: a second Open of the same directory, in this process
// or another, fails with ErrInUse until the first store is closed. Another
// process may still add accounts through OpenUncached (vouch user add):
// accounts are neither cached nor indexed.
//
// The store Open returns also keeps the one-time key journal,
// JournalFileName beside the database (store/internal/sqldb): plain
// one-time key top-ups are on disk there before they are acknowledged and
// are folded into the database later, at the latest when the store next
// opens. The journal is part of the data: a copy of the data directory
// must include it.
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

// JournalFileName is the one-time key journal in the data directory.
const JournalFileName = "vouch.db-otk-journal"

// LockFileName is the file in the data directory that Open locks.
const LockFileName = "vouch.lock"

// ErrInUse reports a data directory that another open store owns.
var ErrInUse = errors.New("data directory is in use by another vouch process")

// readers is the size of the read connection pool.
const readers = 4

// Open creates dataDir (mode 0700) and the database file (mode 0600) when
// missing, locks the directory, applies migrations and returns the store
// behind the read cache. Close releases the lock.
func Open(ctx context.Context, dataDir string) (store.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: data dir: %w", err)
	}
	lock, err := lockDataDir(filepath.Join(dataDir, LockFileName))
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, dataDir, sqldb.Options{OTKJournal: filepath.Join(dataDir, JournalFileName)})
	if err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	return cache.New(&owned{Store: s, lock: lock}), nil
}

// owned is a store that holds its data directory's lock until Close.
type owned struct {
	store.Store
	lock *os.File
}

// Close closes the store, then releases the lock.
func (o *owned) Close() error {
	return errors.Join(o.Store.Close(), o.lock.Close())
}

// Unwrap implements store.Unwrapper.
func (o *owned) Unwrap() store.Store { return o.Store }

// OpenUncached is Open without the read cache, the lock and the one-time
// key journal: every call reaches SQLite. Beside a running server it is
// only for writes the server neither caches nor indexes (accounts); it
// neither reads nor folds the journal, so one-time key counts it reads may
// miss top-ups a running server, or one that stopped without folding them,
// holds there.
func OpenUncached(ctx context.Context, dataDir string) (store.Store, error) {
	return open(ctx, dataDir, sqldb.Options{})
}

// open opens the database in dataDir with o.
func open(ctx context.Context, dataDir string, o sqldb.Options) (store.Store, error) {
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
	db, err := sqldb.New(ctx, w, r, sqldb.SQLite, o)
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
