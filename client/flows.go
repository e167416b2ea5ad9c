package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"

	"vouch/client/device"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
)

// Progress is told about each step of a long flow: step n of total, in words.
type Progress func(step, total int, what string)

func (p Progress) report(step, total int, what string) {
	if p != nil {
		p(step, total, what)
	}
}

// KeySaver persists secrets before the matching public keys are published,
// so that a crash never leaves published keys whose private half is lost.
type KeySaver interface {
	// SaveOneTimeKeys stores new one-time/fallback key secrets together with
	// the device's advanced key counter.
	SaveOneTimeKeys(ctx context.Context, dev device.Secrets, ks []device.OneTimeKey) error
	// SaveCrossSigningKeys stores cross-signing private keys.
	SaveCrossSigningKeys(ctx context.Context, k *CrossSigningKeys) error
}

// UploadDeviceKeys publishes the device's keys and tops up its one-time
// and fallback keys given the server's counts (nil: unknown, treat as
// empty). It returns the server's new one-time key counts.
func UploadDeviceKeys(ctx context.Context, c *Client, dev *device.Device, rand io.Reader, save KeySaver, withDeviceKeys bool, counts map[string]int, unusedFallback []string, fallbackKnown bool) (map[string]int, error) {
	if c == nil || dev == nil || rand == nil {
		return nil, fmt.Errorf("%w: UploadDeviceKeys needs a client, a device and a random source", ErrNilArgument)
	}
	n, needFallback := device.TopUp(counts, unusedFallback, fallbackKnown)
	otks, err := dev.GenerateOneTimeKeys(rand, n)
	if err != nil {
		return nil, err
	}
	var fbs []device.OneTimeKey
	if needFallback {
		fb, err := dev.GenerateFallbackKey(rand)
		if err != nil {
			return nil, err
		}
		fbs = append(fbs, fb)
	}
	if !withDeviceKeys && len(otks) == 0 && len(fbs) == 0 {
		return counts, nil
	}
	if save != nil && len(otks)+len(fbs) > 0 {
		if err := save.SaveOneTimeKeys(ctx, dev.Secrets(), append(otks, fbs...)); err != nil {
			return nil, err
		}
	}
	req := KeysUploadRequest{OneTimeKeys: device.UploadRequest(otks), FallbackKeys: device.UploadRequest(fbs)}
	if withDeviceKeys {
		dk, err := dev.DeviceKeys()
		if err != nil {
			return nil, err
		}
		req.DeviceKeys = dk
	}
	return c.UploadKeys(ctx, req)
}

// BootstrapOptions configure Bootstrap and ResetIdentity.
type BootstrapOptions struct {
	// Auth answers user-interactive authentication (needed when replacing
	// an identity).
	Auth AuthFunc
	// Rand is the source of key material (crypto/rand.Reader).
	Rand io.Reader
	// Save persists secrets before they are published. Required.
	Save KeySaver
	// Progress, when set, is told about each step.
	Progress Progress
}

// BootstrapResult is what Bootstrap published.
type BootstrapResult struct {
	Keys *CrossSigningKeys
	// Master is the new master signing key (unpadded base64).
	Master string
	// OneTimeKeyCounts are the server's counts after the upload.
	OneTimeKeyCounts map[string]int
}

// Bootstrap sets up cross-signing for the device's user: it uploads the
// device keys with one-time and fallback keys, creates the master,
// self-signing and user-signing keys, uploads them (user-interactive auth
// when the server asks), signs this device with the self-signing key and
// the master key with this device. It refuses (ErrIdentityExists) when an
// identity is already published; ResetIdentity replaces one.
func Bootstrap(ctx context.Context, c *Client, dev *device.Device, o BootstrapOptions) (*BootstrapResult, error) {
	return bootstrap(ctx, c, dev, o, false)
}

// ResetIdentity replaces the user's cross-signing identity with a new one.
// Everyone who verified the user must verify again, and every device must
// be signed again (this one is).
func ResetIdentity(ctx context.Context, c *Client, dev *device.Device, o BootstrapOptions) (*BootstrapResult, error) {
	return bootstrap(ctx, c, dev, o, true)
}

