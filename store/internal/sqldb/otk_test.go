package sqldb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"vouch/store"
)

// otkModel is what a device's one-time keys should be: per algorithm, the
// unclaimed keys of each upload in upload order, each upload in key-ID
// order.
type otkModel struct {
	batches map[string][][]store.OneTimeKey
}

func newOTKModel() *otkModel { return &otkModel{batches: map[string][][]store.OneTimeKey{}} }

func (m *otkModel) find(id string) (store.OneTimeKey, bool) {
	for _, bs := range m.batches {
		for _, b := range bs {
			for _, k := range b {
				if k.KeyID == id {
					return k, true
				}
			}
		}
	}
	return store.OneTimeKey{}, false
}

// upload applies keys as UploadKeys should and returns the error it should
// give.
func (m *otkModel) upload(keys []store.OneTimeKey) error {
	seen := map[string]store.OneTimeKey{}
	byAlg := map[string][]store.OneTimeKey{}
	for _, k := range keys {
		old, ok := m.find(k.KeyID)
		if !ok {
			old, ok = seen[k.KeyID]
		}
		if ok {
			if string(old.JSON) != string(k.JSON) {
				return store.ErrOneTimeKeyExists
			}
			continue
		}
		seen[k.KeyID] = k
		byAlg[k.Algorithm] = append(byAlg[k.Algorithm], k)
	}
	for alg, b := range byAlg {
		slices.SortFunc(b, func(x, y store.OneTimeKey) int {
			switch {
			case x.KeyID < y.KeyID:
				return -1
			case x.KeyID > y.KeyID:
				return 1
			}
			return 0
		})
		m.batches[alg] = append(m.batches[alg], b)
	}
	return nil
}

func (m *otkModel) claim(alg string) (store.OneTimeKey, bool) {
	bs := m.batches[alg]
	if len(bs) == 0 {
		return store.OneTimeKey{}, false
	}
	k := bs[0][0]
	if bs[0] = bs[0][1:]; len(bs[0]) == 0 {
		m.batches[alg] = bs[1:]
	}
	return k, true
}

func (m *otkModel) counts() map[string]int {
	out := map[string]int{}
	for alg, bs := range m.batches {
		for _, b := range bs {
			out[alg] += len(b)
		}
	}
	for alg, n := range out {
		if n == 0 {
			delete(out, alg)
		}
	}
	return out
}

var errInjected = errors.New("injected failure")

