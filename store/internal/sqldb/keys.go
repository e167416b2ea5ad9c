package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"vouch/store"
)

// UploadKeys implements store.DeviceKeys.
func (db *DB) UploadKeys(ctx context.Context, u store.KeysUpload) (map[string]int, error) {
	var counts map[string]int
	fn := func(t *tx) error {
		if u.DeviceKeys != nil {
			if err := t.putDeviceKeys(u); err != nil {
				return err
			}
		}
		added, err := t.putOTKs(u)
		if err != nil {
			return err
		}
		for _, k := range u.FallbackKeys {
			// An identical re-upload keeps the used flag; a new key is unused.
			if _, err := t.exec(`INSERT INTO fallback_keys (user_id, device_id, algorithm, key_id, key_json, used) VALUES (?, ?, ?, ?, ?, 0)
				ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET key_id = excluded.key_id, key_json = excluded.key_json,
				used = CASE WHEN fallback_keys.key_id = excluded.key_id AND fallback_keys.key_json = excluded.key_json THEN fallback_keys.used ELSE 0 END`,
				u.UserID, u.DeviceID, k.Algorithm, k.KeyID, k.JSON); err != nil {
				return err
			}
		}
		for _, alg := range sortedKeys(added) {
			if _, err := t.exec(`INSERT INTO one_time_key_counts (user_id, device_id, algorithm, n) VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET n = one_time_key_counts.n + excluded.n`,
				u.UserID, u.DeviceID, alg, added[alg]); err != nil {
				return err
			}
		}
		counts, err = t.otkCounts(deviceRef{u.UserID, u.DeviceID})
		return err
	}
	var err error
	var ju *journalUpload
	if db.journal != nil && db.jobs != nil {
		ju, err = journalable(u)
	}
	if err == nil {
		if ju != nil {
			// The committer journals it or, when it cannot, runs fn.
			err = db.submit(&job{ctx: ctx, fn: fn, otk: ju, done: make(chan error, 1), submitted: time.Now()})
			if err == nil && ju.counts != nil {
				counts = ju.counts
			}
		} else {
			err = db.inTx(ctx, fn)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("upload keys for %s %s: %w", u.UserID, u.DeviceID, err)
	}
	return counts, nil
}

func (t *tx) putDeviceKeys(u store.KeysUpload) error {
	row, err := t.queryRow(`SELECT key_json FROM device_keys WHERE user_id = ? AND device_id = ?`, u.UserID, u.DeviceID)
	if err != nil {
		return err
	}
	var old []byte
	switch err := row.Scan(&old); {
	case err == nil:
		if !bytes.Equal(old, u.DeviceKeys.KeyJSON) {
			return fmt.Errorf("device %s: %w", u.DeviceID, store.ErrKeysChanged)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := t.exec(`INSERT INTO device_keys (user_id, device_id, key_json) VALUES (?, ?, ?)`, u.UserID, u.DeviceID, u.DeviceKeys.KeyJSON); err != nil {
		return err
	}
	if u.SelfSignature != nil {
		if err := t.putSignature(*u.SelfSignature); err != nil {
			return err
		}
	}
	return t.deviceListChange(u.UserID, "")
}

func countOTKs(rows *sql.Rows, err error) (map[string]int, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var alg string
		var n int
		if err := rows.Scan(&alg, &n); err != nil {
			return nil, err
		}
		counts[alg] = n
	}
	return counts, rows.Err()
}

// GetDeviceKeys implements store.DeviceKeys.
func (db *DB) GetDeviceKeys(ctx context.Context, userIDs []string) (map[string][]store.DeviceKeysRecord, error) {
	out := map[string][]store.DeviceKeysRecord{}
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := db.query(ctx, `SELECT k.user_id, k.device_id, k.key_json, d.display_name FROM device_keys k
		JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id
		WHERE k.user_id IN (`+placeholders(len(userIDs))+`) ORDER BY k.user_id, k.device_id`, anys(userIDs)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r store.DeviceKeysRecord
		if err := rows.Scan(&r.UserID, &r.DeviceID, &r.KeyJSON, &r.DisplayName); err != nil {
			return nil, fmt.Errorf("device keys: %w", err)
		}
		out[r.UserID] = append(out[r.UserID], r)
	}
	return out, rows.Err()
}

// OneTimeKeyCounts implements store.OneTimeKeys.
func (db *DB) OneTimeKeyCounts(ctx context.Context, userID, deviceID string) (map[string]int, error) {
	j := db.journal
	if j == nil {
		return countOTKs(db.query(ctx, countOTKsQuery, userID, deviceID))
	}
	// The stored counts and the journal's pending keys.
	return j.countsWithPending(deviceRef{userID, deviceID}, func() (map[string]int, error) {
		return countOTKs(db.query(ctx, countOTKsQuery, userID, deviceID))
	})
}

// UnusedFallbackKeyTypes implements store.OneTimeKeys.
func (db *DB) UnusedFallbackKeyTypes(ctx context.Context, userID, deviceID string) ([]string, error) {
	rows, err := db.query(ctx, `SELECT algorithm FROM fallback_keys WHERE user_id = ? AND device_id = ? AND used = 0 ORDER BY algorithm`, userID, deviceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ClaimKeys implements store.OneTimeKeys.
func (db *DB) ClaimKeys(ctx context.Context, req map[string]map[string]string) (map[string]map[string]map[string][]byte, error) {
	var out map[string]map[string]map[string][]byte
	err := db.inTx(ctx, func(t *tx) error {
		out = map[string]map[string]map[string][]byte{} // a rerun starts over (inTx)
		for _, user := range sortedKeys(req) {
			for _, dev := range sortedKeys(req[user]) {
				alg := req[user][dev]
				keyID, js, err := t.claimOne(user, dev, alg)
				if err != nil {
					return err
				}
				if keyID == "" {
					continue
				}
				if out[user] == nil {
					out[user] = map[string]map[string][]byte{}
				}
				out[user][dev] = map[string][]byte{keyID: js}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim keys: %w", err)
	}
	return out, nil
}

func (t *tx) claimOne(user, dev, alg string) (string, []byte, error) {
	keyID, js, err := t.claimOTK(deviceRef{user, dev}, alg)
	if err != nil || keyID != "" {
		if err == nil {
			_, err = t.exec(`UPDATE one_time_key_counts SET n = n - 1 WHERE user_id = ? AND device_id = ? AND algorithm = ?`, user, dev, alg)
		}
		return keyID, js, err
	}
	row, err := t.queryRow(`SELECT key_id, key_json FROM fallback_keys WHERE user_id = ? AND device_id = ? AND algorithm = ?`, user, dev, alg)
	if err != nil {
		return "", nil, err
	}
	switch err := row.Scan(&keyID, &js); {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil, nil
	case err != nil:
		return "", nil, err
	}
	_, err = t.exec(`UPDATE fallback_keys SET used = 1 WHERE user_id = ? AND device_id = ? AND algorithm = ?`, user, dev, alg)
	return keyID, js, err
}

// GetCrossSigningKeys implements store.CrossSigning.
func (db *DB) GetCrossSigningKeys(ctx context.Context, userIDs []string) (map[string]map[string]store.CrossSigningKeyRecord, error) {
	out := map[string]map[string]store.CrossSigningKeyRecord{}
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := db.query(ctx, `SELECT user_id, usage, public_key, key_json FROM cross_signing_keys WHERE user_id IN (`+placeholders(len(userIDs))+`)`, anys(userIDs)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r store.CrossSigningKeyRecord
		if err := rows.Scan(&r.UserID, &r.Usage, &r.PublicKey, &r.KeyJSON); err != nil {
			return nil, fmt.Errorf("cross-signing keys: %w", err)
		}
		if out[r.UserID] == nil {
			out[r.UserID] = map[string]store.CrossSigningKeyRecord{}
		}
		out[r.UserID][r.Usage] = r
	}
	return out, rows.Err()
}

// PutCrossSigningKeys implements store.CrossSigning.
func (db *DB) PutCrossSigningKeys(ctx context.Context, u store.CrossSigningUpdate) (bool, error) {
	var changed bool
	err := db.inTx(ctx, func(t *tx) error {
		changed = false // a rerun starts over (inTx)
		rows, err := t.query(`SELECT usage, public_key, key_json FROM cross_signing_keys WHERE user_id = ?`, u.UserID)
		if err != nil {
			return err
		}
		current := map[string]store.CrossSigningKeyRecord{}
		for rows.Next() {
			r := store.CrossSigningKeyRecord{UserID: u.UserID}
			if err := rows.Scan(&r.Usage, &r.PublicKey, &r.KeyJSON); err != nil {
				rows.Close()
				return err
			}
			current[r.Usage] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if current[store.UsageMaster].PublicKey != u.ExpectMaster {
			return fmt.Errorf("master key of %s: %w", u.UserID, store.ErrConflict)
		}
		public := false // a change others may see (anything but the user-signing key)
		for _, k := range u.Keys {
			clash, err := t.exists(`SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?`, u.UserID, k.PublicKey)
			if err != nil {
				return err
			}
			if clash {
				return fmt.Errorf("%s key %s: %w", k.Usage, k.PublicKey, store.ErrDeviceIDCollision)
			}
			old, had := current[k.Usage]
			if had && bytes.Equal(old.KeyJSON, k.KeyJSON) {
				continue
			}
			changed = true
			if k.Usage != store.UsageUserSigning {
				public = true
			}
			if had {
				if err := t.dropSignaturesOver(u.UserID, old.PublicKey); err != nil {
					return err
				}
				if old.PublicKey != k.PublicKey {
					if k.Usage == store.UsagePublicUserSigning {
						// Its signatures over other users' keys were public:
						// everyone interested in those users hears they went.
						if err := t.announcePublicSignaturesBy(u.UserID, "ed25519:"+old.PublicKey); err != nil {
							return err
						}
					}
					if _, err := t.exec(`DELETE FROM signatures WHERE signer_user = ? AND signer_key_id = ?`, u.UserID, "ed25519:"+old.PublicKey); err != nil {
						return err
					}
				}
			}
			if _, err := t.exec(`INSERT INTO cross_signing_keys (user_id, usage, public_key, key_json) VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id, usage) DO UPDATE SET public_key = excluded.public_key, key_json = excluded.key_json`,
				u.UserID, k.Usage, k.PublicKey, k.KeyJSON); err != nil {
				return err
			}
		}
		for _, s := range u.Signatures {
			if err := t.putSignature(s); err != nil {
				return err
			}
		}
		if !changed {
			return nil
		}
		onlyFor := u.UserID
		if public {
			onlyFor = ""
		}
		return t.deviceListChange(u.UserID, onlyFor)
	})
	if err != nil {
		return false, fmt.Errorf("cross-signing keys of %s: %w", u.UserID, err)
	}
	return changed, nil
}

// dropSignaturesOver deletes the signatures over one of user's cross-signing
// keys and tells each other user whose user-signing key had signed it.
func (t *tx) dropSignaturesOver(user, pub string) error {
	rows, err := t.query(`SELECT DISTINCT signer_user FROM signatures WHERE target_user = ? AND target_key = ? AND signer_kind = ?`, user, pub, int(store.KindUserSigning))
	if err != nil {
		return err
	}
	var signers []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		signers = append(signers, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range signers {
		if s != user {
			if err := t.deviceListChange(user, s); err != nil {
				return err
			}
		}
	}
	_, err = t.exec(`DELETE FROM signatures WHERE target_user = ? AND target_key = ?`, user, pub)
	return err
}

func (t *tx) putSignature(s store.Signature) error {
	_, err := t.exec(`INSERT INTO signatures (target_user, target_key, target_kind, signer_user, signer_key_id, signer_kind, signature) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (target_user, target_key, signer_user, signer_key_id) DO UPDATE SET target_kind = excluded.target_kind, signer_kind = excluded.signer_kind, signature = excluded.signature`,
		s.TargetUser, s.TargetKey, int(s.TargetKind), s.SignerUser, s.SignerKeyID, int(s.SignerKind), s.Signature)
	return err
}

var usageOfKind = map[store.KeyKind]string{
	store.KindMaster:      store.UsageMaster,
	store.KindSelfSigning: store.UsageSelfSigning,
	store.KindUserSigning: store.UsageUserSigning,
	// MSC2882: the public user-signing key is a signer and a target.
	store.KindPublicUserSigning: store.UsagePublicUserSigning,
}

// keyExists reports whether the key of a kind exists (id is a device ID or
// a cross-signing public key).
func (t *tx) keyExists(user, id string, kind store.KeyKind) (bool, error) {
	if kind == store.KindDevice {
		return t.exists(`SELECT 1 FROM device_keys WHERE user_id = ? AND device_id = ?`, user, id)
	}
	usage, ok := usageOfKind[kind]
	if !ok {
		return false, nil
	}
	return t.exists(`SELECT 1 FROM cross_signing_keys WHERE user_id = ? AND usage = ? AND public_key = ?`, user, usage, id)
}

// PutSignatures implements store.Signatures.
//
// The work per call does not grow by a statement per signature: the
// signer keys (usually one) are checked once each, all targets are checked
// by one query per kind of target, the signatures are written by one
// multi-row upsert and the device-list changes by one multi-row insert
// (chunked at sigChunk rows), with their stream positions allocated by one
// nextPositions call. A missing target or signer fails the whole call and
// stores nothing.
func (db *DB) PutSignatures(ctx context.Context, sigs []store.Signature) error {
	if len(sigs) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(t *tx) error {
		known := make(map[keyRef]bool, len(sigs)+1)
		if err := t.targetsExist(sigs, known); err != nil {
			return err
		}
		changes := make(map[sigChange]bool, len(sigs))
		for _, s := range sigs {
			target := keyRef{s.TargetUser, s.TargetKey, s.TargetKind}
			if !known[target] {
				return fmt.Errorf("target %s %s: %w", s.TargetUser, s.TargetKey, store.ErrNotFound)
			}
			ok, err := t.keyExistsOnce(known, keyRef{s.SignerUser, strings.TrimPrefix(s.SignerKeyID, "ed25519:"), s.SignerKind})
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("signer %s %s: %w", s.SignerUser, s.SignerKeyID, store.ErrNotFound)
			}
			c := sigChange{user: s.TargetUser}
			if s.SignerKind == store.KindUserSigning {
				c.onlyFor = s.SignerUser
			}
			changes[c] = true
		}
		if err := t.dropOtherPublicSignatures(sigs); err != nil {
			return err
		}
		if err := t.upsertSignatures(sigs); err != nil {
			return err
		}
		return t.putSignatureChanges(changes)
	})
	if err != nil {
		return fmt.Errorf("put signatures: %w", err)
	}
	return nil
}

// sigChunk is the most rows one statement of PutSignatures writes or
// checks (7 values per signature row, far below SQLite's 32766 and
// PostgreSQL's 65535 bound parameters).
const sigChunk = 64

// targetsExist records in known, for the target key of every signature,
// whether it exists: one query per chunk of device targets and one per
// chunk of cross-signing targets.
func (t *tx) targetsExist(sigs []store.Signature, known map[keyRef]bool) error {
	var devices, crossSigning []keyRef
	for _, s := range sigs {
		k := keyRef{s.TargetUser, s.TargetKey, s.TargetKind}
		if _, seen := known[k]; seen {
			continue
		}
		known[k] = false
		switch {
		case k.kind == store.KindDevice:
			devices = append(devices, k)
		case usageOfKind[k.kind] != "":
			crossSigning = append(crossSigning, k)
		}
	}
	for start := 0; start < len(devices); start += sigChunk {
		chunk := devices[start:min(start+sigChunk, len(devices))]
		args := make([]any, 0, 2*len(chunk))
		for _, k := range chunk {
			args = append(args, k.user, k.id)
		}
		where := `FROM device_keys WHERE (user_id, device_id) IN (VALUES ` + rowPlaceholders(len(chunk), 2) + `)`
		if err := t.markExisting(chunk, known, where, args, `SELECT user_id, device_id `, store.KindDevice, false); err != nil {
			return err
		}
	}
	for start := 0; start < len(crossSigning); start += sigChunk {
		chunk := crossSigning[start:min(start+sigChunk, len(crossSigning))]
		args := make([]any, 0, 3*len(chunk))
		for _, k := range chunk {
			args = append(args, k.user, usageOfKind[k.kind], k.id)
		}
		where := `FROM cross_signing_keys WHERE (user_id, usage, public_key) IN (VALUES ` + rowPlaceholders(len(chunk), 3) + `)`
		if err := t.markExisting(chunk, known, where, args, `SELECT user_id, public_key, usage `, 0, true); err != nil {
			return err
		}
	}
	return nil
}

// markExisting marks the keys of chunk (distinct, all in known) that exist.
// It first counts the rows of "SELECT COUNT(*) "+where: when all exist,
// as they nearly always do (the handler found them moments before), that
// is the whole answer, without reading a row per key. Otherwise it reads
// the rows (selectCols+where) to learn which keys are missing.
func (t *tx) markExisting(chunk []keyRef, known map[keyRef]bool, where string, args []any, selectCols string, kind store.KeyKind, withUsage bool) error {
	row, err := t.queryRow(`SELECT COUNT(*) `+where, args...)
	if err != nil {
		return err
	}
	var n int
	if err := row.Scan(&n); err != nil {
		return fmt.Errorf("%s: count keys: %w", t.db.d.Name, err)
	}
	if n == len(chunk) {
		for _, k := range chunk {
			known[k] = true
		}
		return nil
	}
	rows, err := t.query(selectCols+where, args...)
	return scanExisting(rows, err, known, kind, withUsage)
}

// scanExisting marks the keys of rows (user, id[, usage]) as existing in
// known: of kind, or, when withUsage, of the kind whose usage the row names.
func scanExisting(rows *sql.Rows, err error, known map[keyRef]bool, kind store.KeyKind, withUsage bool) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k keyRef
		var usage string
		dest := []any{&k.user, &k.id}
		if withUsage {
			dest = append(dest, &usage)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		k.kind = kind
		if withUsage {
			k.kind = kindOfUsage(usage)
		}
		if _, asked := known[k]; asked {
			known[k] = true
		}
	}
	return rows.Err()
}

// kindOfUsage is the cross-signing key kind of a stored usage.
func kindOfUsage(usage string) store.KeyKind {
	for kind, u := range usageOfKind {
		if u == usage {
			return kind
		}
	}
	return 0
}

// upsertSignatures writes sigs, one multi-row upsert per chunk. A signature
// repeated within sigs (same target and signer key) is written once, with
// the last value, as writing them one by one would leave it; PostgreSQL
// refuses one upsert that touches a row twice.
func (t *tx) upsertSignatures(sigs []store.Signature) error {
	type conflictKey struct{ targetUser, targetKey, signerUser, signerKeyID string }
	last := make(map[conflictKey]int, len(sigs))
	for i, s := range sigs {
		last[conflictKey{s.TargetUser, s.TargetKey, s.SignerUser, s.SignerKeyID}] = i
	}
	rows := make([]store.Signature, 0, len(last))
	for i, s := range sigs {
		if last[conflictKey{s.TargetUser, s.TargetKey, s.SignerUser, s.SignerKeyID}] == i {
			rows = append(rows, s)
		}
	}
	for start := 0; start < len(rows); start += sigChunk {
		chunk := rows[start:min(start+sigChunk, len(rows))]
		args := make([]any, 0, 7*len(chunk))
		for _, s := range chunk {
			args = append(args, s.TargetUser, s.TargetKey, int(s.TargetKind), s.SignerUser, s.SignerKeyID, int(s.SignerKind), s.Signature)
		}
		if _, err := t.exec(`INSERT INTO signatures (target_user, target_key, target_kind, signer_user, signer_key_id, signer_kind, signature) VALUES `+
			rowPlaceholders(len(chunk), 7)+`
			ON CONFLICT (target_user, target_key, signer_user, signer_key_id) DO UPDATE SET target_kind = excluded.target_kind, signer_kind = excluded.signer_kind, signature = excluded.signature`,
			args...); err != nil {
			return err
		}
	}
	return nil
}

// rowPlaceholders returns "(?, ?), (?, ?)" for rows rows of cols values.
func rowPlaceholders(rows, cols int) string {
	one := "(" + placeholders(cols) + ")"
	return strings.Repeat(one+", ", rows-1) + one
}

// keyRef names one key for PutSignatures' existence checks.
type keyRef struct {
	user, id string
	kind     store.KeyKind
}

// keyExistsOnce is keyExists, asked of the database once per key and
// remembered in known for the rest of the transaction.
func (t *tx) keyExistsOnce(known map[keyRef]bool, k keyRef) (bool, error) {
	if ok, seen := known[k]; seen {
		return ok, nil
	}
	ok, err := t.keyExists(k.user, k.id, k.kind)
	if err != nil {
		return false, err
	}
	known[k] = ok
	return ok, nil
}

// sigChange is one device-list change a signature upload causes: of user,
// visible to onlyFor alone ("" for everyone interested in user).
type sigChange struct{ user, onlyFor string }

// putSignatureChanges appends the changes in (user, onlyFor) order, as
// deviceListChange would one at a time, with their positions allocated by
// one nextPositions call.
func (t *tx) putSignatureChanges(changes map[sigChange]bool) error {
	if len(changes) == 0 {
		return nil
	}
	cs := make([]sigChange, 0, len(changes))
	for c := range changes {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].user != cs[j].user {
			return cs[i].user < cs[j].user
		}
		return cs[i].onlyFor < cs[j].onlyFor
	})
	last, err := t.nextPositions(len(cs))
	if err != nil {
		return err
	}
	pos := last - int64(len(cs)) + 1
	for start := 0; start < len(cs); start += sigChunk {
		chunk := cs[start:min(start+sigChunk, len(cs))]
		args := make([]any, 0, 3*len(chunk))
		for _, c := range chunk {
			args = append(args, pos, c.user, c.onlyFor)
			pos++
		}
		if _, err := t.exec(`INSERT INTO device_list_changes (pos, user_id, only_for) VALUES `+rowPlaceholders(len(chunk), 3), args...); err != nil {
			return err
		}
	}
	return nil
}

// GetSignatures implements store.Signatures.
func (db *DB) GetSignatures(ctx context.Context, targetUsers []string) ([]store.Signature, error) {
	if len(targetUsers) == 0 {
		return nil, nil
	}
	rows, err := db.query(ctx, `SELECT target_user, target_key, target_kind, signer_user, signer_key_id, signer_kind, signature FROM signatures
		WHERE target_user IN (`+placeholders(len(targetUsers))+`) ORDER BY target_user, target_key, signer_user, signer_key_id`, anys(targetUsers)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Signature
	for rows.Next() {
		var s store.Signature
		var tk, sk int
		if err := rows.Scan(&s.TargetUser, &s.TargetKey, &tk, &s.SignerUser, &s.SignerKeyID, &sk, &s.Signature); err != nil {
			return nil, fmt.Errorf("signatures: %w", err)
		}
		s.TargetKind, s.SignerKind = store.KeyKind(tk), store.KeyKind(sk)
		out = append(out, s)
	}
	return out, rows.Err()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
