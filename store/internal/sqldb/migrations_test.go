package sqldb

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestMigrationUpgradeFromV3 builds a version-3 SQLite database holding
// one-time keys and a to-device transaction ID, opens it with New (which
// applies migrations 4 to the newest) and checks that the transaction ID
// reads as created at 0 (so the first sweep removes it), that the keys
// survived both rebuilds of one_time_keys (WITHOUT ROWID in 4, a rowid
// table with a unique index in 7), that no leftover of either remains, that
// a key ID is still unique per device, that claims find the keys by their
// ID prefix and that the foreign key to devices still cascades.
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
		`INSERT INTO one_time_keys VALUES ('@a:x', 'D1', 'signed_curve25519', 'signed_curve25519:B', x'7b7d')`,
		`INSERT INTO one_time_keys VALUES ('@a:x', 'D1', 'signed_curve25519', 'signed_curve25519:A', x'2261220a')`,
		`INSERT INTO one_time_keys VALUES ('@a:x', 'D1', 'curve25519', 'curve25519:C', x'2263')`,
		`INSERT INTO one_time_keys VALUES ('@a:x', 'D2', 'curve25519', 'curve25519:D', x'2264')`,
		`INSERT INTO one_time_key_counts SELECT user_id, device_id, algorithm, COUNT(*) FROM one_time_keys GROUP BY user_id, device_id, algorithm`,
		`INSERT INTO to_device_txns VALUES ('@a:x', 'D1', 'txn-before-5')`,
	} {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}

	db, err := New(ctx, raw, raw, SQLite)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var ddl string
	if err := raw.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'one_time_keys'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"seq INTEGER PRIMARY KEY", "REFERENCES devices"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("one_time_keys DDL lacks %q:\n%s", want, ddl)
		}
	}
	if strings.Contains(ddl, "WITHOUT ROWID") {
		t.Errorf("one_time_keys is still clustered:\n%s", ddl)
	}
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('one_time_keys_alg', 'one_time_keys_new')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d leftovers of the rebuilds in sqlite_master", n)
	}
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d one-time keys after the upgrade, want 4", n)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO one_time_keys (user_id, device_id, algorithm, key_id, key_json) VALUES ('@a:x', 'D1', 'curve25519', 'curve25519:C', x'00')`); err == nil {
		t.Error("a second key with ID curve25519:C on D1 was accepted: the unique index is missing")
	}

	got, err := db.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D1": "signed_curve25519"}})
	if err != nil {
		t.Fatal(err)
	}
	if js, ok := got["@a:x"]["D1"]["signed_curve25519:A"]; !ok || string(js) != "\"a\"\n" {
		t.Errorf("claim after upgrade = %q, want signed_curve25519:A", got)
	}
	counts, err := db.OneTimeKeyCounts(ctx, "@a:x", "D1")
	if err != nil {
		t.Fatal(err)
	}
	if counts["signed_curve25519"] != 1 || counts["curve25519"] != 1 || len(counts) != 2 {
		t.Errorf("counts after upgrade and claim = %v", counts)
	}

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
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_keys WHERE device_id = 'D2'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("deleting device D2 left %d one-time keys: the foreign key was lost", n)
	}
}
