// Package bench is the load generator behind `vouch bench`: it registers a
// population of users with devices, device keys and cross-signing keys on a
// vouch key server over HTTP, then drives one scenario at a time
// (keys-query, signatures-upload, keys-upload, sync-wake) with a fixed number
// of concurrent clients for a bounded time and a bounded number of requests,
// and reports throughput and latency percentiles as JSON.
//
// The same load can be run against a bare net/http handler ([Ceiling]) that
// only reads and parses the JSON body and answers a fixed object: the HTTP
// and JSON floor of the machine. Server figures are reported as a ratio to
// that ceiling measured in the same run, because absolute numbers on a shared
// machine mean little.
//
// What it is not: a test of correctness (the server's own tests do that), a
// timed test (nothing here fails because the machine is slow: targets are
// printed with a pass/fail flag, never asserted), or a tool for loading remote
// servers (it only talks to loopback addresses). Request bodies that need
// signatures are signed before the timed phase, so the client's ed25519 cost
// is not part of what is measured.
package bench
