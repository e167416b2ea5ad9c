package backup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MegolmAlgorithm is the only session algorithm a BackedUpSession of this
// backup algorithm may carry (spec, BackedUpSessionData.algorithm).
const MegolmAlgorithm = "m.megolm.v1.aes-sha2"

// MaxBackedUpSessionSize bounds the plaintext ParseBackedUpSession accepts;
// it equals MaxSessionPlaintextSize, the most Decrypt can return.
const MaxBackedUpSessionSize = MaxSessionPlaintextSize

// BackedUpSession is the plaintext of a session_data ciphertext: the spec's
// BackedUpSessionData plus the MSC4048 (signed key backup) fields.
//
// It is a data type only: nothing here checks signatures or decides whether
// the Authenticated claims can be believed (MSC4048: they count only when
// the object is signed by a trusted backup signing key). Members this type
// does not know are ignored by ParseBackedUpSession and are lost when the
// value is marshalled again, so verify signatures over the original
// plaintext bytes, never over a re-marshalled BackedUpSession.
type BackedUpSession struct {
	// Algorithm is the room-key algorithm; always MegolmAlgorithm.
	Algorithm string `json:"algorithm"`
	// ForwardingCurve25519KeyChain lists the Curve25519 keys the session
	// was forwarded through (m.forwarded_room_key); empty if none.
	ForwardingCurve25519KeyChain []string `json:"forwarding_curve25519_key_chain"`
	// SenderClaimedKeys maps an algorithm ("ed25519") to the Ed25519 key the
	// sending device claimed.
	SenderClaimedKeys map[string]string `json:"sender_claimed_keys"`
	// SenderKey is the unpadded base64 Curve25519 key of the sending device.
	SenderKey string `json:"sender_key"`
	// SessionKey is the unpadded base64 Megolm session export. Secret.
	SessionKey string `json:"session_key"`
	// SharedHistory marks a shareable session (spec v1.19); nil if absent.
	SharedHistory *bool `json:"shared_history,omitempty"`
	// Authenticated is MSC4048's stable "authenticated" claim; nil if absent.
	Authenticated *bool `json:"authenticated,omitempty"`
	// UnstableAuthenticated is MSC4048's unstable
	// "org.matrix.mscxxxx.authenticated" claim; nil if absent.
	UnstableAuthenticated *bool `json:"org.matrix.mscxxxx.authenticated,omitempty"`
	// Signatures is the signed-JSON signatures member (user ID -> key ID ->
	// unpadded base64 signature); nil if absent. Not verified here.
	Signatures map[string]map[string]string `json:"signatures,omitempty"`
}

// ClaimsAuthenticated reports the writer's MSC4048 "authenticated" claim:
// the stable member if present, else the unstable one, else false. The claim
// means nothing unless the session's signature by a trusted backup signing
// key has been verified (not done here).
func (s *BackedUpSession) ClaimsAuthenticated() bool {
	switch {
	case s.Authenticated != nil:
		return *s.Authenticated
	case s.UnstableAuthenticated != nil:
		return *s.UnstableAuthenticated
	}
	return false
}

