package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeServer is a minimal in-memory stand-in for the key server's HTTP API,
// just enough for the bench's own flows: registration with a dummy UIA
// stage, password login, key and signature uploads, key queries and a
// long-polling /sync with device-list changes. It checks access tokens but
// no signatures; the real server is tested against in server_test.go.
type fakeServer struct {
	mu      sync.Mutex
	wake    *sync.Cond
	tokens  map[string][2]string // token → user, device
	devices map[string]map[string]json.RawMessage
	masters map[string]json.RawMessage
	pos     int
	changed map[string]int // user → position of its last change
	nextDev int
}

func newFakeServer() *fakeServer {
	f := &fakeServer{
		tokens:  map[string][2]string{},
		devices: map[string]map[string]json.RawMessage{},
		masters: map[string]json.RawMessage{},
		changed: map[string]int{},
	}
	f.wake = sync.NewCond(&f.mu)
	return f
}

func (f *fakeServer) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newDevice creates a device and its token; f.mu must be held.
func (f *fakeServer) newDevice(user string) map[string]string {
	f.nextDev++
	dev := fmt.Sprintf("FAKEDEV%d", f.nextDev)
	tok := fmt.Sprintf("tok%d", f.nextDev)
	f.tokens[tok] = [2]string{user, dev}
	return map[string]string{"user_id": user, "device_id": dev, "access_token": tok}
}

// change records a device-list change of user; f.mu must be held.
func (f *fakeServer) change(user string) {
	f.pos++
	f.changed[user] = f.pos
	f.wake.Broadcast()
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_matrix/client/v3")
	var body map[string]json.RawMessage
	if r.Method == http.MethodPost {
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			f.reply(w, 400, map[string]string{"errcode": "M_NOT_JSON"})
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch path {
	case "/register":
		var auth map[string]string
		_ = json.Unmarshal(body["auth"], &auth)
		if auth["session"] == "" {
			f.reply(w, 401, map[string]any{"session": "s1", "flows": []any{map[string]any{"stages": []string{"m.login.dummy"}}}})
			return
		}
		var local string
		_ = json.Unmarshal(body["username"], &local)
		f.reply(w, 200, f.newDevice("@"+local+":localhost"))
		return
	case "/login":
		var id map[string]string
		_ = json.Unmarshal(body["identifier"], &id)
		f.reply(w, 200, f.newDevice("@"+id["user"]+":localhost"))
		return
	}
	who, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		f.reply(w, 401, map[string]string{"errcode": "M_UNKNOWN_TOKEN"})
		return
	}
	switch path {
	case "/keys/upload":
		if dk := body["device_keys"]; dk != nil {
			if f.devices[who[0]] == nil {
				f.devices[who[0]] = map[string]json.RawMessage{}
			}
			f.devices[who[0]][who[1]] = dk
			f.change(who[0])
		}
		var otks map[string]json.RawMessage
		_ = json.Unmarshal(body["one_time_keys"], &otks)
		f.reply(w, 200, map[string]any{"one_time_key_counts": map[string]int{"signed_curve25519": len(otks)}})
	case "/keys/claim":
		f.reply(w, 200, map[string]any{"one_time_keys": map[string]any{}, "failures": map[string]any{}})
	case "/keys/device_signing/upload":
		f.masters[who[0]] = body["master_key"]
		f.change(who[0])
		f.reply(w, 200, map[string]any{})
	case "/keys/signatures/upload":
		for user := range body {
			f.change(user)
		}
		f.reply(w, 200, map[string]any{"failures": map[string]any{}})
	case "/keys/query":
		var q map[string][]string
		_ = json.Unmarshal(body["device_keys"], &q)
		dk, mk := map[string]any{}, map[string]any{}
		for user := range q {
			dk[user] = f.devices[user]
			mk[user] = f.masters[user]
		}
		f.reply(w, 200, map[string]any{"device_keys": dk, "master_keys": mk, "self_signing_keys": mk})
	case "/sync":
		since, _ := strconv.Atoi(r.URL.Query().Get("since"))
		timeout, _ := strconv.Atoi(r.URL.Query().Get("timeout"))
		deadline := time.Now().Add(time.Duration(timeout) * time.Millisecond)
		stop := time.AfterFunc(time.Until(deadline), func() { f.mu.Lock(); f.wake.Broadcast(); f.mu.Unlock() })
		defer stop.Stop()
		stopCtx := context.AfterFunc(r.Context(), func() { f.mu.Lock(); f.wake.Broadcast(); f.mu.Unlock() })
		defer stopCtx()
		for r.URL.Query().Get("since") != "" && f.pos == since && time.Now().Before(deadline) && r.Context().Err() == nil {
			f.wake.Wait()
		}
		var changed []string
		if r.URL.Query().Get("since") != "" {
			for u, p := range f.changed {
				if p > since {
					changed = append(changed, u)
				}
			}
		}
		f.reply(w, 200, map[string]any{"next_batch": strconv.Itoa(f.pos), "device_lists": map[string]any{"changed": changed}})
	default:
		f.reply(w, 404, map[string]string{"errcode": "M_UNRECOGNIZED"})
	}
}
