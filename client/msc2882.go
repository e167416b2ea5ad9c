package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"

	"vouch/api"
	"vouch/keys"
)

// MSC2882 ("Tempered Transitive Trust"): a public user-signing key (PUSK)
// whose signatures over other users' master keys and PUSKs everyone may
// see. Bootstrap does not create one; these methods add it on request.

// msc2882Path is the unstable prefix of MSC2882's endpoints, below
// /_matrix/client.
const msc2882Path = "/unstable/msc2882"

// PublicUserSigningKeyObject returns userID's public user-signing key
// object for pusk (usage "public-user"), signed by master, as
// /keys/device_signing/upload expects it.
func PublicUserSigningKeyObject(userID string, pusk, master ed25519.PrivateKey) ([]byte, error) {
	if len(pusk) != ed25519.PrivateKeySize || len(master) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: need the public user-signing and the master private key", ErrMissingPrivateKey)
	}
	obj, err := keyObject(userID, keys.UsagePublicUserSigning, PublicKey(pusk))
	if err != nil {
		return nil, err
	}
	return signOnly(obj, userID, "ed25519:"+PublicKey(master), master)
}

// UploadPublicUserSigningKey generates a public user-signing key, signs it
// with master (the caller's current master private key) and uploads it
// for userID, replacing any previous one (whose public signatures the
// server then drops). It returns the new private key, which the caller
// must keep (never log it).
func (c *Client) UploadPublicUserSigningKey(ctx context.Context, userID string, master ed25519.PrivateKey, rand io.Reader) (ed25519.PrivateKey, error) {
	_, pusk, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("client: generating public user-signing key: %w", err)
	}
	obj, err := PublicUserSigningKeyObject(userID, pusk, master)
	if err != nil {
		return nil, err
	}
	if err := c.UploadDeviceSigningKeys(ctx, DeviceSigningUpload{PublicUserSigningKey: obj}, nil); err != nil {
		return nil, err
	}
	return pusk, nil
}

// UploadPublicPrivateSignatures posts signatures to MSC2882's upload
// endpoint, public and private apart. A refused signature is returned as
// an error wrapping ErrUploadFailed and the server's *Error.
func (c *Client) UploadPublicPrivateSignatures(ctx context.Context, req api.PublicPrivateSignaturesUpload) error {
	var out api.SignaturesUploadResponse
	r := request{method: "POST", path: msc2882Path + "/keys/signatures/upload", raw: true, body: req, auth: true, idempotent: true}
	if err := c.do(ctx, r, &out); err != nil {
		return err
	}
	return firstFailure(out)
}

// PublishPublicSignature signs another user's master key or public
// user-signing key, as returned by /keys/query (key), with the caller's
// public user-signing key pusk and publishes the signature through
// MSC2882's endpoint, in "public". signerUserID is the caller.
func (c *Client) PublishPublicSignature(ctx context.Context, signerUserID string, pusk ed25519.PrivateKey, key json.RawMessage) error {
	if len(pusk) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: public user-signing key", ErrMissingPrivateKey)
	}
	k, err := keys.ParseCrossSigningKey(key)
	if err != nil {
		return err
	}
	_, pub, err := k.PublicKey()
	if err != nil {
		return err
	}
	signed, err := signOnly(key, signerUserID, "ed25519:"+PublicKey(pusk), pusk)
	if err != nil {
		return err
	}
	return c.UploadPublicPrivateSignatures(ctx, api.PublicPrivateSignaturesUpload{
		Public: api.SignaturesUpload{k.UserID: {pub: signed}},
	})
}

// DeleteSignature deletes the caller's signature made by their key
// signerKeyID ("ed25519:<public key or device ID>") over targetUser's key
// targetKey (public key or device ID), through MSC2882's delete endpoint.
func (c *Client) DeleteSignature(ctx context.Context, targetUser, targetKey, signerKeyID string) error {
	var out api.SignaturesUploadResponse
	body := api.SignaturesDelete{targetUser: {targetKey: {signerKeyID}}}
	r := request{method: "POST", path: msc2882Path + "/keys/signatures/delete", raw: true, body: body, auth: true, idempotent: true}
	if err := c.do(ctx, r, &out); err != nil {
		return err
	}
	return firstFailure(out)
}

// firstFailure turns the first failure of an answer into an error.
func firstFailure(out api.SignaturesUploadResponse) error {
	for user, byKey := range out.Failures {
		for key, e := range byKey {
			if e == nil {
				e = &Error{Code: "M_UNKNOWN", Msg: "refused"}
			}
			return fmt.Errorf("%w: signature over %s %s: %w", ErrUploadFailed, user, key, e)
		}
	}
	return nil
}
