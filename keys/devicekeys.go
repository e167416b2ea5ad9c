package keys

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"vouch/signedjson"
)

// DeviceKeys is a device's identity keys as published in /keys/upload and
// /keys/query.
type DeviceKeys struct {
	UserID     string                `json:"user_id"`
	DeviceID   string                `json:"device_id"`
	Algorithms []string              `json:"algorithms"`
	Keys       map[string]string     `json:"keys"`
	Signatures signedjson.Signatures `json:"signatures,omitempty"`
	// Raw is the object exactly as parsed; signatures are checked over it.
	Raw []byte `json:"-"`
}

// ParseDeviceKeys decodes a device-keys object and checks its shape: user_id
// and device_id present and valid, algorithms a list of strings, keys a map
// of "algorithm:device_id" to unpadded base64 strings with an ed25519 key.
// It does not check signatures; see [DeviceKeys.Validate].
func ParseDeviceKeys(raw []byte) (*DeviceKeys, error) {
	var d DeviceKeys
	if err := strictUnmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%w: device keys: %v", ErrMalformedKey, err)
	}
	d.Raw = raw
	if _, err := ParseUserID(d.UserID); err != nil {
		return nil, fmt.Errorf("%w: device keys: %w", ErrMalformedKey, err)
	}
	if err := ValidDeviceID(d.DeviceID); err != nil {
		return nil, fmt.Errorf("%w: device keys: %w", ErrMalformedKey, err)
	}
	if d.Algorithms == nil {
		return nil, fmt.Errorf("%w: device keys: missing algorithms", ErrMalformedKey)
	}
	if len(d.Keys) == 0 {
		return nil, fmt.Errorf("%w: device keys: missing keys", ErrMalformedKey)
	}
	for id := range d.Keys {
		_, kid, ok := KeyID(id).Split()
		if !ok {
			return nil, fmt.Errorf("%w: device keys: key ID %q is not algorithm:id", ErrMalformedKey, id)
		}
		if kid != d.DeviceID {
			return nil, fmt.Errorf("%w: device keys: key ID %q is not for device %q", ErrMalformedKey, id, d.DeviceID)
		}
	}
	if _, err := d.Ed25519(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Ed25519 returns the device's ed25519 public key, "ed25519:<device_id>".
func (d *DeviceKeys) Ed25519() (ed25519.PublicKey, error) {
	b64, ok := d.Keys[string(Ed25519KeyID(d.DeviceID))]
	if !ok {
		return nil, fmt.Errorf("%w: device %s has no ed25519 key", ErrMalformedKey, d.DeviceID)
	}
	return decodePublicKey(b64)
}

// Curve25519 returns the device's curve25519 identity key in unpadded base64,
// or "" when it has none.
func (d *DeviceKeys) Curve25519() string {
	return d.Keys[string(NewKeyID("curve25519", d.DeviceID))]
}

// Validate checks that the keys belong to userID's device deviceID and are
// self-signed: signed by their own ed25519 key under the user's ID.
func (d *DeviceKeys) Validate(userID, deviceID string) error {
	if d.UserID != userID {
		return fmt.Errorf("%w: device keys for %q given as %q", ErrUserMismatch, d.UserID, userID)
	}
	if d.DeviceID != deviceID {
		return fmt.Errorf("%w: device keys for %q given as %q", ErrDeviceMismatch, d.DeviceID, deviceID)
	}
	pub, err := d.Ed25519()
	if err != nil {
		return err
	}
	if err := signedjson.Verify(d.Raw, d.UserID, string(Ed25519KeyID(d.DeviceID)), pub); err != nil {
		return fmt.Errorf("%w: self-signature of device %s: %w", ErrBadSignature, d.DeviceID, err)
	}
	return nil
}

// decodePublicKey decodes an unpadded base64 ed25519 public key and checks
// that it is 32 bytes, a canonical encoding of a curve point and not of
// small order, so that it is safe to pass to ed25519.Verify.
func decodePublicKey(b64 string) (ed25519.PublicKey, error) {
	b, err := signedjson.DecodeBase64(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	if err := checkPublicKey(b); err != nil {
		return nil, err
	}
	return ed25519.PublicKey(b), nil
}

// DecodePublicKey decodes an unpadded base64 ed25519 public key. It refuses,
// with an error wrapping [ErrInvalidKey], a key that is not 32 bytes, not a
// point on the curve or not canonically encoded, and a point of small order
// (the error then also wraps [ErrWeakKey]): under such a key Go's
// ed25519.Verify accepts forged signatures for many or all messages.
func DecodePublicKey(b64 string) (ed25519.PublicKey, error) { return decodePublicKey(b64) }

// strictUnmarshal decodes the JSON object raw into the struct *v after
// canonical JSON has vetted it (so duplicate keys, floats and out-of-range
// integers are refused the same way everywhere).
//
// Members are matched to fields by their exact json tag name. encoding/json
// alone would match them without regard to case, so {"user_id":…,
// "USER_ID":…} would pass the duplicate check and the second member would
// silently win, while the signed bytes hold both and other implementations
// read the first. A member whose name equals a field name only when case
// is ignored is therefore refused, since some parsers (every Go one using
// encoding/json) would take it for that field.
func strictUnmarshal(raw []byte, v any) error {
	if err := checkCanonicalizable(raw); err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return err
	}
	if members == nil {
		return errors.New("not a JSON object")
	}
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		for m := range members {
			if m != name && strings.EqualFold(m, name) {
				return fmt.Errorf("member %q is not %q: member names are case-sensitive", m, name)
			}
		}
		if rawField, ok := members[name]; ok {
			if err := json.Unmarshal(rawField, rv.Field(i).Addr().Interface()); err != nil {
				return fmt.Errorf("member %q: %w", name, err)
			}
		}
	}
	return nil
}
