package sqldb

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"vouch/store"
)

// One-time keys are stored one row per upload and algorithm (of at most
// maxOTKBatch keys) in one_time_key_batches (migration 8): the keys of the
// row as one JSON object from key ID to key, in key-ID order, with n the
// number of keys and claimed how many of them, from the front, were handed
// out. A claim takes the first unclaimed key of the device's oldest row for
// the algorithm and deletes the row with its last key. Writing five keys as
// one row instead of five is what makes an upload cheap on SQLite, where
// each row costs a B-tree insert on the one writer (docs/storage.md,
// "One-time keys as batches").
//
// A key ID must stay unique among a device's unclaimed keys (a re-upload
// with other content is refused), and nothing in the table indexes key IDs.
// Where one process owns the database ([Dialect.OneProcess], SQLite) the
// writer keeps an in-memory index of the unclaimed key IDs of recently used
// devices (otkIndex). On PostgreSQL ([Dialect.KeyIDTable]) one_time_key_ids
// holds each unclaimed key ID with its batch (migration 9): written with the
// batch, deleted by the claim that hands the key out, and with the device.
// Without either an upload reads all the device's rows (what an ambiguous
// index entry falls back to).

// otkEntry is one key of a batch.
type otkEntry struct {
	id   string
	json []byte
}

// encodeOTKBatch renders keys, sorted by key ID, as a JSON object.
func encodeOTKBatch(keys []store.OneTimeKey) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if plainJSONString(k.KeyID) {
			b.WriteByte('"')
			b.WriteString(k.KeyID)
			b.WriteByte('"')
		} else {
			id, err := json.Marshal(k.KeyID)
			if err != nil {
				return nil, err
			}
			b.Write(id)
		}
		b.WriteByte(':')
		b.Write(k.JSON)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// plainJSONString reports whether s is printable ASCII without '"' and
// '\\', so that it is a JSON string once quoted.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// decodeOTKBatch returns a batch's keys in stored order, each value's bytes
// exactly as stored. Batches as encodeOTKBatch writes them (no whitespace,
// key IDs without escapes) are split by scanning; anything else goes through
// encoding/json.
func decodeOTKBatch(blob []byte) ([]otkEntry, error) {
	if out, ok := scanOTKBatch(blob); ok {
		return out, nil
	}
	return decodeOTKBatchJSON(blob)
}

// scanOTKBatch splits a batch written by encodeOTKBatch: valid JSON that
// is '{', then members "id":value separated by ',', then '}', with no
// whitespace and no escape or invalid UTF-8 in an ID. It reports false, for
// decodeOTKBatchJSON to decide, on anything else. Once json.Valid has
// passed, the scan only has to find where each value ends
// (FuzzDecodeOTKBatch checks that whatever it accepts, encoding/json
// decodes to the same entries).
func scanOTKBatch(b []byte) ([]otkEntry, bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' || !json.Valid(b) {
		return nil, false
	}
	out := make([]otkEntry, 0, maxOTKBatch)
	i := 1
	if b[i] == '}' {
		return out, i == len(b)-1
	}
	for {
		if b[i] != '"' {
			return nil, false
		}
		end := i + 1
		for end < len(b) && b[end] != '"' {
			if c := b[end]; c == '\\' || c < 0x20 {
				return nil, false
			}
			end++
		}
		if end+1 >= len(b) || b[end+1] != ':' {
			return nil, false
		}
		id := string(b[i+1 : end])
		if !utf8.ValidString(id) {
			return nil, false
		}
		start := end + 2
		stop, ok := skipJSONValue(b, start)
		if !ok || stop == start {
			return nil, false
		}
		out = append(out, otkEntry{id: id, json: b[start:stop:stop]})
		switch {
		case stop == len(b)-1 && b[stop] == '}':
			return out, true
		case stop < len(b)-1 && b[stop] == ',':
			i = stop + 1
		default:
			return nil, false
		}
	}
}

// skipJSONValue returns the index just after the value starting at b[i]:
// a string, an object or array (brackets balanced, strings skipped) or a
// scalar (up to the next ',', '}' or ']'). It reports false for whitespace,
// control bytes, unbalanced brackets or a value running off the end.
func skipJSONValue(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] < 0x20 {
					return 0, false
				}
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(b) {
				return 0, false
			}
			i++
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			if depth == 0 {
				return i, i > 0
			}
			depth--
			i++
		case c == ',':
			if depth == 0 {
				return i, true
			}
			i++
		case c <= ' ':
			return 0, false
		default:
			i++
		}
		if depth == 0 && i < len(b) && (b[i] == ',' || b[i] == '}') {
			return i, true
		}
	}
	return 0, false
}

