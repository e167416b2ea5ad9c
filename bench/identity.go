package bench

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"vouch/canonicaljson"
	"vouch/signedjson"
)

// key is an ed25519 key pair and its unpadded base64 public key.
type key struct {
	priv ed25519.PrivateKey
	b64  string
}

func newKey(r io.Reader) (key, error) {
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return key{}, fmt.Errorf("bench: generating ed25519 key: %w", err)
	}
	return key{priv: priv, b64: signedjson.EncodeBase64(pub)}, nil
}

// keyID is "ed25519:<public key>", the ID of a cross-signing key.
func (k key) keyID() string { return "ed25519:" + k.b64 }

// device is one logged-in device of a bench user.
type device struct {
	id    string
	token string
	sign  key    // the device's ed25519 identity key
	curve string // the device's curve25519 identity key (random bytes)
}

// user is one bench user with its cross-signing keys and devices.
type user struct {
	id       string // "@localpart:server"
	local    string
	password string
	master   key
	ssk      key
	usk      key
	devices  []*device
}

// newUser creates a user's cross-signing keys; devices come later, once the
// server has assigned their IDs.
func newUser(local, serverName, password string) (*user, error) {
	u := &user{id: "@" + local + ":" + serverName, local: local, password: password}
	for _, k := range []*key{&u.master, &u.ssk, &u.usk} {
		var err error
		if *k, err = newKey(rand.Reader); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// addDevice records a device the server created and gives it identity keys.
func (u *user) addDevice(id, token string) (*device, error) {
	k, err := newKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var curve [32]byte
	if _, err := rand.Read(curve[:]); err != nil {
		return nil, fmt.Errorf("bench: generating curve25519 key: %w", err)
	}
	d := &device{id: id, token: token, sign: k, curve: signedjson.EncodeBase64(curve[:])}
	u.devices = append(u.devices, d)
	return d, nil
}

// deviceKeys is the device-keys object of d, self-signed.
func (u *user) deviceKeys(d *device) ([]byte, error) {
	obj, err := canonicaljson.Marshal(map[string]any{
		"user_id":    u.id,
		"device_id":  d.id,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys": map[string]string{
			"ed25519:" + d.id:    d.sign.b64,
			"curve25519:" + d.id: d.curve,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("bench: device keys of %s %s: %w", u.id, d.id, err)
	}
	return signedjson.Sign(obj, u.id, "ed25519:"+d.id, d.sign.priv)
}

// crossSigningKey is the unsigned key object of k for one usage.
func (u *user) crossSigningKey(k key, usage string) ([]byte, error) {
	obj, err := canonicaljson.Marshal(map[string]any{
		"user_id": u.id,
		"usage":   []string{usage},
		"keys":    map[string]string{k.keyID(): k.b64},
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %s key of %s: %w", usage, u.id, err)
	}
	return obj, nil
}

// masterKey is u's master key object without signatures.
func (u *user) masterKey() ([]byte, error) { return u.crossSigningKey(u.master, "master") }

// deviceKeysUploadBody is the /keys/upload body publishing d's identity keys.
func (u *user) deviceKeysUploadBody(d *device) ([]byte, error) {
	dk, err := u.deviceKeys(d)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]json.RawMessage{"device_keys": dk})
}

// crossSigningUploadBody is the /keys/device_signing/upload body with u's
// master key and its self-signing and user-signing keys signed by it.
func (u *user) crossSigningUploadBody() ([]byte, error) {
	master, err := u.masterKey()
	if err != nil {
		return nil, err
	}
	body := map[string]json.RawMessage{"master_key": master}
	for name, sub := range map[string]struct {
		k     key
		usage string
	}{"self_signing_key": {u.ssk, "self_signing"}, "user_signing_key": {u.usk, "user_signing"}} {
		obj, err := u.crossSigningKey(sub.k, sub.usage)
		if err != nil {
			return nil, err
		}
		if body[name], err = signedjson.Sign(obj, u.id, u.master.keyID(), u.master.priv); err != nil {
			return nil, fmt.Errorf("bench: signing %s of %s: %w", sub.usage, u.id, err)
		}
	}
	return json.Marshal(body)
}

// deviceCrossSignaturesBody is the /keys/signatures/upload body with u's
// self-signing key's signature over each of u's devices.
func (u *user) deviceCrossSignaturesBody() ([]byte, error) {
	objs := map[string]json.RawMessage{}
	for _, d := range u.devices {
		dk, err := u.deviceKeys(d)
		if err != nil {
			return nil, err
		}
		if objs[d.id], err = signedjson.Sign(dk, u.id, u.ssk.keyID(), u.ssk.priv); err != nil {
			return nil, fmt.Errorf("bench: cross-signing %s %s: %w", u.id, d.id, err)
		}
	}
	return json.Marshal(map[string]map[string]json.RawMessage{u.id: objs})
}

// signOtherMaster is other's master key signed by u's user-signing key.
func (u *user) signOtherMaster(other *user) (json.RawMessage, error) {
	master, err := other.masterKey()
	if err != nil {
		return nil, err
	}
	signed, err := signedjson.Sign(master, u.id, u.usk.keyID(), u.usk.priv)
	if err != nil {
		return nil, fmt.Errorf("bench: %s signing %s: %w", u.id, other.id, err)
	}
	return signed, nil
}

// signOtherMasterBody is the /keys/signatures/upload body with u's
// user-signing key's signature over other's master key.
func (u *user) signOtherMasterBody(other *user) ([]byte, error) {
	signed, err := u.signOtherMaster(other)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]map[string]json.RawMessage{other.id: {other.master.b64: signed}})
}