// TestOneTimeKeysAgainstModel drives random uploads (new keys, identical
// re-uploads, reused IDs with other content, several algorithms, uploads
// larger than one batch row), claims,
// jobs that fail after writing keys or claiming one, and device deletions,
// on three devices at once (so that group commits mix them and roll single
// jobs back to their savepoints), and checks every answer, the stored
// counts and the writer's in-memory index against a model. It runs with
// the index (SQLite), with an index so small that it is emptied over and
// over, without one (reading all of a device's batches, what an ambiguous
// index entry falls back to), on PostgreSQL (one_time_key_ids, whose
// rows must be exactly the model's unclaimed key IDs), and with the
// one-time key journal taking the top-ups it can (with the tiny index too,
// and once reopened after a crash that left records unfolded).
func TestOneTimeKeysAgainstModel(t *testing.T) {
	for _, variant := range []string{"index", "tiny index", "no index", "postgres", "journal", "journal, tiny index", "journal, reopened"} {
		t.Run(variant, func(t *testing.T) {
			ctx := context.Background()
			var db *DB
			dir := t.TempDir()
			switch variant {
			case "postgres":
				db = openPostgresForTest(t)
			case "journal", "journal, tiny index", "journal, reopened":
				db = openJournaledForTest(t, dir)
			default:
				db = openSQLiteForTest(t)
			}
			switch variant {
			case "tiny index", "journal, tiny index":
				db.otk.limit = 8
			case "no index":
				db.otk = nil
			}
			devices := []string{"D0", "D1", "D2"}
			addDevices(t, db, devices...)
			models := make([]*otkModel, len(devices))
			for i := range devices {
				models[i] = newOTKModel()
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(devices))
			for i, dev := range devices {
				wg.Go(func() {
					if err := driveOTKDevice(ctx, db, dev, models[i], rand.New(rand.NewPCG(uint64(i), 42))); err != nil {
						errs <- fmt.Errorf("%s: %w", dev, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if db.journal != nil {
				journaled := db.journal.nextLSN - 1
				if journaled < 10 {
					t.Errorf("only %d uploads went through the journal", journaled)
				}
				t.Logf("%d uploads journaled", journaled)
			}
			if variant == "journal, reopened" {
				// Fresh uploads left pending, then a crash: the next
				// opening folds them.
				for _, dev := range devices {
					// Loads the device into the index (and folds).
					if _, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: dev}); err != nil {
						t.Fatal(err)
					}
				}
				for i, dev := range devices {
					keys := []store.OneTimeKey{{KeyID: "curve25519:last" + dev, Algorithm: "curve25519", JSON: []byte(`"last"`)}}
					if err := models[i].upload(keys); err != nil {
						t.Fatal(err)
					}
					if _, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: dev, OneTimeKeys: keys}); err != nil {
						t.Fatal(err)
					}
				}
				if n := pendingLen(db); n < len(devices) {
					t.Fatalf("%d records pending before the crash, want at least %d", n, len(devices))
				}
				db = reopenAfterCrash(t, db, dir)
			}
			for i, dev := range devices {
				checkOTKState(t, db, dev, models[i])
			}
			// Read back from the database alone, the index agrees.
			if db.otk != nil {
				db.otk.drop([]deviceRef{{"@a:x", "D0"}, {"@a:x", "D1"}, {"@a:x", "D2"}})
				for i, dev := range devices {
					checkOTKState(t, db, dev, models[i])
				}
			}
		})
	}
}

// driveOTKDevice runs 300 random operations on one device.
func driveOTKDevice(ctx context.Context, db *DB, dev string, m *otkModel, r *rand.Rand) error {
	algs := []string{"signed_curve25519", "signed_curve25519", "curve25519"}
	randomKeys := func() []store.OneTimeKey {
		keys := make([]store.OneTimeKey, 1+r.IntN(6))
		for i := range keys {
			alg := algs[r.IntN(len(algs))]
			keys[i] = store.OneTimeKey{
				KeyID:     fmt.Sprintf("%s:k%d", alg, r.IntN(40)),
				Algorithm: alg,
				JSON:      fmt.Appendf(nil, `{"key":"%s-%d"}`, dev, r.IntN(2)),
			}
		}
		return keys
	}
	for step := range 300 {
		switch op := r.IntN(20); {
		case op < 9:
			keys := randomKeys()
			if r.IntN(6) == 0 {
				// A large upload of new keys, stored as several batches.
				keys = make([]store.OneTimeKey, 9+r.IntN(20))
				for i := range keys {
					keys[i] = store.OneTimeKey{KeyID: fmt.Sprintf("signed_curve25519:s%dx%d", step, i), Algorithm: "signed_curve25519",
						JSON: fmt.Appendf(nil, `{"key":"%s-s%dx%d"}`, dev, step, i)}
				}
			}
			want := m.upload(keys)
			counts, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: dev, OneTimeKeys: keys})
			if !errors.Is(err, want) || (want == nil && err != nil) {
				return fmt.Errorf("step %d: upload %v: error %v, want %v", step, keys, err, want)
			}
			if err == nil && !maps.Equal(counts, m.counts()) {
				return fmt.Errorf("step %d: upload answered counts %v, want %v", step, counts, m.counts())
			}
		case op < 16:
			alg := algs[r.IntN(len(algs))]
			want, ok := m.claim(alg)
			got, err := db.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {dev: alg}})
			if err != nil {
				return fmt.Errorf("step %d: claim: %w", step, err)
			}
			js, gotOK := got["@a:x"][dev][want.KeyID]
			if ok != (len(got) == 1) || (ok && (!gotOK || string(js) != string(want.JSON))) {
				return fmt.Errorf("step %d: claim %s = %q, want %s %s (%v)", step, alg, got, want.KeyID, want.JSON, ok)
			}
		case op < 18:
			// A job that writes keys, then fails: nothing of it stays.
			keys := randomKeys()
			err := db.inTx(ctx, func(t *tx) error {
				if _, err := t.putOTKs(store.KeysUpload{UserID: "@a:x", DeviceID: dev, OneTimeKeys: keys}); err != nil {
					return err
				}
				return errInjected
			})
			if !errors.Is(err, errInjected) && !errors.Is(err, store.ErrOneTimeKeyExists) {
				return fmt.Errorf("step %d: failing upload job: %w", step, err)
			}
		case op < 19:
			// A job that claims, then fails: the key stays unclaimed.
			alg := algs[r.IntN(len(algs))]
			err := db.inTx(ctx, func(t *tx) error {
				if _, _, err := t.claimOne("@a:x", dev, alg); err != nil {
					return err
				}
				return errInjected
			})
			if !errors.Is(err, errInjected) {
				return fmt.Errorf("step %d: failing claim job: %w", step, err)
			}
		default:
			// The device goes, with its keys, and comes back empty.
			if _, err := db.DeleteDevices(ctx, "@a:x", []string{dev}); err != nil {
				return fmt.Errorf("step %d: delete: %w", step, err)
			}
			if _, err := db.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: dev}, []byte("tok"+dev)); err != nil {
				return fmt.Errorf("step %d: login: %w", step, err)
			}
			*m = *newOTKModel()
		}
	}
	return nil
}

