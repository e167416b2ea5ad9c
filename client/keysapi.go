package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"vouch/api"
)

// UploadKeys uploads device keys, one-time keys and fallback keys (POST
// /keys/upload) and returns the server's one-time key counts.
func (c *Client) UploadKeys(ctx context.Context, req KeysUploadRequest) (map[string]int, error) {
	var out api.KeysUploadResponse
	// Re-uploading the same keys is harmless, so the request is idempotent.
	if err := c.do(ctx, request{method: "POST", path: "/keys/upload", body: req, auth: true, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return out.OneTimeKeyCounts, nil
}

// QueryKeys fetches users' device and cross-signing keys (POST /keys/query).
// Every user's devices are requested.
func (c *Client) QueryKeys(ctx context.Context, userIDs ...string) (*KeysQueryResponse, error) {
	req := api.KeysQueryRequest{DeviceKeys: make(map[string][]string, len(userIDs))}
	for _, u := range userIDs {
		req.DeviceKeys[u] = []string{}
	}
	var out KeysQueryResponse
	if err := c.do(ctx, request{method: "POST", path: "/keys/query", body: req, auth: true, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClaimKeys claims one-time keys (POST /keys/claim): user → device → algorithm.
func (c *Client) ClaimKeys(ctx context.Context, want map[string]map[string]string) (*KeysClaimResponse, error) {
	var out KeysClaimResponse
	if err := c.do(ctx, request{method: "POST", path: "/keys/claim", body: api.KeysClaimRequest{OneTimeKeys: want}, auth: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// KeyChanges lists users whose keys changed between two sync tokens (GET
// /keys/changes).
func (c *Client) KeyChanges(ctx context.Context, from, to string) (*KeyChanges, error) {
	var out KeyChanges
	r := request{method: "GET", path: "/keys/changes", query: url.Values{"from": {from}, "to": {to}}, auth: true, idempotent: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadDeviceSigningKeys uploads cross-signing keys (POST
// /keys/device_signing/upload), running user-interactive authentication
// through auth when the server asks for it.
func (c *Client) UploadDeviceSigningKeys(ctx context.Context, req DeviceSigningUpload, auth AuthFunc) error {
	r := request{method: "POST", path: "/keys/device_signing/upload", auth: true, idempotent: true}
	return c.doUIA(ctx, r, func(a *AuthDict) any { req.Auth = a; return req }, auth, nil)
}

// UploadSignatures uploads signatures (POST /keys/signatures/upload). A
// signature the server refuses is returned as an error wrapping
// ErrUploadFailed and the *Error the server gave.
func (c *Client) UploadSignatures(ctx context.Context, req SignaturesUpload) error {
	var out api.SignaturesUploadResponse
	if err := c.do(ctx, request{method: "POST", path: "/keys/signatures/upload", body: req, auth: true, idempotent: true}, &out); err != nil {
		return err
	}
	return firstFailure(out)
}

// Sync long-polls GET /sync.
func (c *Client) Sync(ctx context.Context, o SyncOptions) (*SyncResponse, error) {
	q := url.Values{}
	if o.Since != "" {
		q.Set("since", o.Since)
	}
	if o.TimeoutMs > 0 {
		q.Set("timeout", strconv.FormatInt(o.TimeoutMs, 10))
	}
	if o.FullState {
		q.Set("full_state", "true")
	}
	if o.SetPresence != "" {
		q.Set("set_presence", o.SetPresence)
	}
	if o.Filter != "" {
		q.Set("filter", o.Filter)
	}
	var out SyncResponse
	if err := c.do(ctx, request{method: "GET", path: "/sync", query: q, auth: true, idempotent: true}, &out); err != nil {
		return nil, err
	}
	if out.NextBatch == "" {
		return nil, fmt.Errorf("%w: sync without next_batch", ErrBadResponse)
	}
	return &out, nil
}

// SendToDevice sends to-device messages of type eventType (PUT
// /sendToDevice/{eventType}/{txnId}). The same txnID makes a retry idempotent.
func (c *Client) SendToDevice(ctx context.Context, eventType, txnID string, req SendToDeviceRequest) error {
	r := request{method: "PUT", path: "/sendToDevice/" + pathEscape(eventType) + "/" + pathEscape(txnID), body: req, auth: true, idempotent: true}
	return c.do(ctx, r, nil)
}
