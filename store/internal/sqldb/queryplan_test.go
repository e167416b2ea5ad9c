package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"vouch/internal/pgtest"

	"vouch/store"
	"vouch/store/storetest"
)

// fullScanAllowed are the tables a statement may read in full: each has at
// most a handful of rows whatever the number of users.
var fullScanAllowed = map[string]string{
	"stream_position": "one row",
}

// scanRE matches a query-plan step that reads a whole table; "SCAN t USING
// [COVERING] INDEX" walks a whole index, which is as bad.
var scanRE = regexp.MustCompile(`^SCAN (\S+)`)

// TestQueryPlans runs the conformance suite against SQLite, collects every
// distinct statement the store prepared on the way, and asks SQLite for
// each one's plan (EXPLAIN QUERY PLAN, on the real schema, without
// statistics, as in production). A statement that reads a whole table whose
// size grows with the users fails the test: on a server with 100,000 users
// such a statement costs milliseconds instead of microseconds, and no
// functional test notices. (Row-value lookups such as "(user_id,
// device_id) IN (VALUES …)" are the shape to watch: SQLite 3.54 searches
// the primary key for them, older versions scanned the table.)
func TestQueryPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole conformance suite")
	}
	var dbs []*DB
	t.Run("conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			db := openSQLiteForTest(t)
			dbs = append(dbs, db)
			return db
		})
	})
	seen := map[string]bool{}
	for _, db := range dbs {
		db.mu.Lock()
		for k := range db.stmts {
			seen[k.query] = true
		}
		db.mu.Unlock()
		// The committer has stopped (Close ran in each subtest's cleanup),
		// so its maps are no longer written.
		for q := range db.wstmts {
			seen[q] = true
		}
		for q := range db.wpending {
			seen[q] = true
		}
	}
	queries := make([]string, 0, len(seen))
	for q := range seen {
		queries = append(queries, q)
	}
	sort.Strings(queries)
	if len(queries) < 40 {
		t.Fatalf("only %d distinct statements collected: the collection is broken", len(queries))
	}

	plan := openSQLiteForTest(t)
	for _, q := range queries {
		problems, err := fullScans(plan, q)
		if err != nil {
			t.Errorf("explain %s: %v", oneLine(q), err)
		}
		for _, p := range problems {
			t.Errorf("%s\n  %s", oneLine(q), p)
		}
	}
	t.Logf("%d distinct statements checked", len(queries))
}

// TestFullScansReported checks the checker: a lookup on a column without
// an index is reported, one on the primary key and a scan of the caller's
// own VALUES list are not.
func TestFullScansReported(t *testing.T) {
	db := openSQLiteForTest(t)
	for q, want := range map[string]bool{
		`SELECT user_id FROM device_keys WHERE key_json = ?`:                                                                          true,
		`SELECT key_json FROM device_keys WHERE user_id = ? AND device_id = ?`:                                                        false,
		`SELECT d.user_id FROM (VALUES (?, ?)) AS v CROSS JOIN device_keys d WHERE d.user_id = v.column1 AND d.device_id = v.column2`: false,
		`UPDATE stream_position SET pos = pos + 1 WHERE id = 1`:                                                                       false,
	} {
		got, err := fullScans(db, q)
		if err != nil {
			t.Fatal(err)
		}
		if (len(got) > 0) != want {
			t.Errorf("%s: reported %q, want a report: %v", q, got, want)
		}
	}
}

// fullScans returns, for each step of q's plan that reads a whole table
// (other than those in fullScanAllowed and q's own VALUES lists), a line
// saying so.
func fullScans(db *DB, q string) ([]string, error) {
	rows, err := db.w.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
	if err != nil {
		return nil, err
	}
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			rows.Close()
			return nil, err
		}
		steps = append(steps, detail)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	var out []string
	for _, step := range steps {
		m := scanRE.FindStringSubmatch(step)
		if m == nil || strings.Contains(step, "CONSTANT ROW") || strings.Contains(step, "VALUES CLAUSE") {
			continue
		}
		if _, ok := fullScanAllowed[m[1]]; ok || isValuesAlias(q, m[1]) {
			continue
		}
		out = append(out, fmt.Sprintf("reads all of %s (%q); plan: %s", m[1], step, strings.Join(steps, " | ")))
	}
	return out, nil
}

// isValuesAlias reports whether name is the alias of a VALUES list in q
// ("(VALUES …) AS v"): scanning the caller's own list is the point.
func isValuesAlias(q, name string) bool {
	return regexp.MustCompile(`\)\s+AS\s+` + regexp.QuoteMeta(name) + `\b`).MatchString(q)
}

// oneLine is q on one line, cut after 300 bytes (multi-row statements
// repeat their placeholders hundreds of times).
func oneLine(q string) string {
	s := strings.Join(strings.Fields(q), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// openSQLiteForTest opens a migrated SQLite store in a temporary directory
// the way store/sqlite does (one writer connection, a reader pool), closed
// when t ends.
func openSQLiteForTest(t *testing.T) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.db")
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := New(context.Background(), w, r, SQLite, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close() //nolint:errcheck // test cleanup
	})
	return db
}

// openPostgresForTest opens a store on a fresh database of the test
// PostgreSQL server (one pool for writer and readers, as in one process).
func openPostgresForTest(t *testing.T) *DB {
	t.Helper()
	raw, err := sql.Open("pgx", pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	db, err := New(context.Background(), raw, raw, Postgres, Options{})
	if err != nil {
		raw.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close() //nolint:errcheck // test cleanup
	})
	return db
}
