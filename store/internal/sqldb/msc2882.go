package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"vouch/store"
)

// This file holds the parts of the signature store that MSC2882 (public
// user-signing keys) adds: one public signature per signer per key, and
// deleting one's own signatures.

// dropOtherPublicSignatures applies MSC2882's "each user may only make one
// public signature on another user's device/key": for every public
// user-signing-key signature in sigs, it deletes the other public
// user-signing-key signatures its signer user made over the same key
// (under another key ID: one made by a previous public user-signing key).
// Signatures by other kinds of key, user-signing ones included, are left.
// It runs inside PutSignatures' transaction, before the upsert; the
// device-list change PutSignatures appends for the target covers it.
func (t *tx) dropOtherPublicSignatures(sigs []store.Signature) error {
	type target struct{ user, key, signer string }
	done := map[target]bool{}
	for _, s := range sigs {
		if s.SignerKind != store.KindPublicUserSigning {
			continue
		}
		k := target{s.TargetUser, s.TargetKey, s.SignerUser}
		if done[k] {
			continue
		}
		done[k] = true
		if _, err := t.exec(`DELETE FROM signatures WHERE target_user = ? AND target_key = ? AND signer_user = ? AND signer_kind = ? AND signer_key_id <> ?`,
			s.TargetUser, s.TargetKey, s.SignerUser, int(store.KindPublicUserSigning), s.SignerKeyID); err != nil {
			return fmt.Errorf("replacing public signatures of %s over %s %s: %w", s.SignerUser, s.TargetUser, s.TargetKey, err)
		}
	}
	return nil
}

// announcePublicSignaturesBy appends a public device-list change for every
// other user over whose keys signerUser's key signerKeyID made a signature:
// called before those signatures are deleted with the key that made them.
func (t *tx) announcePublicSignaturesBy(signerUser, signerKeyID string) error {
	rows, err := t.query(`SELECT DISTINCT target_user FROM signatures WHERE signer_user = ? AND signer_key_id = ? AND target_user <> ?`,
		signerUser, signerKeyID, signerUser)
	if err != nil {
		return err
	}
	changes := map[sigChange]bool{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return err
		}
		changes[sigChange{user: u}] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return t.putSignatureChanges(changes)
}

// DeleteSignatures implements store.Signatures.
func (db *DB) DeleteSignatures(ctx context.Context, signerUser string, targets []store.SignatureRef) ([]store.Signature, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	var deleted []store.Signature
	err := db.inTx(ctx, func(t *tx) error {
		deleted = deleted[:0] // a rerun starts over (inTx)
		seen := make(map[store.SignatureRef]bool, len(targets))
		changes := map[sigChange]bool{}
		for _, r := range targets {
			if seen[r] {
				continue
			}
			seen[r] = true
			row, err := t.queryRow(`DELETE FROM signatures WHERE target_user = ? AND target_key = ? AND signer_user = ? AND signer_key_id = ?
				RETURNING target_kind, signer_kind, signature`, r.TargetUser, r.TargetKey, signerUser, r.SignerKeyID)
			if err != nil {
				return err
			}
			g := store.Signature{TargetUser: r.TargetUser, TargetKey: r.TargetKey, SignerUser: signerUser, SignerKeyID: r.SignerKeyID}
			var tk, sk int
			if err := row.Scan(&tk, &sk, &g.Signature); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				return err
			}
			g.TargetKind, g.SignerKind = store.KeyKind(tk), store.KeyKind(sk)
			deleted = append(deleted, g)
			c := sigChange{user: g.TargetUser}
			if g.SignerKind == store.KindUserSigning {
				c.onlyFor = signerUser
			}
			changes[c] = true
		}
		return t.putSignatureChanges(changes)
	})
	if err != nil {
		return nil, fmt.Errorf("delete signatures of %s: %w", signerUser, err)
	}
	return deleted, nil
}
