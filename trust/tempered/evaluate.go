package tempered

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"

	"vouch/keys"
	"vouch/trust"
)

// DefaultMaxVerifications is the signature verifications one decision may
// make when Evaluator.MaxVerifications is zero. A decision in an honest
// world needs a handful; the bound only stops hostile input (a server
// claiming signatures everywhere) from costing more than about a quarter of
// a second.
const DefaultMaxVerifications = 4096

// userCheckCost is what one [trust.Viewer.User] call counts against the
// bound: at most two signatures (own USK by own MSK, their MSK by own USK).
const userCheckCost = 2

// Evaluator decides transitive trust with a bound on the work done.
type Evaluator struct {
	// MaxVerifications bounds the signature verifications of one decision
	// (DefaultMaxVerifications when zero or negative). Reaching it ends the
	// search; a chain found by then stands, otherwise the cause wraps
	// ErrSearchBound.
	MaxVerifications int
}

// Stats tells what one decision cost.
type Stats struct {
	// Verifications counts signature verifications, each direct check of
	// a voucher or the target ([trust.Viewer.User]) counting two.
	Verifications int
	// Exhausted is true when the search stopped at the bound.
	Exhausted bool
}

// Evaluate is Evaluator{}.Evaluate without the statistics.
func Evaluate(v trust.Viewer, p Policy, users map[string]*trust.UserKeys, target string) trust.Decision {
	d, _ := Evaluator{}.Evaluate(v, p, users, target)
	return d
}

// Evaluate decides whether v trusts target's current master key, directly
// or vouched for under policy p, from the published keys of users (keyed by
// user ID; an entry whose UserID differs from its key is ignored; the
// viewer's own keys default to v.Own).
//
// A target the viewer verified directly is trusted as [trust.Viewer.User]
// says, with its path and reason. The viewer themselves is never vouched for
// by others (ErrOwnIdentity). Otherwise the target is trusted when a chain
//
//	viewer MSK → viewer USK → voucher MSK → voucher PUSK
//	    [→ PUSK of the next user … at most depth−1 hops] → target MSK
//
// verifies link by link, where the voucher is in p and directly verified,
// every PUSK is its owner's (usage "public-user") and signed by its owner's
// master key, no user on the path has a device named after one of their
// cross-signing keys, and the target and every intermediate user are in the
// voucher's scope (Rule.Scope). The shortest chain wins; ties go to the
// voucher, then the intermediate user, first in user ID order. The reason
// names the voucher and the policy pattern that covered the target.
//
// When not trusted, Cause wraps the most informative of the sentinels met,
// in this order: ErrSearchBound, ErrDepthExceeded, ErrBadSignature,
// ErrExcepted, ErrVoucherNotVerified (for a voucher whose key claims to
// sign the target), ErrNotVouched, ErrVoucherNotVerified (otherwise),
// ErrOutOfScope, ErrNoVoucher; Path holds the links that held up to where
// it broke.
func (e Evaluator) Evaluate(v trust.Viewer, p Policy, users map[string]*trust.UserKeys, target string) (trust.Decision, Stats) {
	budget := e.MaxVerifications
	if budget <= 0 {
		budget = DefaultMaxVerifications
	}
	s := &search{
		v: v, users: users, target: target, budget: budget,
		pusks: map[string]puskResult{}, toTarget: map[string]error{}, hops: map[[2]string]error{},
	}
	d := s.run(p)
	return d, s.stats
}

// search is the state of one decision.
type search struct {
	v      trust.Viewer
	users  map[string]*trust.UserKeys
	target string
	tk     *trust.UserKeys
	budget int
	stats  Stats

	pusks    map[string]puskResult // user → their checked PUSK
	toTarget map[string]error      // signer → does their PUSK sign the target's MSK
	hops     map[[2]string]error   // {signer, user} → does signer's PUSK sign user's PUSK
	claims   map[string][]string   // signer → users whose PUSK carries a signature filed under signer

	fail failure
	best *found
}

type failure struct {
	rank  int
	path  []trust.Step
	cause error
}

type found struct {
	level int
	d     trust.Decision
}

type puskResult struct {
	key   *keys.CrossSigningKey
	pub   ed25519.PublicKey
	keyID string
	err   error
}

// node is a user reached by the breadth-first search with the path to
// their PUSK.
type node struct {
	user string
	pk   puskResult
	path []trust.Step
	via  []string
}

