package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCeilingHandler(t *testing.T) {
	c, err := NewCeiling([]string{"@t:localhost"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		wantStatus int
		wantBody   string // exact, or an errcode to find
	}{
		{"keys-query shape", "POST", "/_matrix/client/v3/keys/query", `{"device_keys":{"@a:localhost":[]}}`, 200, `{"ok":true}`},
		{"any JSON value", "PUT", "/x", `[1,2,"three"]`, 200, `{"ok":true}`},
		{"not JSON", "POST", "/_matrix/client/v3/keys/upload", `{"one_time_keys":`, 400, "M_NOT_JSON"},
		{"empty body", "POST", "/_matrix/client/v3/keys/upload", ``, 400, "M_NOT_JSON"},
		{"too large", "POST", "/_matrix/client/v3/keys/upload", `"` + strings.Repeat("a", MaxCeilingBody) + `"`, 413, "M_TOO_LARGE"},
		{"initial sync", "GET", "/_matrix/client/v3/sync?timeout=0", ``, 200, `{"device_lists":{"changed":["@t:localhost"]},"next_batch":"2"}`},
		{"sync with since, zero timeout", "GET", "/_matrix/client/v3/sync?since=s&timeout=0", ``, 200, `{"device_lists":{"changed":["@t:localhost"]},"next_batch":"2"}`},
		{"sync with a bad timeout answers at once", "GET", "/_matrix/client/v3/sync?since=0&timeout=x", ``, 200, `"next_batch":"2"`},
		{"sync with a bad since answers at once", "GET", "/_matrix/client/v3/sync?since=x&timeout=60000", ``, 200, `"next_batch":"2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			c.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Body.String(); got != tt.wantBody && !strings.Contains(got, tt.wantBody) {
				t.Errorf("body %s, want %s", got, tt.wantBody)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Errorf("body is not JSON: %s", rec.Body)
			}
		})
	}
}

// TestCeilingSyncWakes checks that a parked /sync returns when a request
// with a body arrives, and not before.
func TestCeilingSyncWakes(t *testing.T) {
	c, err := NewCeiling(nil)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := StartLocal(c)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(ls.URL + "/_matrix/client/v3/sync?since=0&timeout=10000")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("sync returned before any change: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	resp, err := http.Post(ls.URL+"/_matrix/client/v3/keys/signatures/upload", "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sync did not wake after a change")
	}
}

// TestCeilingSyncSincePosition checks the stream position: a since token
// older than the last request with a body answers at once, with the new
// position.
func TestCeilingSyncSincePosition(t *testing.T) {
	c, err := NewCeiling(nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/x", strings.NewReader(`{}`)))
	}
	rec := httptest.NewRecorder()
	start := time.Now()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/_matrix/client/v3/sync?since=2&timeout=60000", nil))
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("an old since token parked for %v", d)
	}
	var sr syncResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &sr); err != nil || sr.NextBatch != "3" {
		t.Fatalf("reply %s (%v), want next_batch 3", rec.Body, err)
	}
}

func TestCeilingSyncTimesOut(t *testing.T) {
	c, err := NewCeiling(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	start := time.Now()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/_matrix/client/v3/sync?since=0&timeout=50", nil))
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("sync with timeout=50 returned after %v", d)
	}
	if rec.Code != 200 {
		t.Errorf("status %d", rec.Code)
	}
}

func TestCeilingSyncCancelled(t *testing.T) {
	c, err := NewCeiling(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/_matrix/client/v3/sync?since=0&timeout=60000", nil).WithContext(ctx)
	done := make(chan struct{})
	go func() { c.ServeHTTP(httptest.NewRecorder(), req); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled sync stayed parked")
	}
}

func BenchmarkCeilingHandler(b *testing.B) {
	c, err := NewCeiling(nil)
	if err != nil {
		b.Fatal(err)
	}
	p, err := syntheticPopulation(20, 2, 0)
	if err != nil {
		b.Fatal(err)
	}
	body, err := keysQueryBody(p.userIDs(0, 10))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("POST", "/_matrix/client/v3/keys/query", bytes.NewReader(body)))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkDriveCeiling is the whole request loop of a timed phase (client
// and ceiling in one process, over loopback HTTP) per keys-query request:
// the cost the bench itself adds to every figure.
func BenchmarkDriveCeiling(b *testing.B) {
	c, err := NewCeiling(nil)
	if err != nil {
		b.Fatal(err)
	}
	ls, err := StartLocal(c)
	if err != nil {
		b.Fatal(err)
	}
	defer ls.Close()
	p, err := syntheticPopulation(20, 2, 0)
	if err != nil {
		b.Fatal(err)
	}
	pl, err := keysQueryPlan(p, 10, 2)
	if err != nil {
		b.Fatal(err)
	}
	e := endpoint{base: ls.URL, hc: newHTTPClient(1)}
	defer e.hc.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	lr := drive(context.Background(), e, 1, time.Hour, int64(b.N), pl.next, pl.check)
	if lr.errors != 0 {
		b.Fatal(lr.firstErr)
	}
}