// decodeOTKBatchJSON is decodeOTKBatch through encoding/json.
func decodeOTKBatchJSON(blob []byte) ([]otkEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(blob))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("one-time key batch: not a JSON object")
	}
	var out []otkEntry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("one-time key batch: %w", err)
		}
		id, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("one-time key batch: member name %v", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("one-time key batch: %w", err)
		}
		out = append(out, otkEntry{id: id, json: raw})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("one-time key batch: unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("one-time key batch: data after the object")
	}
	return out, nil
}

// deviceRef names one device.
type deviceRef struct{ user, device string }

// maxOTKIndexEntries bounds the in-memory key-ID index: past it, the index
// is emptied and devices are read back from the database as they upload.
// At 30–40 bytes an entry this is some 60–80 MB.
const maxOTKIndexEntries = 2 << 20

// otkIndex maps, for the devices it holds, the hash of every unclaimed
// one-time key ID to the seq of its batch. For a device it holds, the map
// is exact: every unclaimed key has its entry. Two key IDs whose hashes
// collide share an entry marked ambiguous (-1), which makes a check of
// those IDs read all of the device's batches; an entry whose key was
// claimed while the device was not held may linger, a false alarm that the
// read of the batch row settles. It is used by the writer goroutine only
// (the mutex covers Close and tests).
//
// Changes are made inside the write transaction; the transaction records
// the devices it loaded or changed (tx.otkTouched, tx.otkChanged): when a
// job's savepoint is rolled back the devices that job changed are dropped
// from the index, when the transaction fails every device it loaded or
// changed, to be read back from the database when next needed.
type otkIndex struct {
	mu      sync.Mutex
	seed    maphash.Seed
	devices map[deviceRef]*otkDevice
	entries int
	// limit is maxOTKIndexEntries (smaller in tests).
	limit int
}

// otkDevice is what otkIndex holds for one device.
type otkDevice struct {
	// ids maps key-ID hashes to batch seqs.
	ids map[uint64]int64
	// counts are the unclaimed keys per algorithm, as in
	// one_time_key_counts, so that an upload's answer needs no read.
	counts map[string]int
}

func newOTKIndex() *otkIndex {
	return &otkIndex{seed: maphash.MakeSeed(), devices: map[deviceRef]*otkDevice{}, limit: maxOTKIndexEntries}
}

func (x *otkIndex) hash(keyID string) uint64 { return maphash.String(x.seed, keyID) }

// ambiguous marks an index entry shared by colliding key IDs.
const ambiguous = -1

// add records keyID of algorithm alg in batch seq for a device.
func (x *otkIndex) add(d *otkDevice, alg, keyID string, seq int64) {
	h := x.hash(keyID)
	switch old, ok := d.ids[h]; {
	case !ok:
		d.ids[h] = seq
		x.entries++
	case old != seq:
		d.ids[h] = ambiguous
	}
	d.counts[alg]++
}

// drop forgets the given devices.
func (x *otkIndex) drop(devs []deviceRef) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range devs {
		if od, ok := x.devices[d]; ok {
			x.entries -= len(od.ids)
			delete(x.devices, d)
		}
	}
}

// touch records that the transaction loaded dev into the index: the load
// read the transaction's own state, so the device is dropped if the whole
// transaction fails.
func (t *tx) touch(dev deviceRef) {
	t.otkTouched = append(t.otkTouched, dev)
}

// change records that the current job changed dev's index entries: the
// device is dropped if the job's savepoint is rolled back, or the whole
// transaction fails. It appends even when dev is listed already, so that
// each job's part of the list (from its mark on) names every device that
// job changed.
func (t *tx) change(dev deviceRef) {
	t.otkTouched = append(t.otkTouched, dev)
	t.otkChanged = append(t.otkChanged, dev)
}

// rollbackOTKJob drops the devices changed since mark (a job's savepoint
// was rolled back). Devices the job only loaded stay: it loaded them before
// writing anything to them, so what was loaded is still the transaction's
// state.
func (t *tx) rollbackOTKJob(mark int) {
	if t.db.otk != nil && len(t.otkChanged) > mark {
		t.db.otk.drop(t.otkChanged[mark:])
	}
	t.otkChanged = t.otkChanged[:mark]
}

// rollbackOTKIndex drops every device the transaction loaded or changed
// (it failed as a whole).
func (t *tx) rollbackOTKIndex() {
	if t.db.otk != nil && len(t.otkTouched) > 0 {
		t.db.otk.drop(t.otkTouched)
	}
	t.otkTouched, t.otkChanged = nil, nil
}

