package tempered

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"vouch/canonicaljson"
	"vouch/keys"
)

// Account-data event types (and secret names) of the policy.
const (
	// EventType is the account-data event type vouch reads and writes: the
	// MSC's m.trust.transitive with the unstable prefix org.matrix.msc2882.
	// It is also the secret name the policy is encrypted under.
	EventType = "org.matrix.msc2882.trust.transitive"
	// StableEventType is the name MSC2882 gives the event; it is used once
	// the MSC is merged.
	StableEventType = "m.trust.transitive"
)

// Limits of a policy.
const (
	// DefaultDepth is the depth of a voucher entry without "depth": only
	// the voucher's own public signatures count.
	DefaultDepth = 1
	// MaxDepth is the largest "depth" accepted.
	MaxDepth = 3
	// MaxVouchers bounds the vouchers of one policy.
	MaxVouchers = 256
	// MaxPatterns bounds each of the "for" and "except" lists of a voucher.
	MaxPatterns = 256
	// MaxPolicySize bounds the policy JSON, in bytes.
	MaxPolicySize = 1 << 20
)

// Sentinel errors. Errors of this package wrap one of them; test with
// errors.Is.
var (
	// ErrMalformed means the policy is not a JSON object of the expected
	// shape (not JSON, duplicate keys, a member of the wrong type, null).
	ErrMalformed = errors.New("tempered: malformed policy")
	// ErrMissingField means a required member ("vouchers", "for") is absent.
	ErrMissingField = errors.New("tempered: missing policy member")
	// ErrInvalidUserID means a voucher or target is not a valid user ID.
	// Errors wrapping it also wrap keys.ErrInvalidUserID.
	ErrInvalidUserID = errors.New("tempered: invalid user ID")
	// ErrInvalidPattern means an entry of "for" or "except" is neither a
	// user ID, "*:server.name" nor (in "for" only) "*".
	ErrInvalidPattern = errors.New("tempered: invalid pattern")
	// ErrDuplicate means a pattern appears twice in one list.
	ErrDuplicate = errors.New("tempered: duplicate pattern")
	// ErrConflict means a pattern appears in both "for" and "except".
	ErrConflict = errors.New("tempered: pattern both in for and except")
	// ErrDepth means "depth" is not an integer from 1 to MaxDepth.
	ErrDepth = errors.New("tempered: depth out of range")
	// ErrTooLarge means the policy exceeds MaxPolicySize, MaxVouchers or
	// MaxPatterns.
	ErrTooLarge = errors.New("tempered: policy too large")
	// ErrSealed means sealed account data could not be opened or sealed:
	// wrong key, wrong key ID, tampered or malformed content. It wraps the
	// ssss error that says which.
	ErrSealed = errors.New("tempered: sealed policy")

	// The causes of a Decision that is not trusted ([Evaluator.Evaluate]
	// says which it reports when it meets several).

	// ErrNoVoucher means the policy names no voucher.
	ErrNoVoucher = errors.New("tempered: the policy names no voucher")
	// ErrOutOfScope means no voucher's "for" covers the target.
	ErrOutOfScope = errors.New("tempered: target outside the voucher's scope")
	// ErrExcepted means the target is in a voucher's "except".
	ErrExcepted = errors.New("tempered: target excepted from the voucher's scope")
	// ErrVoucherNotVerified means the voucher is not directly verified by
	// the viewer; it wraps the trust error that says why.
	ErrVoucherNotVerified = errors.New("tempered: voucher not verified")
	// ErrNotVouched means no public signature from a voucher's chain
	// reaches the target (or the voucher has no public user-signing key).
	ErrNotVouched = errors.New("tempered: not vouched for")
	// ErrBadSignature means a key on the path is malformed, collides with a
	// device ID, or a signature it needs is missing or does not verify.
	// Errors wrapping it also wrap trust.ErrBrokenLink.
	ErrBadSignature = errors.New("tempered: public signature chain broken")
	// ErrDepthExceeded means a chain exists but is longer than the
	// voucher's depth allows.
	ErrDepthExceeded = errors.New("tempered: chain longer than the voucher's depth")
	// ErrSearchBound means the search stopped at Evaluator.MaxVerifications
	// before finding a chain.
	ErrSearchBound = errors.New("tempered: search bound reached")
	// ErrOwnIdentity means the target is the viewer, whose identity rests on
	// their trusted master key alone and is never vouched for by others.
	ErrOwnIdentity = errors.New("tempered: own identity is never vouched for")
)

// Rule says for whom one voucher is trusted.
type Rule struct {
	// For lists the users the voucher is trusted to verify: user IDs,
	// "*:server.name" (every user of exactly that server) or "*" (anyone).
	For []string
	// Except lists user IDs or "*:server.name" patterns the voucher is not
	// trusted for; an exception always wins over For.
	Except []string
	// Depth is how many public-signature hops the voucher's trust reaches:
	// 1 counts only the voucher's own public signatures, 2 also those of
	// users whose public user-signing key the voucher publicly signed, and
	// so on up to MaxDepth. Zero means DefaultDepth.
	Depth int
	// Extra holds members this version does not know, as canonical JSON,
	// kept on the round trip and ignored in evaluation.
	Extra map[string]json.RawMessage
}

