package backup

import (
	"fmt"

	"vouch/signedjson"
)

// RestoredSession is a session read back from a backup by OpenSession.
type RestoredSession struct {
	// Session is the parsed plaintext. Until Authenticated is true, every
	// field in it is only what some writer of the backup claimed: anyone
	// who knows the backup's public key can write a session.
	Session *BackedUpSession
	// Plaintext is the decrypted JSON exactly as decrypted; signatures are
	// over it, not over a re-encoding of Session.
	Plaintext []byte
	// Signed is true when the session carries a valid signature by the
	// backup signing key of a trusted auth_data.
	Signed bool
	// Authenticated is true only when Signed and the signed authenticated
	// flag is true: the key can be trusted to belong to its sender_key.
	Authenticated bool
	// Reason says in words why the session is or is not authenticated.
	Reason string
}

// Provenance returns AuthenticatedBackup when r is authenticated and
// Unauthenticated otherwise: the provenance to pass to SignSession when the
// key is uploaded again (for instance by Migration).
func (r RestoredSession) Provenance() Provenance {
	if r.Authenticated {
		return AuthenticatedBackup
	}
	return Unauthenticated
}

// OpenSession decrypts one backed-up session with the backup private key
// priv and decides whether it is authenticated, given t, the trust decided
// by TrustAuthData for the backup version's auth_data, and userID, the
// backup owner.
//
// Order of work: (1) priv must match t.AuthData.PublicKey when auth_data
// parsed, and the ephemeral key must be canonically encoded; (2) Decrypt: size limit (MaxSessionCiphertextSize), legacy mac,
// AES-CBC and a strict PKCS#7 check; (3) a strict parse of the plaintext
// (ParseBackedUpSession: size limit, UTF-8, no duplicate member names at any
// depth, required members typed; then canonical JSON, and no member whose
// name differs from a known one only by case); (4) only when t.SigningKey
// is trusted, the signature signatures[userID]["ed25519:<signing key>"]
// over the plaintext. Failures of 1 to 3 are errors: the session is refused.
// A missing or bad signature is not an error: the session is returned
// unauthenticated.
//
// Authenticated = auth_data trusted by a signature path AND the session
// signature by its signing key verifies AND the signed authenticated flag is
// true. The flag is read from UnstableAuthenticatedField and
// AuthenticatedField; if both are present and differ it counts as false.
//
// Why decrypt before authenticating: seed 003's signature is inside the
// ciphertext, and the legacy mac outside it is HMAC-SHA-256 over an EMPTY
// buffer (the spec's warning on step 5 of the backup algorithm; a libolm
// bug that every implementation kept). It proves only that the writer knew
// the backup public key — which is public — and nothing about the
// ciphertext. So the ciphertext is unauthenticated input until the inner
// signature checks out, and the decryption and parsing steps above are
// written for hostile input.
func OpenSession(enc EncryptedSessionData, priv PrivateKey, t AuthDataTrust, userID string) (RestoredSession, error) {
	o, err := NewOpener(priv, t, userID)
	if err != nil {
		return RestoredSession{}, err
	}
	return o.Open(enc)
}

// Opener opens many sessions of one backup version: the checks of
// OpenSession that do not depend on the session (user ID, private key
// against auth_data) run once in NewOpener, which saves an X25519
// scalar multiplication per session. An Opener is immutable and safe for
// concurrent use.
type Opener struct {
	dec    *SessionDecrypter
	trust  AuthDataTrust
	userID string
}

// NewOpener checks that t was decided for userID and that priv belongs to
// t's auth_data (when it parsed), and returns an Opener for the version.
func NewOpener(priv PrivateKey, t AuthDataTrust, userID string) (*Opener, error) {
	if t.UserID != "" && t.UserID != userID {
		return nil, fmt.Errorf("%w: auth_data trust is for %q, session opened for %q", ErrUserMismatch, t.UserID, userID)
	}
	if t.AuthData != nil {
		pub, err := priv.PublicKey()
		if err != nil {
			return nil, err
		}
		if pub != t.AuthData.PublicKey {
			return nil, fmt.Errorf("%w: key for %s, auth_data has %s", ErrWrongBackupKey, pub.Encode(), t.AuthData.PublicKey.Encode())
		}
	}
	dec, err := NewSessionDecrypter(priv)
	if err != nil {
		return nil, err
	}
	return &Opener{dec: dec, trust: t, userID: userID}, nil
}

// Open is OpenSession for the Opener's key, trust and user.
func (o *Opener) Open(enc EncryptedSessionData) (RestoredSession, error) {
	t, userID := o.trust, o.userID
	if err := checkCanonicalEphemeral(enc.Ephemeral); err != nil {
		return RestoredSession{}, err
	}
	plaintext, err := o.dec.Decrypt(enc)
	if err != nil {
		return RestoredSession{}, err
	}
	sess, _, err := strictSession(plaintext)
	if err != nil {
		return RestoredSession{}, err
	}
	r := RestoredSession{Session: sess, Plaintext: plaintext}
	if !t.SigningKeyTrusted() {
		switch {
		case !t.Trusted:
			r.Reason = "backup auth_data is not trusted: " + t.Reason
		case t.Path == TrustKnownPrivateKey:
			r.Reason = "backup auth_data is trusted only through the private key, so its signing key is ignored"
		default:
			r.Reason = "backup auth_data names no backup signing key"
		}
		return r, nil
	}
	key := *t.SigningKey
	if err := signedjson.Verify(plaintext, userID, key.KeyID(), key[:]); err != nil {
		r.Reason = "session is not signed by the trusted backup signing key: " + err.Error()
		return r, nil
	}
	r.Signed = true
	if !signedAuthenticatedFlag(sess) {
		r.Reason = "session is signed, but its writer did not mark it authenticated"
		return r, nil
	}
	r.Authenticated = true
	r.Reason = "session is signed by the trusted backup signing key and marked authenticated"
	return r, nil
}

// checkCanonicalEphemeral refuses an ephemeral key that is not the
// canonical encoding of its X25519 u-coordinate: the top bit set (X25519
// ignores it, RFC 7748 section 5) or a value of p = 2^255-19 or more (X25519
// reduces it). Honest writers never produce either, and accepting them
// would let a relay change session_data bytes without changing what it
// decrypts to. Other defects are left to Decrypt.
func checkCanonicalEphemeral(s string) error {
	b, err := decodeSessionDataBase64(s)
	if err != nil || len(b) != KeySize {
		return nil // Decrypt reports it
	}
	if b[KeySize-1]&0x80 != 0 {
		return fmt.Errorf("%w: top bit set (non-canonical encoding)", ErrEphemeralKeyInvalid)
	}
	if b[KeySize-1] == 0x7f && b[0] >= 0xed {
		reduced := true
		for _, c := range b[1 : KeySize-1] {
			if c != 0xff {
				reduced = false
				break
			}
		}
		if reduced {
			return fmt.Errorf("%w: u-coordinate not reduced modulo 2^255-19", ErrEphemeralKeyInvalid)
		}
	}
	return nil
}

// signedAuthenticatedFlag reads the authenticated flag under both names:
// true when at least one is present, every present one is true.
func signedAuthenticatedFlag(s *BackedUpSession) bool {
	if s.Authenticated == nil && s.UnstableAuthenticated == nil {
		return false
	}
	if s.Authenticated != nil && !*s.Authenticated {
		return false
	}
	if s.UnstableAuthenticated != nil && !*s.UnstableAuthenticated {
		return false
	}
	return true
}
