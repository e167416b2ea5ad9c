package sqldb

import (
	"context"
	"fmt"
	"strings"
)

// migrations are the schema versions, numbered once for every backend.
// Version n is migrations[n-1]. {{BLOB}} is replaced by Dialect.Blob.
// Append new versions; never edit a released one. A statement starting
// with {{WITHOUT_ROWID}} runs only where [Dialect.WithoutRowID] is set, one
// starting with {{ONLY name}} only on the dialect of that name.
var migrations = []string{
	// 1: accounts, devices, keys, signatures, streams.
	`
CREATE TABLE stream_position (id INTEGER PRIMARY KEY, pos BIGINT NOT NULL);
INSERT INTO stream_position (id, pos) VALUES (1, 0);

CREATE TABLE accounts (
	user_id TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	admin INTEGER NOT NULL,
	created_ms BIGINT NOT NULL
);

CREATE TABLE devices (
	user_id TEXT NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
	device_id TEXT NOT NULL,
	display_name TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (user_id, device_id)
);

CREATE TABLE access_tokens (
	token_hash {{BLOB}} PRIMARY KEY,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);

CREATE TABLE device_keys (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	key_json {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, device_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

CREATE TABLE one_time_keys (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	key_id TEXT NOT NULL,
	key_json {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, device_id, key_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX one_time_keys_alg ON one_time_keys (user_id, device_id, algorithm, key_id);

CREATE TABLE fallback_keys (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	key_id TEXT NOT NULL,
	key_json {{BLOB}} NOT NULL,
	used INTEGER NOT NULL,
	PRIMARY KEY (user_id, device_id, algorithm),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

CREATE TABLE cross_signing_keys (
	user_id TEXT NOT NULL,
	usage TEXT NOT NULL,
	public_key TEXT NOT NULL,
	key_json {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, usage)
);
CREATE INDEX cross_signing_keys_pub ON cross_signing_keys (user_id, public_key);

CREATE TABLE signatures (
	target_user TEXT NOT NULL,
	target_key TEXT NOT NULL,
	target_kind INTEGER NOT NULL,
	signer_user TEXT NOT NULL,
	signer_key_id TEXT NOT NULL,
	signer_kind INTEGER NOT NULL,
	signature TEXT NOT NULL,
	PRIMARY KEY (target_user, target_key, signer_user, signer_key_id)
);
CREATE INDEX signatures_signer ON signatures (signer_user, signer_key_id);

CREATE TABLE device_list_changes (
	pos BIGINT PRIMARY KEY,
	user_id TEXT NOT NULL,
	only_for TEXT NOT NULL
);

CREATE TABLE interest (
	viewer TEXT NOT NULL,
	target TEXT NOT NULL,
	PRIMARY KEY (viewer, target)
);
CREATE INDEX interest_target ON interest (target, viewer);

CREATE TABLE to_device (
	pos BIGINT PRIMARY KEY,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	sender TEXT NOT NULL,
	type TEXT NOT NULL,
	content {{BLOB}} NOT NULL,
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX to_device_inbox ON to_device (user_id, device_id, pos);

CREATE TABLE to_device_txns (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	txn_id TEXT NOT NULL,
	PRIMARY KEY (user_id, device_id, txn_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

CREATE TABLE account_data (
	user_id TEXT NOT NULL,
	type TEXT NOT NULL,
	content {{BLOB}} NOT NULL,
	pos BIGINT NOT NULL,
	PRIMARY KEY (user_id, type)
);
CREATE INDEX account_data_pos ON account_data (user_id, pos);

CREATE TABLE uia_sessions (
	session_id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	completed TEXT NOT NULL,
	created_ms BIGINT NOT NULL
);
`,
	// 2: room-key backups (docs/key-backup-server.md). A deleted version
	// keeps its row (deleted = 1) so that its ID is never reused.
	`
CREATE TABLE backup_versions (
	user_id TEXT NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
	version BIGINT NOT NULL,
	algorithm TEXT NOT NULL,
	auth_data {{BLOB}} NOT NULL,
	etag BIGINT NOT NULL,
	deleted INTEGER NOT NULL,
	PRIMARY KEY (user_id, version)
);

CREATE TABLE backup_sessions (
	user_id TEXT NOT NULL,
	version BIGINT NOT NULL,
	room_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	first_message_index BIGINT NOT NULL,
	forwarded_count BIGINT NOT NULL,
	is_verified INTEGER NOT NULL,
	session_data {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, version, room_id, session_id),
	FOREIGN KEY (user_id, version) REFERENCES backup_versions (user_id, version) ON DELETE CASCADE
);
`,
	// 3: unclaimed one-time key counts per device and algorithm, kept by
	// UploadKeys and ClaimKeys, so that the counts every /keys/upload and
	// /sync return do not scan the device's keys.
	`
CREATE TABLE one_time_key_counts (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (user_id, device_id, algorithm),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
INSERT INTO one_time_key_counts (user_id, device_id, algorithm, n)
	SELECT user_id, device_id, algorithm, COUNT(*) FROM one_time_keys GROUP BY user_id, device_id, algorithm;
`,
	// 4: each one-time key written to one B-tree instead of three. Every key
	// ID starts with "algorithm:", so a claim range-scans the primary key
	// (user_id, device_id, key_id) on that prefix and one_time_keys_alg is
	// redundant. On SQLite the table is also rebuilt WITHOUT ROWID, so the
	// primary key is the table itself rather than an index beside a rowid
	// table. The foreign key to devices is kept; nothing references
	// one_time_keys, so dropping and renaming it touches no other table.
	`
DROP INDEX one_time_keys_alg;
{{WITHOUT_ROWID}} CREATE TABLE one_time_keys_new (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	key_id TEXT NOT NULL,
	key_json {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, device_id, key_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
) WITHOUT ROWID;
{{WITHOUT_ROWID}} INSERT INTO one_time_keys_new (user_id, device_id, algorithm, key_id, key_json)
	SELECT user_id, device_id, algorithm, key_id, key_json FROM one_time_keys;
{{WITHOUT_ROWID}} DROP TABLE one_time_keys;
{{WITHOUT_ROWID}} ALTER TABLE one_time_keys_new RENAME TO one_time_keys;
`,
	// 5: expiry (store.Expiry). A to-device transaction ID records when it
	// was stored, so that it can be forgotten after the retention window;
	// rows from before this version read 0 and go at the first sweep.
	// Both expiring tables get an index on their creation time, so that
	// the periodic sweep reads only the expired rows instead of the table.
	`
ALTER TABLE to_device_txns ADD COLUMN created_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX to_device_txns_created ON to_device_txns (created_ms);
CREATE INDEX uia_sessions_created ON uia_sessions (created_ms);
`,
	// 6: shared-secret registration nonces (store.RegistrationNonces), in
	// the database so that every instance sharing it knows every nonce.
	// A nonce is deleted when used; the index on expires_ms lets the
	// periodic sweep read only the expired ones that were never used.
	`
CREATE TABLE registration_nonces (
	nonce TEXT PRIMARY KEY,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX registration_nonces_expires ON registration_nonces (expires_ms);
`,
	// 7: one-time keys appended instead of clustered (SQLite only, like
	// migration 4, which this partly undoes). Clustered on (user_id,
	// device_id, key_id), every upload wrote its keys — about 250 bytes
	// each — into the middle of its device's range: each upload of a
	// group commit dirtied its own leaf page, and a device's leaf split
	// every few uploads. As a rowid table the keys of a whole group commit
	// go to the one or two pages at the table's right edge, and the unique
	// index beside it carries only the short key columns, so its leaves
	// fill four times more slowly. Measured with store/sqlite's
	// BenchmarkUploadKeys (16 writers, 5 keys each): write-ahead-log
	// writes per upload 10.6 → 6.9 and CPU per upload ×0.82–0.84
	// (docs/performance-server.md, session 3). Claims still range-scan
	// (user_id, device_id, key_id), now on the index.
	`
{{WITHOUT_ROWID}} CREATE TABLE one_time_keys_new (
	seq INTEGER PRIMARY KEY,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	key_id TEXT NOT NULL,
	key_json {{BLOB}} NOT NULL,
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
{{WITHOUT_ROWID}} INSERT INTO one_time_keys_new (user_id, device_id, algorithm, key_id, key_json)
	SELECT user_id, device_id, algorithm, key_id, key_json FROM one_time_keys;
{{WITHOUT_ROWID}} DROP TABLE one_time_keys;
{{WITHOUT_ROWID}} ALTER TABLE one_time_keys_new RENAME TO one_time_keys;
{{WITHOUT_ROWID}} CREATE UNIQUE INDEX one_time_keys_id ON one_time_keys (user_id, device_id, key_id);
`,
	// 8: one-time keys as one row per upload and algorithm (otk.go). Five
	// keys written as one row cost the SQLite writer one B-tree insert
	// instead of ten (five table rows, five index entries); over HTTP,
	// /keys/upload of five keys went from ~0.2 to ~0.3 of the ceiling
	// (docs/performance-server.md, session 5). The existing keys become
	// batches of one, in the order claims took them (key ID); their JSON
	// is copied byte for byte into the batch object.
	`
{{ONLY sqlite}} CREATE TABLE one_time_key_batches (
	seq INTEGER PRIMARY KEY,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	n INTEGER NOT NULL,
	claimed INTEGER NOT NULL,
	keys BLOB NOT NULL,
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
{{ONLY postgres}} CREATE TABLE one_time_key_batches (
	seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	n INTEGER NOT NULL,
	claimed INTEGER NOT NULL,
	keys BYTEA NOT NULL,
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX one_time_key_batches_device ON one_time_key_batches (user_id, device_id, algorithm, seq);
{{ONLY sqlite}} INSERT INTO one_time_key_batches (user_id, device_id, algorithm, n, claimed, keys)
	SELECT user_id, device_id, algorithm, 1, 0, CAST('{' || json_quote(key_id) || ':' || CAST(key_json AS TEXT) || '}' AS BLOB)
	FROM one_time_keys ORDER BY user_id, device_id, key_id;
{{ONLY postgres}} INSERT INTO one_time_key_batches (user_id, device_id, algorithm, n, claimed, keys)
	SELECT user_id, device_id, algorithm, 1, 0, convert_to('{' || to_json(key_id)::text || ':' || convert_from(key_json, 'UTF8') || '}', 'UTF8')
	FROM one_time_keys ORDER BY user_id, device_id, key_id COLLATE "C";
DROP TABLE one_time_keys;
`,
	// 9: on PostgreSQL, the unclaimed one-time key IDs of every batch, so
	// that an upload checks its IDs with one index lookup instead of
	// reading and decoding all the device's batches (a device holding
	// thousands of keys made each upload cost milliseconds under the write
	// lock every instance shares). SQLite keeps these IDs in the writer's
	// memory (otk.go) and gets no table. The existing batches are read in
	// document order (json, not jsonb, keeps it), skipping the claimed
	// prefix.
	`
{{ONLY postgres}} CREATE TABLE one_time_key_ids (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	key_id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	PRIMARY KEY (user_id, device_id, key_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
{{ONLY postgres}} INSERT INTO one_time_key_ids (user_id, device_id, key_id, seq)
	SELECT b.user_id, b.device_id, k.key_id, b.seq FROM one_time_key_batches b
	CROSS JOIN LATERAL json_object_keys(convert_from(b.keys, 'UTF8')::json) WITH ORDINALITY AS k(key_id, ord)
	WHERE k.ord > b.claimed;
`,
	// 10: on SQLite, the state of the one-time key journal (otkjournal.go):
	// the ID that ties a journal file to this database and the number of
	// the last record folded into it.
	`
{{ONLY sqlite}} CREATE TABLE otk_journal (
	id INTEGER PRIMARY KEY CHECK (id = 0),
	journal_id BLOB NOT NULL,
	applied_lsn INTEGER NOT NULL
);
{{ONLY sqlite}} INSERT INTO otk_journal (id, journal_id, applied_lsn) VALUES (0, randomblob(16), 0);
`,
}