func bootstrap(ctx context.Context, c *Client, dev *device.Device, o BootstrapOptions, replace bool) (*BootstrapResult, error) {
	if c == nil || dev == nil || o.Save == nil || o.Rand == nil {
		return nil, fmt.Errorf("%w: bootstrap needs a client, a device, Save and Rand", ErrNilArgument)
	}
	const total = 5
	userID := dev.UserID()
	o.Progress.report(1, total, "checking published keys")
	resp, err := c.QueryKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	if _, exists := resp.MasterKeys[userID]; exists && !replace {
		return nil, fmt.Errorf("%w for %s", ErrIdentityExists, userID)
	}
	_, published := resp.DeviceKeys[userID][dev.DeviceID()]
	o.Progress.report(2, total, "uploading device keys")
	var counts map[string]int
	if published {
		// An empty upload returns the counts, so that only what is missing
		// is topped up.
		if counts, err = c.UploadKeys(ctx, KeysUploadRequest{}); err != nil {
			return nil, fmt.Errorf("counting one-time keys: %w", err)
		}
		if counts == nil {
			counts = map[string]int{}
		}
	}
	counts, err = UploadDeviceKeys(ctx, c, dev, o.Rand, o.Save, !published, counts, nil, !published)
	if err != nil {
		return nil, fmt.Errorf("uploading device keys: %w", err)
	}
	o.Progress.report(3, total, "creating cross-signing keys")
	ks, err := GenerateCrossSigningKeys(o.Rand)
	if err != nil {
		return nil, err
	}
	master, ssk, usk, err := ks.Objects(userID)
	if err != nil {
		return nil, err
	}
	if err := o.Save.SaveCrossSigningKeys(ctx, ks); err != nil {
		return nil, err
	}
	o.Progress.report(4, total, "uploading cross-signing keys")
	up := DeviceSigningUpload{MasterKey: master, SelfSigningKey: ssk, UserSigningKey: usk}
	if err := c.UploadDeviceSigningKeys(ctx, up, o.Auth); err != nil {
		return nil, fmt.Errorf("uploading cross-signing keys: %w", err)
	}
	o.Progress.report(5, total, "signing this device")
	if err := signOwnDevice(ctx, c, dev, ks, master); err != nil {
		return nil, err
	}
	return &BootstrapResult{Keys: ks, Master: PublicKey(ks.Master), OneTimeKeyCounts: counts}, nil
}

// signOwnDevice uploads the self-signing key's signature over this device
// and this device's signature over the master key (seed 000: a master key
// MAY be signed by a device, to help others migrate).
func signOwnDevice(ctx context.Context, c *Client, dev *device.Device, ks *CrossSigningKeys, master []byte) error {
	dk, err := dev.DeviceKeys()
	if err != nil {
		return err
	}
	sskPub := PublicKey(ks.SelfSigning)
	devSig, err := signOnly(dk, dev.UserID(), "ed25519:"+sskPub, ks.SelfSigning)
	if err != nil {
		return err
	}
	mSig, err := dev.Sign(master)
	if err != nil {
		return err
	}
	up := SignaturesUpload{dev.UserID(): {dev.DeviceID(): devSig, PublicKey(ks.Master): mSig}}
	if err := c.UploadSignatures(ctx, up); err != nil {
		return fmt.Errorf("signing this device: %w", err)
	}
	return nil
}

// sameKey reports whether a published key is the public half of priv.
func sameKey(published *keys.CrossSigningKey, priv ed25519.PrivateKey) bool {
	if published == nil || priv == nil {
		return false
	}
	_, pub, err := published.PublicKey()
	return err == nil && pub == PublicKey(priv)
}

// VerifyResult is the outcome of VerifyUser or VerifyOwnDevice.
type VerifyResult struct {
	// Master is the verified master key (VerifyUser).
	Master string
	// Decision is trust's verdict on the keys after the signature was added.
	Decision trust.Decision
}