// Policy is the content of the transitive-trust account-data event.
type Policy struct {
	// Vouchers maps a voucher's user ID to the rule for that voucher.
	Vouchers map[string]Rule
	// Extra holds unknown top-level members as canonical JSON.
	Extra map[string]json.RawMessage
}

// EffectiveDepth is r.Depth, or DefaultDepth when it is zero.
func (r Rule) EffectiveDepth() int {
	if r.Depth == 0 {
		return DefaultDepth
	}
	return r.Depth
}

// Parse decodes and checks a policy. It refuses, with an error wrapping one
// of the sentinels: input that is not one JSON object (or has duplicate
// keys, non-integer numbers or invalid UTF-8: the canonical JSON rules); a
// missing "vouchers" object; a voucher that is not a user ID; a voucher
// without a non-empty "for" list; patterns that are invalid, repeated or in
// both lists; a depth outside 1..MaxDepth; more than the limits. Unknown
// members at the top level and in voucher entries are kept in Extra.
func Parse(b []byte) (Policy, error) {
	if len(b) > MaxPolicySize {
		return Policy{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), MaxPolicySize)
	}
	canon, err := canonicaljson.Canonicalize(b)
	if err != nil {
		return Policy{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	top, err := object(canon, "policy")
	if err != nil {
		return Policy{}, err
	}
	var p Policy
	rawVouchers, ok := top["vouchers"]
	if !ok {
		return Policy{}, fmt.Errorf("%w: \"vouchers\"", ErrMissingField)
	}
	delete(top, "vouchers")
	if len(top) > 0 {
		p.Extra = top
	}
	vouchers, err := object(rawVouchers, `"vouchers"`)
	if err != nil {
		return Policy{}, err
	}
	if len(vouchers) > MaxVouchers {
		return Policy{}, fmt.Errorf("%w: %d vouchers, at most %d", ErrTooLarge, len(vouchers), MaxVouchers)
	}
	p.Vouchers = make(map[string]Rule, len(vouchers))
	for uid, raw := range vouchers {
		if err := checkUserID(uid); err != nil {
			return Policy{}, fmt.Errorf("voucher: %w", err)
		}
		r, err := parseRule(uid, raw)
		if err != nil {
			return Policy{}, err
		}
		p.Vouchers[uid] = r
	}
	return p, nil
}

// object decodes a JSON object (already canonical, so without duplicate
// keys) into its members.
func object(raw []byte, what string) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrMalformed, what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return m, nil
}

func parseRule(uid string, raw []byte) (Rule, error) {
	m, err := object(raw, "entry of "+uid)
	if err != nil {
		return Rule{}, err
	}
	var r Rule
	rawFor, ok := m["for"]
	if !ok {
		return Rule{}, fmt.Errorf("%w: \"for\" of %s", ErrMissingField, uid)
	}
	if r.For, err = patterns(rawFor, uid, "for"); err != nil {
		return Rule{}, err
	}
	if len(r.For) == 0 {
		return Rule{}, fmt.Errorf("%w: \"for\" of %s is empty", ErrMissingField, uid)
	}
	if rawExcept, ok := m["except"]; ok {
		if r.Except, err = patterns(rawExcept, uid, "except"); err != nil {
			return Rule{}, err
		}
	}
	for _, e := range r.Except {
		if slices.Contains(r.For, e) {
			return Rule{}, fmt.Errorf("%w: %q of %s", ErrConflict, e, uid)
		}
	}
	r.Depth = DefaultDepth
	if rawDepth, ok := m["depth"]; ok {
		if len(rawDepth) == 0 || (rawDepth[0] != '-' && (rawDepth[0] < '0' || rawDepth[0] > '9')) {
			return Rule{}, fmt.Errorf("%w: \"depth\" of %s is not an integer", ErrMalformed, uid)
		}
		var d int64
		if err := json.Unmarshal(rawDepth, &d); err != nil {
			return Rule{}, fmt.Errorf("%w: \"depth\" of %s: %v", ErrMalformed, uid, err)
		}
		if d < 1 || d > MaxDepth {
			return Rule{}, fmt.Errorf("%w: \"depth\" of %s is %d, want 1 to %d", ErrDepth, uid, d, MaxDepth)
		}
		r.Depth = int(d)
	}
	delete(m, "for")
	delete(m, "except")
	delete(m, "depth")
	if len(m) > 0 {
		r.Extra = m
	}
	return r, nil
}