// checkOTKState compares the stored counts, the counts and key IDs of the
// index (when there is one) and an upload of every unclaimed key with other
// content with the model.
func checkOTKState(t *testing.T, db *DB, dev string, m *otkModel) {
	t.Helper()
	ctx := context.Background()
	want := m.counts()
	counts, err := db.OneTimeKeyCounts(ctx, "@a:x", dev)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(counts, want) {
		t.Errorf("%s: stored counts %v, model %v", dev, counts, want)
	}
	// An empty upload answers the counts (from the index where there is
	// one, loading it if needed).
	counts, err = db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: dev})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(counts, want) {
		t.Errorf("%s: upload answered counts %v, model %v", dev, counts, want)
	}
	if x := db.otk; x != nil {
		x.mu.Lock()
		d := x.devices[deviceRef{"@a:x", dev}]
		x.mu.Unlock()
		if d == nil {
			t.Fatalf("%s: not in the index after an upload", dev)
		}
		for _, bs := range m.batches {
			for _, b := range bs {
				for _, k := range b {
					if _, ok := d.ids[x.hash(k.KeyID)]; !ok {
						t.Errorf("%s: unclaimed key %s missing from the index", dev, k.KeyID)
					}
				}
			}
		}
	}
	if db.d.KeyIDTable {
		var stored []string
		rows, err := db.w.QueryContext(ctx, db.rebind(`SELECT key_id FROM one_time_key_ids WHERE user_id = ? AND device_id = ?`), "@a:x", dev)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			stored = append(stored, id)
		}
		rows.Close()
		var unclaimed []string
		for _, bs := range m.batches {
			for _, b := range bs {
				for _, k := range b {
					unclaimed = append(unclaimed, k.KeyID)
				}
			}
		}
		slices.Sort(stored)
		slices.Sort(unclaimed)
		if !slices.Equal(stored, unclaimed) {
			t.Errorf("%s: one_time_key_ids holds %q, the model's unclaimed keys are %q", dev, stored, unclaimed)
		}
	}
	for _, bs := range m.batches {
		for _, b := range bs {
			for _, k := range b {
				other := k
				other.JSON = []byte(`{"key":"other"}`)
				if _, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: dev, OneTimeKeys: []store.OneTimeKey{other}}); !errors.Is(err, store.ErrOneTimeKeyExists) {
					t.Errorf("%s: reused ID %s with other content: %v, want ErrOneTimeKeyExists", dev, k.KeyID, err)
				}
			}
		}
	}
}

