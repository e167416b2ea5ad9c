package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"vouch/internal/testvectors"
)

// fuzzTargets are the endpoints whose request bodies FuzzRequestBodies
// decodes; the first fuzz byte picks one.
var fuzzTargets = []struct{ method, path string }{
	{"POST", "/keys/upload"},
	{"POST", "/keys/query"},
	{"POST", "/keys/claim"},
	{"POST", "/keys/device_signing/upload"},
	{"POST", "/keys/signatures/upload"},
	{"PUT", "/sendToDevice/m.fuzz/txn"},
	{"PUT", "/user/@alice:localhost/account_data/m.fuzz"},
	{"POST", "/register"},
	{"POST", "/login"},
	{"POST", "/delete_devices"},
}

// FuzzRequestBodies sends arbitrary bodies to every endpoint that decodes
// one, as an authenticated user with keys and cross-signing. Properties: the
// server never answers 5xx (no panic, no unmapped error); every error is a
// Matrix error object (or a UIA challenge); and a refused request stores
// nothing (the stream position does not move).
func FuzzRequestBodies(f *testing.F) {
	var vec struct {
		Sign []struct {
			Canonical string `json:"expected_canonical"`
		} `json:"sign"`
	}
	testvectors.Load(f, "signing", &vec)
	for i := range fuzzTargets {
		f.Add(byte(i), []byte(`{}`))
		for _, v := range vec.Sign {
			f.Add(byte(i), []byte(`{"device_keys":`+v.Canonical+`}`))
			f.Add(byte(i), []byte(`{"@alice:localhost":{"X":`+v.Canonical+`}}`))
		}
	}
	f.Add(byte(1), []byte(`{"device_keys":{"@alice:localhost":[]}}`))
	f.Add(byte(2), []byte(`{"one_time_keys":{"@alice:localhost":{"D":"signed_curve25519"}}}`))
	f.Add(byte(5), []byte(`{"messages":{"@alice:localhost":{"*":{"a":1}}}}`))
	f.Add(byte(0), []byte(`{"one_time_keys":{"curve25519:A":"x","signed_curve25519:B":{"key":"y"}},"fallback_keys":{"c:1":"z"}}`))

	e := startEnv(f, filepath.Join(f.TempDir(), "data"))
	alice := e.register("alice")
	alice.uploadDeviceKeys()
	alice.crossSign()
	client := e.srv.Client()
	// Not t.Context(): under -fuzz it ends with the fuzzing time, and an
	// input still running then would fail on a cancelled context.
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		target := fuzzTargets[int(which)%len(fuzzTargets)]
		before, err := e.st.CurrentPosition(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(target.method, e.srv.URL+v3+target.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+alice.token)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", target.method, target.path, body, res.StatusCode, out)
		}
		if res.StatusCode >= 400 {
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("error body not JSON: %s", out)
			}
			if _, ok := m["errcode"].(string); !ok && m["flows"] == nil {
				t.Fatalf("error without errcode: %s", out)
			}
			after, err := e.st.CurrentPosition(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Fatalf("refused request moved the stream from %d to %d: %q → %s", before, after, body, out)
			}
		}
	})
}
