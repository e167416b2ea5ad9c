// Package device holds one Matrix device's own keys: its ed25519 signing
// key and curve25519 identity key, the signed device-keys object it
// publishes, and its signed curve25519 one-time and fallback keys, with the
// rule for keeping one-time keys topped up after /sync reports the count.
//
// It does no I/O: callers upload what it produces (client.UploadKeys) and
// persist its secrets (package client/state). It is not an Olm
// implementation: it creates and signs keys, it does not run sessions.
package device

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"vouch/canonicaljson"
	"vouch/keys"
	"vouch/signedjson"
)

// Algorithms a vouch device advertises in its device keys.
var algorithms = [...]string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"}

// AlgSignedCurve25519 is the algorithm of signed one-time and fallback keys.
const AlgSignedCurve25519 = "signed_curve25519"

// Sentinel errors.
var (
	// ErrBadSecret means stored secret material has the wrong size or shape.
	ErrBadSecret = errors.New("device: invalid secret key material")
	// ErrBadID means a user or device ID is not valid.
	ErrBadID = errors.New("device: invalid user or device ID")
	// ErrNoDevice means a method was called on a nil *Device.
	ErrNoDevice = errors.New("device: nil device")
)

// Device is one device's key material. Its private keys never leave it
// except through [Device.Secrets], for the state store.
type Device struct {
	userID   string
	deviceID string
	signing  ed25519.PrivateKey
	identity *ecdh.PrivateKey
	// nextKeyID numbers one-time and fallback keys; it only grows, so key
	// IDs are never reused.
	nextKeyID uint32
}

// Secrets is a device's private material in storable form.
type Secrets struct {
	UserID   string `json:"user_id"`
	DeviceID string `json:"device_id"`
	// Ed25519Seed is the 32-byte seed of the signing key.
	Ed25519Seed []byte `json:"ed25519_seed"`
	// Curve25519 is the 32-byte X25519 private key.
	Curve25519 []byte `json:"curve25519"`
	NextKeyID  uint32 `json:"next_key_id"`
}

// New creates a device with fresh keys read from rand.
func New(userID, deviceID string, rand io.Reader) (*Device, error) {
	if err := checkIDs(userID, deviceID); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("device: ed25519 key: %w", err)
	}
	idk, err := ecdh.X25519().GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("device: curve25519 key: %w", err)
	}
	return &Device{userID: userID, deviceID: deviceID, signing: priv, identity: idk, nextKeyID: 1}, nil
}

func checkIDs(userID, deviceID string) error {
	if _, err := keys.ParseUserID(userID); err != nil {
		return fmt.Errorf("%w: %w", ErrBadID, err)
	}
	if err := keys.ValidDeviceID(deviceID); err != nil {
		return fmt.Errorf("%w: %w", ErrBadID, err)
	}
	return nil
}

// FromSecrets restores a device saved with [Device.Secrets].
func FromSecrets(s Secrets) (*Device, error) {
	if err := checkIDs(s.UserID, s.DeviceID); err != nil {
		return nil, err
	}
	if len(s.Ed25519Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: ed25519 seed is %d bytes", ErrBadSecret, len(s.Ed25519Seed))
	}
	idk, err := ecdh.X25519().NewPrivateKey(s.Curve25519)
	if err != nil {
		return nil, fmt.Errorf("%w: curve25519: %v", ErrBadSecret, err)
	}
	return &Device{
		userID: s.UserID, deviceID: s.DeviceID,
		signing:   ed25519.NewKeyFromSeed(s.Ed25519Seed),
		identity:  idk,
		nextKeyID: max(s.NextKeyID, 1),
	}, nil
}

// Secrets returns the device's private material for storage. Treat it as a
// secret: never log or print it.
func (d *Device) Secrets() Secrets {
	return Secrets{
		UserID: d.userID, DeviceID: d.deviceID,
		Ed25519Seed: d.signing.Seed(),
		Curve25519:  d.identity.Bytes(),
		NextKeyID:   d.nextKeyID,
	}
}

// UserID is the device owner's user ID.
func (d *Device) UserID() string { return d.userID }

// DeviceID is the device's ID.
func (d *Device) DeviceID() string { return d.deviceID }

// KeyID is "ed25519:<device ID>", the ID of the device's signing key.
func (d *Device) KeyID() string { return string(keys.Ed25519KeyID(d.deviceID)) }

// Ed25519 is the device's signing public key in unpadded base64.
func (d *Device) Ed25519() string {
	if d == nil {
		return ""
	}
	return signedjson.EncodeBase64(d.signing.Public().(ed25519.PublicKey))
}

// Curve25519 is the device's identity public key in unpadded base64.
func (d *Device) Curve25519() string {
	if d == nil {
		return ""
	}
	return signedjson.EncodeBase64(d.identity.PublicKey().Bytes())
}

