package server

import (
	"crypto/ed25519"
	"sync"

	"vouch/internal/edcomb"
)

// preparedVerifyMin is the number of signatures by one key in one upload
// from which the key is prepared for fast verification (edcomb): preparing
// costs about 3.6 plain verifications and each prepared verification saves
// about 0.56 of one, so a key pays from about the seventh signature.
const preparedVerifyMin = 8

// preparedKeyCap bounds the prepared keys the server keeps between
// requests (about 60 KB each).
const preparedKeyCap = 16

// preparedKeys keeps the signing keys most recently prepared for verifying
// many signatures, so that an account uploading batch after batch (an
// organisation signing its members, a client re-signing devices) pays the
// preparation once. Only keys that had at least preparedVerifyMin
// signatures in one request are added, so single signatures never churn
// it; eviction is oldest-added first.
type preparedKeys struct {
	mu    sync.Mutex
	byKey map[string]*edcomb.PublicKey
	order []string // insertion order, oldest first
}

// get returns the prepared form of pub, preparing and keeping it when
// prepare is true and it is not kept yet; nil when it is not kept and
// prepare is false, or when pub is not a usable ed25519 key.
func (p *preparedKeys) get(pub ed25519.PublicKey, prepare bool) *edcomb.PublicKey {
	p.mu.Lock()
	k := p.byKey[string(pub)]
	p.mu.Unlock()
	if k != nil || !prepare {
		return k
	}
	k, err := edcomb.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if kept := p.byKey[string(pub)]; kept != nil {
		return kept // prepared concurrently by another request
	}
	if p.byKey == nil {
		p.byKey = make(map[string]*edcomb.PublicKey, preparedKeyCap)
	}
	if len(p.order) >= preparedKeyCap {
		delete(p.byKey, p.order[0])
		p.order = append(p.order[:0], p.order[1:]...)
	}
	p.byKey[string(pub)] = k
	p.order = append(p.order, string(pub))
	return k
}
