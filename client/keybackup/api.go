// Package keybackup is the client half of server-side room-key backups
// with MSC4048 signed sessions (seed 003), for vouch clients: it creates a
// backup version whose auth_data is signed by the master key and the
// current device and names a backup signing key (both private keys go to
// secret storage), reports a version's status and whether its auth_data is
// trusted and by which path, uploads sessions signed and encrypted, restores
// them counting which are authenticated, and migrates an old backup to a
// signed one, resumably.
//
// It speaks the room-key backup endpoints (/room_keys/version…,
// /room_keys/keys…) over HTTP with the access token of a *client.Client;
// all cryptography and every trust decision are package backup's
// (TrustAuthData, Opener, EncryptSignedSession, Migration). Decisions are in
// docs/secrets-and-backup.md.
//
// What it is not: not a Megolm implementation (sessions are opaque
// BackedUpSession plaintexts handed in by the caller or handed back), and
// it never prints or logs a key.
package keybackup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"vouch/api"
	"vouch/backup"
	"vouch/client"
)

// Sentinel errors, wrapped with context; test with errors.Is.
var (
	// ErrNoBackup: the account has no (current) backup version.
	ErrNoBackup = errors.New("keybackup: no backup version on the server")
	// ErrAlgorithm: the backup version uses another algorithm than
	// m.megolm_backup.v1.curve25519-aes-sha2.
	ErrAlgorithm = errors.New("keybackup: unsupported backup algorithm")
	// ErrUntrusted: the backup's auth_data is not trusted, so keys must not
	// be uploaded to it.
	ErrUntrusted = errors.New("keybackup: backup auth_data is not trusted")
	// ErrBadResponse: the server's answer is not what the endpoint returns.
	ErrBadResponse = errors.New("keybackup: malformed response from server")
	// ErrMissingKey: an operation needs a private key the caller did not
	// give (master key, device, backup key, signing key).
	ErrMissingKey = errors.New("keybackup: missing private key")
	// ErrCheckpoint: the migration checkpoint file is damaged or belongs to
	// another migration.
	ErrCheckpoint = errors.New("keybackup: migration checkpoint")
	// ErrAlreadySigned: the current backup already names a trusted backup
	// signing key, so there is nothing to migrate.
	ErrAlreadySigned = errors.New("keybackup: backup already has a trusted signing key")
)

// Limits of the HTTP layer.
const (
	// maxResponse caps a response body: 10,000 sessions are about 14 MB.
	maxResponse = 256 << 20
	// maxRateLimitRetries bounds retries after M_LIMIT_EXCEEDED.
	maxRateLimitRetries = 3
	// maxRateLimitWait caps one wait after M_LIMIT_EXCEEDED.
	maxRateLimitWait = 30 * time.Second
	clientPrefix     = "/_matrix/client/v3"
)

// API calls the room-key backup endpoints with a client's homeserver and
// access token. The client library has no exported request helper, so
// this type sends its own requests; errors are *client.Error values, so
// client.IsCode works on them.
type API struct {
	c  *client.Client
	hc *http.Client
}

// Option configures an API.
type Option func(*API)

// WithHTTPClient sets the http.Client requests are sent with.
func WithHTTPClient(hc *http.Client) Option { return func(a *API) { a.hc = hc } }

// NewAPI returns the backup API of c's homeserver.
func NewAPI(c *client.Client, opts ...Option) (*API, error) {
	if c == nil {
		return nil, fmt.Errorf("keybackup: nil client")
	}
	a := &API{c: c, hc: &http.Client{}}
	for _, o := range opts {
		if o != nil {
			o(a)
		}
	}
	return a, nil
}

// Client returns the client the API was made from.
func (a *API) Client() *client.Client { return a.c }

// do sends one request; path is below /_matrix/client/v3 and already
// escaped. A 2xx body is decoded into out (when not nil).
func (a *API) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("keybackup: encoding %s %s: %w", method, path, err)
		}
	}
	token := a.c.AccessToken()
	if token == "" {
		return fmt.Errorf("%s %s: %w", method, path, client.ErrNotLoggedIn)
	}
	u := strings.TrimRight(a.c.BaseURL(), "/") + clientPrefix + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return fmt.Errorf("keybackup: building %s %s: %w", method, path, err)
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := a.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("%w: %s %s: %v", client.ErrNetwork, method, path, err)
		}
		raw, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
		resp.Body.Close()
		if rerr != nil {
			return fmt.Errorf("%w: reading %s %s: %v", client.ErrNetwork, method, path, rerr)
		}
		if len(raw) > maxResponse {
			return fmt.Errorf("%w: %s %s: body over %d bytes", ErrBadResponse, method, path, maxResponse)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out != nil {
				if err := json.Unmarshal(raw, out); err != nil {
					return fmt.Errorf("%w: %s %s: %v", ErrBadResponse, method, path, err)
				}
			}
			return nil
		}
		e := &client.Error{}
		if json.Unmarshal(raw, e) != nil || e.Code == "" {
			e = &client.Error{Code: api.CodeUnknown, Msg: http.StatusText(resp.StatusCode)}
		}
		e.Status = resp.StatusCode
		if e.Code == api.CodeLimitExceeded && attempt < maxRateLimitRetries {
			wait := min(time.Duration(max(e.RetryAfterMs, 100))*time.Millisecond, maxRateLimitWait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			continue
		}
		return fmt.Errorf("%s %s: %w", method, path, e)
	}
}

// versionQuery is the ?version= of the keys endpoints.
func versionQuery(version string) url.Values { return url.Values{"version": {version}} }