// ParseBackedUpSession parses a decrypted session_data plaintext strictly:
// at most MaxBackedUpSessionSize bytes of valid UTF-8 holding exactly one
// JSON object, with no duplicate member names at any depth, all required
// members (algorithm, forwarding_curve25519_key_chain, sender_claimed_keys,
// sender_key, session_key) present, non-null and of the right JSON type, and
// algorithm equal to MegolmAlgorithm. Unknown members are ignored.
func ParseBackedUpSession(plaintext []byte) (*BackedUpSession, error) {
	if len(plaintext) > MaxBackedUpSessionSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBackedUpSessionInvalid, len(plaintext), MaxBackedUpSessionSize)
	}
	if !utf8.Valid(plaintext) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrBackedUpSessionInvalid)
	}
	if err := checkSessionDataJSON(plaintext); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackedUpSessionInvalid, err)
	}
	// Pointers tell a missing or null member apart from an empty one.
	var wire struct {
		Algorithm                    *string                      `json:"algorithm"`
		ForwardingCurve25519KeyChain *[]string                    `json:"forwarding_curve25519_key_chain"`
		SenderClaimedKeys            *map[string]string           `json:"sender_claimed_keys"`
		SenderKey                    *string                      `json:"sender_key"`
		SessionKey                   *string                      `json:"session_key"`
		SharedHistory                *bool                        `json:"shared_history"`
		Authenticated                *bool                        `json:"authenticated"`
		UnstableAuthenticated        *bool                        `json:"org.matrix.mscxxxx.authenticated"`
		Signatures                   map[string]map[string]string `json:"signatures"`
	}
	if err := json.Unmarshal(plaintext, &wire); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackedUpSessionInvalid, err)
	}
	missing := func(name string) error {
		return fmt.Errorf("%w: missing or null %q", ErrBackedUpSessionInvalid, name)
	}
	switch {
	case wire.Algorithm == nil:
		return nil, missing("algorithm")
	case wire.ForwardingCurve25519KeyChain == nil || *wire.ForwardingCurve25519KeyChain == nil:
		return nil, missing("forwarding_curve25519_key_chain")
	case wire.SenderClaimedKeys == nil || *wire.SenderClaimedKeys == nil:
		return nil, missing("sender_claimed_keys")
	case wire.SenderKey == nil:
		return nil, missing("sender_key")
	case wire.SessionKey == nil:
		return nil, missing("session_key")
	}
	if *wire.Algorithm != MegolmAlgorithm {
		return nil, fmt.Errorf("%w: algorithm %q, want %q", ErrBackedUpSessionInvalid, *wire.Algorithm, MegolmAlgorithm)
	}
	return &BackedUpSession{
		Algorithm:                    *wire.Algorithm,
		ForwardingCurve25519KeyChain: *wire.ForwardingCurve25519KeyChain,
		SenderClaimedKeys:            *wire.SenderClaimedKeys,
		SenderKey:                    *wire.SenderKey,
		SessionKey:                   *wire.SessionKey,
		SharedHistory:                wire.SharedHistory,
		Authenticated:                wire.Authenticated,
		UnstableAuthenticated:        wire.UnstableAuthenticated,
		Signatures:                   wire.Signatures,
	}, nil
}

// errSessionDataNotObject and errSessionDataDuplicateKey describe why
// checkSessionDataJSON refused its input; callers wrap them in a sentinel.
var (
	errSessionDataNotObject    = errors.New("not a JSON object")
	errSessionDataDuplicateKey = errors.New("duplicate JSON object key")
)

// checkSessionDataJSON verifies that data is exactly one JSON object with no
// duplicate member names in any object at any depth (encoding/json silently
// keeps the last duplicate, which lets two readers disagree about a value).
// It walks the token stream with an explicit stack, so deep nesting cannot
// exhaust the goroutine stack.
func checkSessionDataJSON(data []byte) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errSessionDataNotObject
	}
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]struct{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expectKey {
			switch t := tok.(type) {
			case string:
				if _, dup := top.keys[t]; dup {
					return fmt.Errorf("%w %q", errSessionDataDuplicateKey, t)
				}
				top.keys[t] = struct{}{}
				top.expectKey = false
				continue
			case json.Delim: // '}' closing the object
			default:
				return fmt.Errorf("invalid JSON: unexpected token %v", tok)
			}
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.expectKey = true // the value is this nested container
				}
				f := &frame{object: d == '{', expectKey: d == '{'}
				if f.object {
					f.keys = map[string]struct{}{}
				}
				stack = append(stack, f)
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		} else if top != nil && top.object {
			top.expectKey = true // scalar value consumed
		}
		if len(stack) == 0 {
			break
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: trailing data after the object")
	}
	return nil
}