// countOTKsQuery reads a device's unclaimed one-time key counts.
const countOTKsQuery = `SELECT algorithm, n FROM one_time_key_counts WHERE user_id = ? AND device_id = ? AND n > 0`

// otkCounts returns dev's unclaimed one-time key counts: from the index
// where there is one, else from one_time_key_counts.
func (t *tx) otkCounts(dev deviceRef) (map[string]int, error) {
	if t.db.otk == nil {
		return countOTKs(t.query(countOTKsQuery, dev.user, dev.device))
	}
	d, err := t.otkDeviceIndex(dev)
	if err != nil {
		return nil, err
	}
	t.db.otk.mu.Lock()
	defer t.db.otk.mu.Unlock()
	out := make(map[string]int, len(d.counts))
	for alg, n := range d.counts {
		if n > 0 {
			out[alg] = n
		}
	}
	return out, nil
}

// otkTotal returns dev's unclaimed one-time keys, all algorithms together,
// without copying the index's counts.
func (t *tx) otkTotal(dev deviceRef) (int, error) {
	if t.db.otk == nil {
		row, err := t.queryRow(`SELECT COALESCE(SUM(n), 0) FROM one_time_key_counts WHERE user_id = ? AND device_id = ?`, dev.user, dev.device)
		if err != nil {
			return 0, err
		}
		var n int
		err = row.Scan(&n)
		return n, err
	}
	d, err := t.otkDeviceIndex(dev)
	if err != nil {
		return 0, err
	}
	t.db.otk.mu.Lock()
	defer t.db.otk.mu.Unlock()
	n := 0
	for _, c := range d.counts {
		n += c
	}
	return n, nil
}

// otkDeviceIndex returns what the index holds for dev, reading the
// device's batches when it holds nothing.
func (t *tx) otkDeviceIndex(dev deviceRef) (*otkDevice, error) {
	x := t.db.otk
	x.mu.Lock()
	d, ok := x.devices[dev]
	x.mu.Unlock()
	if ok {
		return d, nil
	}
	type batch struct {
		seq  int64
		alg  string
		keys []otkEntry
	}
	var batches []batch
	err := t.eachOTKBatch(dev, func(seq int64, alg string, keys []otkEntry) {
		batches = append(batches, batch{seq, alg, keys})
	})
	if err != nil {
		return nil, err
	}
	d = &otkDevice{ids: map[uint64]int64{}, counts: map[string]int{}}
	x.mu.Lock()
	if x.entries > x.limit {
		x.devices = map[deviceRef]*otkDevice{}
		x.entries = 0
	}
	for _, b := range batches {
		for _, k := range b.keys {
			x.add(d, b.alg, k.id, b.seq)
		}
	}
	x.devices[dev] = d
	x.mu.Unlock()
	t.touch(dev)
	return d, nil
}

// eachOTKBatch calls fn with the unclaimed keys of each of dev's batches.
func (t *tx) eachOTKBatch(dev deviceRef, fn func(seq int64, alg string, keys []otkEntry)) error {
	rows, err := t.query(`SELECT seq, algorithm, claimed, keys FROM one_time_key_batches WHERE user_id = ? AND device_id = ?`, dev.user, dev.device)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var alg string
		var claimed int
		var blob []byte
		if err := rows.Scan(&seq, &alg, &claimed, &blob); err != nil {
			return err
		}
		keys, err := decodeOTKBatch(blob)
		if err != nil {
			return fmt.Errorf("batch %d: %w", seq, err)
		}
		fn(seq, alg, keys[min(claimed, len(keys)):])
	}
	return rows.Err()
}

// existingOTKs returns, among ids, the key IDs dev has unclaimed keys for,
// with their stored JSON.
func (t *tx) existingOTKs(dev deviceRef, ids []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if t.db.otk == nil && t.db.d.KeyIDTable {
		seqs, err := t.keyIDTableSeqs(dev, ids)
		if err != nil {
			return nil, err
		}
		return out, t.readOTKsFrom(dev, seqs, ids, out)
	}
	if t.db.otk != nil {
		d, err := t.otkDeviceIndex(dev)
		if err != nil {
			return nil, err
		}
		if done, err := t.existingIndexedOTKs(dev, d.ids, ids, out); done || err != nil {
			return out, err
		}
	}
	want := idSet(ids)
	err := t.eachOTKBatch(dev, func(_ int64, _ string, keys []otkEntry) {
		for _, k := range keys {
			if want[k.id] {
				out[k.id] = k.json
			}
		}
	})
	return out, err
}

