package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
			req, _ := http.NewRequest("POST", e.srv.URL+v3+"/keys/query", bytes.NewReader(body(i)))
			req.Header.Set("Authorization", "Bearer "+u.token)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}
