package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vouch/client"
)

// These tests exercise the client's own mechanics (retries, UIA, error
// decoding) with tiny handlers that misbehave on purpose, which the real
// server cannot be made to do on demand. Endpoint behaviour is tested
// against the real server in e2e_test.go.

type sleeps struct{ got []time.Duration }

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.got = append(s.got, d)
	return nil
}

func newClient(t *testing.T, h http.HandlerFunc, opts ...client.Option) (*client.Client, *sleeps) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	sl := &sleeps{}
	c, err := client.New(srv.URL, append([]client.Option{client.WithSleep(sl.sleep), client.WithAccessToken("tok")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8008", "ftp://x", "http://", "::"} {
		if _, err := client.New(u); !errors.Is(err, client.ErrBadURL) {
			t.Errorf("%q: %v", u, err)
		}
	}
}

func TestRateLimitRetry(t *testing.T) {
	var n atomic.Int32
	c, sl := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			writeJSON(w, 429, map[string]any{"errcode": "M_LIMIT_EXCEEDED", "error": "slow down", "retry_after_ms": 1234})
			return
		}
		writeJSON(w, 200, map[string]string{"user_id": "@alice:localhost", "device_id": "D"})
	})
	who, err := c.WhoAmI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if who.UserID != "@alice:localhost" || n.Load() != 3 {
		t.Fatalf("who %+v after %d requests", who, n.Load())
	}
	if len(sl.got) != 2 || sl.got[0] != 1234*time.Millisecond {
		t.Fatalf("waits %v, want two of 1.234s", sl.got)
	}
}

func TestRateLimitGivesUp(t *testing.T) {
	var n atomic.Int32
	c, sl := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 429, map[string]any{"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 999999999})
	}, client.WithRetries(2, time.Millisecond, time.Second), client.WithMaxRateLimitWait(3*time.Second))
	_, err := c.WhoAmI(context.Background())
	var me *client.Error
	if !errors.As(err, &me) || me.Code != "M_LIMIT_EXCEEDED" || me.Status != 429 {
		t.Fatalf("err %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
	for _, d := range sl.got {
		if d != 3*time.Second {
			t.Errorf("wait %v not capped at 3s", d)
		}
	}
}

func TestErrorsDecoded(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   string
	}{
		{"matrix error", 403, `{"errcode":"M_FORBIDDEN","error":"no"}`, "M_FORBIDDEN"},
		{"unknown token", 401, `{"errcode":"M_UNKNOWN_TOKEN","error":"bad token"}`, "M_UNKNOWN_TOKEN"},
		{"html error page", 500, `<html>oops</html>`, "M_UNKNOWN"},
		{"empty body", 404, ``, "M_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := c.Devices(context.Background())
			var me *client.Error
			if !errors.As(err, &me) || me.Code != tt.code || me.Status != tt.status {
				t.Fatalf("err %#v", err)
			}
			if !client.IsCode(err, tt.code) {
				t.Error("IsCode false")
			}
		})
	}
}

func TestBadResponse(t *testing.T) {
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"user_id": 5}`) })
	if _, err := c.WhoAmI(context.Background()); !errors.Is(err, client.ErrBadResponse) {
		t.Fatalf("err %v", err)
	}
	c, _ = newClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"user_id": "alice"}`) })
	if _, err := c.WhoAmI(context.Background()); !errors.Is(err, client.ErrBadResponse) {
		t.Fatalf("invalid user ID accepted: %v", err)
	}
}

func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sl := &sleeps{}
	c, err := client.New("http://"+addr, client.WithSleep(sl.sleep), client.WithAccessToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WhoAmI(context.Background())
	if !errors.Is(err, client.ErrNetwork) {
		t.Fatalf("err %v", err)
	}
	if len(sl.got) != client.DefaultMaxRetries {
		t.Errorf("%d retries, want %d", len(sl.got), client.DefaultMaxRetries)
	}
	for i := 1; i < len(sl.got); i++ {
		if sl.got[i] < sl.got[i-1] {
			t.Errorf("backoff not growing: %v", sl.got)
		}
	}
}

func TestNotLoggedIn(t *testing.T) {
	c, err := client.New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WhoAmI(context.Background()); !errors.Is(err, client.ErrNotLoggedIn) {
		t.Fatalf("err %v", err)
	}
}