// VerifyUser verifies userID after the caller compared fingerprint with
// the user out of band: the fingerprint must be the user's current master
// signing key (ErrFingerprintMismatch otherwise); then it is signed with the
// caller's user-signing key and the signature uploaded. The result carries
// trust's decision on the signed key.
func VerifyUser(ctx context.Context, c *Client, viewer TrustInputs, own *CrossSigningKeys, userID, fingerprint string) (*VerifyResult, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: client", ErrNilArgument)
	}
	if _, err := keys.ParseUserID(userID); err != nil {
		return nil, err
	}
	if userID == viewer.UserID {
		return nil, fmt.Errorf("client: %s is you; use VerifyOwnDevice for your devices", userID)
	}
	resp, their, err := queryIdentity(ctx, c, viewer.UserID, userID)
	if err != nil {
		return nil, err
	}
	if err := their.Master.Validate(userID, keys.UsageMaster); err != nil {
		return nil, fmt.Errorf("master key of %s: %w", userID, err)
	}
	_, masterPub, _ := their.Master.PublicKey()
	if !FingerprintMatches(fingerprint, masterPub) {
		return nil, fmt.Errorf("%w: %s's master signing key is %s", ErrFingerprintMismatch, userID, FormatFingerprint(masterPub))
	}
	return signMaster(ctx, c, viewer, own, resp, their, masterPub)
}

// queryIdentity fetches the keys of viewer and userID and returns userID's,
// refusing (ErrNoIdentity) a user with no master key. It serves VerifyUser
// and MigrateUser.
func queryIdentity(ctx context.Context, c *Client, viewer, userID string) (*KeysQueryResponse, *trust.UserKeys, error) {
	resp, err := c.QueryKeys(ctx, viewer, userID)
	if err != nil {
		return nil, nil, err
	}
	their, _ := ParseUserKeys(resp, userID)
	if their.Master == nil {
		return nil, nil, fmt.Errorf("%w: %s has published no master signing key", ErrNoIdentity, userID)
	}
	return resp, their, nil
}

// signMaster signs their master key with own's user-signing key, uploads
// it and asks trust for the verdict.
func signMaster(ctx context.Context, c *Client, viewer TrustInputs, own *CrossSigningKeys, resp *KeysQueryResponse, their *trust.UserKeys, masterPub string) (*VerifyResult, error) {
	ownKeys, _ := ParseUserKeys(resp, viewer.UserID)
	if own == nil || own.UserSigning == nil {
		return nil, fmt.Errorf("%w: user-signing key (run vouch bootstrap on this device, or use the device that did)", ErrMissingPrivateKey)
	}
	if !sameKey(ownKeys.UserSigning, own.UserSigning) {
		return nil, fmt.Errorf("%w: your published user-signing key is not the one this device holds", ErrMissingPrivateKey)
	}
	usk := PublicKey(own.UserSigning)
	signed, err := signOnly(their.Master.Raw, viewer.UserID, "ed25519:"+usk, own.UserSigning)
	if err != nil {
		return nil, err
	}
	if err := c.UploadSignatures(ctx, SignaturesUpload{their.UserID: {masterPub: signed}}); err != nil {
		return nil, err
	}
	// Let trust judge the key with our signature on it.
	m, err := keys.ParseCrossSigningKey(signed)
	if err != nil {
		return nil, err
	}
	after := *their
	after.Master = m
	d := trust.Viewer{UserID: viewer.UserID, TrustedMaster: viewer.OwnMaster, Own: ownKeys}.User(&after)
	return &VerifyResult{Master: masterPub, Decision: d}, nil
}

// MigrateUser trusts userID's master key because a device the viewer
// verified the old way signed it, when trust.MigrateFromDeviceVerification
// allows it (first master key seen only), and signs it with the user-signing
// key like VerifyUser.
func MigrateUser(ctx context.Context, c *Client, viewer TrustInputs, own *CrossSigningKeys, userID string) (*VerifyResult, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: client", ErrNilArgument)
	}
	resp, their, err := queryIdentity(ctx, c, viewer.UserID, userID)
	if err != nil {
		return nil, err
	}
	_, masterPub, _ := their.Master.PublicKey()
	pin := viewer.Pins[userID]
	if pin.UserID == "" {
		pin.UserID = userID
	}
	pin, _ = pin.Observe(userID, masterPub)
	d := trust.MigrateFromDeviceVerification(pin, their, viewer.VerifiedDevices[userID])
	if !d.Trusted {
		return nil, d.Cause
	}
	return signMaster(ctx, c, viewer, own, resp, their, masterPub)
}