// Sign adds the device's signature to a JSON object.
func (d *Device) Sign(obj []byte) ([]byte, error) {
	if d == nil {
		return nil, ErrNoDevice
	}
	return signedjson.Sign(obj, d.userID, d.KeyID(), d.signing)
}

// DeviceKeys returns the self-signed device-keys object to upload.
func (d *Device) DeviceKeys() ([]byte, error) {
	if d == nil {
		return nil, ErrNoDevice
	}
	obj, err := canonicaljson.Marshal(map[string]any{
		"user_id":    d.userID,
		"device_id":  d.deviceID,
		"algorithms": algorithms[:],
		"keys": map[string]string{
			"ed25519:" + d.deviceID:    d.Ed25519(),
			"curve25519:" + d.deviceID: d.Curve25519(),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("device: device keys: %w", err)
	}
	return d.Sign(obj)
}

// OneTimeKey is a generated one-time or fallback key: its full key ID
// ("signed_curve25519:AAAAAQ"), the signed object to upload and the private
// key to keep.
type OneTimeKey struct {
	KeyID   string
	Object  json.RawMessage
	Private []byte
}

// keyIDFor names key number n as libolm does: the unpadded base64 of the
// big-endian 32-bit counter ("AAAAAQ" is key 1).
func keyIDFor(n uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return AlgSignedCurve25519 + ":" + base64.RawStdEncoding.EncodeToString(b[:])
}

func (d *Device) newKey(rand io.Reader, fallback bool) (OneTimeKey, error) {
	if d == nil {
		return OneTimeKey{}, ErrNoDevice
	}
	k, err := ecdh.X25519().GenerateKey(rand)
	if err != nil {
		return OneTimeKey{}, fmt.Errorf("device: one-time key: %w", err)
	}
	m := map[string]any{"key": signedjson.EncodeBase64(k.PublicKey().Bytes())}
	if fallback {
		m["fallback"] = true
	}
	obj, err := canonicaljson.Marshal(m)
	if err != nil {
		return OneTimeKey{}, err
	}
	signed, err := d.Sign(obj)
	if err != nil {
		return OneTimeKey{}, err
	}
	id := keyIDFor(d.nextKeyID)
	d.nextKeyID++
	return OneTimeKey{KeyID: id, Object: signed, Private: k.Bytes()}, nil
}

// GenerateOneTimeKeys creates n signed curve25519 one-time keys.
func (d *Device) GenerateOneTimeKeys(rand io.Reader, n int) ([]OneTimeKey, error) {
	out := make([]OneTimeKey, 0, max(n, 0))
	for range n {
		k, err := d.newKey(rand, false)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// GenerateFallbackKey creates a signed curve25519 fallback key (its signed
// object carries "fallback": true, as the spec shows).
func (d *Device) GenerateFallbackKey(rand io.Reader) (OneTimeKey, error) {
	return d.newKey(rand, true)
}

// VerifyOneTimeKey checks a signed one-time or fallback key object of this
// user's device with ed25519 key edKey (unpadded base64), as a claimer does.
func VerifyOneTimeKey(obj []byte, userID, deviceID, edKey string) error {
	pub, err := keys.DecodePublicKey(edKey)
	if err != nil {
		return err
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(obj, &k); err != nil {
		return fmt.Errorf("%w: one-time key: %v", keys.ErrMalformedKey, err)
	}
	raw, err := signedjson.DecodeBase64(k.Key)
	if err != nil || len(raw) != 32 {
		return fmt.Errorf("%w: one-time key is not a 32-byte curve25519 key", keys.ErrInvalidKey)
	}
	return signedjson.Verify(obj, userID, string(keys.Ed25519KeyID(deviceID)), pub)
}

// MaxOneTimeKeys is how many one-time keys a device keeps on the server at
// most: half of libolm's 100-key store, as Matrix clients customarily do.
const MaxOneTimeKeys = 50

// TopUp says how many one-time keys to generate given the server's
// one_time_key_counts (from /keys/upload or /sync), and whether a new
// fallback key is needed given device_unused_fallback_key_types (nil when
// the server did not say, which means: no new one).
func TopUp(counts map[string]int, unusedFallback []string, fallbackKnown bool) (oneTime int, fallback bool) {
	have := counts[AlgSignedCurve25519]
	if have < 0 {
		have = 0
	}
	if have < MaxOneTimeKeys {
		oneTime = MaxOneTimeKeys - have
	}
	if fallbackKnown {
		fallback = true
		for _, a := range unusedFallback {
			if a == AlgSignedCurve25519 {
				fallback = false
			}
		}
	}
	return oneTime, fallback
}

// UploadRequest is the content of a /keys/upload body built from keys: the
// map of key ID → signed object for one_time_keys or fallback_keys.
func UploadRequest(ks []OneTimeKey) map[string]json.RawMessage {
	if len(ks) == 0 {
		return nil
	}
	m := make(map[string]json.RawMessage, len(ks))
	for _, k := range ks {
		m[k.KeyID] = k.Object
	}
	return m
}
