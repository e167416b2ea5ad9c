package server_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"vouch/server"
	"vouch/store"
)

// clock is real time moved forward by an offset the test sets. Real time
// underneath keeps it in step with the store, which stamps to-device
// transaction IDs with its own clock.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time                { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) set(d time.Duration)           { c.offset.Store(int64(d)) }
func (c *clock) option() server.Option         { return server.WithClock(c.now) }
func sweepEvery(d time.Duration) server.Option { return server.WithSweepInterval(d) }

// newClockEnv serves a second server, built with opts and a movable clock,
// over the store of a fresh test environment, over real HTTP. The server is
// closed (its sweep stopped) before the store.
func newClockEnv(t *testing.T, opts ...server.Option) (*env, *server.Server, *clock) {
	t.Helper()
	base := newEnv(t)
	c := &clock{}
	srv, err := server.New(testConfig(), base.st, slog.New(slog.NewTextHandler(io.Discard, nil)), append([]server.Option{c.option()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &env{t: t, srv: hs, st: base.st}, srv, c
}

// uiaBody is a 401 user-interactive auth answer.
type uiaBody struct {
	Flows   []map[string][]string `json:"flows"`
	Session string                `json:"session"`
	Code    string                `json:"errcode"`
	Error   string                `json:"error"`
}

// deleteDevice asks to delete device with password auth in session and
// returns the answer.
func (a *acct) deleteDevice(device, session string) resp {
	a.e.t.Helper()
	return a.e.do("DELETE", v3+"/devices/"+device, a.token, map[string]any{"auth": map[string]any{
		"type": "m.login.password", "session": session,
		"identifier": map[string]string{"type": "m.id.user", "user": a.user}, "password": a.password,
	}})
}

// TestUIASessionExpires: a session is usable for uia_session_lifetime (15
// minutes by default); after that it is answered exactly as a session ID the
// server never issued, whether or not the sweep has deleted it yet.
func TestUIASessionExpires(t *testing.T) {
	e, srv, clk := newClockEnv(t, sweepEvery(time.Hour))
	a := e.register("alice")
	// The answer for a session that never existed, to compare with.
	var unknown uiaBody
	a.deleteDevice(a.device, "NEVERISSUED").decode(t, &unknown)
	if unknown.Code != "M_FORBIDDEN" || unknown.Session == "" {
		t.Fatalf("unknown session answered %+v", unknown)
	}
	for _, tc := range []struct {
		name    string
		age     time.Duration
		sweep   bool
		expired bool
	}{
		{"fresh", 0, false, false},
		{"just within the lifetime", 14 * time.Minute, false, false},
		{"within the lifetime, after a sweep", 14 * time.Minute, true, false},
		{"expired, not swept yet", 15*time.Minute + time.Second, false, true},
		{"expired and swept", 15*time.Minute + time.Second, true, true},
		{"long expired", 48 * time.Hour, false, true},
	} {
		clk.set(0)
		var dev map[string]string
		e.ok("POST", v3+"/login", "", map[string]any{"type": "m.login.password", "user": "alice", "password": a.password}).decode(t, &dev)
		var ch uiaBody
		e.want(401, "", "DELETE", v3+"/devices/"+dev["device_id"], a.token, nil).decode(t, &ch)
		clk.set(tc.age)
		if tc.sweep {
			if _, _, _, err := srv.SweepExpired(t.Context()); err != nil {
				t.Fatal(err)
			}
			_, err := e.st.GetUIASession(t.Context(), ch.Session)
			if swept := errors.Is(err, store.ErrNotFound); swept != tc.expired {
				t.Fatalf("%s: session swept = %v (%v), want %v", tc.name, swept, err, tc.expired)
			}
		}
		r := a.deleteDevice(dev["device_id"], ch.Session)
		if !tc.expired {
			if r.Status != 200 {
				t.Fatalf("%s: delete with a live session: %d %s", tc.name, r.Status, r.Body)
			}
			continue
		}
		var got uiaBody
		if r.Status != 401 {
			t.Fatalf("%s: delete with an expired session: %d %s", tc.name, r.Status, r.Body)
		}
		r.decode(t, &got)
		if got.Session == "" || got.Session == ch.Session {
			t.Fatalf("%s: expired session %q answered with session %q, want a new one", tc.name, ch.Session, got.Session)
		}
		got.Session = unknown.Session
		if !reflect.DeepEqual(got, unknown) {
			t.Fatalf("%s: expired session answered %+v, unknown session %+v", tc.name, got, unknown)
		}
		// The device is still there.
		e.ok("GET", v3+"/devices/"+dev["device_id"], a.token, nil)
	}
}

// TestToDeviceTxnRetention: a retried transaction ID is deduplicated within
// to_device_txn_retention (24 hours by default) even across sweeps; once the
// window has passed and the sweep forgot the ID, the same ID is a new
// message and is delivered again (docs/server.md).
func TestToDeviceTxnRetention(t *testing.T) {
	e, srv, clk := newClockEnv(t, sweepEvery(time.Hour))
	a, b := e.register("alice"), e.register("bob")
	sb := b.sync("", 0)
	msg := map[string]any{"messages": map[string]any{b.user: map[string]any{b.device: map[string]string{"hello": "bob"}}}}
	const path = v3 + "/sendToDevice/m.test/txn-retained"
	e.ok("PUT", path, a.token, msg)
	for _, step := range []struct {
		name              string
		at                time.Duration
		wantUIA, wantTxns int
		delivered         int // messages bob has, none acknowledged
	}{
		{"retry at once", 0, 0, 0, 1},
		{"retry within the window", 23 * time.Hour, 0, 0, 1},
		{"retry after the window", 24*time.Hour + time.Minute, 0, 1, 2},
	} {
		clk.set(step.at)
		uia, txns, _, err := srv.SweepExpired(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if uia != step.wantUIA || txns != step.wantTxns {
			t.Fatalf("%s: sweep deleted %d sessions and %d txn IDs, want %d and %d", step.name, uia, txns, step.wantUIA, step.wantTxns)
		}
		e.ok("PUT", path, a.token, msg)
		if got := b.sync(sb.NextBatch, 0).ToDevice.Events; len(got) != step.delivered {
			t.Fatalf("%s: bob has %d messages, want %d", step.name, len(got), step.delivered)
		}
	}
	if got := expiredMetric(e, "to_device_txn"); got != 1 {
		t.Fatalf("vouch_expired_deleted_total{kind=to_device_txn} = %v, want 1", got)
	}
}

// TestSweepRunsPeriodically: the server's own goroutine sweeps (and counts)
// without being called, and stops on Close.
func TestSweepRunsPeriodically(t *testing.T) {
	e, srv, clk := newClockEnv(t, sweepEvery(10*time.Millisecond))
	a := e.register("alice")
	challenge := func() string {
		var ch uiaBody
		e.want(401, "", "DELETE", v3+"/devices/"+a.device, a.token, nil).decode(t, &ch)
		return ch.Session
	}
	first := challenge()
	clk.set(time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for expiredMetric(e, "uia_session") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the periodic sweep did not delete the expired session")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.st.GetUIASession(t.Context(), first); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("swept session still readable: %v", err)
	}
	srv.Close()
	second := challenge() // created at +1h
	clk.set(3 * time.Hour)
	time.Sleep(100 * time.Millisecond) // ten intervals
	if _, err := e.st.GetUIASession(t.Context(), second); err != nil {
		t.Fatalf("a sweep ran after Close: %v", err)
	}
}

// TestExpiryConfig: both settings default as documented and must be
// positive.
func TestExpiryConfig(t *testing.T) {
	def := server.DefaultConfig()
	if def.UIASessionLifetime.Duration != 15*time.Minute || def.ToDeviceTxnRetention.Duration != 24*time.Hour {
		t.Fatalf("defaults %v %v", def.UIASessionLifetime, def.ToDeviceTxnRetention)
	}
	for _, tc := range []struct {
		name string
		mod  func(*server.Config)
		ok   bool
	}{
		{"defaults", func(*server.Config) {}, true},
		{"zero lifetime", func(c *server.Config) { c.UIASessionLifetime.Duration = 0 }, false},
		{"negative lifetime", func(c *server.Config) { c.UIASessionLifetime.Duration = -time.Second }, false},
		{"zero retention", func(c *server.Config) { c.ToDeviceTxnRetention.Duration = 0 }, false},
		{"short ones", func(c *server.Config) {
			c.UIASessionLifetime.Duration, c.ToDeviceTxnRetention.Duration = time.Second, time.Second
		}, true},
	} {
		cfg := server.DefaultConfig()
		tc.mod(&cfg)
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// expiredMetric reads vouch_expired_deleted_total{kind} from /metrics.
func expiredMetric(e *env, kind string) float64 {
	e.t.Helper()
	return metricValue(e, `vouch_expired_deleted_total{kind="`+kind+`"}`)
}

// metricValue reads one series (its name with its labels, as /metrics
// writes them) from /metrics.
func metricValue(e *env, series string) float64 {
	e.t.Helper()
	body := e.ok("GET", "/metrics", "", nil).Body
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		e.t.Fatalf("no %s in /metrics", series)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}
