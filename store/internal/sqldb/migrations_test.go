package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"vouch/internal/pgtest"
	"vouch/store"
)

// TestMigrationUpgradeFromV3 builds a version-3 SQLite database holding
// one-time keys and a to-device transaction ID, opens it with New (which
// applies migrations 4 to the newest) and checks that the transaction ID
// reads as created at 0 (so the first sweep removes it), that the keys
// survived the rebuilds of one_time_keys (WITHOUT ROWID in 4, a rowid table
// in 7) and the move to one_time_key_batches (8) byte for byte, escapes in
// key IDs and JSON included, that no leftover of the old tables remains,
// that a key ID is still unique per device, that claims take the keys in
// the old order (key ID) and that the foreign key to devices still
// cascades.
func TestMigrationUpgradeFromV3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 3; v++ {
		for _, s := range strings.Split(strings.ReplaceAll(migrations[v-1], "{{BLOB}}", "BLOB"), ";") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			if _, err := raw.ExecContext(ctx, s); err != nil {
				t.Fatalf("migration %d: %v", v, err)
			}
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{
		`INSERT INTO accounts VALUES ('@a:x', 'h', 0, 1)`,
		`INSERT INTO devices VALUES ('@a:x', 'D1', '', 1)`,
		`INSERT INTO devices VALUES ('@a:x', 'D2', '', 1)`,
		otkRow(SQLite, "@a:x", "D1", "signed_curve25519:B", `{"key":"b"}`),
		otkRow(SQLite, "@a:x", "D1", "signed_curve25519:A", `{"key":"a\u00e9","signatures":{}}`),
		otkRow(SQLite, "@a:x", "D1", `curve25519:C"q`, `"c"`),
		otkRow(SQLite, "@a:x", "D2", "curve25519:D", `"d"`),
		`INSERT INTO one_time_key_counts SELECT user_id, device_id, algorithm, COUNT(*) FROM one_time_keys GROUP BY user_id, device_id, algorithm`,
		`INSERT INTO to_device_txns VALUES ('@a:x', 'D1', 'txn-before-5')`,
	} {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}

	db, err := New(ctx, raw, raw, SQLite, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Migration 8: the keys are batches of one, the old tables are gone.
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('one_time_keys', 'one_time_keys_alg', 'one_time_keys_new', 'one_time_keys_id')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d leftovers of the old one-time key tables in sqlite_master", n)
	}
	checkMigratedOTKs(t, db, raw)

	// Migration 5: a transaction ID stored before it reads created_ms 0 and
	// goes at the first sweep.
	var created int64
	if err := raw.QueryRowContext(ctx, `SELECT created_ms FROM to_device_txns WHERE txn_id = 'txn-before-5'`).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if created != 0 {
		t.Errorf("pre-migration transaction ID has created_ms %d, want 0", created)
	}
	if _, txns, _, err := db.DeleteExpired(ctx, 0, 1, 0); err != nil || txns != 1 {
		t.Errorf("first sweep after the upgrade deleted %d transaction IDs (err %v), want 1", txns, err)
	}

	if _, err := raw.ExecContext(ctx, `DELETE FROM devices WHERE device_id = 'D2'`); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_key_batches WHERE device_id = 'D2'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("deleting device D2 left %d one-time keys: the foreign key was lost", n)
	}
}

// otkRow is an INSERT of a one-time key into the pre-8 one_time_keys
// table of dialect d (the key JSON as a byte string).
func otkRow(d Dialect, user, dev, keyID, js string) string {
	alg, _, _ := strings.Cut(keyID, ":")
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	bytes := fmt.Sprintf(`x'%x'`, js)
	if d.Name == Postgres.Name {
		bytes = fmt.Sprintf(`decode('%x', 'hex')`, js)
	}
	return fmt.Sprintf(`INSERT INTO one_time_keys (user_id, device_id, algorithm, key_id, key_json) VALUES (%s, %s, %s, %s, %s)`,
		q(user), q(dev), q(alg), q(keyID), bytes)
}

