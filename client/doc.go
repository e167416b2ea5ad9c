// Package client is vouch's Matrix client library for the trust layer of
// end-to-end encryption: a typed HTTP client for the client-server
// endpoints that cross-signing needs, and the flows built on it (bootstrap
// cross-signing, verify a user by fingerprint, sign one's own device, reset
// one's identity, and a trust view that reports verified users, trusted
// devices and identity changes).
//
// # The HTTP client
//
// [New] returns a [Client] for a homeserver base URL. It has one
// context-aware method per endpoint. A Matrix error response is returned as
// a [*Error] (errors.As gives the errcode); a request that needs
// user-interactive authentication calls the caller's [AuthFunc] and tries
// again. Requests are retried, a bounded number of times, after
// M_LIMIT_EXCEEDED (waiting retry_after_ms) and after transient network
// errors.
//
// # Flows
//
// [Bootstrap], [VerifyUser], [VerifyOwnDevice], [ResetIdentity] and
// [BuildTrustView] drive the client, but every trust decision is made by
// the pure packages trust and keys: this package only fetches, signs and
// uploads. Private keys are passed in and returned, never stored or logged
// here; package client/state persists them.
//
// What it is not: not an Olm/Megolm implementation (no message encryption),
// not a room client, and it never imports the server or its store.
package client
