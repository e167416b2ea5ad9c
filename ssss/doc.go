// Package ssss implements Matrix secret storage ("secure secret storage and
// sharing", SSSS or 4S) as specified in the client-server API, module
// "Secrets": the m.secret_storage.v1.aes-hmac-sha2 algorithm, secret storage
// key descriptions and their key checks, keys derived from passphrases with
// m.pbkdf2, and the recovery-key text representation of raw keys (appendix
// "Cryptographic key representation").
//
// It also names the secrets vouch stores (cross-signing private keys, the key
// backup decryption key, the MSC4048 backup signing key and the MSC2882 public
// user-signing key) and says which account-data names to try when reading each
// of them; see ReadNames and docs/ssss.md for the reasons behind the choices.
//
// The package is pure computation: it does no I/O, no HTTP and keeps no state.
// Randomness is always supplied by the caller as an io.Reader (crypto/rand.Reader
// in production). It does not fetch or upload account data, does not share
// secrets between devices (m.secret.request / m.secret.send) and does not
// interpret the decrypted secrets: callers decode the base64 private keys they
// get back.
//
// Every function returns an error instead of panicking on bad input; errors
// wrap the sentinel errors declared in this package so that callers can test
// them with errors.Is. MACs are compared in constant time and checked before
// anything is decrypted.
package ssss
