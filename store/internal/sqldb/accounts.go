package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"vouch/store"
)

var (
	_ store.Store               = (*DB)(nil)
	_ store.WriterStatsReporter = (*DB)(nil)
)

// CreateAccount implements store.Accounts.
func (db *DB) CreateAccount(ctx context.Context, a store.Account) error {
	return db.inTx(ctx, func(t *tx) error {
		admin := 0
		if a.Admin {
			admin = 1
		}
		res, err := t.exec(`INSERT INTO accounts (user_id, password_hash, admin, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING`,
			a.UserID, a.PasswordHash, admin, a.CreatedMs)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("create %s: %w", a.UserID, store.ErrUserExists)
		}
		return nil
	})
}

// GetAccount implements store.Accounts.
func (db *DB) GetAccount(ctx context.Context, userID string) (store.Account, error) {
	row, err := db.queryRow(ctx, `SELECT password_hash, admin, created_ms FROM accounts WHERE user_id = ?`, userID)
	if err != nil {
		return store.Account{}, err
	}
	a := store.Account{UserID: userID}
	var admin int
	switch err := row.Scan(&a.PasswordHash, &admin, &a.CreatedMs); {
	case errors.Is(err, sql.ErrNoRows):
		return store.Account{}, fmt.Errorf("account %s: %w", userID, store.ErrNotFound)
	case err != nil:
		return store.Account{}, fmt.Errorf("account %s: %w", userID, err)
	}
	a.Admin = admin != 0
	return a, nil
}

// LoginDevice implements store.Devices.
func (db *DB) LoginDevice(ctx context.Context, d store.Device, tokenHash []byte) (bool, error) {
	var created bool
	err := db.inTx(ctx, func(t *tx) error {
		clash, err := t.exists(`SELECT 1 FROM cross_signing_keys WHERE user_id = ? AND public_key = ?`, d.UserID, d.DeviceID)
		if err != nil {
			return err
		}
		if clash {
			return fmt.Errorf("device %s: %w", d.DeviceID, store.ErrDeviceIDCollision)
		}
		res, err := t.exec(`INSERT INTO devices (user_id, device_id, display_name, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO NOTHING`,
			d.UserID, d.DeviceID, d.DisplayName, d.CreatedMs)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		created = n == 1
		if _, err := t.exec(`DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?`, d.UserID, d.DeviceID); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO access_tokens (token_hash, user_id, device_id) VALUES (?, ?, ?)`, tokenHash, d.UserID, d.DeviceID); err != nil {
			return err
		}
		if created {
			return t.deviceListChange(d.UserID, "")
		}
		return nil
	})
	return created, err
}

// LookupToken implements store.Devices.
func (db *DB) LookupToken(ctx context.Context, tokenHash []byte) (string, string, error) {
	row, err := db.queryRow(ctx, `SELECT user_id, device_id FROM access_tokens WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return "", "", err
	}
	var u, d string
	switch err := row.Scan(&u, &d); {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", fmt.Errorf("token: %w", store.ErrNotFound)
	case err != nil:
		return "", "", fmt.Errorf("token: %w", err)
	}
	return u, d, nil
}

// GetDevice implements store.Devices.
func (db *DB) GetDevice(ctx context.Context, userID, deviceID string) (store.Device, error) {
	row, err := db.queryRow(ctx, `SELECT display_name, created_ms FROM devices WHERE user_id = ? AND device_id = ?`, userID, deviceID)
	if err != nil {
		return store.Device{}, err
	}
	d := store.Device{UserID: userID, DeviceID: deviceID}
	switch err := row.Scan(&d.DisplayName, &d.CreatedMs); {
	case errors.Is(err, sql.ErrNoRows):
		return store.Device{}, fmt.Errorf("device %s: %w", deviceID, store.ErrNotFound)
	case err != nil:
		return store.Device{}, fmt.Errorf("device %s: %w", deviceID, err)
	}
	return d, nil
}

// ListDevices implements store.Devices.
func (db *DB) ListDevices(ctx context.Context, userID string) ([]store.Device, error) {
	rows, err := db.query(ctx, `SELECT device_id, display_name, created_ms FROM devices WHERE user_id = ? ORDER BY device_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Device
	for rows.Next() {
		d := store.Device{UserID: userID}
		if err := rows.Scan(&d.DeviceID, &d.DisplayName, &d.CreatedMs); err != nil {
			return nil, fmt.Errorf("devices of %s: %w", userID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RenameDevice implements store.Devices.
func (db *DB) RenameDevice(ctx context.Context, userID, deviceID, name string) error {
	return db.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?`, name, userID, deviceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("device %s: %w", deviceID, store.ErrNotFound)
		}
		return nil
	})
}