// deviceSignsMasterBody is the /keys/signatures/upload body with d's
// signature over u's own master key (a public signature: everyone who
// watches u sees it change).
func (u *user) deviceSignsMasterBody(d *device) ([]byte, error) {
	master, err := u.masterKey()
	if err != nil {
		return nil, err
	}
	signed, err := signedjson.Sign(master, u.id, "ed25519:"+d.id, d.sign.priv)
	if err != nil {
		return nil, fmt.Errorf("bench: %s %s signing its master key: %w", u.id, d.id, err)
	}
	return json.Marshal(map[string]map[string]json.RawMessage{u.id: {u.master.b64: signed}})
}

// keysQueryBody is a /keys/query body asking for all devices of userIDs.
func keysQueryBody(userIDs []string) ([]byte, error) {
	dk := make(map[string][]string, len(userIDs))
	for _, id := range userIDs {
		dk[id] = []string{}
	}
	return json.Marshal(map[string]any{"device_keys": dk})
}

// OTKsPerUpload is the number of one-time keys in each keys-upload request.
const OTKsPerUpload = 5

// otkRecordSize is the size of one precomputed one-time key: a 32-byte
// curve25519 public key followed by the 64-byte ed25519 signature over it.
const otkRecordSize = 32 + ed25519.SignatureSize

// otkPool holds one worker's precomputed one-time keys, all signed by one
// device, packed as otkRecordSize records so that a large pool costs little
// memory and no pointers.
type otkPool struct {
	userQ   []byte // JSON-quoted user ID
	keyIDQ  []byte // JSON-quoted "ed25519:<device ID>"
	worker  int
	base    int // number of the pool's first upload
	records []byte
}

// uploads returns how many keys-upload requests the pool can fill.
func (p *otkPool) uploads() int { return len(p.records) / (otkRecordSize * OTKsPerUpload) }

// otkSigningBytes is the canonical JSON of the signed part of a
// signed_curve25519 one-time key: {"key":"<base64>"}.
func otkSigningBytes(dst []byte, pubB64 string) []byte {
	dst = append(dst, `{"key":"`...)
	dst = append(dst, pubB64...)
	return append(dst, `"}`...)
}

// newOTKPool generates and signs n uploads' worth of one-time keys for d,
// numbered from upload base on (so that a later pool of the same worker
// gets key IDs of its own).
// The curve25519 public keys are random bytes: the server stores them
// without using them, and any 32 bytes are a valid X25519 public key.
func newOTKPool(u *user, d *device, worker, base, n int) (*otkPool, error) {
	if n < 0 || base < 0 {
		return nil, fmt.Errorf("%w: negative one-time key pool size %d", ErrConfig, n)
	}
	userQ, err := json.Marshal(u.id)
	if err != nil {
		return nil, fmt.Errorf("bench: quoting %q: %w", u.id, err)
	}
	keyIDQ, err := json.Marshal("ed25519:" + d.id)
	if err != nil {
		return nil, fmt.Errorf("bench: quoting %q: %w", d.id, err)
	}
	p := &otkPool{userQ: userQ, keyIDQ: keyIDQ, worker: worker, base: base, records: make([]byte, n*OTKsPerUpload*otkRecordSize)}
	if _, err := io.ReadFull(rand.Reader, p.records); err != nil {
		return nil, fmt.Errorf("bench: generating one-time keys: %w", err)
	}
	var msg []byte
	for off := 0; off < len(p.records); off += otkRecordSize {
		rec := p.records[off : off+otkRecordSize]
		msg = otkSigningBytes(msg[:0], signedjson.EncodeBase64(rec[:32]))
		copy(rec[32:], ed25519.Sign(d.sign.priv, msg))
	}
	return p, nil
}

// appendKeysUploadBody appends to dst the /keys/upload body carrying upload
// number i of the pool: OTKsPerUpload signed_curve25519 keys whose IDs are
// unique per worker and upload. It returns dst unchanged and false when the
// pool has no upload i.
func (p *otkPool) appendKeysUploadBody(dst []byte, i int) ([]byte, bool) {
	if i < 0 || i >= p.uploads() {
		return dst, false
	}
	dst = append(dst, `{"one_time_keys":{`...)
	for k := range OTKsPerUpload {
		n := i*OTKsPerUpload + k
		rec := p.records[n*otkRecordSize : (n+1)*otkRecordSize]
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"signed_curve25519:W`...)
		dst = strconv.AppendInt(dst, int64(p.worker), 10)
		dst = append(dst, 'K')
		dst = strconv.AppendInt(dst, int64(p.base*OTKsPerUpload+n), 10)
		dst = append(dst, `":{"key":"`...)
		dst = appendBase64(dst, rec[:32])
		dst = append(dst, `","signatures":{`...)
		dst = append(dst, p.userQ...)
		dst = append(dst, `:{`...)
		dst = append(dst, p.keyIDQ...)
		dst = append(dst, `:"`...)
		dst = appendBase64(dst, rec[32:])
		dst = append(dst, `"}}}`...)
	}
	return append(dst, `}}`...), true
}

// appendBase64 appends the unpadded standard base64 encoding of b.
func appendBase64(dst, b []byte) []byte {
	return base64.RawStdEncoding.AppendEncode(dst, b)
}
