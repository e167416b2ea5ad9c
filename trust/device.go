package trust

import (
	"crypto/ed25519"
	"fmt"

	"vouch/keys"
	"vouch/signedjson"
)

func verifyDeviceSignedBy(d *keys.DeviceKeys, entity string, pub ed25519.PublicKey, keyID string) error {
	if err := signedjson.Verify(d.Raw, entity, keyID, pub); err != nil {
		return fmt.Errorf("%w: device %s of %s signed by %s: %w", ErrBrokenLink, d.DeviceID, d.UserID, keyID, err)
	}
	return nil
}