// errNotClaimed marks a signature that is simply absent (nothing to verify).
var errNotClaimed = errors.New("tempered: no signature claimed")

// Ranks of failures, from the least to the most informative.
const (
	rankNone = iota
	rankNoVoucher
	rankOutOfScope
	rankUnverifiedSilent // an unverified voucher that claims no signature on the target
	rankNotVouched
	rankUnverifiedClaim // an unverified voucher whose key claims to sign the target
	rankExcepted
	rankBadSignature
	rankDepthExceeded
	rankSearchBound
)

func rank(err error) int {
	for _, r := range []struct {
		err  error
		rank int
	}{
		{ErrSearchBound, rankSearchBound}, {ErrDepthExceeded, rankDepthExceeded},
		{ErrBadSignature, rankBadSignature}, {ErrExcepted, rankExcepted},
		{ErrNotVouched, rankNotVouched}, {ErrVoucherNotVerified, rankUnverifiedSilent},
		{ErrOutOfScope, rankOutOfScope}, {ErrNoVoucher, rankNoVoucher},
	} {
		if errors.Is(err, r.err) {
			return r.rank
		}
	}
	return rankNone
}

// record keeps the most informative failure; the first of equal rank wins,
// which makes the result deterministic since the search order is.
func (s *search) record(path []trust.Step, cause error) {
	s.recordRank(path, cause, rank(cause))
}

// recordRank is record with the rank given.
func (s *search) recordRank(path []trust.Step, cause error, r int) {
	if r > s.fail.rank {
		s.fail = failure{rank: r, path: slices.Clone(path), cause: cause}
	}
}

// spend takes n verifications from the budget; false when it is spent.
func (s *search) spend(n int) bool {
	if s.stats.Verifications+n > s.budget {
		if !s.stats.Exhausted {
			s.stats.Exhausted = true
			s.record(s.fail.path, fmt.Errorf("%w: %d signature verifications", ErrSearchBound, s.budget))
		}
		return false
	}
	s.stats.Verifications += n
	return true
}

// lookup returns uid's keys, refusing an entry filed under another user.
func (s *search) lookup(uid string) *trust.UserKeys {
	uk := s.users[uid]
	if uk == nil && uid == s.v.UserID {
		uk = s.v.Own
	}
	if uk == nil || uk.UserID != uid {
		return nil
	}
	return uk
}

// badLink says what broke the path, wrapping err (which may wrap keys or
// signedjson sentinels, such as keys.ErrNamespaceCollision).
func badLink(err error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s: %w", ErrBadSignature, trust.ErrBrokenLink, fmt.Sprintf(format, args...), err)
}

func broken(path []trust.Step, cause error) trust.Decision {
	return trust.Decision{Path: path, Reason: cause.Error(), Cause: cause}
}

func stepOf(k *keys.CrossSigningKey, kind trust.KeyKind) trust.Step {
	return trust.Step{UserID: k.UserID, Kind: kind, KeyID: string(k.KeyID())}
}

func (s *search) run(p Policy) trust.Decision {
	if err := checkUserID(s.target); err != nil {
		return broken(nil, err)
	}
	if err := p.Validate(); err != nil {
		return broken(nil, fmt.Errorf("policy: %w", err))
	}
	s.tk = s.lookup(s.target)
	if !s.spend(userCheckCost) {
		return broken(nil, s.fail.cause)
	}
	direct := s.v.User(s.tk)
	if direct.Trusted {
		return direct
	}
	if s.target == s.v.UserID {
		return broken(direct.Path, fmt.Errorf("%w: %w", ErrOwnIdentity, direct.Cause))
	}
	if s.tk == nil || s.tk.Master == nil {
		return broken(direct.Path, fmt.Errorf("%w: %s", trust.ErrNoMasterKey, s.target))
	}
	if err := s.tk.Master.Validate(s.target, keys.UsageMaster); err != nil {
		return broken(nil, badLink(err, "master key of %s", s.target))
	}
	if _, _, err := s.tk.Master.PublicKey(); err != nil {
		return broken(nil, badLink(err, "master key of %s", s.target))
	}
	if err := s.tk.CheckNamespace(); err != nil {
		return broken(nil, badLink(err, "keys of %s", s.target))
	}
	if len(p.Vouchers) == 0 {
		return broken(nil, ErrNoVoucher)
	}
	vouchers := make([]string, 0, len(p.Vouchers))
	for uid := range p.Vouchers {
		vouchers = append(vouchers, uid)
	}
	slices.Sort(vouchers)
	for _, r := range vouchers {
		s.voucher(r, p.Vouchers[r])
		if s.stats.Exhausted {
			break
		}
	}
	if s.best != nil {
		return s.best.d
	}
	if s.fail.cause == nil { // every voucher recorded why; kept as a safety net
		return broken(nil, ErrNotVouched)
	}
	return broken(s.fail.path, s.fail.cause)
}

