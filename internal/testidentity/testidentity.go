// Package testidentity builds complete, correctly signed Matrix identities
// (master, self-signing, user-signing and public user-signing keys plus
// devices) for tests across vouch. Keys come from seeds derived from the user
// ID, so the same test always sees the same keys.
//
// It is for tests only: private keys are kept in plain fields.
package testidentity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	"vouch/canonicaljson"
	"vouch/keys"
	"vouch/signedjson"
)

// Key is an ed25519 key pair with its unpadded base64 public key.
type Key struct {
	Priv ed25519.PrivateKey
	Pub  ed25519.PublicKey
	B64  string
}

// KeyID is "ed25519:<public key>".
func (k Key) KeyID() string { return "ed25519:" + k.B64 }

// NewKey derives a key from a label.
func NewKey(label string) Key {
	seed := sha256.Sum256([]byte("vouch testidentity " + label))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := priv.Public().(ed25519.PublicKey)
	return Key{Priv: priv, Pub: pub, B64: signedjson.EncodeBase64(pub)}
}

// Device is a device's keys.
type Device struct {
	ID      string
	Ed25519 Key
	Curve   string
}

// Identity is a user with cross-signing keys and devices.
type Identity struct {
	UserID                                          string
	Master, SelfSigning, UserSigning, PublicUserSig Key
	Devices                                         map[string]*Device
	generation                                      string
}

// New creates an identity for userID with the named devices.
func New(userID string, deviceIDs ...string) *Identity {
	return NewGeneration(userID, "", deviceIDs...)
}

// NewGeneration creates an identity whose cross-signing keys differ from
// those of other generations of the same user: a reset identity.
func NewGeneration(userID, generation string, deviceIDs ...string) *Identity {
	id := &Identity{
		UserID:        userID,
		Master:        NewKey(userID + " master " + generation),
		SelfSigning:   NewKey(userID + " ssk " + generation),
		UserSigning:   NewKey(userID + " usk " + generation),
		PublicUserSig: NewKey(userID + " pusk " + generation),
		Devices:       map[string]*Device{},
		generation:    generation,
	}
	for _, d := range deviceIDs {
		id.AddDevice(d)
	}
	return id
}

// AddDevice adds a device with keys derived from the user and device ID.
func (id *Identity) AddDevice(deviceID string) *Device {
	d := &Device{
		ID:      deviceID,
		Ed25519: NewKey(id.UserID + " device " + deviceID),
		Curve:   NewKey(id.UserID + " curve " + deviceID).B64,
	}
	id.Devices[deviceID] = d
	return d
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(fmt.Sprintf("testidentity: %v", err))
	}
	return b
}

// DeviceKeysUnsigned is the device-keys object without signatures.
func (id *Identity) DeviceKeysUnsigned(deviceID string) []byte {
	d := id.Devices[deviceID]
	return must(canonicaljson.Marshal(map[string]any{
		"user_id":    id.UserID,
		"device_id":  deviceID,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys": map[string]string{
			"ed25519:" + deviceID:    d.Ed25519.B64,
			"curve25519:" + deviceID: d.Curve,
		},
	}))
}

// DeviceKeys is the device-keys object self-signed by the device.
func (id *Identity) DeviceKeys(deviceID string) []byte {
	d := id.Devices[deviceID]
	return must(signedjson.Sign(id.DeviceKeysUnsigned(deviceID), id.UserID, "ed25519:"+deviceID, d.Ed25519.Priv))
}

// DeviceKeysCrossSigned is the device-keys object self-signed and signed by
// the self-signing key.
func (id *Identity) DeviceKeysCrossSigned(deviceID string) []byte {
	return must(signedjson.Sign(id.DeviceKeys(deviceID), id.UserID, id.SelfSigning.KeyID(), id.SelfSigning.Priv))
}

// CrossSigningKeyUnsigned is the key object for usage without signatures.
func (id *Identity) CrossSigningKeyUnsigned(usage keys.Usage) []byte {
	k := id.key(usage)
	return must(canonicaljson.Marshal(map[string]any{
		"user_id": id.UserID,
		"usage":   []string{string(usage)},
		"keys":    map[string]string{k.KeyID(): k.B64},
	}))
}

func (id *Identity) key(usage keys.Usage) Key {
	switch usage {
	case keys.UsageMaster:
		return id.Master
	case keys.UsageSelfSigning:
		return id.SelfSigning
	case keys.UsageUserSigning:
		return id.UserSigning
	case keys.UsagePublicUserSigning:
		return id.PublicUserSig
	}
	panic("testidentity: unknown usage " + string(usage))
}

// MasterKey is the master key object (unsigned, as first uploaded).
func (id *Identity) MasterKey() []byte { return id.CrossSigningKeyUnsigned(keys.UsageMaster) }

// SubKey is the self-signing, user-signing or public user-signing key object
// signed by the master key.
func (id *Identity) SubKey(usage keys.Usage) []byte {
	return must(signedjson.Sign(id.CrossSigningKeyUnsigned(usage), id.UserID, id.Master.KeyID(), id.Master.Priv))
}

// SignOtherMaster returns other's master key object signed by id's
// user-signing key (a private verification).
func (id *Identity) SignOtherMaster(other *Identity) []byte {
	return must(signedjson.Sign(other.MasterKey(), id.UserID, id.UserSigning.KeyID(), id.UserSigning.Priv))
}

// SignMasterWithDevice returns id's master key signed by one of its devices.
func (id *Identity) SignMasterWithDevice(deviceID string) []byte {
	d := id.Devices[deviceID]
	return must(signedjson.Sign(id.MasterKey(), id.UserID, "ed25519:"+deviceID, d.Ed25519.Priv))
}

// Sign signs obj with key as id's user.
func (id *Identity) Sign(obj []byte, key Key) []byte {
	return must(signedjson.Sign(obj, id.UserID, key.KeyID(), key.Priv))
}

// UploadBody is the body of /keys/device_signing/upload for master,
// self-signing and user-signing keys.
func (id *Identity) UploadBody() []byte {
	return must(json.Marshal(map[string]json.RawMessage{
		"master_key":       id.MasterKey(),
		"self_signing_key": id.SubKey(keys.UsageSelfSigning),
		"user_signing_key": id.SubKey(keys.UsageUserSigning),
	}))
}

// MustParseCrossSigningKey parses raw with keys.ParseCrossSigningKey,
// failing t on an error.
func MustParseCrossSigningKey(t testing.TB, raw []byte) *keys.CrossSigningKey {
	t.Helper()
	k, err := keys.ParseCrossSigningKey(raw)
	if err != nil {
		t.Fatalf("parse cross-signing key: %v", err)
	}
	return k
}

// MustParseDeviceKeys parses raw with keys.ParseDeviceKeys, failing t on an
// error.
func MustParseDeviceKeys(t testing.TB, raw []byte) *keys.DeviceKeys {
	t.Helper()
	d, err := keys.ParseDeviceKeys(raw)
	if err != nil {
		t.Fatalf("parse device keys: %v", err)
	}
	return d
}