// checkMigratedOTKs checks the one-time keys of otkRow's fixture after
// migration 8: four one-key batches, key IDs still unique per device (the
// JSON compared byte for byte), claims in the old order (key ID) with the
// bytes unchanged.
func checkMigratedOTKs(t *testing.T, db *DB, raw *sql.DB) {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_key_batches WHERE n = 1 AND claimed = 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d one-key batches after the upgrade, want 4", n)
	}
	up := func(id, js string) error {
		_, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1",
			OneTimeKeys: []store.OneTimeKey{{KeyID: id, Algorithm: "curve25519", JSON: []byte(js)}}})
		return err
	}
	if err := up(`curve25519:C"q`, `"other"`); !errors.Is(err, store.ErrOneTimeKeyExists) {
		t.Errorf("other content under a migrated key ID: %v, want ErrOneTimeKeyExists", err)
	}
	if err := up(`curve25519:C"q`, `"c"`); err != nil {
		t.Errorf("identical re-upload of a migrated key: %v", err)
	}
	for _, want := range []struct{ alg, id, js string }{
		{"signed_curve25519", "signed_curve25519:A", `{"key":"a\u00e9","signatures":{}}`},
		{"signed_curve25519", "signed_curve25519:B", `{"key":"b"}`},
		{"curve25519", `curve25519:C"q`, `"c"`},
	} {
		got, err := db.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D1": want.alg}})
		if err != nil {
			t.Fatal(err)
		}
		if js, ok := got["@a:x"]["D1"][want.id]; !ok || string(js) != want.js {
			t.Errorf("claim of %s after upgrade = %q, want %s = %s", want.alg, got, want.id, want.js)
		}
	}
	counts, err := db.OneTimeKeyCounts(ctx, "@a:x", "D1")
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Errorf("counts after upgrade and claims = %v, want none", counts)
	}
}