// voucher searches the chains starting at voucher r under rule.
func (s *search) voucher(r string, rule Rule) {
	scope, pattern := rule.Scope(s.target)
	switch scope {
	case OutOfScope:
		s.record(nil, fmt.Errorf("%w: %s is not in the \"for\" of %s", ErrOutOfScope, s.target, r))
		return
	case Excepted:
		s.record(nil, fmt.Errorf("%w: %s is excepted from %s by %q", ErrExcepted, s.target, r, pattern))
		return
	}
	if r == s.target {
		// The target's direct check failed; they cannot vouch for themselves.
		s.record(nil, fmt.Errorf("%w: %s cannot vouch for themselves", ErrNotVouched, r))
		return
	}
	if !s.spend(userCheckCost) {
		return
	}
	dv := s.v.User(s.lookup(r))
	if !dv.Trusted {
		cause := fmt.Errorf("%w: %s: %w", ErrVoucherNotVerified, r, dv.Cause)
		s.recordRank(dv.Path, cause, s.unverifiedRank(r))
		return
	}
	pk := s.pusk(r)
	if pk.err != nil {
		s.record(dv.Path, pk.err)
		return
	}
	maxLevel := MaxDepth // past the rule's depth only to tell "depth exceeded"
	if s.best != nil {
		maxLevel = min(s.best.level-1, rule.EffectiveDepth())
	}
	if maxLevel < 1 {
		return
	}
	root := node{user: r, pk: pk, path: append(slices.Clone(dv.Path), stepOf(pk.key, trust.KindPublicUserSigning))}
	frontier := []node{root}
	visited := map[string]bool{r: true, s.target: true}
	for level := 1; level <= maxLevel; level++ {
		for _, n := range frontier {
			err := s.signsTarget(n)
			if s.stats.Exhausted {
				return
			}
			switch {
			case err == nil && level <= rule.EffectiveDepth():
				path := append(slices.Clone(n.path), stepOf(s.tk.Master, trust.KindMaster))
				reason := fmt.Sprintf("vouched for by %s (policy: %s)", r, pattern)
				if len(n.via) > 0 {
					reason += ", through " + strings.Join(n.via, " → ")
				}
				s.best = &found{level: level, d: trust.Decision{Trusted: true, Path: path, Reason: reason}}
				return
			case err == nil:
				s.record(append(slices.Clone(n.path), stepOf(s.tk.Master, trust.KindMaster)),
					fmt.Errorf("%w: %s is %d hops from %s, whose depth is %d", ErrDepthExceeded, s.target, level, r, rule.EffectiveDepth()))
			case !errors.Is(err, errNotClaimed):
				s.record(n.path, err)
			}
		}
		if level == maxLevel {
			break
		}
		var next []node
		for _, n := range frontier {
			for _, u := range s.claimed(n.user) {
				if visited[u] {
					continue
				}
				if sc, _ := rule.Scope(u); sc != InScope {
					continue
				}
				uk := s.lookup(u)
				if _, ok := uk.PublicUserSigning.Signatures.Get(n.user, n.pk.keyID); !ok {
					continue
				}
				upk := s.pusk(u)
				if s.stats.Exhausted {
					return
				}
				if upk.err != nil {
					s.record(n.path, upk.err)
					continue
				}
				if err := s.hop(n, u, upk); err != nil {
					if s.stats.Exhausted {
						return
					}
					s.record(n.path, err)
					continue
				}
				visited[u] = true
				next = append(next, node{
					user: u, pk: upk,
					path: append(slices.Clone(n.path), stepOf(upk.key, trust.KindPublicUserSigning)),
					via:  append(slices.Clone(n.via), u),
				})
			}
		}
		if len(next) == 0 {
			break
		}
		frontier = next
	}
	s.record(root.path, fmt.Errorf("%w: no public signature from the chain of %s reaches %s", ErrNotVouched, r, s.target))
}

