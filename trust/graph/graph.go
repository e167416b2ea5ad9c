// Package graph turns what a viewer knows of some users' published keys
// into a picture of the trust graph: every device key and cross-signing key
// is a node, every signature one of those keys made on another (or on
// itself) is an edge, checked with signedjson and labelled with what kind of
// signature it is. [Graph.Highlight] marks the chain behind a
// [trust.Decision], so a picture shows why a user is trusted or where the
// chain breaks. [WriteDOT], [WriteMermaid] and [WriteText] draw a graph for
// Graphviz, for Markdown and for terminals.
//
// What it is not: graph decides nothing about trust (package trust does;
// a valid edge is a signature that verifies, not a link a chain may use),
// fetches no keys and hides nothing: it draws every signature it is given,
// so what a viewer may see is whatever the server showed them.
package graph

import (
	"cmp"
	"crypto/ed25519"
	"maps"
	"slices"

	"vouch/internal/edcomb"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
)

// Status is the result of checking one signature.
type Status int

// The states of an edge.
const (
	// Valid means the signature verifies under the signer's public key.
	Valid Status = iota
	// Invalid means the signature is malformed or does not verify.
	Invalid
	// SignerUnknown means no key in the graph has the signer's key ID, so
	// the signature cannot be checked.
	SignerUnknown
)

var statusNames = [...]string{"valid", "invalid", "signer unknown"}

// String returns "valid", "invalid" or "signer unknown".
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "unknown"
	}
	return statusNames[s]
}

// EdgeKind says what a signature means, from the kinds and owners of the
// two keys it joins.
type EdgeKind int

// The kinds of signature in the cross-signing graph.
const (
	// EdgeOther is a signature that is none of the kinds below (a key
	// signing something the protocol gives it no say over).
	EdgeOther EdgeKind = iota
	// EdgeSelf is a key's signature of its own object (a device's
	// self-signature, a master key signing itself).
	EdgeSelf
	// EdgeSelfSigningDevice is a self-signing key signing one of its
	// user's devices.
	EdgeSelfSigningDevice
	// EdgeMasterSubkey is a master key signing its user's self-signing,
	// user-signing or public user-signing key.
	EdgeMasterSubkey
	// EdgeDeviceMaster is a device signing its own user's master key.
	EdgeDeviceMaster
	// EdgeUserSigningMaster is a user-signing key signing another user's
	// master key: a private verification.
	EdgeUserSigningMaster
	// EdgePublicUserSigningMaster is an MSC2882 public user-signing key
	// signing another user's master key.
	EdgePublicUserSigningMaster
	// EdgePublicUserSigningPUSK is an MSC2882 public user-signing key
	// signing another user's public user-signing key.
	EdgePublicUserSigningPUSK
)

var edgeKindNames = [...]string{"other", "self", "ssk→device", "master→subkey", "device→master", "usk→master", "pusk→master", "pusk→pusk"}

// String names the kind as drawn on edges.
func (k EdgeKind) String() string {
	if k < 0 || int(k) >= len(edgeKindNames) {
		return "other"
	}
	return edgeKindNames[k]
}

// Node is one key: a device's ed25519 key, a cross-signing key, or (Kind
// [trust.KindUnknown]) a signer named by a signature that no key in the
// graph matches.
type Node struct {
	// UserID is the user the key was listed under (for an unknown signer,
	// the entity of the signature).
	UserID string
	// Kind is the key's kind.
	Kind trust.KeyKind
	// KeyID is "ed25519:<device ID>" for a device, "ed25519:<public key>"
	// for a cross-signing key, and the signature's key ID for an unknown
	// signer, as in [trust.Step].
	KeyID string
	// DeviceID is the device's ID; empty for other kinds.
	DeviceID string
	// PublicKey is the ed25519 public key in unpadded base64; empty for an
	// unknown signer or a key whose public key is missing.
	PublicKey string
	// Highlighted is set by [Graph.Highlight] for a key on a chain.
	Highlighted bool

	pub ed25519.PublicKey
	raw []byte
	sig signedjson.Signatures
}

// Fingerprint is the first 8 characters of the unpadded base64 public key,
// enough to tell keys apart in a picture (not to verify anyone).
func (n Node) Fingerprint() string {
	if len(n.PublicKey) > 8 {
		return n.PublicKey[:8]
	}
	return n.PublicKey
}

// Step is the node as a [trust.Step].
func (n Node) Step() trust.Step {
	return trust.Step{UserID: n.UserID, Kind: n.Kind, KeyID: n.KeyID}
}

// Edge is one signature: the key From (an index into [Graph.Nodes]) signed
// the object of key To.
type Edge struct {
	From, To int
	Kind     EdgeKind
	Status   Status
	// Private is true for a signature made by a user-signing key, which
	// nobody but its owner ever sees.
	Private bool
	// Ambiguous is true when the signature's key ID names more than one
	// key of the signer (a device named after a cross-signing key: seed
	// 002); there is then one edge per candidate, each checked with its
	// own public key.
	Ambiguous bool
	// Highlighted is set by [Graph.Highlight] for a link of a chain.
	Highlighted bool
}

