// Package trust holds the rules of Matrix cross-signing as pure functions:
// which chains of signatures make a device or a user trusted, which
// signatures a user may see, and how a client remembers ("pins") the master
// signing key of every user it meets and notices when it changes.
//
// Every function here takes the keys and signatures it needs as arguments
// and does no I/O, so each rule can be tested on its own, the server and the
// client share them, and a newcomer finds them in one place.
//
// # Chains
//
// A viewer starts from their own master signing key (MSK), which they trust
// because they hold it or verified it. From there:
//
//	own device:     own MSK → own SSK → own device
//	other user:     own MSK → own USK → their MSK
//	their device:   own MSK → own USK → their MSK → their SSK → their device
//
// Each arrow is a signature that must verify. A [Decision] says whether the
// chain holds and carries the [Step]s that justify it, or the reason it broke.
//
// # Pinning
//
// The first master key seen for a user is pinned ([Pin]). A different key
// later is an identity change that the client must show the user before
// communication goes on; it is not trusted until approved. Verification
// through the viewer's own user-signing key takes precedence over pinning:
// a master key the viewer's USK has signed is the viewer's own decision.
//
// [ObserveIdentities] (and [Viewer.ObserveIdentities]) apply the pinning
// rule to a whole /keys/query result at once and list the changes sorted by
// user ID. [MigrateFromDeviceVerification] trusts a master key signed by a
// device verified the old way only while it is the first key ever pinned.
//
// # Namespace
//
// Device key IDs ("ed25519:<device ID>") and cross-signing key IDs
// ("ed25519:<public key>") share one namespace. A device named after one of
// its user's cross-signing keys, or using one as its device key, is never
// trusted; [UserKeys.CheckNamespace] finds such devices before a
// verification starts.
//
// # Visibility
//
// [SignatureVisible] is the server's filter over /keys/query: nobody but its
// owner ever sees a signature made by a user-signing key, and a device's
// self-signature is visible to all.
//
// The decisions behind these rules are written down in docs/trust.md.
//
// What it is not: trust does not fetch keys, store pins or talk to a server.
// Tempered transitive trust (MSC2882) builds on it in package trust/tempered.
package trust
