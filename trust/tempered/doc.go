// Package tempered is the client-side half of MSC2882, "Tempered Transitive
// Trust": a user says, in a private policy, whose public verifications they
// accept and for whom, and [Evaluate] decides from published keys whether a
// user they have not verified themselves is vouched for under that policy.
//
// # Policy
//
// A [Policy] is the content of the account-data event
// org.matrix.msc2882.trust.transitive ([EventType]; m.trust.transitive once
// MSC2882 is merged). The MSC leaves its format open; vouch's is
//
//	{"vouchers": {"@alice:example.com": {
//	    "for": ["@carol:matrix.org", "*:example.org"],
//	    "except": ["@dave:example.org"],
//	    "depth": 1}}}
//
// [Parse] reads it strictly (typed sentinel errors), keeps unknown members
// for the round trip, and [Policy.Marshal] writes it as canonical JSON. The
// policy is private and must not be changed by the server: [Seal] stores it
// encrypted and authenticated with secret storage (package ssss) under the
// secret name [EventType], and [Open] refuses anything whose MAC does not
// verify.
//
// # Evaluation
//
// A target is transitively trusted when this chain holds, every arrow a
// signature that verifies against the keys given:
//
//	viewer MSK → viewer USK → voucher MSK → voucher PUSK
//	    [→ next PUSK … up to depth−1 hops] → target MSK
//
// The voucher must be verified directly ([trust.Viewer.User]), every public
// user-signing key (PUSK) on the path must be signed by its owner's master
// key, and the target and every intermediate user must be inside the
// voucher's "for" and not in its "except". The search is breadth-first,
// bounded in depth ([MaxDepth]) and in signature verifications
// ([Evaluator.MaxVerifications]), and terminates on cycles.
//
// What it is not: tempered does no I/O. It does not fetch keys, upload
// public signatures or read account data; the server half of MSC2882 (PUSK
// upload, public signatures, /keys/query) lives in the server, store and
// client packages. The decisions behind the format are in
// docs/transitive-trust.md.
package tempered
