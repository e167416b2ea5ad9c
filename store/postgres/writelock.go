package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
)

// WriteLockKey is the key of the transaction-level advisory lock
// (pg_advisory_xact_lock) every write transaction takes first. It is the
// ASCII of "vouchwri" read as a big-endian int64.
//
// The SQL in store/internal/sqldb was written for one writer at a time (as
// SQLite has): some writes check, then write, in one transaction (the
// master key a cross-signing upload expects, identity keys that must not
// change, the ID of a new backup version). Under READ COMMITTED, two
// instances could both pass such a check; the lock makes write
// transactions of all instances run one after the other, so each sees
// everything committed before it, exactly as on SQLite. Reads are not
// affected.
const WriteLockKey int64 = 0x766f756368777269

// lockingConnector opens writer connections whose transactions start by
// taking the write lock.
type lockingConnector struct {
	driver.Connector
}

func (c lockingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("postgres: unexpected driver connection %T", conn)
	}
	return lockingConn{sc}, nil
}

// lockingConn is a pgx stdlib connection whose BeginTx also takes the
// write lock. Every other method is pgx's own.
type lockingConn struct {
	*stdlib.Conn
}

// BeginTx begins a transaction and waits for the write lock, which
// PostgreSQL releases when the transaction ends.
func (c lockingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.Conn.Conn().Exec(ctx, "SELECT pg_advisory_xact_lock($1)", WriteLockKey); err != nil {
		return nil, errors.Join(fmt.Errorf("postgres: write lock: %w", err), tx.Rollback())
	}
	return tx, nil
}
