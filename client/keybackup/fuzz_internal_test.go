package keybackup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"vouch/backup"
)

// FuzzDecodeKeys: any answer either fails or gives keys in strictly
// increasing (room, session) order, each bad envelope listed once, and
// every good key's session_data re-encodes to an envelope that parses to
// the same value.
func FuzzDecodeKeys(f *testing.F) {
	f.Add([]byte(`{"rooms":{"!a:b":{"sessions":{"s1":{"first_message_index":1,"forwarded_count":0,"is_verified":true,"session_data":{"ephemeral":"e","ciphertext":"c","mac":"m"}}}}}}`))
	f.Add([]byte(`{"rooms":{"!a:b":{"sessions":{"s1":{"session_data":[]},"s0":{"session_data":{"ephemeral":1}}}},"!0:b":{"sessions":{}}}}`))
	f.Add([]byte(`{"rooms":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		keys, bad, err := decodeKeys(raw)
		if err != nil {
			return
		}
		for i := 1; i < len(keys); i++ {
			if !keys[i-1].Cursor().Less(keys[i].Cursor()) {
				t.Fatalf("keys out of order at %d", i)
			}
		}
		for i := 1; i < len(bad); i++ {
			if !bad[i-1].Less(bad[i]) {
				t.Fatalf("bad out of order at %d", i)
			}
		}
		if len(bad) > len(keys) {
			t.Fatal("more bad keys than keys")
		}
		for _, k := range keys {
			b, err := json.Marshal(k.SessionData)
			if err != nil {
				t.Fatal(err)
			}
			again, err := backup.ParseEncryptedSessionData(b)
			if err != nil || again != k.SessionData {
				t.Fatalf("session_data does not round-trip: %v", err)
			}
		}
	})
}

// FuzzLoadCheckpoint: a checkpoint file either fails to load or loads to a
// value that saves and loads back identical.
func FuzzLoadCheckpoint(f *testing.F) {
	f.Add([]byte(`{"checkpoint":{"format":1,"state":"copying","old_version":"1","new_version":"2","cursor":{"room_id":"!r:x","session_id":"s"},"copied":3,"authenticated":1,"skipped":0},"new_auth_data":{"public_key":"x"},"total":9}`))
	f.Add([]byte(`{"checkpoint":{"state":"nope"},"new_auth_data":{}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"new_auth_data":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "cp.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cf, ok, err := loadCheckpoint(path)
		if err != nil || !ok {
			return
		}
		path2 := filepath.Join(dir, "cp2.json")
		if err := saveCheckpoint(path2, cf); err != nil {
			t.Fatal(err)
		}
		cf2, ok, err := loadCheckpoint(path2)
		if err != nil || !ok {
			t.Fatalf("reload: %v", err)
		}
		var a, b any
		json.Unmarshal(cf.NewAuthData, &a)
		json.Unmarshal(cf2.NewAuthData, &b)
		if cf.Checkpoint != cf2.Checkpoint || cf.Total != cf2.Total || !reflect.DeepEqual(a, b) {
			t.Fatal("round trip changed the checkpoint")
		}
	})
}