// TestOneTimeKeyIndexAmbiguousEntry checks that an index entry marked
// ambiguous (two key IDs with one hash) sends the check to the device's
// batches, which still find the stored key.
func TestOneTimeKeyIndexAmbiguousEntry(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteForTest(t)
	addDevices(t, db, "D")
	k := store.OneTimeKey{KeyID: "signed_curve25519:A", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"a"}`)}
	up := func(k store.OneTimeKey) (map[string]int, error) {
		return db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D", OneTimeKeys: []store.OneTimeKey{k}})
	}
	if _, err := up(k); err != nil {
		t.Fatal(err)
	}
	x := db.otk
	x.mu.Lock()
	x.devices[deviceRef{"@a:x", "D"}].ids[x.hash(k.KeyID)] = ambiguous
	x.mu.Unlock()
	other := k
	other.JSON = []byte(`{"key":"b"}`)
	if _, err := up(other); !errors.Is(err, store.ErrOneTimeKeyExists) {
		t.Errorf("other content behind an ambiguous entry: %v, want ErrOneTimeKeyExists", err)
	}
	counts, err := up(k)
	if err != nil || counts["signed_curve25519"] != 1 {
		t.Errorf("identical re-upload behind an ambiguous entry: %v, %v; want count 1", counts, err)
	}
	// Adding a second key ID under an existing hash marks the entry
	// ambiguous instead of replacing it.
	d := &otkDevice{ids: map[uint64]int64{}, counts: map[string]int{}}
	x.add(d, "a", "a:1", 7)
	x.add(d, "a", "a:1", 7)
	if d.ids[x.hash("a:1")] != 7 || d.counts["a"] != 2 {
		t.Errorf("add: %v %v", d.ids, d.counts)
	}
	x.add(d, "a", "a:1", 9)
	if d.ids[x.hash("a:1")] != ambiguous {
		t.Errorf("second seq under one hash: entry %d, want ambiguous", d.ids[x.hash("a:1")])
	}
}

// TestOneTimeKeyBatchEncoding round-trips batches, key IDs that need JSON
// escapes included, and refuses what is not a batch.
func TestOneTimeKeyBatchEncoding(t *testing.T) {
	keys := []store.OneTimeKey{
		{KeyID: `c:"quoted"\back`, JSON: []byte(`"x"`)},
		{KeyID: "c:plain", JSON: []byte(`{"key":"a\u00e9","signatures":{"@a:x":{"ed25519:D":"sig"}}}`)},
		{KeyID: "c:é\u2028", JSON: []byte(`{}`)},
	}
	blob, err := encodeOTKBatch(keys)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeOTKBatch(blob)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Fatalf("decoded %d keys from %s", len(got), blob)
	}
	for i, k := range keys {
		if got[i].id != k.KeyID || string(got[i].json) != string(k.JSON) {
			t.Errorf("key %d: %q %s, want %q %s", i, got[i].id, got[i].json, k.KeyID, k.JSON)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1`, `"x"`, `{"a":1}{}`, `{1:2}`} {
		if _, err := decodeOTKBatch([]byte(bad)); err == nil {
			t.Errorf("decodeOTKBatch(%q) accepted", bad)
		}
	}
}

// TestLargeUploadIsSeveralBatches checks that an upload of more keys than a
// batch row holds is stored as rows of at most maxOTKBatch keys, claimed in
// key-ID order across them.
func TestLargeUploadIsSeveralBatches(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteForTest(t)
	addDevices(t, db, "D")
	keys := make([]store.OneTimeKey, 3*maxOTKBatch+1)
	for i := range keys {
		keys[i] = store.OneTimeKey{KeyID: fmt.Sprintf("c:%03d", len(keys)-1-i), Algorithm: "c", JSON: fmt.Appendf(nil, `"%d"`, len(keys)-1-i)}
	}
	counts, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D", OneTimeKeys: keys})
	if err != nil || counts["c"] != len(keys) {
		t.Fatalf("upload: %v, %v", counts, err)
	}
	var rows, most int
	if err := db.w.QueryRowContext(ctx, `SELECT COUNT(*), MAX(n) FROM one_time_key_batches`).Scan(&rows, &most); err != nil {
		t.Fatal(err)
	}
	if rows != 4 || most != maxOTKBatch {
		t.Errorf("%d keys stored as %d rows of at most %d, want 4 of at most %d", len(keys), rows, most, maxOTKBatch)
	}
	for i := range keys {
		got, err := db.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D": "c"}})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("c:%03d", i)
		if js, ok := got["@a:x"]["D"][want]; !ok || string(js) != fmt.Sprintf(`"%d"`, i) {
			t.Fatalf("claim %d = %q, want %s", i, got, want)
		}
	}
}

