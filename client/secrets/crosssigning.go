package secrets

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"vouch/client"
	"vouch/client/state"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/ssss"
	"vouch/trust"
)

// EncodeKeySecret is the secret-storage form of a 32-byte private key
// (ed25519 seed or curve25519 key): unpadded base64, as the spec's secrets
// are written by every client.
func EncodeKeySecret(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// DecodeKeySecret decodes a private key read from secret storage: strict
// base64 of exactly 32 bytes, unpadded (43 characters) or with its one
// padding character, nothing else. Strict decoding refuses non-zero unused
// bits, so every key has exactly these two spellings.
func DecodeKeySecret(name, s string) ([]byte, error) {
	if len(s) == 44 && s[43] == '=' {
		s = s[:43]
	}
	if len(s) != 43 {
		return nil, fmt.Errorf("%w: %s: %d characters of base64, want 43", ErrBadSecret, name, len(s))
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadSecret, name, err)
	}
	if len(b) != ed25519.SeedSize {
		clear(b)
		return nil, fmt.Errorf("%w: %s: %d bytes, want %d", ErrBadSecret, name, len(b), ed25519.SeedSize)
	}
	return b, nil
}

// StoreCrossSigning stores the cross-signing private keys ks holds (nil
// keys are skipped) under their spec names, encrypted with key, and returns
// the names written.
func (s *Store) StoreCrossSigning(ctx context.Context, key *Key, ks *client.CrossSigningKeys, rand io.Reader) ([]string, error) {
	if ks == nil {
		return nil, fmt.Errorf("%w: no cross-signing keys given", client.ErrMissingPrivateKey)
	}
	var written []string
	for _, e := range []struct {
		name string
		priv ed25519.PrivateKey
	}{
		{ssss.SecretCrossSigningMaster, ks.Master},
		{ssss.SecretCrossSigningSelfSigning, ks.SelfSigning},
		{ssss.SecretCrossSigningUserSigning, ks.UserSigning},
	} {
		if e.priv == nil {
			continue
		}
		if len(e.priv) != ed25519.PrivateKeySize {
			return written, fmt.Errorf("%w: %s private key", keys.ErrInvalidKey, e.name)
		}
		if err := s.Put(ctx, key, e.name, EncodeKeySecret(e.priv.Seed()), rand); err != nil {
			return written, err
		}
		written = append(written, e.name)
	}
	if len(written) == 0 {
		return nil, fmt.Errorf("%w: this device holds no cross-signing private key", client.ErrMissingPrivateKey)
	}
	return written, nil
}

// FetchOwnKeys queries the user's published cross-signing keys and devices
// (POST /keys/query) and parses them; problems lists what was left out.
func FetchOwnKeys(ctx context.Context, c *client.Client, userID string) (*trust.UserKeys, []string, error) {
	resp, err := c.QueryKeys(ctx, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("secrets: querying keys of %s: %w", userID, err)
	}
	u, problems := client.ParseUserKeys(resp, userID)
	return u, problems, nil
}

// Recovered is the cross-signing identity read back from secret storage
// and checked against the published keys.
type Recovered struct {
	// Keys holds the private keys that were stored (nil for absent ones).
	Keys *client.CrossSigningKeys
	// Master is the master signing public key (unpadded base64), which the
	// caller may now trust as the user's own.
	Master string
	// Missing names the secrets that were not stored (never the master key).
	Missing []string
}

