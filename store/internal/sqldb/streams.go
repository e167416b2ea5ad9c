package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"vouch/store"
)

// CurrentPosition implements store.DeviceLists.
func (db *DB) CurrentPosition(ctx context.Context) (int64, error) {
	row, err := db.queryRow(ctx, `SELECT pos FROM stream_position WHERE id = 1`)
	if err != nil {
		return 0, err
	}
	var pos int64
	if err := row.Scan(&pos); err != nil {
		return 0, fmt.Errorf("stream position: %w", err)
	}
	return pos, nil
}

// AddInterest implements store.DeviceLists. It reads first so that a
// repeated /keys/query costs no write.
func (db *DB) AddInterest(ctx context.Context, viewer string, targets []string) error {
	if len(targets) == 0 {
		return nil
	}
	rows, err := db.query(ctx, `SELECT target FROM interest WHERE viewer = ? AND target IN (`+placeholders(len(targets))+`)`, anys(targets, viewer)...)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		have[t] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, t := range targets {
		if !have[t] && t != viewer {
			missing = append(missing, t)
			have[t] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return db.inTx(ctx, func(t *tx) error {
		for _, m := range missing {
			if _, err := t.exec(`INSERT INTO interest (viewer, target) VALUES (?, ?) ON CONFLICT (viewer, target) DO NOTHING`, viewer, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// ChangedUsers implements store.DeviceLists.
func (db *DB) ChangedUsers(ctx context.Context, viewer string, from, to int64) ([]string, error) {
	rows, err := db.query(ctx, `SELECT DISTINCT c.user_id FROM device_list_changes c
		WHERE c.pos > ? AND c.pos <= ? AND (c.only_for = ? OR (c.only_for = '' AND (c.user_id = ?
			OR EXISTS (SELECT 1 FROM interest i WHERE i.viewer = ? AND i.target = c.user_id))))
		ORDER BY c.user_id`, from, to, viewer, viewer, viewer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Watchers implements store.DeviceLists.
func (db *DB) Watchers(ctx context.Context, target string) ([]string, error) {
	rows, err := db.query(ctx, `SELECT viewer FROM interest WHERE target = ? ORDER BY viewer`, target)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SendToDevice implements store.ToDevice.
func (db *DB) SendToDevice(ctx context.Context, sender, senderDevice, txnID string, msgs []store.ToDeviceMessage) (bool, error) {
	var dup bool
	err := db.inTx(ctx, func(t *tx) error {
		dup = false // a rerun starts over (inTx)
		// The record's time is this process's clock: the store.ToDevice
		// interface carries no time, and expiry only needs it roughly.
		res, err := t.exec(`INSERT INTO to_device_txns (user_id, device_id, txn_id, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id, txn_id) DO NOTHING`, sender, senderDevice, txnID, time.Now().UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dup = true
			return nil
		}
		type target struct{ user, device string }
		var out []store.ToDeviceMessage
		seen := map[target]bool{}
		for _, m := range msgs {
			var devices []string
			if m.RecipientDevice == "*" {
				rows, err := t.query(`SELECT device_id FROM devices WHERE user_id = ? ORDER BY device_id`, m.RecipientUser)
				if err != nil {
					return err
				}
				for rows.Next() {
					var d string
					if err := rows.Scan(&d); err != nil {
						rows.Close()
						return err
					}
					devices = append(devices, d)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
			} else {
				ok, err := t.exists(`SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?`, m.RecipientUser, m.RecipientDevice)
				if err != nil {
					return err
				}
				if ok {
					devices = []string{m.RecipientDevice}
				}
			}
			for _, d := range devices {
				k := target{m.RecipientUser, d}
				if seen[k] {
					continue
				}
				seen[k] = true
				m2 := m
				m2.RecipientDevice = d
				out = append(out, m2)
			}
		}
		if len(out) == 0 {
			return nil
		}
		last, err := t.nextPositions(len(out))
		if err != nil {
			return err
		}
		pos := last - int64(len(out))
		for _, m := range out {
			pos++
			if _, err := t.exec(`INSERT INTO to_device (pos, user_id, device_id, sender, type, content) VALUES (?, ?, ?, ?, ?, ?)`,
				pos, m.RecipientUser, m.RecipientDevice, sender, m.Type, m.Content); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("send to device: %w", err)
	}
	return dup, nil
}

// ToDeviceMessages implements store.ToDevice.
func (db *DB) ToDeviceMessages(ctx context.Context, userID, deviceID string, ack, to int64, limit int) ([]store.ToDeviceMessage, error) {
	row, err := db.queryRow(ctx, `SELECT 1 FROM to_device WHERE user_id = ? AND device_id = ? AND pos <= ? LIMIT 1`, userID, deviceID, ack)
	if err != nil {
		return nil, err
	}
	var one int
	switch err := row.Scan(&one); {
	case err == nil:
		if err := db.inTx(ctx, func(t *tx) error {
			_, err := t.exec(`DELETE FROM to_device WHERE user_id = ? AND device_id = ? AND pos <= ?`, userID, deviceID, ack)
			return err
		}); err != nil {
			return nil, fmt.Errorf("ack to-device: %w", err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT pos, sender, type, content FROM to_device WHERE user_id = ? AND device_id = ? AND pos > ? AND pos <= ? ORDER BY pos LIMIT ?`,
		userID, deviceID, ack, to, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ToDeviceMessage
	for rows.Next() {
		m := store.ToDeviceMessage{RecipientUser: userID, RecipientDevice: deviceID}
		if err := rows.Scan(&m.Position, &m.Sender, &m.Type, &m.Content); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PutAccountData implements store.AccountData.
func (db *DB) PutAccountData(ctx context.Context, userID, typ string, content []byte) error {
	return db.inTx(ctx, func(t *tx) error {
		pos, err := t.nextPositions(1)
		if err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO account_data (user_id, type, content, pos) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, type) DO UPDATE SET content = excluded.content, pos = excluded.pos`, userID, typ, content, pos)
		return err
	})
}

// GetAccountData implements store.AccountData.
func (db *DB) GetAccountData(ctx context.Context, userID, typ string) ([]byte, error) {
	row, err := db.queryRow(ctx, `SELECT content FROM account_data WHERE user_id = ? AND type = ?`, userID, typ)
	if err != nil {
		return nil, err
	}
	var c []byte
	switch err := row.Scan(&c); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("account data %s: %w", typ, store.ErrNotFound)
	case err != nil:
		return nil, err
	}
	return c, nil
}

// AccountDataSince implements store.AccountData.
func (db *DB) AccountDataSince(ctx context.Context, userID string, from, to int64) (map[string][]byte, error) {
	rows, err := db.query(ctx, `SELECT type, content FROM account_data WHERE user_id = ? AND pos > ? AND pos <= ?`, userID, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var typ string
		var c []byte
		if err := rows.Scan(&typ, &c); err != nil {
			return nil, err
		}
		out[typ] = c
	}
	return out, rows.Err()
}