func TestContextCancelled(t *testing.T) {
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Sync(ctx, client.SyncOptions{TimeoutMs: 30000}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

// uiaHandler demands m.login.password with password "pw" on DELETE /devices/X.
func uiaHandler(t *testing.T, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok" {
			writeJSON(w, 401, map[string]string{"errcode": "M_MISSING_TOKEN"})
			return
		}
		var body struct {
			Auth map[string]any `json:"auth"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		flows := map[string]any{"flows": []any{map[string]any{"stages": []string{"m.login.password"}}}, "session": "S1"}
		if body.Auth == nil {
			writeJSON(w, 401, flows)
			return
		}
		if body.Auth["session"] != "S1" || body.Auth["type"] != "m.login.password" {
			t.Errorf("auth dict %v", body.Auth)
		}
		if body.Auth["password"] != "pw" {
			flows["errcode"], flows["error"] = "M_FORBIDDEN", "Invalid password"
			writeJSON(w, 401, flows)
			return
		}
		writeJSON(w, 200, map[string]any{})
	}
}

func TestUIA(t *testing.T) {
	tests := []struct {
		name     string
		password string
		noAuth   bool
		wantErr  string
		calls    int32
	}{
		{"right password", "pw", false, "", 2},
		{"wrong password", "nope", false, "M_FORBIDDEN", 2},
		{"no callback", "", true, "authentication required", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c, _ := newClient(t, uiaHandler(t, &calls))
			var auth client.AuthFunc
			asked := 0
			if !tt.noAuth {
				auth = client.PasswordAuthFunc("@alice:localhost", func(context.Context) (string, error) {
					asked++
					return tt.password, nil
				})
			}
			err := c.DeleteDevice(context.Background(), "X", auth)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if !errors.Is(err, client.ErrAuthRequired) {
					t.Errorf("%v does not wrap ErrAuthRequired", err)
				}
			}
			if calls.Load() != tt.calls {
				t.Errorf("%d requests, want %d", calls.Load(), tt.calls)
			}
			if tt.wantErr == "M_FORBIDDEN" {
				if !client.IsCode(err, "M_FORBIDDEN") {
					t.Error("wrong password is not M_FORBIDDEN")
				}
				if asked != 1 {
					t.Errorf("asked for the password %d times", asked)
				}
			}
		})
	}
}

func TestPathEscaping(t *testing.T) {
	var got string
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		writeJSON(w, 200, map[string]any{})
	})
	if err := c.PutAccountData(context.Background(), "@alice:localhost", "m.secret/x y", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	want := "/_matrix/client/v3/user/@alice:localhost/account_data/m.secret%2Fx%20y"
	if got != want {
		t.Fatalf("path %q, want %q", got, want)
	}
}

func TestCall(t *testing.T) {
	var n atomic.Int32
	c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			writeJSON(w, 503, map[string]string{"errcode": "M_UNKNOWN"})
			return
		}
		if r.URL.Path != "/_matrix/client/v3/room_keys/version" || r.URL.Query().Get("v") != "1" {
			t.Errorf("request %s", r.URL)
		}
		writeJSON(w, 200, map[string]string{"version": "1"})
	})
	var out struct{ Version string }
	if err := c.Call(context.Background(), "GET", "/room_keys/version", url.Values{"v": {"1"}}, nil, &out); err != nil || out.Version != "1" {
		t.Fatalf("call: %+v %v", out, err)
	}
	if n.Load() != 2 {
		t.Errorf("GET not retried after 503: %d requests", n.Load())
	}
	if err := c.Call(context.Background(), "GET", "room_keys", nil, nil, nil); err == nil {
		t.Error("relative path accepted")
	}
}

func TestFingerprint(t *testing.T) {
	m := "nqOvzeuGWT/sRx3h7+MHoInYj3Uk2LD/unI9kDYcHwk"
	fp := client.FormatFingerprint(m)
	if fp != "nqOv zeuG WT/s Rx3h 7+MH oInY j3Uk 2LD/ unI9 kDYc Hwk" {
		t.Fatalf("fingerprint %q", fp)
	}
	tests := []struct {
		typed string
		ok    bool
	}{
		{m, true}, {fp, true}, {" " + fp + "\n", true},
		{m[:len(m)-1], false}, {m + "A", false}, {strings.ToLower(m), false}, {"", false},
	}
	for _, tt := range tests {
		if got := client.FingerprintMatches(tt.typed, m); got != tt.ok {
			t.Errorf("%q: %v", tt.typed, got)
		}
	}
}

func BenchmarkWhoAmI(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"user_id":"@alice:localhost","device_id":"D"}`)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithAccessToken("t"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.WhoAmI(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareGet is the baseline of BenchmarkWhoAmI: the same request with
// net/http and encoding/json alone.
func BenchmarkBareGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"user_id":"@alice:localhost","device_id":"D"}`)
	}))
	defer srv.Close()
	hc := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("GET", srv.URL+"/_matrix/client/v3/account/whoami", nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var who client.WhoAmI
		err = json.NewDecoder(resp.Body).Decode(&who)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestNilArguments(t *testing.T) {
	ctx := context.Background()
	c, _ := client.New("http://127.0.0.1:1")
	if _, err := client.Bootstrap(ctx, nil, nil, client.BootstrapOptions{}); !errors.Is(err, client.ErrNilArgument) {
		t.Errorf("Bootstrap: %v", err)
	}
	if _, err := client.ResetIdentity(ctx, c, nil, client.BootstrapOptions{}); !errors.Is(err, client.ErrNilArgument) {
		t.Errorf("ResetIdentity: %v", err)
	}
	if _, err := client.VerifyUser(ctx, nil, client.TrustInputs{}, nil, "@b:x", "fp"); !errors.Is(err, client.ErrNilArgument) {
		t.Errorf("VerifyUser: %v", err)
	}
	if _, err := client.VerifyOwnDevice(ctx, nil, client.TrustInputs{}, nil, "D"); !errors.Is(err, client.ErrNilArgument) {
		t.Errorf("VerifyOwnDevice: %v", err)
	}
	if _, err := client.BuildTrustView(ctx, nil, client.TrustInputs{}); !errors.Is(err, client.ErrNilArgument) {
		t.Errorf("BuildTrustView: %v", err)
	}
	if _, err := client.UploadDeviceKeys(ctx, c, nil, nil, nil, true, nil, nil, false); !errors.Is(err, client.ErrNilArgument) {
		t.Errorf("UploadDeviceKeys: %v", err)
	}
	if _, _, _, err := (*client.CrossSigningKeys)(nil).Objects("@a:x"); err == nil {
		t.Error("Objects on nil keys")
	}
	if u, problems := client.ParseUserKeys(nil, "@a:x"); u == nil || len(problems) != 1 {
		t.Error("ParseUserKeys(nil)")
	}
	tv := client.EvaluateTrust(nil, client.TrustInputs{UserID: "@a:x"}, []string{"@b:x"})
	if tv.Users["@b:x"].Verified {
		t.Error("verified from no response")
	}
}