// idSet returns ids as a set.
func idSet(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// existingIndexedOTKs is existingOTKs through the device's index map m: it
// reads only the batches m names, and reports done=false, having found
// nothing, when an ID's entry is ambiguous.
func (t *tx) existingIndexedOTKs(dev deviceRef, m map[uint64]int64, ids []string, out map[string][]byte) (bool, error) {
	var seqs []int64
	for _, id := range ids {
		seq, ok := m[t.db.otk.hash(id)]
		if seq < 0 {
			// ambiguous, or a journal record's pseudoSeq (not folded,
			// which every transaction does first, so not expected here).
			return false, nil
		}
		if ok && !slices.Contains(seqs, seq) {
			seqs = append(seqs, seq)
		}
	}
	return true, t.readOTKsFrom(dev, seqs, ids, out)
}

// keyIDTableSeqs returns the batches that one_time_key_ids names for those
// of ids dev has unclaimed keys under.
func (t *tx) keyIDTableSeqs(dev deviceRef, ids []string) ([]int64, error) {
	var seqs []int64
	for chunk := range slices.Chunk(ids, maxOTKBatch*8) {
		rows, err := t.query(`SELECT DISTINCT seq FROM one_time_key_ids WHERE user_id = ? AND device_id = ? AND key_id IN (`+placeholders(len(chunk))+`)`,
			anys(chunk, dev.user, dev.device)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return nil, err
			}
			if !slices.Contains(seqs, seq) {
				seqs = append(seqs, seq)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return seqs, nil
}

// readOTKsFrom adds to out the unclaimed keys among ids that dev's batches
// seqs hold, with their stored JSON.
func (t *tx) readOTKsFrom(dev deviceRef, seqs []int64, ids []string, out map[string][]byte) error {
	if len(seqs) == 0 {
		return nil
	}
	want := idSet(ids)
	for _, seq := range seqs {
		row, err := t.queryRow(`SELECT claimed, keys FROM one_time_key_batches WHERE seq = ? AND user_id = ? AND device_id = ?`, seq, dev.user, dev.device)
		if err != nil {
			return err
		}
		var claimed int
		var blob []byte
		switch err := row.Scan(&claimed, &blob); {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return err
		}
		keys, err := decodeOTKBatch(blob)
		if err != nil {
			return fmt.Errorf("batch %d: %w", seq, err)
		}
		for _, k := range keys[min(claimed, len(keys)):] {
			if want[k.id] {
				out[k.id] = k.json
			}
		}
	}
	return nil
}

// putOTKs stores u's one-time keys that are not stored yet, in batches of
// one algorithm (see maxOTKBatch), and returns how many were added per
// algorithm. A key ID that is stored with other content fails with
// store.ErrOneTimeKeyExists, more keys than u.MaxUnclaimed allows with
// store.ErrTooManyOneTimeKeys.
func (t *tx) putOTKs(u store.KeysUpload) (map[string]int, error) {
	added := map[string]int{}
	if len(u.OneTimeKeys) == 0 {
		return added, nil
	}
	dev := deviceRef{u.UserID, u.DeviceID}
	ids := make([]string, len(u.OneTimeKeys))
	for i, k := range u.OneTimeKeys {
		ids[i] = k.KeyID
	}
	existing, err := t.existingOTKs(dev, ids)
	if err != nil {
		return nil, err
	}
	byAlg := map[string][]store.OneTimeKey{}
	for _, k := range u.OneTimeKeys {
		if old, ok := existing[k.KeyID]; ok {
			// Accepted only as an identical re-upload.
			if !bytes.Equal(old, k.JSON) {
				return nil, fmt.Errorf("one-time key %s: %w", k.KeyID, store.ErrOneTimeKeyExists)
			}
			continue
		}
		existing[k.KeyID] = k.JSON
		byAlg[k.Algorithm] = append(byAlg[k.Algorithm], k)
	}
	if err := t.checkUnclaimedLimit(dev, u.MaxUnclaimed, byAlg); err != nil {
		return nil, err
	}
	for _, alg := range sortedKeys(byAlg) {
		all := byAlg[alg]
		slices.SortFunc(all, func(a, b store.OneTimeKey) int { return strings.Compare(a.KeyID, b.KeyID) })
		for keys := range slices.Chunk(all, maxOTKBatch) {
			if err := t.insertOTKBatch(dev, alg, keys); err != nil {
				return nil, err
			}
		}
		added[alg] = len(all)
	}
	return added, nil
}

// checkUnclaimedLimit fails with store.ErrTooManyOneTimeKeys when the keys
// of fresh would leave dev more than limit unclaimed one-time keys (no
// limit when limit is not positive). It runs before anything is written, so
// a refused upload changes neither the database nor the index.
func (t *tx) checkUnclaimedLimit(dev deviceRef, limit int, fresh map[string][]store.OneTimeKey) error {
	n := 0
	for _, keys := range fresh {
		n += len(keys)
	}
	if limit <= 0 || n == 0 {
		return nil
	}
	stored, err := t.otkTotal(dev)
	if err != nil {
		return err
	}
	if n += stored; n > limit {
		return fmt.Errorf("%d unclaimed one-time keys with this upload, at most %d: %w", n, limit, store.ErrTooManyOneTimeKeys)
	}
	return nil
}

// maxOTKBatch is the most keys one batch row holds: a claim decodes and
// rewrites its batch, so an upload of many keys (a new device's first, up to
// max_one_time_keys_per_upload) is stored as several rows of at most this
// many keys (about 2 KB), in key-ID order.
const maxOTKBatch = 8

// insertOTKBatch stores keys (one algorithm, sorted by key ID) as one batch
// and records them in the index.
func (t *tx) insertOTKBatch(dev deviceRef, alg string, keys []store.OneTimeKey) error {
	blob, err := encodeOTKBatch(keys)
	if err != nil {
		return err
	}
	seq, err := t.insertOTKRow(dev, alg, len(keys), blob)
	if err != nil {
		return err
	}
	if t.db.d.KeyIDTable {
		args := make([]any, 0, 4*len(keys))
		for _, k := range keys {
			args = append(args, dev.user, dev.device, k.KeyID, seq)
		}
		if _, err := t.exec(`INSERT INTO one_time_key_ids (user_id, device_id, key_id, seq) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(keys)), ", "), args...); err != nil {
			return err
		}
	}
	x := t.db.otk
	if x == nil {
		return nil
	}
	d, err := t.otkDeviceIndex(dev)
	if err != nil {
		return err
	}
	t.change(dev)
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		x.add(d, alg, k.KeyID, seq)
	}
	return nil
}

// insertOTKRow inserts one batch row and returns its seq.
func (t *tx) insertOTKRow(dev deviceRef, alg string, n int, blob []byte) (int64, error) {
	const insert = `INSERT INTO one_time_key_batches (user_id, device_id, algorithm, n, claimed, keys) VALUES (?, ?, ?, ?, 0, ?)`
	if t.db.d.LastInsertID {
		res, err := t.exec(insert, dev.user, dev.device, alg, n, blob)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	row, err := t.queryRow(insert+` RETURNING seq`, dev.user, dev.device, alg, n, blob)
	if err != nil {
		return 0, err
	}
	var seq int64
	err = row.Scan(&seq)
	return seq, err
}

// claimOTK takes the first unclaimed key of dev's oldest batch for alg, or
// returns "" when there is none.
func (t *tx) claimOTK(dev deviceRef, alg string) (string, []byte, error) {
	row, err := t.queryRow(`SELECT seq, n, claimed, keys FROM one_time_key_batches WHERE user_id = ? AND device_id = ? AND algorithm = ? ORDER BY seq LIMIT 1`, dev.user, dev.device, alg)
	if err != nil {
		return "", nil, err
	}
	var seq int64
	var n, claimed int
	var blob []byte
	switch err := row.Scan(&seq, &n, &claimed, &blob); {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil, nil
	case err != nil:
		return "", nil, err
	}
	keys, err := decodeOTKBatch(blob)
	if err != nil {
		return "", nil, fmt.Errorf("batch %d: %w", seq, err)
	}
	if claimed >= len(keys) || n != len(keys) {
		return "", nil, fmt.Errorf("one-time key batch %d: %d keys, n=%d, claimed=%d", seq, len(keys), n, claimed)
	}
	k := keys[claimed]
	if claimed+1 == n {
		_, err = t.exec(`DELETE FROM one_time_key_batches WHERE seq = ?`, seq)
	} else {
		_, err = t.exec(`UPDATE one_time_key_batches SET claimed = claimed + 1 WHERE seq = ?`, seq)
	}
	if err != nil {
		return "", nil, err
	}
	if t.db.d.KeyIDTable {
		if _, err := t.exec(`DELETE FROM one_time_key_ids WHERE user_id = ? AND device_id = ? AND key_id = ?`, dev.user, dev.device, k.id); err != nil {
			return "", nil, err
		}
	}
	if x := t.db.otk; x != nil {
		x.mu.Lock()
		if d, ok := x.devices[dev]; ok {
			if s, ok := d.ids[x.hash(k.id)]; ok && s == seq {
				delete(d.ids, x.hash(k.id))
				x.entries--
			}
			d.counts[alg]--
		}
		x.mu.Unlock()
		t.change(dev)
	}
	return k.id, k.json, nil
}