// DeleteDevices implements store.Devices.
func (db *DB) DeleteDevices(ctx context.Context, userID string, deviceIDs []string) (int, error) {
	var deleted int
	err := db.inTx(ctx, func(t *tx) error {
		deleted = 0 // a rerun starts over (inTx)
		var ids []string
		if deviceIDs == nil {
			rows, err := t.query(`SELECT device_id FROM devices WHERE user_id = ?`, userID)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		} else {
			ids = deviceIDs
		}
		for _, id := range ids {
			res, err := t.exec(`DELETE FROM devices WHERE user_id = ? AND device_id = ?`, userID, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			deleted++
			if t.db.otk != nil {
				// Its one-time keys went with it (foreign key cascade).
				t.db.otk.drop([]deviceRef{{userID, id}})
			}
			if _, err := t.exec(`DELETE FROM signatures WHERE target_user = ? AND target_key = ? AND target_kind = ?`, userID, id, int(store.KindDevice)); err != nil {
				return err
			}
			if _, err := t.exec(`DELETE FROM signatures WHERE signer_user = ? AND signer_key_id = ? AND signer_kind = ?`, userID, "ed25519:"+id, int(store.KindDevice)); err != nil {
				return err
			}
		}
		if deleted > 0 {
			return t.deviceListChange(userID, "")
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete devices of %s: %w", userID, err)
	}
	return deleted, nil
}

// CreateUIASession implements store.UIASessions.
func (db *DB) CreateUIASession(ctx context.Context, s store.UIASession) error {
	done, err := json.Marshal(nonNil(s.Completed))
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO uia_sessions (session_id, user_id, completed, created_ms) VALUES (?, ?, ?, ?)`, s.ID, s.UserID, string(done), s.CreatedMs)
		return err
	})
}

// GetUIASession implements store.UIASessions.
func (db *DB) GetUIASession(ctx context.Context, id string) (store.UIASession, error) {
	row, err := db.queryRow(ctx, `SELECT user_id, completed, created_ms FROM uia_sessions WHERE session_id = ?`, id)
	if err != nil {
		return store.UIASession{}, err
	}
	s := store.UIASession{ID: id}
	var done string
	switch err := row.Scan(&s.UserID, &done, &s.CreatedMs); {
	case errors.Is(err, sql.ErrNoRows):
		return store.UIASession{}, fmt.Errorf("uia session: %w", store.ErrNotFound)
	case err != nil:
		return store.UIASession{}, fmt.Errorf("uia session: %w", err)
	}
	if err := json.Unmarshal([]byte(done), &s.Completed); err != nil {
		return store.UIASession{}, fmt.Errorf("uia session: %w", err)
	}
	return s, nil
}

// CompleteUIAStage implements store.UIASessions.
func (db *DB) CompleteUIAStage(ctx context.Context, id, stage string) error {
	return db.inTx(ctx, func(t *tx) error {
		row, err := t.queryRow(`SELECT completed FROM uia_sessions WHERE session_id = ?`, id)
		if err != nil {
			return err
		}
		var done string
		switch err := row.Scan(&done); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("uia session: %w", store.ErrNotFound)
		case err != nil:
			return err
		}
		var stages []string
		if err := json.Unmarshal([]byte(done), &stages); err != nil {
			return err
		}
		for _, s := range stages {
			if s == stage {
				return nil
			}
		}
		b, err := json.Marshal(append(stages, stage))
		if err != nil {
			return err
		}
		_, err = t.exec(`UPDATE uia_sessions SET completed = ? WHERE session_id = ?`, string(b), id)
		return err
	})
}

// DeleteUIASession implements store.UIASessions.
func (db *DB) DeleteUIASession(ctx context.Context, id string) error {
	return db.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`DELETE FROM uia_sessions WHERE session_id = ?`, id)
		return err
	})
}

// UseRegistrationNonce implements store.RegistrationNonces. The insert is
// the check: the primary key lets one row in, and a second insert of the
// same nonce (in this process, or on another PostgreSQL instance once the
// first commits) finds it there.
func (db *DB) UseRegistrationNonce(ctx context.Context, nonce string, expiresMs int64) error {
	return db.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`INSERT INTO registration_nonces (nonce, expires_ms) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING`, nonce, expiresMs)
		if err != nil {
			return fmt.Errorf("use registration nonce: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("registration nonce already used: %w", store.ErrConflict)
		}
		return nil
	})
}

// expiryBatch is the most rows of one table that one transaction of
// DeleteExpired removes. A backlog (the first sweep after migration 5, or
// after a flood of abandoned /register calls or nonce requests) is deleted
// in several short transactions, so the requests group-committed with each
// one are not held up by a long delete.
const expiryBatch = 1000

// expiringTables are the statements of DeleteExpired, one per table, in the
// order of its arguments and results. Each is a plain DELETE with an IN
// (row-value IN for composite keys) over a limited subquery, which SQLite
// (3.15+) and PostgreSQL accept alike; every column compared is indexed
// (migrations 5 and 6), so each batch reads only expired rows.
var expiringTables = [...]string{
	`DELETE FROM uia_sessions WHERE session_id IN (SELECT session_id FROM uia_sessions WHERE created_ms < ? LIMIT ?)`,
	`DELETE FROM to_device_txns WHERE (user_id, device_id, txn_id) IN (SELECT user_id, device_id, txn_id FROM to_device_txns WHERE created_ms < ? LIMIT ?)`,
	`DELETE FROM registration_nonces WHERE nonce IN (SELECT nonce FROM registration_nonces WHERE expires_ms < ? LIMIT ?)`,
}

// DeleteExpired implements store.Expiry. Each transaction deletes up to
// expiryBatch rows of every table that still had a full batch last time.
func (db *DB) DeleteExpired(ctx context.Context, uiaCreatedBeforeMs, txnCreatedBeforeMs, nonceExpiresBeforeMs int64) (uia, txns, nonces int, err error) {
	cutoffs := [len(expiringTables)]int64{uiaCreatedBeforeMs, txnCreatedBeforeMs, nonceExpiresBeforeMs}
	var total [len(expiringTables)]int
	more := [len(expiringTables)]bool{true, true, true}
	for more != [len(expiringTables)]bool{} {
		var n [len(expiringTables)]int64
		err := db.inTx(ctx, func(t *tx) error {
			n = [len(expiringTables)]int64{}
			for i, q := range expiringTables {
				if !more[i] {
					continue
				}
				res, err := t.exec(q, cutoffs[i], expiryBatch)
				if err != nil {
					return err
				}
				if n[i], err = res.RowsAffected(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total[0], total[1], total[2], fmt.Errorf("delete expired records: %w", err)
		}
		for i := range total {
			total[i] += int(n[i])
			more[i] = more[i] && n[i] >= expiryBatch
		}
	}
	return total[0], total[1], total[2], nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
