package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"vouch/internal/pgtest"
	"vouch/server"
	"vouch/store/postgres"
)

const (
	nonceSecret   = "s3cret"
	synapseRegURL = "/_synapse/admin/v1/register"
)

// withSharedSecret turns shared-secret registration on.
func withSharedSecret(c *server.Config) {
	c.ServerName = "example.org"
	c.Registration.SharedSecret = nonceSecret
}

// nonce asks the server for a shared-secret registration nonce.
func (e *env) nonce() string {
	e.t.Helper()
	var n map[string]string
	e.ok("GET", synapseRegURL, "", nil).decode(e.t, &n)
	if n["nonce"] == "" {
		e.t.Fatalf("no nonce in %v", n)
	}
	return n["nonce"]
}

// sharedSecretBody is the POST body registering user (not an admin) with
// nonce, its MAC computed with secret as Synapse's register_new_matrix_user
// does.
func sharedSecretBody(secret, nonce, user, password string) map[string]any {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(nonce + "\x00" + user + "\x00" + password + "\x00notadmin"))
	return map[string]any{"nonce": nonce, "username": user, "password": password, "mac": hex.EncodeToString(mac.Sum(nil))}
}

// TestSharedSecretNonceLifetime: a nonce is valid for 60 s after it was
// issued (by the server's clock) and once; an expired, reused, forged or
// unknown nonce gets 400 M_INVALID_PARAM; a wrong MAC gets 403 and leaves
// the nonce usable; issuing nonces stores nothing, and the sweep deletes
// the records of used nonces once they expired and counts them.
func TestSharedSecretNonceLifetime(t *testing.T) {
	e, srv, clk := newSecretClockEnv(t)
	tests := []struct {
		name   string
		age    time.Duration
		secret string
		reuse  bool // post the body a second time
		status int
		code   string
	}{
		{"fresh", 0, nonceSecret, false, 200, ""},
		{"within 60 s", 59 * time.Second, nonceSecret, false, 200, ""},
		{"expired", 60*time.Second + 2*time.Millisecond, nonceSecret, false, 400, "M_INVALID_PARAM"},
		{"long expired", time.Hour, nonceSecret, false, 400, "M_INVALID_PARAM"},
		{"reused", 0, nonceSecret, true, 400, "M_INVALID_PARAM"},
		{"wrong MAC", 0, "wrong", false, 403, "M_FORBIDDEN"},
		{"a wrong MAC leaves it usable", 0, "wrong", true, 200, ""},
	}
	for i, tc := range tests {
		clk.set(0)
		n := e.nonce()
		clk.set(tc.age)
		body := sharedSecretBody(tc.secret, n, "user"+string(rune('a'+i)), "pw")
		r := e.do("POST", synapseRegURL, "", body)
		if tc.reuse {
			r = e.do("POST", synapseRegURL, "", sharedSecretBody(nonceSecret, n, "other"+string(rune('a'+i)), "pw"))
		}
		if r.Status != tc.status || r.code() != tc.code {
			t.Fatalf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
		}
	}
	e.want(400, "M_INVALID_PARAM", "POST", synapseRegURL, "", sharedSecretBody(nonceSecret, "never-issued", "x", "y"))
	// A nonce whose tag does not match (one character changed), and one
	// issued under another secret, are refused like an unknown one.
	clk.set(0)
	n := e.nonce()
	forged := n[:10] + string("AB"[boolIndex(n[10] == 'A')]) + n[11:]
	e.want(400, "M_INVALID_PARAM", "POST", synapseRegURL, "", sharedSecretBody(nonceSecret, forged, "forger", "pw"))
	other, _, _ := newSecretClockEnv(t, func(c *server.Config) { c.Registration.SharedSecret = "another secret" })
	e.want(400, "M_INVALID_PARAM", "POST", synapseRegURL, "", sharedSecretBody(nonceSecret, other.nonce(), "stranger", "pw"))

	// Start the sweep check from an empty table.
	clk.set(10 * time.Minute)
	if _, _, _, err := srv.SweepExpired(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := expiredMetric(e, "registration_nonce")
	// Nonces issued and never used leave nothing behind.
	for range 10 {
		e.nonce()
	}
	// Three used nonces are kept until they expire, then swept.
	for i := range 3 {
		e.ok("POST", synapseRegURL, "", sharedSecretBody(nonceSecret, e.nonce(), "swept"+string(rune('a'+i)), "pw"))
	}
	clk.set(10*time.Minute + 30*time.Second)
	if _, _, n, err := srv.SweepExpired(t.Context()); err != nil || n != 0 {
		t.Fatalf("sweep within the lifetime deleted %d nonces (%v), want 0", n, err)
	}
	clk.set(12 * time.Minute)
	if _, _, n, err := srv.SweepExpired(t.Context()); err != nil || n != 3 {
		t.Fatalf("sweep after the lifetime deleted %d nonces (%v), want 3 (the used ones, none of the 10 unused)", n, err)
	}
	if got := expiredMetric(e, "registration_nonce"); got != before+3 {
		t.Fatalf("vouch_expired_deleted_total{kind=registration_nonce} = %v, want %v", got, before+3)
	}
}

// boolIndex is 1 for true and 0 for false.
func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSharedSecretAcrossInstances runs two servers on one PostgreSQL
// database, as behind a load balancer: a nonce issued by A registers on B,
// the new user logs in on A, and the nonce is spent everywhere. Of two
// POSTs of one nonce sent to A and B at once, exactly one registers.
func TestSharedSecretAcrossInstances(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := pgInstance(t, dsn), pgInstance(t, dsn)

	n := a.nonce()
	r := b.ok("POST", synapseRegURL, "", sharedSecretBody(nonceSecret, n, "alice", "pw-alice"))
	var l map[string]string
	r.decode(t, &l)
	if l["user_id"] != "@alice:example.org" || l["access_token"] == "" {
		t.Fatalf("registration on B answered %s", r.Body)
	}
	a.ok("POST", v3+"/login", "", map[string]any{"type": "m.login.password", "user": "alice", "password": "pw-alice"})
	a.ok("GET", v3+"/account/whoami", l["access_token"], nil)
	// Spent: refused on A, which issued it, and on B, which used it.
	a.want(400, "M_INVALID_PARAM", "POST", synapseRegURL, "", sharedSecretBody(nonceSecret, n, "bob", "pw"))
	b.want(400, "M_INVALID_PARAM", "POST", synapseRegURL, "", sharedSecretBody(nonceSecret, n, "bob", "pw"))

	// The same body sent to both at once, a few times.
	for round := range 4 {
		user := "racer" + string(rune('a'+round))
		body := sharedSecretBody(nonceSecret, b.nonce(), user, "pw")
		var wg sync.WaitGroup
		res := make([]resp, 2)
		start := make(chan struct{})
		for i, e := range []*env{a, b} {
			wg.Go(func() {
				<-start
				res[i] = e.do("POST", synapseRegURL, "", body)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, r := range res {
			switch {
			case r.Status == 200:
				won++
			case r.Status != 400 || r.code() != "M_INVALID_PARAM":
				t.Fatalf("round %d: the losing POST answered %d %s, want 400 M_INVALID_PARAM", round, r.Status, r.Body)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of two POSTs of one nonce registered, want 1", round, won)
		}
	}
}

// BenchmarkSharedSecretNonce measures GET /_synapse/admin/v1/register over
// HTTP on SQLite: each nonce is one durable, group-committed insert.
func BenchmarkSharedSecretNonce(b *testing.B) {
	e := startEnv(b, filepath.Join(b.TempDir(), "data"), withSharedSecret)
	b.ResetTimer()
	for b.Loop() {
		e.nonce()
	}
}

// newSecretClockEnv is newClockEnv with shared-secret registration on: a
// server with a movable clock (and an hourly sweep, so that only the test
// sweeps) over the store of a fresh SQLite test environment; mod changes
// its configuration.
func newSecretClockEnv(t *testing.T, mod ...func(*server.Config)) (*env, *server.Server, *clock) {
	t.Helper()
	base := newEnv(t)
	c := &clock{}
	cfg := testConfig()
	withSharedSecret(&cfg)
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := server.New(cfg, base.st, slog.New(slog.NewTextHandler(io.Discard, nil)), c.option(), sweepEvery(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &env{t: t, srv: hs, st: base.st}, srv, c
}

// pgInstance starts a server with shared-secret registration on its own
// store over the PostgreSQL database dsn, served over real HTTP; both are
// closed when the test ends, the server first.
func pgInstance(t *testing.T, dsn string) *env {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	withSharedSecret(&cfg)
	srv, err := server.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		st.Close()
	})
	return &env{t: t, srv: hs, st: st}
}
