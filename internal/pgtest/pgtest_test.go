package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"vouch/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestDatabasesAreSeparateAndDurable checks that each Start gives an empty
// database of its own on a server that runs with fsync and synchronous
// commit on, not as a superuser's shared scratch space.
func TestDatabasesAreSeparateAndDurable(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.Start(t), pgtest.Start(t)
	if a == b {
		t.Fatalf("two Start calls returned the same database %q", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE t (x INT)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(ctx, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 't'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("table of database a visible in b: n=%d err=%v", n, err)
	}
	for setting, want := range map[string]string{"fsync": "on", "synchronous_commit": "on", "listen_addresses": "127.0.0.1"} {
		var got string
		if err := ca.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}
