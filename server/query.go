package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"sync"

	"vouch/api"
	"vouch/keys"
	"vouch/store"
	"vouch/trust"
)

// trustKind maps a stored key kind to the trust package's.
func trustKind(k store.KeyKind) trust.KeyKind {
	switch k {
	case store.KindDevice:
		return trust.KindDevice
	case store.KindMaster:
		return trust.KindMaster
	case store.KindSelfSigning:
		return trust.KindSelfSigning
	case store.KindUserSigning:
		return trust.KindUserSigning
	case store.KindPublicUserSigning:
		return trust.KindPublicUserSigning
	}
	return trust.KindUnknown
}

// keysQuery answers POST /keys/query. Every key carries only the signatures
// the caller may see (trust.SignatureVisible); user-signing keys are returned
// to their owner only, MSC2882 public user-signing keys to everyone. The caller becomes interested in the queried users'
// device-list changes. All users are read in three queries.
func (s *Server) keysQuery(r *http.Request, c *caller) (any, error) {
	body, err := requestBody(r)
	if err != nil {
		return nil, err
	}
	var req api.KeysQueryRequest
	if req.DeviceKeys = fastKeysQuery(body); req.DeviceKeys == nil {
		if err := decodeBytes(body, &req); err != nil {
			return nil, err
		}
	}
	if len(req.DeviceKeys) > s.cfg.MaxQueryUsers {
		return nil, api.InvalidParam("more than %d users", s.cfg.MaxQueryUsers)
	}
	users := make([]string, 0, len(req.DeviceKeys))
	for u := range req.DeviceKeys {
		if _, err := keys.ParseUserID(u); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	// In order, so that the answer is deterministic and the signatures come
	// back from the store already sorted for renderVisible.
	slices.Sort(users)
	ctx := r.Context()
	devs, err := s.st.GetDeviceKeys(ctx, users)
	if err != nil {
		return nil, err
	}
	cs, err := s.st.GetCrossSigningKeys(ctx, users)
	if err != nil {
		return nil, err
	}
	sigs, err := s.st.GetSignatures(ctx, users)
	if err != nil {
		return nil, err
	}
	if err := s.st.AddInterest(ctx, c.UserID, users); err != nil {
		return nil, err
	}
	sc := s.queryScratch()
	renderVisible(&sc.sigs, c.UserID, sigs)
	sc.out = writeQueryResponse(sc.out[:0], c.UserID, users, req.DeviceKeys, devs, cs, &sc.sigs)
	return sc, nil
}

// maxPooledAnswer is the largest /keys/query buffer kept for reuse; a
// larger one (a query of many users with many devices) is left to the GC.
const maxPooledAnswer = 256 << 10

// queryAnswer is the scratch space of one /keys/query: the rendered
// signatures and the answer. It is taken from and returned to the server's
// pool, so that a steady stream of queries does not allocate (and clear) a
// buffer of the answer's size for each one. writeJSON writes out and
// releases it.
type queryAnswer struct {
	out  []byte
	sigs renderedSigs
	pool *sync.Pool
}

// queryScratch returns an empty queryAnswer from the pool.
func (s *Server) queryScratch() *queryAnswer {
	if a, ok := s.queryBufs.Get().(*queryAnswer); ok {
		return a
	}
	return &queryAnswer{pool: &s.queryBufs, sigs: renderedSigs{span: map[targetKey][2]int{}}}
}

// release returns a to its pool unless it grew too large. a must not be
// used afterwards.
func (a *queryAnswer) release() {
	if cap(a.out)+cap(a.sigs.buf) > maxPooledAnswer {
		return
	}
	a.out = a.out[:0]
	a.sigs.reset()
	a.pool.Put(a)
}

// writeQueryResponse writes the /keys/query answer straight into one
// buffer: the stored key objects are already JSON, so going through maps of
// json.RawMessage and encoding/json would copy and re-validate each of them.
// It appends to out (usually a reused buffer, empty).
func writeQueryResponse(out []byte, viewer string, users []string, wanted map[string][]string,
	devs map[string][]store.DeviceKeysRecord, cs map[string]map[string]store.CrossSigningKeyRecord, visible *renderedSigs) []byte {
	size := 128 + len(visible.buf)
	for _, u := range users {
		for _, d := range devs[u] {
			size += len(d.KeyJSON) + len(d.DeviceID) + len(d.DisplayName) + 64
		}
		for _, k := range cs[u] {
			size += len(k.KeyJSON) + len(u) + 32
		}
	}
	out = slices.Grow(out, size)
	out = append(out, `{"failures":{},"device_keys":{`...)
	for i, u := range users {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, u)
		out = append(out, ':', '{')
		n := 0
		for _, d := range devs[u] {
			if len(wanted[u]) > 0 && !contains(wanted[u], d.DeviceID) {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			n++
			out = appendJSONString(out, d.DeviceID)
			out = append(out, ':')
			out = appendWithSignatures(out, d.KeyJSON, visible.get(u, d.DeviceID), d.DisplayName)
		}
		out = append(out, '}')
	}
	for _, part := range []struct{ name, usage string }{
		{`},"master_keys":{`, store.UsageMaster},
		{`},"self_signing_keys":{`, store.UsageSelfSigning},
		{`},"user_signing_keys":{`, store.UsageUserSigning},
		// MSC2882: public, like the master and self-signing keys.
		{`},"public_user_signing_keys":{`, store.UsagePublicUserSigning},
	} {
		out = append(out, part.name...)
		n := 0
		for _, u := range users {
			k, ok := cs[u][part.usage]
			if !ok || (part.usage == store.UsageUserSigning && u != viewer) {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			n++
			out = appendJSONString(out, u)
			out = append(out, ':')
			out = appendWithSignatures(out, k.KeyJSON, visible.get(u, k.PublicKey), "")
		}
	}
	return append(out, '}', '}')
}

type targetKey struct{ user, key string }

// renderedSigs holds, per signed key, the "signatures" member the viewer may
// see, already rendered as JSON, in one shared buffer.
type renderedSigs struct {
	buf  []byte
	span map[targetKey][2]int
	vis  []*store.Signature // scratch of renderVisible
}

// reset empties r for reuse, keeping its memory.
func (r *renderedSigs) reset() {
	r.buf = r.buf[:0]
	clear(r.span)
	clear(r.vis)
	r.vis = r.vis[:0]
}

func (r *renderedSigs) get(user, key string) []byte {
	sp, ok := r.span[targetKey{user, key}]
	if !ok {
		return nil
	}
	return r.buf[sp[0]:sp[1]]
}

// renderVisible filters sigs by trust.SignatureVisible for viewer and renders
// each key's "signatures" object ({"user":{"key id":"sig",…},…}) with users
// and key IDs in sorted order into r, which must be empty (new or reset).
func renderVisible(r *renderedSigs, viewer string, sigs []store.Signature) {
	vis := r.vis[:0]
	for i := range sigs {
		g := &sigs[i]
		if trust.SignatureVisible(viewer, g.TargetUser, trustKind(g.TargetKind), g.SignerUser, trustKind(g.SignerKind)) {
			vis = append(vis, g)
		}
	}
	// The store returns each user's signatures in this order already (one
	// linear check instead of a sort per request); sort only when it did
	// not, for example under a database collation other than bytewise.
	if !sigsSorted(vis) {
		sort.Slice(vis, func(i, j int) bool { return sigLess(vis[i], vis[j]) })
	}
	r.vis = vis
	if r.span == nil {
		r.span = make(map[targetKey][2]int, len(vis))
	}
	r.buf = slices.Grow(r.buf[:0], len(vis)*140)
	for i := 0; i < len(vis); {
		g := vis[i]
		start := len(r.buf)
		r.buf = append(r.buf, '{')
		j := i
		for j < len(vis) && vis[j].TargetUser == g.TargetUser && vis[j].TargetKey == g.TargetKey {
			if j > i {
				r.buf = append(r.buf, '}', ',')
			}
			signer := vis[j].SignerUser
			r.buf = appendJSONString(r.buf, signer)
			r.buf = append(r.buf, ':', '{')
			for k := j; j < len(vis) && vis[j].TargetUser == g.TargetUser && vis[j].TargetKey == g.TargetKey && vis[j].SignerUser == signer; j++ {
				if j > k {
					r.buf = append(r.buf, ',')
				}
				r.buf = appendJSONString(r.buf, vis[j].SignerKeyID)
				r.buf = append(r.buf, ':')
				r.buf = appendJSONString(r.buf, vis[j].Signature)
			}
		}
		r.buf = append(r.buf, '}', '}')
		r.span[targetKey{g.TargetUser, g.TargetKey}] = [2]int{start, len(r.buf)}
		i = j
	}
}

// sigLess orders signatures by target user, target key, signer user and
// signer key ID (bytewise), the order in which renderVisible renders them.
func sigLess(a, b *store.Signature) bool {
	if a.TargetUser != b.TargetUser {
		return a.TargetUser < b.TargetUser
	}
	if a.TargetKey != b.TargetKey {
		return a.TargetKey < b.TargetKey
	}
	if a.SignerUser != b.SignerUser {
		return a.SignerUser < b.SignerUser
	}
	return a.SignerKeyID < b.SignerKeyID
}

// sigsSorted reports whether vis is in sigLess order.
func sigsSorted(vis []*store.Signature) bool {
	for i := 1; i < len(vis); i++ {
		if sigLess(vis[i], vis[i-1]) {
			return false
		}
	}
	return true
}

// appendWithSignatures appends to out a stored key object with "signatures" (the rendered member, {} when nil) and
// "unsigned" with the device display name to a stored key object, which is
// canonical JSON without them. The result is valid JSON; its members after
// the stored ones are not sorted, which JSON does not require and verifiers
// re-canonicalize anyway.
func appendWithSignatures(out, keyJSON, sigs []byte, displayName string) []byte {
	if len(keyJSON) < 2 || keyJSON[len(keyJSON)-1] != '}' {
		return append(out, keyJSON...)
	}
	out = append(out, keyJSON[:len(keyJSON)-1]...)
	if len(keyJSON) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"signatures":`...)
	if sigs == nil {
		out = append(out, '{', '}')
	} else {
		out = append(out, sigs...)
	}
	if displayName != "" {
		out = append(out, `,"unsigned":{"device_display_name":`...)
		out = appendJSONString(out, displayName)
		out = append(out, '}')
	}
	return append(out, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	if isPlainJSON(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, err := json.Marshal(s)
	if err != nil { // cannot happen for a string
		return append(dst, `""`...)
	}
	return append(dst, b...)
}

// Byte-lane masks for isPlainJSON: the byte 0x01, and the top bit, in each
// of the eight bytes of a uint64.
const (
	laneLow  = 0x0101010101010101
	laneHigh = 0x8080808080808080
)

// isPlainJSON reports whether s can be written between quotes as it is: no
// control character, quote, backslash, DEL or non-ASCII byte (those go
// through encoding/json). It tests eight bytes at a time; signatures and
// key IDs make up most of a /keys/query answer.
func isPlainJSON(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A lane is flagged when its byte is below 0x20, is '"', '\\' or
		// 0x7f (a zero after the XOR), or has its top bit set. Each test is
		// exact as "some lane matches", which is all that is asked.
		bad := (x - 0x20*laneLow) &^ x
		bad |= zeroLane(x ^ ('"' * laneLow))
		bad |= zeroLane(x ^ ('\\' * laneLow))
		bad |= zeroLane(x ^ (0x7f * laneLow))
		if (bad|x)&laneHigh != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

// zeroLane has a lane's top bit set when some lane of v is zero (and only
// then is the result's top-bit mask non-zero).
func zeroLane(v uint64) uint64 { return (v - laneLow) &^ v }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fastKeysQuery decodes the common shape of a /keys/query body,
// {"device_keys":{"@user:server":["DEVICE",…],…}}, without reflection. It
// returns nil for anything else (another member, an escape or a non-ASCII
// byte in a string, a repeated user, null, malformed JSON), and the caller
// then decodes with encoding/json, which decides every error. For what it
// accepts, the result equals encoding/json's (a fuzz target checks it): a
// non-nil map, and a non-nil (possibly empty) list per user.
func fastKeysQuery(b []byte) map[string][]string {
	p := fastParser{b: b}
	if !p.byte('{') || !p.literal(`"device_keys"`) || !p.byte(':') || !p.byte('{') {
		return nil
	}
	out := map[string][]string{}
	if p.peek('}') {
		p.i++
	} else {
		for {
			u, ok := p.str()
			if !ok || !p.byte(':') || !p.byte('[') {
				return nil
			}
			if _, dup := out[u]; dup {
				return nil
			}
			devs := []string{}
			if p.peek(']') {
				p.i++
			} else {
				for {
					d, ok := p.str()
					if !ok {
						return nil
					}
					devs = append(devs, d)
					if p.peek(',') {
						p.i++
						continue
					}
					if !p.byte(']') {
						return nil
					}
					break
				}
			}
			out[u] = devs
			if p.peek(',') {
				p.i++
				continue
			}
			if !p.byte('}') {
				return nil
			}
			break
		}
	}
	if !p.byte('}') {
		return nil
	}
	p.space()
	if p.i != len(p.b) {
		return nil
	}
	return out
}

// fastParser is the cursor of fastKeysQuery. Every method skips JSON white
// space first.
type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek reports whether the next byte is c, without taking it.
func (p *fastParser) peek(c byte) bool {
	p.space()
	return p.i < len(p.b) && p.b[p.i] == c
}

// byte takes c.
func (p *fastParser) byte(c byte) bool {
	if !p.peek(c) {
		return false
	}
	p.i++
	return true
}

// literal takes the exact bytes of lit.
func (p *fastParser) literal(lit string) bool {
	p.space()
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return false
	}
	p.i += len(lit)
	return true
}

// str takes a string of printable ASCII without escapes.
func (p *fastParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c < 0x20 || c == '\\' || c >= 0x7f:
			return "", false
		}
		p.i++
	}
	return "", false
}