// unverifiedRank ranks the failure of an unverified voucher r: higher when
// r's published PUSK claims a signature on the target (checking presence
// only), since then verifying r is what the viewer is missing.
func (s *search) unverifiedRank(r string) int {
	uk := s.lookup(r)
	if uk == nil || uk.PublicUserSigning == nil {
		return rankUnverifiedSilent
	}
	if _, _, err := uk.PublicUserSigning.PublicKey(); err != nil {
		return rankUnverifiedSilent
	}
	if _, ok := s.tk.Master.Signatures.Get(r, string(uk.PublicUserSigning.KeyID())); ok {
		return rankUnverifiedClaim
	}
	return rankUnverifiedSilent
}

// pusk returns uid's public user-signing key once checked: the owner's,
// usage "public-user" only, signed by the owner's master key, and the owner
// has no device named after a cross-signing key.
func (s *search) pusk(uid string) puskResult {
	if r, ok := s.pusks[uid]; ok {
		return r
	}
	r := s.checkPUSK(uid)
	if !s.stats.Exhausted {
		s.pusks[uid] = r
	}
	return r
}

func (s *search) checkPUSK(uid string) puskResult {
	uk := s.lookup(uid)
	if uk == nil || uk.Master == nil {
		return puskResult{err: fmt.Errorf("%w: %s has no master key", ErrNotVouched, uid)}
	}
	k := uk.PublicUserSigning
	if k == nil {
		return puskResult{err: fmt.Errorf("%w: %s has no public user-signing key", ErrNotVouched, uid)}
	}
	if err := uk.Master.Validate(uid, keys.UsageMaster); err != nil {
		return puskResult{err: badLink(err, "master key of %s", uid)}
	}
	if err := k.Validate(uid, keys.UsagePublicUserSigning); err != nil {
		return puskResult{err: badLink(err, "public user-signing key of %s", uid)}
	}
	pub, b64, err := k.PublicKey()
	if err != nil {
		return puskResult{err: badLink(err, "public user-signing key of %s", uid)}
	}
	if err := uk.CheckNamespace(); err != nil {
		return puskResult{err: badLink(err, "keys of %s", uid)}
	}
	if !s.spend(1) {
		return puskResult{err: s.fail.cause}
	}
	if err := k.VerifySignedByMaster(uk.Master); err != nil {
		return puskResult{err: badLink(err, "public user-signing key of %s not signed by their master key", uid)}
	}
	return puskResult{key: k, pub: pub, keyID: string(keys.Ed25519KeyID(b64))}
}

// signsTarget checks the signature of n's PUSK on the target's master key.
func (s *search) signsTarget(n node) error {
	if err, ok := s.toTarget[n.user]; ok {
		return err
	}
	if _, ok := s.tk.Master.Signatures.Get(n.user, n.pk.keyID); !ok {
		s.toTarget[n.user] = errNotClaimed
		return errNotClaimed
	}
	if !s.spend(1) {
		return s.fail.cause
	}
	var err error
	if e := s.tk.Master.VerifySignedBy(n.user, n.pk.pub, n.pk.keyID); e != nil {
		err = badLink(e, "public signature of %s on the master key of %s", n.user, s.target)
	}
	s.toTarget[n.user] = err
	return err
}

// hop checks the signature of n's PUSK on u's PUSK.
func (s *search) hop(n node, u string, upk puskResult) error {
	key := [2]string{n.user, u}
	if err, ok := s.hops[key]; ok {
		return err
	}
	if !s.spend(1) {
		return s.fail.cause
	}
	var err error
	if e := upk.key.VerifySignedBy(n.user, n.pk.pub, n.pk.keyID); e != nil {
		err = badLink(e, "public signature of %s on the public user-signing key of %s", n.user, u)
	}
	s.hops[key] = err
	return err
}

// claimed lists, in user ID order, the users whose PUSK carries a signature
// filed under signer (whatever its key ID). The index is built once per
// decision, on first use, without verifying anything.
func (s *search) claimed(signer string) []string {
	if s.claims == nil {
		s.claims = map[string][]string{}
		ids := make([]string, 0, len(s.users))
		for uid := range s.users {
			ids = append(ids, uid)
		}
		slices.Sort(ids)
		for _, uid := range ids {
			uk := s.lookup(uid)
			if uk == nil || uk.PublicUserSigning == nil {
				continue
			}
			for entity := range uk.PublicUserSigning.Signatures {
				if entity != uid {
					s.claims[entity] = append(s.claims[entity], uid)
				}
			}
		}
	}
	return s.claims[signer]
}
