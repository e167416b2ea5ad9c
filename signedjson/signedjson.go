// Package signedjson signs and verifies Matrix signed JSON objects, as the
// specification's appendix "Signing JSON" defines them.
//
// A signed object carries its signatures in a top-level "signatures" member
// shaped {entity: {"ed25519:<key id>": "<unpadded base64 signature>"}}. The
// bytes signed are the canonical JSON (package canonicaljson) of the object
// with the top-level "signatures" and "unsigned" members removed, so other
// signatures can be added later and "unsigned" can change freely.
//
// The package works on raw JSON bytes so that callers hand it exactly what
// they received: it never reorders or re-encodes a value it did not have to.
// It decides nothing about which key should have signed what; that is the job
// of packages keys and trust.
//
// Verification is a single named signature at a time: [Verify] looks up
// signatures[entity][keyID] and checks it with the given public key. A
// missing, malformed or wrong signature is an error matched by [errors.Is]
// against the sentinels below. Ed25519 verification itself is
// [crypto/ed25519.Verify]; public keys of the wrong length are refused with
// an error instead of reaching it (it would panic).
package signedjson

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"vouch/canonicaljson"
)

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	// ErrNotObject means the input is not a JSON object (or not JSON at all).
	ErrNotObject = errors.New("signedjson: input is not a valid JSON object")
	// ErrMalformedSignatures means the "signatures" member is not shaped
	// {entity: {key id: string}}.
	ErrMalformedSignatures = errors.New("signedjson: malformed signatures member")
	// ErrMissingSignature means the object has no signature for the entity and key ID.
	ErrMissingSignature = errors.New("signedjson: signature not found")
	// ErrBadBase64 means a signature or key is not valid unpadded base64.
	ErrBadBase64 = errors.New("signedjson: invalid base64")
	// ErrBadSignature means the signature is well formed but does not verify.
	ErrBadSignature = errors.New("signedjson: signature does not verify")
	// ErrBadKey means a public or private key has the wrong length.
	ErrBadKey = errors.New("signedjson: invalid ed25519 key")
	// ErrBadKeyID means a key ID is not of the form "algorithm:identifier".
	ErrBadKeyID = errors.New("signedjson: invalid key ID")
)

// Signatures is the "signatures" member of a signed object: entity (a user ID
// or server name) to key ID ("ed25519:<id>") to unpadded base64 signature.
type Signatures map[string]map[string]string

// Get returns the signature for entity and keyID and whether it exists.
func (s Signatures) Get(entity, keyID string) (string, bool) {
	sig, ok := s[entity][keyID]
	return sig, ok
}

// Set adds or replaces the signature for entity and keyID.
func (s Signatures) Set(entity, keyID, sig string) {
	m := s[entity]
	if m == nil {
		m = make(map[string]string, 1)
		s[entity] = m
	}
	m[keyID] = sig
}

// EncodeBase64 returns the unpadded standard base64 encoding of b, the form
// Matrix uses for keys and signatures.
func EncodeBase64(b []byte) string {
	return base64.RawStdEncoding.EncodeToString(b)
}

// DecodeBase64 decodes standard base64, unpadded as Matrix writes it or
// correctly padded as some implementations do. URL-safe alphabets, wrong
// padding ("AAAA=", "AA="), non-zero trailing bits and line breaks are
// refused, so that one byte string has at most two spellings (unpadded and
// padded) and never more.
func DecodeBase64(s string) ([]byte, error) {
	// Go's decoders skip '\r' and '\n' even in strict mode; Matrix base64
	// never contains them, and accepting them would give a key or a
	// signature any number of spellings.
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: line break in base64", ErrBadBase64)
	}
	enc := base64.RawStdEncoding.Strict()
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding.Strict()
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBase64, err)
	}
	return b, nil
}

// SigningBytes returns the bytes a signature over obj covers: the canonical
// JSON of obj without its top-level "signatures" and "unsigned" members.
func SigningBytes(obj []byte) ([]byte, error) {
	b, _, err := signingInput(nil, obj)
	return b, err
}

// SigningBytesAndSignatures returns what SigningBytes and SignaturesOf
// return for obj, with one canonicalization of obj instead of two: for a
// server that checks an uploaded object against a stored key and then
// looks for the uploader's signature on it.
func SigningBytesAndSignatures(obj []byte) ([]byte, Signatures, error) {
	b, raw, err := signingInput(nil, obj)
	if err != nil {
		return nil, nil, err
	}
	sigs, err := parseSignatures(raw)
	if err != nil {
		return nil, nil, err
	}
	return b, sigs, nil
}

