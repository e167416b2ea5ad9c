// Package postgres is the scale-out storage backend of the vouch key server:
// PostgreSQL through pgx's database/sql adapter, with the SQL shared with the
// other backends in store/internal/sqldb (dialect sqldb.Postgres).
//
// Several `vouch serve` processes may use one database at the same time:
// they keep no state of their own. Write transactions of all processes run
// one at a time (each first takes the advisory lock [WriteLockKey]; each
// process group-commits its own concurrent writes into one transaction), so
// the check-then-write logic of the shared SQL behaves as on SQLite and
// stream positions become visible in commit order (docs/storage.md). Reads
// run in parallel everywhere. Migrations run under another advisory lock,
// so instances starting together migrate once, one after the other.
//
// There is deliberately no read cache in front of this store: store/cache is
// only correct when one process makes every write. Waking /sync long-polls
// in other processes is not the store's job; see server/pgnotify.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"vouch/store"
	"vouch/store/internal/sqldb"
)

// Sentinel errors.
var (
	// ErrDatabaseURL reports a database URL that pgx cannot parse.
	ErrDatabaseURL = errors.New("postgres: invalid database URL")
	// ErrMigrationLock reports a failure to take or release the advisory
	// lock that serializes migrations between instances.
	ErrMigrationLock = errors.New("postgres: migration lock")
)

// MigrationLockKey is the key of the session-level advisory lock
// (pg_advisory_lock) held while the schema is migrated. It is the ASCII of
// "vouchmig" read as a big-endian int64.
const MigrationLockKey int64 = 0x766f7563686d6967

// Pool sizes. The sqldb committer runs one write transaction at a time per
// process (group-committing concurrent ones), and write transactions of all
// processes take the advisory lock WriteLockKey, so the writer pool needs one
// connection; reads run in parallel on the reader pool.
const (
	writerConns = 1
	readerConns = 8
)

// Open connects to databaseURL (a postgres:// URL or key=value DSN as pgx
// accepts them), migrates the schema under the migration advisory lock and
// returns the store. Every connection runs with synchronous_commit=on and
// READ COMMITTED isolation, whatever the URL or the server default says;
// reader connections are read-only.
func Open(ctx context.Context, databaseURL string) (store.Store, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDatabaseURL, err)
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["default_transaction_isolation"] = "read committed"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "vouch"
	}
	rcfg := cfg.Copy()
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"

	w := sql.OpenDB(lockingConnector{stdlib.GetConnector(*cfg)})
	w.SetMaxOpenConns(writerConns)
	w.SetMaxIdleConns(writerConns)
	w.SetConnMaxIdleTime(10 * time.Minute)
	r := stdlib.OpenDB(*rcfg)
	r.SetMaxOpenConns(readerConns)
	r.SetMaxIdleConns(readerConns)
	r.SetConnMaxIdleTime(10 * time.Minute)

	db, err := migrateLocked(ctx, cfg, w, r)
	if err != nil {
		return nil, errors.Join(err, w.Close(), r.Close())
	}
	return db, nil
}

// migrateLocked runs sqldb.New (which migrates) while holding the migration
// advisory lock on a connection of its own, so that instances starting at
// the same time do not run the same migration twice (CREATE TABLE IF NOT
// EXISTS itself is not safe against a concurrent twin).
func migrateLocked(ctx context.Context, cfg *pgx.ConnConfig, w, r *sql.DB) (*sqldb.DB, error) {
	lock, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	defer lock.Close(context.Background())
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", MigrationLockKey); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMigrationLock, err)
	}
	db, err := sqldb.New(ctx, w, r, sqldb.Postgres, sqldb.Options{})
	// Closing the session would release the lock too; unlocking explicitly
	// reports a broken connection.
	if _, uerr := lock.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", MigrationLockKey); uerr != nil && err == nil {
		db.Close()
		return nil, fmt.Errorf("%w: unlock: %w", ErrMigrationLock, uerr)
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}