// VerifyOwnDevice signs one of the caller's own devices with the
// self-signing key after checking that the device's keys are well formed
// and self-signed, and returns trust's verdict on it. Compare the device's
// ed25519 key with the one the device itself shows before calling this when
// the device is not known to be yours.
func VerifyOwnDevice(ctx context.Context, c *Client, viewer TrustInputs, own *CrossSigningKeys, deviceID string) (*VerifyResult, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: client", ErrNilArgument)
	}
	if err := keys.ValidDeviceID(deviceID); err != nil {
		return nil, err
	}
	resp, err := c.QueryKeys(ctx, viewer.UserID)
	if err != nil {
		return nil, err
	}
	u, _ := ParseUserKeys(resp, viewer.UserID)
	d := u.Devices[deviceID]
	if d == nil {
		return nil, fmt.Errorf("%w: %s has no device %s with valid keys", ErrUnknownDevice, viewer.UserID, deviceID)
	}
	if err := d.Validate(viewer.UserID, deviceID); err != nil {
		return nil, fmt.Errorf("device %s: %w", deviceID, err)
	}
	if own == nil || own.SelfSigning == nil {
		return nil, fmt.Errorf("%w: self-signing key (run vouch verify device on the device that ran vouch bootstrap)", ErrMissingPrivateKey)
	}
	if !sameKey(u.SelfSigning, own.SelfSigning) {
		return nil, fmt.Errorf("%w: your published self-signing key is not the one this device holds", ErrMissingPrivateKey)
	}
	ssk := PublicKey(own.SelfSigning)
	signed, err := signOnly(d.Raw, viewer.UserID, "ed25519:"+ssk, own.SelfSigning)
	if err != nil {
		return nil, err
	}
	if err := c.UploadSignatures(ctx, SignaturesUpload{viewer.UserID: {deviceID: signed}}); err != nil {
		return nil, err
	}
	// Judge the device with its self-signature and our new signature.
	both, err := signedjson.Sign(d.Raw, viewer.UserID, "ed25519:"+ssk, own.SelfSigning)
	if err != nil {
		return nil, err
	}
	nd, err := keys.ParseDeviceKeys(both)
	if err != nil {
		return nil, err
	}
	u.Devices[deviceID] = nd
	dec := trust.Viewer{UserID: viewer.UserID, TrustedMaster: viewer.OwnMaster, Own: u}.OwnDevice(deviceID)
	return &VerifyResult{Decision: dec}, nil
}

// ResignUsers signs, with a new user-signing key, the master keys of users
// the caller had verified (user → pinned master key) that still publish that
// key: after an identity reset, verifications carry over only for keys that
// did not change. It returns the users signed.
func ResignUsers(ctx context.Context, c *Client, viewer TrustInputs, own *CrossSigningKeys, verified map[string]string) ([]string, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: client", ErrNilArgument)
	}
	if len(verified) == 0 {
		return nil, nil
	}
	if own == nil || own.UserSigning == nil {
		return nil, fmt.Errorf("%w: user-signing key", ErrMissingPrivateKey)
	}
	users := make([]string, 0, len(verified))
	for u := range verified {
		users = append(users, u)
	}
	resp, err := c.QueryKeys(ctx, users...)
	if err != nil {
		return nil, err
	}
	up := SignaturesUpload{}
	var done []string
	for _, u := range users {
		their, _ := ParseUserKeys(resp, u)
		if their.Master == nil || their.Master.Validate(u, keys.UsageMaster) != nil {
			continue
		}
		_, pub, _ := their.Master.PublicKey()
		if pub != verified[u] {
			continue
		}
		signed, err := signOnly(their.Master.Raw, viewer.UserID, "ed25519:"+PublicKey(own.UserSigning), own.UserSigning)
		if err != nil {
			return nil, err
		}
		up[u] = map[string]json.RawMessage{pub: signed}
		done = append(done, u)
	}
	if len(up) == 0 {
		return nil, nil
	}
	if err := c.UploadSignatures(ctx, up); err != nil {
		return nil, err
	}
	return done, nil
}