// signingInput appends the signed bytes of obj to dst and returns the raw,
// validated value of the "signatures" member (nil when absent).
func signingInput(dst, obj []byte) (canonical, rawSignatures []byte, err error) {
	canonical, err = canonicaljson.AppendCanonicalFunc(dst, obj, func(key string, raw []byte) bool {
		switch key {
		case "signatures":
			rawSignatures = raw
			return false
		case "unsigned":
			return false
		}
		return true
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	return canonical, rawSignatures, nil
}

// parseSignatures decodes a raw "signatures" value. An absent member is an
// empty set.
func parseSignatures(raw []byte) (Signatures, error) {
	if raw == nil {
		return Signatures{}, nil
	}
	if s, ok := fastSignatures(raw); ok {
		return s, nil
	}
	var s Signatures
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedSignatures, err)
	}
	if s == nil {
		s = Signatures{}
	}
	return s, nil
}

// SignaturesOf returns the signatures carried by obj.
func SignaturesOf(obj []byte) (Signatures, error) {
	_, raw, err := signingInput(nil, obj)
	if err != nil {
		return nil, err
	}
	return parseSignatures(raw)
}

func checkKeyID(keyID string) error {
	alg, id, ok := strings.Cut(keyID, ":")
	if !ok || alg == "" || id == "" {
		return fmt.Errorf("%w: %q", ErrBadKeyID, keyID)
	}
	return nil
}

// Signature returns the unpadded base64 ed25519 signature of priv over the
// signing bytes of obj, without changing obj.
func Signature(obj []byte, priv ed25519.PrivateKey) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("%w: private key is %d bytes, want %d", ErrBadKey, len(priv), ed25519.PrivateKeySize)
	}
	msg, err := SigningBytes(obj)
	if err != nil {
		return "", err
	}
	return EncodeBase64(ed25519.Sign(priv, msg)), nil
}

// Sign signs obj with priv as entity's key keyID and returns the whole signed
// object in canonical JSON. Existing signatures, including other ones by the
// same entity, and the "unsigned" member are kept; an existing signature for
// the same entity and key ID is replaced.
func Sign(obj []byte, entity, keyID string, priv ed25519.PrivateKey) ([]byte, error) {
	if err := checkKeyID(keyID); err != nil {
		return nil, err
	}
	if entity == "" {
		return nil, fmt.Errorf("%w: empty entity", ErrBadKeyID)
	}
	sig, err := Signature(obj, priv)
	if err != nil {
		return nil, err
	}
	return AddSignature(obj, entity, keyID, sig)
}

// AddSignature merges an existing signature into obj as
// signatures[entity][keyID] and returns the object in canonical JSON. It does
// not check the signature.
//
// Everything else is kept as it was, up to canonical form: "unsigned", the
// signatures of other entities and the entity's signatures under other key
// IDs, even ones that are not well-formed signatures (a null, a number),
// which a verifier of those keys will refuse on its own. The "signatures"
// member must be an object when present, and so must signatures[entity];
// otherwise there is nowhere to merge and ErrMalformedSignatures is
// returned.
func AddSignature(obj []byte, entity, keyID, sig string) ([]byte, error) {
	var members map[string]json.RawMessage
	// Canonicalising first refuses duplicate keys and anything else
	// canonical JSON refuses, before encoding/json gets to pick a winner.
	canon, err := canonicaljson.Canonicalize(obj)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	if err := json.Unmarshal(canon, &members); err != nil || members == nil {
		return nil, ErrNotObject
	}
	// Raw values all the way down to the one signature replaced: decoding
	// into Signatures would turn a null signature into "" and refuse a
	// number, changing or dropping signatures that are not ours.
	sigs, err := rawObject(members["signatures"], "signatures")
	if err != nil {
		return nil, err
	}
	mine, err := rawObject(sigs[entity], "signatures of "+entity)
	if err != nil {
		return nil, err
	}
	if mine[keyID], err = json.Marshal(sig); err != nil {
		return nil, err
	}
	if sigs[entity], err = json.Marshal(mine); err != nil {
		return nil, err
	}
	if members["signatures"], err = json.Marshal(sigs); err != nil {
		return nil, err
	}
	return canonicaljson.Marshal(members)
}

