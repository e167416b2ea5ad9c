package pgnotify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"vouch/internal/pgtest"
	"vouch/internal/testidentity"
	"vouch/internal/testserver"
	"vouch/server"
	"vouch/server/pgnotify"
	"vouch/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var _ server.Notifier = (*pgnotify.Notifier)(nil)

func newNotifier(t *testing.T, dsn string) *pgnotify.Notifier {
	t.Helper()
	n, err := pgnotify.New(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// woken reports whether ch receives within d.
func woken(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func TestNotifyAcrossProcesses(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := newNotifier(t, dsn), newNotifier(t, dsn)
	aliceB, unsub := b.Subscribe("@alice:x")
	defer unsub()
	carolB, unsub2 := b.Subscribe("@carol:x")
	defer unsub2()
	aliceA, unsub3 := a.Subscribe("@alice:x")
	defer unsub3()

	a.Notify("@alice:x", "@bob:x")
	if !woken(aliceA, time.Second) {
		t.Fatal("local subscriber on A not woken")
	}
	if !woken(aliceB, 5*time.Second) {
		t.Fatal("subscriber on B not woken by a Notify on A")
	}
	if woken(carolB, 300*time.Millisecond) {
		t.Fatal("carol on B woken by a notification for alice and bob")
	}
	// A's own notification comes back on A's listener and is skipped: no
	// second wake-up.
	if woken(aliceA, 300*time.Millisecond) {
		t.Fatal("A woken twice by its own notification")
	}
}

func TestListenerReconnects(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := newNotifier(t, dsn), newNotifier(t, dsn)
	ch, unsub := b.Subscribe("@alice:x")
	defer unsub()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// Both notifiers' listeners are on this database; cut them all.
	var n int
	if err := admin.QueryRow(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'vouch pgnotify listener' AND datname = current_database()`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("terminated %d listeners (%v), want 2", n, err)
	}
	if !woken(ch, 5*time.Second) {
		t.Fatal("subscriber not woken when its listener connection broke")
	}
	// After reconnecting, notifications flow again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.Notify("@alice:x")
		if woken(ch, 200*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification delivered after the listener reconnected")
		}
	}
}

func TestNewBadURL(t *testing.T) {
	if _, err := pgnotify.New(context.Background(), "postgres://[::1", slog.New(slog.DiscardHandler)); !errors.Is(err, pgnotify.ErrDatabaseURL) {
		t.Fatalf("bad URL: %v, want ErrDatabaseURL", err)
	}
	if _, err := pgnotify.New(context.Background(), "postgres://u:p@127.0.0.1:1/db?connect_timeout=2", slog.New(slog.DiscardHandler)); !errors.Is(err, pgnotify.ErrListen) {
		t.Fatalf("unreachable server: %v, want ErrListen", err)
	}
}

// instance is one stateless `vouch serve` over the shared database.
type instance struct {
	t   *testing.T
	url string
}

func startInstance(t *testing.T, dsn string) *instance {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	n := newNotifier(t, dsn)
	cfg := testserver.Config()
	cfg.RateLimit = server.RateLimitConfig{}
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), server.WithNotifier(n))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); hs.Close(); st.Close() })
	return &instance{t: t, url: hs.URL}
}

func (in *instance) do(method, path, token string, body []byte) (int, []byte) {
	in.t.Helper()
	req, err := http.NewRequest(method, in.url+path, bytes.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Error(err)
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (in *instance) ok(method, path, token string, body []byte, out any) {
	in.t.Helper()
	code, b := in.do(method, path, token, body)
	if code != 200 {
		in.t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			in.t.Fatal(err)
		}
	}
}

func js(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

const v3 = "/_matrix/client/v3"

func (in *instance) register(local, device string) string {
	in.t.Helper()
	var r struct {
		AccessToken string `json:"access_token"`
	}
	in.ok("POST", v3+"/register", "", js(map[string]any{"username": local, "password": "pw-" + local, "device_id": device, "auth": map[string]string{"type": "m.login.dummy"}}), &r)
	return r.AccessToken
}

type syncResp struct {
	NextBatch   string `json:"next_batch"`
	DeviceLists struct {
		Changed []string `json:"changed"`
	} `json:"device_lists"`
}

// TestTwoInstances runs two servers over one database: a change committed
// through A wakes a /sync long-poll on B, B's /keys/query sees signatures
// uploaded through A, and since tokens are valid on both.
func TestTwoInstances(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := startInstance(t, dsn), startInstance(t, dsn)
	const alice, bob = "@alice:localhost", "@bob:localhost"
	bobID := testidentity.New(bob, "BOBDEV")
	aliceTok := b.register("alice", "ALICEDEV")
	bobTok := a.register("bob", "BOBDEV")

	// alice watches bob (through B), and takes a since token from A.
	b.ok("POST", v3+"/keys/query", aliceTok, js(map[string]any{"device_keys": map[string][]string{bob: {}}}), nil)
	var first syncResp
	a.ok("GET", v3+"/sync", aliceTok, nil, &first)

	type result struct {
		r    syncResp
		at   time.Time
		code int
	}
	done := make(chan result, 1)
	go func() {
		code, body := b.do("GET", v3+"/sync?timeout=30000&since="+first.NextBatch, aliceTok, nil)
		var r syncResp
		json.Unmarshal(body, &r) //nolint:errcheck // checked through r
		done <- result{r, time.Now(), code}
	}()
	// Wait until B's /sync is long-polling, so that only a wake-up can end it early.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m := b.do("GET", "/metrics", "", nil)
		if strings.Contains(string(m), "\nvouch_sync_waiters 1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alice's /sync on B never started waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
	uploaded := time.Now()
	a.ok("POST", v3+"/keys/upload", bobTok, js(map[string]json.RawMessage{"device_keys": bobID.DeviceKeys("BOBDEV")}), nil)
	select {
	case res := <-done:
		if res.code != 200 || len(res.r.DeviceLists.Changed) != 1 || res.r.DeviceLists.Changed[0] != bob {
			t.Fatalf("woken /sync on B: %d, changed %v, want [%s]", res.code, res.r.DeviceLists.Changed, bob)
		}
		if d := res.at.Sub(uploaded); d > 3*time.Second {
			t.Fatalf("/sync on B woke %v after the upload on A", d)
		}
		t.Logf("/sync on B woke %v after the upload on A", res.at.Sub(uploaded))
	case <-time.After(10 * time.Second):
		t.Fatal("/sync on B not woken within 10s of bob's upload on A")
	}

	// Cross-signing and a signature uploaded through A, queried through B.
	a.ok("POST", v3+"/keys/device_signing/upload", bobTok, bobID.UploadBody(), nil)
	a.ok("POST", v3+"/keys/signatures/upload", bobTok, js(map[string]map[string]json.RawMessage{bob: {"BOBDEV": bobID.DeviceKeysCrossSigned("BOBDEV")}}), nil)
	var q struct {
		DeviceKeys map[string]map[string]struct {
			Signatures map[string]map[string]string `json:"signatures"`
		} `json:"device_keys"`
		MasterKeys map[string]json.RawMessage `json:"master_keys"`
	}
	b.ok("POST", v3+"/keys/query", aliceTok, js(map[string]any{"device_keys": map[string][]string{bob: {}}}), &q)
	sigs := q.DeviceKeys[bob]["BOBDEV"].Signatures[bob]
	if _, ok := sigs[bobID.SelfSigning.KeyID()]; !ok {
		t.Fatalf("B's /keys/query lacks the self-signing signature uploaded on A: %v", sigs)
	}
	if _, ok := q.MasterKeys[bob]; !ok {
		t.Fatal("B's /keys/query lacks bob's master key uploaded on A")
	}

	// A since token from B is valid on A and the reverse: nothing new
	// since alice's last token from B.
	var fromB syncResp
	b.ok("GET", v3+"/sync?since="+first.NextBatch, aliceTok, nil, &fromB)
	var onA syncResp
	a.ok("GET", v3+"/sync?since="+fromB.NextBatch, aliceTok, nil, &onA)
	if len(onA.DeviceLists.Changed) != 0 || onA.NextBatch != fromB.NextBatch {
		t.Fatalf("B's token %s on A: next %s, changed %v; want no change", fromB.NextBatch, onA.NextBatch, onA.DeviceLists.Changed)
	}
}

// BenchmarkWakeAcrossProcesses measures the latency from Notify on one
// notifier to the wake-up of a subscriber of another on the same database.
func BenchmarkWakeAcrossProcesses(b *testing.B) {
	dsn := pgtest.Start(b)
	log := slog.New(slog.DiscardHandler)
	na, err := pgnotify.New(context.Background(), dsn, log)
	if err != nil {
		b.Fatal(err)
	}
	defer na.Close()
	nb, err := pgnotify.New(context.Background(), dsn, log)
	if err != nil {
		b.Fatal(err)
	}
	defer nb.Close()
	ch, unsub := nb.Subscribe("@alice:x")
	defer unsub()
	for b.Loop() {
		na.Notify("@alice:x")
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			b.Fatal("no wake-up within 5s")
		}
	}
}
