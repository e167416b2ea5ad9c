package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkKeysQuery measures POST /keys/query of 10 users × 2 devices with
// cross-signing, over real HTTP and SQLite, from parallel clients (the
// shape of the target). Run with -cpu to vary parallelism.
func BenchmarkKeysQuery(b *testing.B) {
	e := newEnvB(b)
	var users []*acct
	for i := 0; i < 20; i++ {
		a := e.register(fmt.Sprintf("u%d", i))
		a.uploadDeviceKeys()
		a.crossSign()
		a.signDevice()
		users = append(users, a)
	}
	body := func(start int) []byte {
		dk := map[string][]string{}
		for j := 0; j < 10; j++ {
			dk[users[(start+j)%len(users)].user] = []string{}
		}
		js, _ := json.Marshal(map[string]any{"device_keys": dk})
		return js
	}
	// Warm up: every user becomes interested in every other.
	for i, u := range users {
		e.ok("POST", v3+"/keys/query", u.token, body(i))
		e.ok("POST", v3+"/keys/query", u.token, body(i+10))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1))
		u := users[i%len(users)]
		for pb.Next() {
			i++
			if !benchPost(b, client, e.srv.URL+v3+"/keys/query", u.token, body(i), "") {
				return
			}
		}
	})
}

// BenchmarkSignaturesUpload measures POST /keys/signatures/upload of one
// user-signing signature over another user's master key (verify + store).
func BenchmarkSignaturesUpload(b *testing.B) {
	e := newEnvB(b)
	var users []*acct
	for i := 0; i < 20; i++ {
		a := e.register(fmt.Sprintf("u%d", i))
		a.uploadDeviceKeys()
		a.crossSign()
		users = append(users, a)
	}
	// bodies[i][j]: user i signs user j.
	bodies := make([][][]byte, len(users))
	for i, a := range users {
		bodies[i] = make([][]byte, len(users))
		for j, o := range users {
			if i == j {
				continue
			}
			obj := a.signed(o.csObj("master", o.master), "ed25519:"+pubB64(a.usk), a.usk)
			js, _ := json.Marshal(map[string]map[string]json.RawMessage{o.user: {pubB64(o.master): obj}})
			bodies[i][j] = js
		}
	}
	benchSignatureUploads(b, e.srv.URL+v3+"/keys/signatures/upload", users, bodies)
}

// benchSignatureUploads posts bodies[i][j] (user i signing user j) to url as
// user i, 8 clients per core, each client cycling through the others, and
// expects every answer to have no failures.
func benchSignatureUploads(b *testing.B, url string, users []*acct, bodies [][][]byte) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1)) % len(users)
		j := i
		for pb.Next() {
			j = (j + 1) % len(users)
			if j == i {
				j = (j + 1) % len(users)
			}
			if !benchPost(b, client, url, users[i].token, bodies[i][j], `{"failures":{}}`) {
				return
			}
		}
	})
}

// BenchmarkCeilingKeysQuery is the floor for BenchmarkKeysQuery: the same
// client and body against a bare net/http handler that only parses the JSON
// body and answers a fixed object. The ratio of the two ns/op is the
// server's fraction of the HTTP+JSON ceiling.
func BenchmarkCeilingKeysQuery(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v any
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&v); err != nil {
			http.Error(w, "bad", 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	dk := map[string][]string{}
	for j := 0; j < 10; j++ {
		dk[fmt.Sprintf("@u%d:localhost", j)] = []string{}
	}
	body, _ := json.Marshal(map[string]any{"device_keys": dk})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", srv.URL+v3+"/keys/query", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer x")
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}

// BenchmarkKeysUpload measures POST /keys/upload with 5 fresh signed
// one-time keys (a durable write per request, group-committed).
func BenchmarkKeysUpload(b *testing.B) {
	e := newEnvB(b)
	var users []*acct
	for i := 0; i < 16; i++ {
		a := e.register(fmt.Sprintf("u%d", i))
		a.uploadDeviceKeys()
		users = append(users, a)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n, seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		u := users[int(n.Add(1))%len(users)]
		for pb.Next() {
			otks := map[string]any{}
			for k := 0; k < 5; k++ {
				id := fmt.Sprintf("signed_curve25519:%d", seq.Add(1))
				otks[id] = map[string]any{"key": id, "signatures": map[string]any{u.user: map[string]string{"ed25519:" + u.device: "c2ln"}}}
			}
			js, _ := json.Marshal(map[string]any{"one_time_keys": otks})
			if !benchPost(b, client, e.srv.URL+v3+"/keys/upload", u.token, js, "") {
				return
			}
		}
	})
}

// benchPost sends body to url as token with c and drains the answer. It
// fails b, and returns false, unless the status is 200 and, when want is not
// empty, the answer is exactly want (read in full only then, so that the
// other benchmarks allocate no answer buffer). It serves the keys query,
// signatures upload and keys upload benchmarks.
func benchPost(b *testing.B, c *http.Client, url, token string, body []byte, want string) bool {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return false
	}
	if want == "" {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Errorf("status %d", res.StatusCode)
			return false
		}
		return true
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(got) != want {
		b.Errorf("status %d %s", res.StatusCode, got)
		return false
	}
	return true
}