// Graph is the picture of the trust graph seen by Viewer. Nodes are sorted
// by user ID, then kind (master, self-signing, user-signing, public
// user-signing, devices, unknown signers), then key ID; Edges by (From,
// To). Users lists every user ID of a node, sorted.
type Graph struct {
	Viewer string
	Users  []string
	Nodes  []Node
	Edges  []Edge
}

// kindRank orders the kinds of a user's keys in a picture.
func kindRank(k trust.KeyKind) int {
	switch k {
	case trust.KindMaster:
		return 0
	case trust.KindSelfSigning:
		return 1
	case trust.KindUserSigning:
		return 2
	case trust.KindPublicUserSigning:
		return 3
	case trust.KindDevice:
		return 4
	}
	return 5
}

func compareNodes(a, b Node) int {
	return cmp.Or(
		cmp.Compare(a.UserID, b.UserID),
		cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
		cmp.Compare(a.KeyID, b.KeyID),
	)
}

type nodeKey struct {
	user  string
	kind  trust.KeyKind
	keyID string
}

// preparedSignerMin is the number of signatures by one signer in a graph
// from which its key is prepared for verification (internal/edcomb): an
// organisation's key signing many members' keys. Preparing costs about
// 3.6 verifications and saves about 0.56 of each.
const preparedSignerMin = 8

// prepareBusySigners returns, by node index, the prepared key of every
// signer that signs at least preparedSignerMin keys of the graph.
func prepareBusySigners(nodes []Node, signers map[[2]string][]int) map[int]*edcomb.PublicKey {
	count := map[int]int{}
	for _, t := range nodes {
		for entity, byKey := range t.sig {
			for keyID := range byKey {
				for _, si := range signers[[2]string{entity, keyID}] {
					count[si]++
				}
			}
		}
	}
	out := map[int]*edcomb.PublicKey{}
	for si, n := range count {
		if n < preparedSignerMin || nodes[si].pub == nil {
			continue
		}
		if k, err := edcomb.NewPublicKey(nodes[si].pub); err == nil {
			out[si] = k
		}
	}
	return out
}