// patterns decodes and checks a "for" (list "for") or "except" list.
func patterns(raw []byte, uid, list string) ([]string, error) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, fmt.Errorf("%w: %q of %s is not an array", ErrMalformed, list, uid)
	}
	var ps []string
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, fmt.Errorf("%w: %q of %s is not an array of strings: %v", ErrMalformed, list, uid, err)
	}
	if len(ps) > MaxPatterns {
		return nil, fmt.Errorf("%w: %q of %s has %d entries, at most %d", ErrTooLarge, list, uid, len(ps), MaxPatterns)
	}
	for i, pat := range ps {
		if err := checkPattern(pat, list == "for"); err != nil {
			return nil, fmt.Errorf("%q of %s: %w", list, uid, err)
		}
		if slices.Contains(ps[:i], pat) {
			return nil, fmt.Errorf("%w: %q twice in %q of %s", ErrDuplicate, pat, list, uid)
		}
	}
	return ps, nil
}

func checkUserID(s string) error {
	if _, err := keys.ParseUserID(s); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidUserID, err)
	}
	return nil
}

// checkPattern accepts a user ID without '*' in its localpart,
// "*:server.name", and "*" when star is set.
func checkPattern(p string, star bool) error {
	switch {
	case p == "*":
		if !star {
			return fmt.Errorf("%w: \"*\" is only allowed in \"for\"", ErrInvalidPattern)
		}
		return nil
	case strings.HasPrefix(p, "*:"):
		if err := keys.ValidServerName(p[2:]); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrInvalidPattern, p, err)
		}
		return nil
	}
	uid, err := keys.ParseUserID(p)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPattern, err)
	}
	// "@*:server" is a valid (historical) user ID, but reads as a glob:
	// refuse it rather than let it mean one user named "*".
	if strings.Contains(uid.Localpart(), "*") {
		return fmt.Errorf("%w: %q: '*' in a localpart; use \"*:server\" for every user of a server", ErrInvalidPattern, p)
	}
	return nil
}

// Validate checks a policy built in Go by the rules Parse applies.
func (p Policy) Validate() error {
	b, err := p.marshal()
	if err != nil {
		return err
	}
	_, err = Parse(b)
	return err
}

// Marshal returns the policy as canonical JSON, after checking it as Parse
// would (a Go-built Policy can hold what Parse refuses). Depth is always
// written, so Marshal(Parse(x)) is the canonical form of x.
func (p Policy) Marshal() ([]byte, error) {
	b, err := p.marshal()
	if err != nil {
		return nil, err
	}
	if _, err := Parse(b); err != nil {
		return nil, err
	}
	return b, nil
}

func (p Policy) marshal() ([]byte, error) {
	top := make(map[string]any, len(p.Extra)+1)
	for k, v := range p.Extra {
		if k == "vouchers" {
			return nil, fmt.Errorf("%w: Extra holds the known member %q", ErrMalformed, k)
		}
		top[k] = v
	}
	vouchers := make(map[string]any, len(p.Vouchers))
	for uid, r := range p.Vouchers {
		m := make(map[string]any, len(r.Extra)+3)
		for k, v := range r.Extra {
			if k == "for" || k == "except" || k == "depth" {
				return nil, fmt.Errorf("%w: Extra of %s holds the known member %q", ErrMalformed, uid, k)
			}
			m[k] = v
		}
		m["for"] = nonNil(r.For)
		if len(r.Except) > 0 {
			m["except"] = r.Except
		}
		m["depth"] = r.EffectiveDepth()
		vouchers[uid] = m
	}
	top["vouchers"] = vouchers
	b, err := canonicaljson.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return b, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Equal reports whether p and q are the same policy: same canonical form.
func (p Policy) Equal(q Policy) bool {
	a, errA := p.marshal()
	b, errB := q.marshal()
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// Scope says whether a rule covers a user.
type Scope int

// The answers of [Rule.Scope].
const (
	// OutOfScope: no pattern of For matches.
	OutOfScope Scope = iota
	// Excepted: a pattern of Except matches (whatever For says).
	Excepted
	// InScope: a pattern of For matches and none of Except.
	InScope
)

// Scope says whether r covers userID and, when it does, the most specific
// pattern of For that matches (a user ID before "*:server" before "*");
// when excepted, the pattern of Except that matched.
func (r Rule) Scope(userID string) (Scope, string) {
	for _, e := range r.Except {
		if matches(e, userID) {
			return Excepted, e
		}
	}
	best, bestRank := "", 0
	for _, f := range r.For {
		if rank := specificity(f); rank > bestRank && matches(f, userID) {
			best, bestRank = f, rank
		}
	}
	if bestRank == 0 {
		return OutOfScope, ""
	}
	return InScope, best
}

func specificity(p string) int {
	switch {
	case p == "*":
		return 1
	case strings.HasPrefix(p, "*:"):
		return 2
	}
	return 3
}

// matches reports whether pattern covers userID: the same user ID, "*", or
// "*:server" with exactly userID's server name (no sub-domains, same port).
func matches(pattern, userID string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*:"):
		_, server, ok := strings.Cut(userID, ":")
		return ok && server == pattern[2:]
	}
	return pattern == userID
}