// RecoverCrossSigning reads the cross-signing private keys from secret
// storage with key and checks each against published, the user's keys as
// the server publishes them (FetchOwnKeys): the master private key must be
// stored and its public half must be the published master key; a stored
// self-signing or user-signing key must match the published key, which must
// itself be signed by that master key. Any mismatch refuses the whole
// recovery (ErrKeyMismatch): secret storage is account data the server can
// write, so a key that does not match is stale or planted, and nothing of
// it is imported.
func (s *Store) RecoverCrossSigning(ctx context.Context, key *Key, published *trust.UserKeys) (*Recovered, error) {
	if published == nil || published.Master == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoIdentity, s.userID)
	}
	if published.UserID != s.userID {
		return nil, fmt.Errorf("%w: published keys of %q checked for %q", ErrKeyMismatch, published.UserID, s.userID)
	}
	if err := published.Master.Validate(s.userID, keys.UsageMaster); err != nil {
		return nil, fmt.Errorf("%w: published master key: %w", ErrNoIdentity, err)
	}
	read := func(name string) (ed25519.PrivateKey, bool, error) {
		v, err := s.Get(ctx, key, name)
		if err != nil {
			if isNotFound(err) {
				return nil, false, nil
			}
			return nil, false, err
		}
		seed, err := DecodeKeySecret(name, v)
		if err != nil {
			return nil, false, err
		}
		defer clear(seed)
		return ed25519.NewKeyFromSeed(seed), true, nil
	}
	r := &Recovered{Keys: &client.CrossSigningKeys{}}
	master, ok, err := read(ssss.SecretCrossSigningMaster)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrSecretNotFound, ssss.SecretCrossSigningMaster)
	}
	_, pubB64, err := published.Master.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: published master key: %w", ErrNoIdentity, err)
	}
	if got := signedjson.EncodeBase64(master.Public().(ed25519.PublicKey)); got != pubB64 {
		return nil, fmt.Errorf("%w: master key in secret storage is %s, published master key is %s", ErrKeyMismatch, got, pubB64)
	}
	r.Keys.Master, r.Master = master, pubB64
	for _, e := range []struct {
		name  string
		usage keys.Usage
		pub   *keys.CrossSigningKey
		dst   *ed25519.PrivateKey
	}{
		{ssss.SecretCrossSigningSelfSigning, keys.UsageSelfSigning, published.SelfSigning, &r.Keys.SelfSigning},
		{ssss.SecretCrossSigningUserSigning, keys.UsageUserSigning, published.UserSigning, &r.Keys.UserSigning},
	} {
		priv, ok, err := read(e.name)
		if err != nil {
			return nil, err
		}
		if !ok {
			r.Missing = append(r.Missing, e.name)
			continue
		}
		if e.pub == nil {
			return nil, fmt.Errorf("%w: %s is stored but no %s key is published", ErrKeyMismatch, e.name, e.usage)
		}
		if err := e.pub.Validate(s.userID, e.usage); err != nil {
			return nil, fmt.Errorf("%w: published %s key: %w", ErrKeyMismatch, e.usage, err)
		}
		if err := e.pub.VerifySignedByMaster(published.Master); err != nil {
			return nil, fmt.Errorf("%w: published %s key: %w", ErrKeyMismatch, e.usage, err)
		}
		_, want, err := e.pub.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("%w: published %s key: %w", ErrKeyMismatch, e.usage, err)
		}
		if got := signedjson.EncodeBase64(priv.Public().(ed25519.PublicKey)); got != want {
			return nil, fmt.Errorf("%w: %s in secret storage is %s, published key is %s", ErrKeyMismatch, e.name, got, want)
		}
		*e.dst = priv
	}
	return r, nil
}

// ImportCrossSigning saves recovered keys into the account's local state
// and marks their master key as the user's own trusted master key.
func ImportCrossSigning(ctx context.Context, st *state.Store, r *Recovered) error {
	if st == nil || r == nil || r.Keys == nil || r.Master == "" {
		return fmt.Errorf("secrets: nothing to import")
	}
	m, ssk, usk := r.Keys.Seeds()
	if err := st.SaveCrossSigning(ctx, state.CrossSigning{Master: m, SelfSigning: ssk, UserSigning: usk}); err != nil {
		return fmt.Errorf("secrets: saving cross-signing keys: %w", err)
	}
	if err := st.SetOwnMaster(ctx, r.Master); err != nil {
		return fmt.Errorf("secrets: trusting master key: %w", err)
	}
	return nil
}

// isNotFound reports whether err means "this secret is not stored under
// this key".
func isNotFound(err error) bool {
	return errors.Is(err, ErrSecretNotFound)
}