// rawObject decodes raw, a JSON object or nothing at all, into its raw
// members. An absent value is an empty object; anything that is not an
// object (null included) is ErrMalformedSignatures.
func rawObject(raw json.RawMessage, what string) (map[string]json.RawMessage, error) {
	if raw == nil {
		return map[string]json.RawMessage{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: %s is not an object", ErrMalformedSignatures, what)
	}
	return m, nil
}

// Verify checks the signature signatures[entity][keyID] of obj with pub.
// It returns nil only when that signature exists, is well formed and is a
// valid ed25519 signature over the signing bytes of obj.
func Verify(obj []byte, entity, keyID string, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key is %d bytes, want %d", ErrBadKey, len(pub), ed25519.PublicKeySize)
	}
	var scratch [1024]byte
	msg, rawSigs, err := signingInput(scratch[:0], obj)
	if err != nil {
		return err
	}
	sigB64, err := lookupSignature(rawSigs, entity, keyID)
	if err != nil {
		return err
	}
	return verifyMessage(msg, sigB64, entity, keyID, pub)
}

// lookupSignature finds signatures[entity][keyID] in a raw "signatures"
// value. Only the path to the wanted signature has to be well formed: a
// malformed entry of another entity or key cannot make a good signature fail.
func lookupSignature(raw []byte, entity, keyID string) (string, error) {
	if raw == nil {
		return "", fmt.Errorf("%w: %s %s", ErrMissingSignature, entity, keyID)
	}
	entityRaw, ok, err := member(raw, entity)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformedSignatures, err)
	}
	if !ok {
		return "", fmt.Errorf("%w: %s %s", ErrMissingSignature, entity, keyID)
	}
	sigRaw, ok, err := member(entityRaw, keyID)
	if err != nil {
		return "", fmt.Errorf("%w: signatures of %s: %v", ErrMalformedSignatures, entity, err)
	}
	if !ok {
		return "", fmt.Errorf("%w: %s %s", ErrMissingSignature, entity, keyID)
	}
	if len(sigRaw) < 2 || sigRaw[0] != '"' {
		return "", fmt.Errorf("%w: signature %s %s is not a string", ErrMalformedSignatures, entity, keyID)
	}
	// Base64 has no characters that JSON escapes; an escaped signature is
	// decoded the slow way and then fails or passes base64 decoding.
	var sig string
	if err := json.Unmarshal(sigRaw, &sig); err != nil {
		return "", fmt.Errorf("%w: signature %s %s: %v", ErrMalformedSignatures, entity, keyID, err)
	}
	return sig, nil
}

// VerifySignature checks sigB64, a signature taken from elsewhere, over the
// signing bytes of obj. The object's own signatures are ignored.
func VerifySignature(obj []byte, sigB64 string, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key is %d bytes, want %d", ErrBadKey, len(pub), ed25519.PublicKeySize)
	}
	msg, err := SigningBytes(obj)
	if err != nil {
		return err
	}
	return verifyMessage(msg, sigB64, "", "", pub)
}

func verifyMessage(msg []byte, sigB64, entity, keyID string, pub ed25519.PublicKey) error {
	return verifyMessageWith(msg, sigB64, entity, keyID, func(msg, sig []byte) bool { return ed25519.Verify(pub, msg, sig) })
}

func verifyMessageWith(msg []byte, sigB64, entity, keyID string, verify func(msg, sig []byte) bool) error {
	sig, err := DecodeBase64(sigB64)
	if err != nil {
		return fmt.Errorf("signature %s %s: %w", entity, keyID, err)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature %s %s is %d bytes, want %d", ErrBadSignature, entity, keyID, len(sig), ed25519.SignatureSize)
	}
	if !verify(msg, sig) {
		return fmt.Errorf("%w: %s %s", ErrBadSignature, entity, keyID)
	}
	return nil
}

// Verifier checks a raw ed25519 signature over a message for one public
// key, with the answers of crypto/ed25519.Verify for that key — for
// instance a key prepared for verifying many signatures.
type Verifier interface {
	Verify(message, sig []byte) bool
}

// VerifyWith is Verify with the key given as a Verifier: the same lookup,
// the same checks and the same errors, the curve arithmetic left to v.
func VerifyWith(obj []byte, entity, keyID string, v Verifier) error {
	var scratch [1024]byte
	msg, rawSigs, err := signingInput(scratch[:0], obj)
	if err != nil {
		return err
	}
	sigB64, err := lookupSignature(rawSigs, entity, keyID)
	if err != nil {
		return err
	}
	return verifyMessageWith(msg, sigB64, entity, keyID, v.Verify)
}