// CreateVersion creates a backup version with the spec's algorithm and
// authData (POST /room_keys/version); it becomes the current version.
func (a *API) CreateVersion(ctx context.Context, authData []byte) (string, error) {
	if !json.Valid(authData) {
		return "", fmt.Errorf("keybackup: auth_data is not JSON")
	}
	var out api.RoomKeysVersionCreated
	body := api.RoomKeysVersionCreate{Algorithm: backup.Algorithm, AuthData: authData}
	if err := a.do(ctx, http.MethodPost, "/room_keys/version", nil, body, &out); err != nil {
		return "", err
	}
	if out.Version == "" {
		return "", fmt.Errorf("%w: no version in the answer", ErrBadResponse)
	}
	return out.Version, nil
}

// Version returns backup version version ("" for the current one; GET
// /room_keys/version[/{version}]), or ErrNoBackup.
func (a *API) Version(ctx context.Context, version string) (*api.RoomKeysVersion, error) {
	path := "/room_keys/version"
	if version != "" {
		path += "/" + url.PathEscape(version)
	}
	var out api.RoomKeysVersion
	err := a.do(ctx, http.MethodGet, path, nil, nil, &out)
	if client.IsCode(err, client.CodeNotFound) {
		if version == "" {
			return nil, ErrNoBackup
		}
		return nil, fmt.Errorf("%w: version %s", ErrNoBackup, version)
	}
	if err != nil {
		return nil, err
	}
	if out.Version == "" || len(out.AuthData) == 0 {
		return nil, fmt.Errorf("%w: version without version or auth_data", ErrBadResponse)
	}
	return &out, nil
}

// UpdateVersion replaces the auth_data of version (PUT
// /room_keys/version/{version}).
func (a *API) UpdateVersion(ctx context.Context, version string, authData []byte) error {
	if !json.Valid(authData) {
		return fmt.Errorf("keybackup: auth_data is not JSON")
	}
	body := api.RoomKeysVersionUpdate{Algorithm: backup.Algorithm, AuthData: authData, Version: version}
	return a.do(ctx, http.MethodPut, "/room_keys/version/"+url.PathEscape(version), nil, body, nil)
}

// DeleteVersion deletes version and its keys (DELETE
// /room_keys/version/{version}).
func (a *API) DeleteVersion(ctx context.Context, version string) error {
	return a.do(ctx, http.MethodDelete, "/room_keys/version/"+url.PathEscape(version), nil, nil, nil)
}

// PutKeys uploads keys to version in one request (PUT
// /room_keys/keys?version=); the server keeps, per session, the copy the
// spec's replacement rule prefers. A stale version fails with
// M_WRONG_ROOM_KEYS_VERSION.
func (a *API) PutKeys(ctx context.Context, version string, keys []backup.BackedUpKey) (api.RoomKeysUpdateResponse, error) {
	body := api.RoomKeysBackup{Rooms: map[string]api.RoomKeyBackup{}}
	for _, k := range keys {
		sd, err := json.Marshal(k.SessionData)
		if err != nil {
			return api.RoomKeysUpdateResponse{}, fmt.Errorf("keybackup: encoding session_data: %w", err)
		}
		room, ok := body.Rooms[k.RoomID]
		if !ok {
			room = api.RoomKeyBackup{Sessions: map[string]api.KeyBackupData{}}
			body.Rooms[k.RoomID] = room
		}
		room.Sessions[k.SessionID] = api.KeyBackupData{
			FirstMessageIndex: k.FirstMessageIndex, ForwardedCount: k.ForwardedCount,
			IsVerified: k.IsVerified, SessionData: sd,
		}
	}
	var out api.RoomKeysUpdateResponse
	err := a.do(ctx, http.MethodPut, "/room_keys/keys", versionQuery(version), body, &out)
	return out, err
}

// Keys downloads every key of version (GET /room_keys/keys?version=),
// sorted by (room ID, session ID). A session_data that is not a
// well-formed envelope is kept with an empty SessionData and reported in
// bad, so that one planted key cannot block a restore.
func (a *API) Keys(ctx context.Context, version string) (keys []backup.BackedUpKey, bad []backup.Cursor, err error) {
	var raw json.RawMessage
	if err := a.do(ctx, http.MethodGet, "/room_keys/keys", versionQuery(version), nil, &raw); err != nil {
		if client.IsCode(err, client.CodeNotFound) {
			return nil, nil, fmt.Errorf("%w: version %s", ErrNoBackup, version)
		}
		return nil, nil, err
	}
	return decodeKeys(raw)
}

// decodeKeys decodes a GET /room_keys/keys answer into keys sorted by
// cursor; see Keys.
func decodeKeys(raw []byte) (keys []backup.BackedUpKey, bad []backup.Cursor, err error) {
	var out struct {
		Rooms map[string]struct {
			Sessions map[string]struct {
				FirstMessageIndex int64           `json:"first_message_index"`
				ForwardedCount    int64           `json:"forwarded_count"`
				IsVerified        bool            `json:"is_verified"`
				SessionData       json.RawMessage `json:"session_data"`
			} `json:"sessions"`
		} `json:"rooms"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("%w: GET /room_keys/keys: %v", ErrBadResponse, err)
	}
	for roomID, room := range out.Rooms {
		for sessionID, s := range room.Sessions {
			k := backup.BackedUpKey{RoomID: roomID, SessionID: sessionID, KeyBackupDataMeta: backup.KeyBackupDataMeta{
				FirstMessageIndex: s.FirstMessageIndex, ForwardedCount: s.ForwardedCount, IsVerified: s.IsVerified,
			}}
			sd, perr := backup.ParseEncryptedSessionData(s.SessionData)
			if perr != nil {
				bad = append(bad, k.Cursor())
			} else {
				k.SessionData = sd
			}
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Cursor().Less(keys[j].Cursor()) })
	sort.Slice(bad, func(i, j int) bool { return bad[i].Less(bad[j]) })
	return keys, bad, nil
}