// TestMigration8Postgres upgrades a version-7 PostgreSQL database holding
// one-time keys (the same fixture as TestMigrationUpgradeFromV3) and checks
// them as checkMigratedOTKs does, and that the old table is gone.
func TestMigration8Postgres(t *testing.T) {
	ctx := context.Background()
	raw, err := sql.Open("pgx", pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	migratePostgresTo(t, raw, 7)
	for _, s := range []string{
		`INSERT INTO accounts (user_id, password_hash, admin, created_ms) VALUES ('@a:x', 'h', 0, 1)`,
		`INSERT INTO devices (user_id, device_id, display_name, created_ms) VALUES ('@a:x', 'D1', '', 1)`,
		`INSERT INTO devices (user_id, device_id, display_name, created_ms) VALUES ('@a:x', 'D2', '', 1)`,
		otkRow(Postgres, "@a:x", "D1", "signed_curve25519:B", `{"key":"b"}`),
		otkRow(Postgres, "@a:x", "D1", "signed_curve25519:A", `{"key":"a\u00e9","signatures":{}}`),
		otkRow(Postgres, "@a:x", "D1", `curve25519:C"q`, `"c"`),
		otkRow(Postgres, "@a:x", "D2", "curve25519:D", `"d"`),
		`INSERT INTO one_time_key_counts SELECT user_id, device_id, algorithm, COUNT(*) FROM one_time_keys GROUP BY user_id, device_id, algorithm`,
	} {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db, err := New(ctx, raw, raw, Postgres, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'one_time_keys'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("one_time_keys is still there after migration 8")
	}
	checkMigratedOTKs(t, db, raw)
}

// migratePostgresTo applies migrations 1 to last to an empty PostgreSQL
// database, as New would, and records them.
func migratePostgresTo(t *testing.T, raw *sql.DB, last int) {
	t.Helper()
	ctx := context.Background()
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= last; v++ {
		for _, s := range strings.Split(strings.ReplaceAll(migrations[v-1], "{{BLOB}}", Postgres.Blob), ";") {
			s, run := forDialect(strings.TrimSpace(s), Postgres)
			if !run || strings.TrimSpace(s) == "" {
				continue
			}
			if _, err := raw.ExecContext(ctx, s); err != nil {
				t.Fatalf("migration %d: %v", v, err)
			}
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigration9Postgres upgrades a version-8 PostgreSQL database whose
// batches have claimed prefixes and key IDs that need JSON escapes, and
// checks that one_time_key_ids then holds exactly the unclaimed key IDs
// with their batches, and that uploads and claims go on from there.
func TestMigration9Postgres(t *testing.T) {
	ctx := context.Background()
	raw, err := sql.Open("pgx", pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	migratePostgresTo(t, raw, 8)
	for _, s := range []string{
		`INSERT INTO accounts (user_id, password_hash, admin, created_ms) VALUES ('@a:x', 'h', 0, 1)`,
		`INSERT INTO devices (user_id, device_id, display_name, created_ms) VALUES ('@a:x', 'D1', '', 1)`,
		`INSERT INTO devices (user_id, device_id, display_name, created_ms) VALUES ('@a:x', 'D2', '', 1)`,
	} {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	batch := func(dev, alg string, claimed int, ids ...string) int64 {
		keys := make([]store.OneTimeKey, len(ids))
		for i, id := range ids {
			keys[i] = store.OneTimeKey{KeyID: id, Algorithm: alg, JSON: []byte(fmt.Sprintf(`{"key":%q}`, id))}
		}
		blob, err := encodeOTKBatch(keys)
		if err != nil {
			t.Fatal(err)
		}
		var seq int64
		if err := raw.QueryRowContext(ctx, `INSERT INTO one_time_key_batches (user_id, device_id, algorithm, n, claimed, keys) VALUES ('@a:x', $1, $2, $3, $4, $5) RETURNING seq`,
			dev, alg, len(ids), claimed, blob).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	// Key-ID order inside a batch is bytewise: "A" < "B" < "a" < "é".
	s1 := batch("D1", "signed_curve25519", 2, "signed_curve25519:A", "signed_curve25519:B", `signed_curve25519:q"x`, "signed_curve25519:é")
	s2 := batch("D1", "curve25519", 0, `curve25519:back\slash`, "curve25519:z")
	s3 := batch("D2", "curve25519", 0, "curve25519:d")
	if _, err := raw.ExecContext(ctx, `INSERT INTO one_time_key_counts (user_id, device_id, algorithm, n) VALUES ('@a:x', 'D1', 'signed_curve25519', 2), ('@a:x', 'D1', 'curve25519', 2), ('@a:x', 'D2', 'curve25519', 1)`); err != nil {
		t.Fatal(err)
	}
	db, err := New(ctx, raw, raw, Postgres, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type idRow struct {
		dev, id string
		seq     int64
	}
	var got []idRow
	rows, err := raw.QueryContext(ctx, `SELECT device_id, key_id, seq FROM one_time_key_ids WHERE user_id = '@a:x' ORDER BY device_id, key_id COLLATE "C"`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r idRow
		if err := rows.Scan(&r.dev, &r.id, &r.seq); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	rows.Close()
	want := []idRow{
		{"D1", `curve25519:back\slash`, s2},
		{"D1", "curve25519:z", s2},
		{"D1", `signed_curve25519:q"x`, s1},
		{"D1", "signed_curve25519:é", s1},
		{"D2", "curve25519:d", s3},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("one_time_key_ids after migration 9:\n got %v\nwant %v", got, want)
	}
	// A claimed ID may come back; a stored one may not, with other content.
	up := func(id, content string) error {
		_, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", OneTimeKeys: []store.OneTimeKey{
			{KeyID: id, Algorithm: "signed_curve25519", JSON: []byte(content)}}})
		return err
	}
	if err := up("signed_curve25519:A", `{"key":"new"}`); err != nil {
		t.Errorf("re-upload of a claimed key ID: %v", err)
	}
	if err := up(`signed_curve25519:q"x`, `{"key":"other"}`); !errors.Is(err, store.ErrOneTimeKeyExists) {
		t.Errorf("other content under a migrated unclaimed ID: %v, want ErrOneTimeKeyExists", err)
	}
	got2, err := db.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D1": "signed_curve25519"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got2["@a:x"]["D1"][`signed_curve25519:q"x`]; !ok {
		t.Errorf("first claim after the migration = %v, want the oldest batch's first unclaimed key", got2)
	}
	var left int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_key_ids WHERE key_id = $1`, `signed_curve25519:q"x`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Error("a claimed key's ID is still in one_time_key_ids")
	}
}