// withoutRowIDOnly starts a migration statement that runs only on dialects
// with [Dialect.WithoutRowID].
const withoutRowIDOnly = "{{WITHOUT_ROWID}}"

// dialectOnly starts a migration statement that runs only on the dialect
// named next ("{{ONLY sqlite}} CREATE …").
const dialectOnly = "{{ONLY "

// forDialect strips a statement's dialect prefix and reports whether it
// runs on d.
func forDialect(s string, d Dialect) (string, bool) {
	if rest, ok := strings.CutPrefix(s, withoutRowIDOnly); ok {
		return rest, d.WithoutRowID
	}
	if rest, ok := strings.CutPrefix(s, dialectOnly); ok {
		name, stmt, found := strings.Cut(rest, "}}")
		return stmt, found && name == d.Name
	}
	return s, true
}

// migrate applies the missing schema versions, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("%s: create schema_migrations: %w", db.d.Name, err)
	}
	var current int
	if err := db.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("%s: read schema version: %w", db.d.Name, err)
	}
	if current > len(migrations) {
		return fmt.Errorf("%s: database schema version %d is newer than this program (%d)", db.d.Name, current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		script := strings.ReplaceAll(migrations[v-1], "{{BLOB}}", db.d.Blob)
		err := db.inTx(ctx, func(t *tx) error {
			for _, s := range strings.Split(script, ";") {
				s, run := forDialect(strings.TrimSpace(s), db.d)
				if !run || strings.TrimSpace(s) == "" {
					continue
				}
				if _, err := t.t.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("%s: migration %d: %w", db.d.Name, v, err)
				}
			}
			_, err := t.t.ExecContext(ctx, db.rebind(`INSERT INTO schema_migrations (version) VALUES (?)`), v)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