// Build draws the graph of users' keys (a map from user ID to what is
// known of them, as from /keys/query) seen by viewer. Every device and
// cross-signing key is a node; every signature on one of them is an edge
// from its signer, checked with [signedjson.Verify] (or, for a signer of
// at least preparedSignerMin keys, with the same answers through a key
// prepared once: an organisation's public user-signing key signing its
// members costs about half as much). A signature whose
// signer is not in the graph gets a node of kind [trust.KindUnknown] and
// the status [SignerUnknown]. Nil users and keys are skipped. The result
// is deterministic and its size is bounded by the input's.
func Build(viewer string, users map[string]*trust.UserKeys) *Graph {
	g := &Graph{Viewer: viewer}
	var nodes []Node
	for id, u := range users {
		if u == nil {
			continue
		}
		uid := u.UserID
		if uid == "" {
			uid = id
		}
		for _, c := range []struct {
			k    *keys.CrossSigningKey
			kind trust.KeyKind
		}{{u.Master, trust.KindMaster}, {u.SelfSigning, trust.KindSelfSigning}, {u.UserSigning, trust.KindUserSigning}, {u.PublicUserSigning, trust.KindPublicUserSigning}} {
			if c.k == nil {
				continue
			}
			n := Node{UserID: uid, Kind: c.kind, raw: c.k.Raw, sig: c.k.Signatures}
			if pub, b64, err := c.k.PublicKey(); err == nil {
				n.pub, n.PublicKey, n.KeyID = pub, b64, string(keys.Ed25519KeyID(b64))
			}
			nodes = append(nodes, n)
		}
		for devID, d := range u.Devices {
			if d == nil {
				continue
			}
			if d.DeviceID != "" {
				devID = d.DeviceID
			}
			n := Node{UserID: uid, Kind: trust.KindDevice, DeviceID: devID, KeyID: string(keys.Ed25519KeyID(devID)), raw: d.Raw, sig: d.Signatures}
			if pub, err := d.Ed25519(); err == nil {
				n.pub, n.PublicKey = pub, d.Keys[string(keys.Ed25519KeyID(devID))]
			}
			nodes = append(nodes, n)
		}
	}
	slices.SortFunc(nodes, compareNodes)
	// A map listing the same key twice (under two IDs) draws it once.
	nodes = slices.CompactFunc(nodes, func(a, b Node) bool { return compareNodes(a, b) == 0 })

	// Signers by (entity, key ID): a device named after a cross-signing
	// public key shares its key ID, so one key ID may name several nodes.
	signers := map[[2]string][]int{}
	for i, n := range nodes {
		if n.KeyID == "" {
			continue
		}
		k := [2]string{n.UserID, n.KeyID}
		signers[k] = append(signers[k], i)
	}
	type pending struct {
		from  nodeKey
		to    int
		known int // index of a known signer, or -1
		amb   bool
		st    Status
	}
	var found []pending
	unknown := map[nodeKey]bool{}
	prepared := prepareBusySigners(nodes, signers)
	for ti, t := range nodes {
		for _, entity := range slices.Sorted(maps.Keys(t.sig)) {
			for _, keyID := range slices.Sorted(maps.Keys(t.sig[entity])) {
				cands := signers[[2]string{entity, keyID}]
				if len(cands) == 0 {
					nk := nodeKey{entity, trust.KindUnknown, keyID}
					unknown[nk] = true
					found = append(found, pending{from: nk, to: ti, known: -1, st: SignerUnknown})
					continue
				}
				for _, si := range cands {
					st := Invalid
					if k := prepared[si]; k != nil {
						if signedjson.VerifyWith(t.raw, entity, keyID, k) == nil {
							st = Valid
						}
					} else if s := nodes[si]; s.pub != nil && signedjson.Verify(t.raw, entity, keyID, s.pub) == nil {
						st = Valid
					}
					found = append(found, pending{to: ti, known: si, amb: len(cands) > 1, st: st})
				}
			}
		}
	}
	// Unknown signers become nodes; indices of the known ones shift.
	base := len(nodes)
	for nk := range unknown {
		nodes = append(nodes, Node{UserID: nk.user, Kind: trust.KindUnknown, KeyID: nk.keyID})
	}
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareNodes(nodes[a], nodes[b]) })
	newIndex := make([]int, len(nodes))
	sorted := make([]Node, len(nodes))
	for ni, oi := range order {
		newIndex[oi] = ni
		sorted[ni] = nodes[oi]
	}
	unknownIndex := make(map[nodeKey]int, len(unknown))
	for i := base; i < len(nodes); i++ {
		unknownIndex[nodeKey{nodes[i].UserID, trust.KindUnknown, nodes[i].KeyID}] = newIndex[i]
	}
	g.Nodes = sorted
	for _, p := range found {
		e := Edge{To: newIndex[p.to], Status: p.st, Ambiguous: p.amb}
		if p.known >= 0 {
			e.From = newIndex[p.known]
		} else {
			e.From = unknownIndex[p.from]
		}
		from, to := g.Nodes[e.From], g.Nodes[e.To]
		e.Kind = edgeKind(from, to, e.From == e.To)
		e.Private = from.Kind == trust.KindUserSigning
		g.Edges = append(g.Edges, e)
	}
	slices.SortFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		if !seen[n.UserID] {
			seen[n.UserID] = true
			g.Users = append(g.Users, n.UserID)
		}
	}
	return g
}

func edgeKind(from, to Node, self bool) EdgeKind {
	same := from.UserID == to.UserID
	switch {
	case self:
		return EdgeSelf
	case same && from.Kind == trust.KindSelfSigning && to.Kind == trust.KindDevice:
		return EdgeSelfSigningDevice
	case same && from.Kind == trust.KindMaster && (to.Kind == trust.KindSelfSigning || to.Kind == trust.KindUserSigning || to.Kind == trust.KindPublicUserSigning):
		return EdgeMasterSubkey
	case same && from.Kind == trust.KindDevice && to.Kind == trust.KindMaster:
		return EdgeDeviceMaster
	case !same && from.Kind == trust.KindUserSigning && to.Kind == trust.KindMaster:
		return EdgeUserSigningMaster
	case !same && from.Kind == trust.KindPublicUserSigning && to.Kind == trust.KindMaster:
		return EdgePublicUserSigningMaster
	case !same && from.Kind == trust.KindPublicUserSigning && to.Kind == trust.KindPublicUserSigning:
		return EdgePublicUserSigningPUSK
	}
	return EdgeOther
}

// Node returns the index in g.Nodes of the key of step, or -1.
func (g *Graph) Node(step trust.Step) int {
	for i, n := range g.Nodes {
		if n.UserID == step.UserID && n.Kind == step.Kind && n.KeyID == step.KeyID {
			return i
		}
	}
	return -1
}

// Highlight marks the keys of path (a [trust.Decision]'s Path) and the
// edges from each step to the next. For a decision that is not trusted,
// the path holds the links that did verify, so the picture shows how far
// the chain goes. Steps not in the graph are skipped. It returns the number
// of edges marked.
func (g *Graph) Highlight(path []trust.Step) int {
	if g == nil {
		return 0
	}
	marked := 0
	prev := -1
	for _, s := range path {
		i := g.Node(s)
		if i < 0 {
			prev = -1
			continue
		}
		g.Nodes[i].Highlighted = true
		if prev >= 0 {
			for ei := range g.Edges {
				if e := &g.Edges[ei]; e.From == prev && e.To == i && !e.Highlighted {
					e.Highlighted = true
					marked++
				}
			}
		}
		prev = i
	}
	return marked
}