// addDevices creates the account @a:x with the given devices.
func addDevices(t *testing.T, db *DB, devices ...string) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateAccount(ctx, store.Account{UserID: "@a:x", PasswordHash: "h", CreatedMs: 1}); err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if _, err := db.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: d}, []byte("tok"+d)); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecodeOTKBatch checks that the scanning decoder agrees with
// encoding/json: whatever scanOTKBatch accepts, decodeOTKBatchJSON decodes
// to the same key IDs and value bytes; and decodeOTKBatch fails exactly
// when encoding/json does.
func FuzzDecodeOTKBatch(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"c:a":"x"}`, `{"c:a":{"key":"k","signatures":{"@a:x":{"ed25519:D":"s"}}},"c:b":"y"}`,
		`{"c:\"q":"x"}`, `{ "c:a" : "x" }`, `{"c:a":[1,{"b":"}"}],"c:b":null}`, `{"c:a":"\"}"}`,
		`{"c:a":}`, `{"c:a":"x",}`, `{"c:a":"x"}}`, `{"c:a":1,"c:a":2}`, "{\"c:\xff\":1}", `{"a":"\u00e9"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := decodeOTKBatchJSON(b)
		if got, ok := scanOTKBatch(b); ok {
			if wantErr != nil {
				t.Fatalf("scan accepted %q, encoding/json: %v", b, wantErr)
			}
			if len(got) != len(want) {
				t.Fatalf("%q: scan %d entries, encoding/json %d", b, len(got), len(want))
			}
			for i := range got {
				if got[i].id != want[i].id || string(got[i].json) != string(want[i].json) {
					t.Fatalf("%q entry %d: scan %q %s, encoding/json %q %s", b, i, got[i].id, got[i].json, want[i].id, want[i].json)
				}
			}
		}
		if _, err := decodeOTKBatch(b); (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: decodeOTKBatch error %v, encoding/json %v", b, err, wantErr)
		}
	})
}

// BenchmarkDecodeOTKBatch compares the scanning decoder with encoding/json
// on a batch of eight signed keys.
func BenchmarkDecodeOTKBatch(b *testing.B) {
	keys := make([]store.OneTimeKey, maxOTKBatch)
	for i := range keys {
		keys[i] = store.OneTimeKey{KeyID: fmt.Sprintf("signed_curve25519:AAAAA%d", i),
			JSON: fmt.Appendf(nil, `{"key":"%043d","signatures":{"@someone:example.org":{"ed25519:ABCDEFGHIJ":"%086d"}}}`, i, i)}
	}
	blob, err := encodeOTKBatch(keys)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeOTKBatch(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeOTKBatchJSON(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRefusedUploadKeepsIndex checks that an upload refused before it
// writes anything (a reused key ID with other content, too many keys)
// leaves the device in the index, so that a client repeating such uploads
// does not make the writer read all its keys back each time; and that a
// job failing after it wrote keys does drop the device.
func TestRefusedUploadKeepsIndex(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteForTest(t)
	addDevices(t, db, "D")
	dev := deviceRef{"@a:x", "D"}
	up := func(limit int, id, js string) error {
		_, err := db.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D", MaxUnclaimed: limit,
			OneTimeKeys: []store.OneTimeKey{{KeyID: "c:" + id, Algorithm: "c", JSON: []byte(js)}}})
		return err
	}
	held := func() bool {
		db.otk.mu.Lock()
		defer db.otk.mu.Unlock()
		_, ok := db.otk.devices[dev]
		return ok
	}
	if err := up(1, "A", `"a"`); err != nil {
		t.Fatal(err)
	}
	if err := up(1, "B", `"b"`); !errors.Is(err, store.ErrTooManyOneTimeKeys) {
		t.Fatalf("second key over a limit of 1: %v", err)
	}
	if err := up(0, "A", `"other"`); !errors.Is(err, store.ErrOneTimeKeyExists) {
		t.Fatalf("reused ID: %v", err)
	}
	if !held() {
		t.Error("a refused upload dropped the device from the index")
	}
	err := db.inTx(ctx, func(t *tx) error {
		if _, err := t.putOTKs(store.KeysUpload{UserID: "@a:x", DeviceID: "D", OneTimeKeys: []store.OneTimeKey{{KeyID: "c:Z", Algorithm: "c", JSON: []byte(`"z"`)}}}); err != nil {
			return err
		}
		return errInjected
	})
	if !errors.Is(err, errInjected) {
		t.Fatal(err)
	}
	if held() {
		t.Error("a job that failed after writing keys left the device in the index")
	}
	counts, err := db.OneTimeKeyCounts(ctx, "@a:x", "D")
	if err != nil || counts["c"] != 1 {
		t.Errorf("counts %v, %v; want c: 1", counts, err)
	}
}
