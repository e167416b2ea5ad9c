package client

import "encoding/json"

// Wire types of the endpoints the client calls. Key objects stay
// json.RawMessage so that their exact bytes reach the signature checks in
// package keys; see docs/client.md for why these live here until package api
// has them.

// UIAInfo is the body of a 401 user-interactive authentication response.
type UIAInfo struct {
	Flows     []UIAFlow                  `json:"flows"`
	Params    map[string]json.RawMessage `json:"params,omitempty"`
	Session   string                     `json:"session,omitempty"`
	Completed []string                   `json:"completed,omitempty"`
}

// UIAFlow is one sequence of stages the server accepts.
type UIAFlow struct {
	Stages []string `json:"stages"`
}

// HasStage reports whether some flow consists of exactly the one stage.
func (i UIAInfo) HasStage(stage string) bool {
	for _, f := range i.Flows {
		for _, s := range f.Stages {
			if s == stage {
				return true
			}
		}
	}
	return false
}

// AuthDict is the "auth" object sent to complete a stage, for example
// {"type": "m.login.password", "identifier": {...}, "password": "..."}. The
// client adds "session".
type AuthDict map[string]any

// Login types.
const (
	LoginPassword = "m.login.password"
	LoginDummy    = "m.login.dummy"
)

// PasswordAuth is the AuthDict of an m.login.password stage for userID.
func PasswordAuth(userID, password string) AuthDict {
	return AuthDict{
		"type":       LoginPassword,
		"identifier": map[string]string{"type": "m.id.user", "user": userID},
		"password":   password,
	}
}

// RegisterRequest is the body of POST /register.
type RegisterRequest struct {
	Username                 string   `json:"username,omitempty"`
	Password                 string   `json:"password,omitempty"`
	DeviceID                 string   `json:"device_id,omitempty"`
	InitialDeviceDisplayName string   `json:"initial_device_display_name,omitempty"`
	InhibitLogin             bool     `json:"inhibit_login,omitempty"`
	Auth                     AuthDict `json:"auth,omitempty"`
}

// LoginRequest is the body of POST /login with m.login.password.
type LoginRequest struct {
	Type                     string            `json:"type"`
	Identifier               map[string]string `json:"identifier,omitempty"`
	Password                 string            `json:"password,omitempty"`
	DeviceID                 string            `json:"device_id,omitempty"`
	InitialDeviceDisplayName string            `json:"initial_device_display_name,omitempty"`
}

// LoginResponse is the answer of /login and /register.
type LoginResponse struct {
	UserID      string `json:"user_id"`
	AccessToken string `json:"access_token"`
	DeviceID    string `json:"device_id"`
}

// WhoAmI is the answer of GET /account/whoami.
type WhoAmI struct {
	UserID   string `json:"user_id"`
	DeviceID string `json:"device_id,omitempty"`
}

// DeviceInfo is one entry of GET /devices.
type DeviceInfo struct {
	DeviceID    string `json:"device_id"`
	DisplayName string `json:"display_name,omitempty"`
	LastSeenIP  string `json:"last_seen_ip,omitempty"`
	LastSeenTS  int64  `json:"last_seen_ts,omitempty"`
}

// KeysUploadRequest is the body of POST /keys/upload.
type KeysUploadRequest struct {
	DeviceKeys   json.RawMessage            `json:"device_keys,omitempty"`
	OneTimeKeys  map[string]json.RawMessage `json:"one_time_keys,omitempty"`
	FallbackKeys map[string]json.RawMessage `json:"fallback_keys,omitempty"`
}

// KeysUploadResponse is the answer of POST /keys/upload.
type KeysUploadResponse struct {
	OneTimeKeyCounts map[string]int `json:"one_time_key_counts"`
}

// KeysQueryRequest is the body of POST /keys/query: user ID → device IDs
// (empty for all devices).
type KeysQueryRequest struct {
	DeviceKeys map[string][]string `json:"device_keys"`
	Timeout    int64               `json:"timeout,omitempty"`
}

// KeysQueryResponse is the answer of POST /keys/query.
type KeysQueryResponse struct {
	Failures        map[string]json.RawMessage            `json:"failures,omitempty"`
	DeviceKeys      map[string]map[string]json.RawMessage `json:"device_keys"`
	MasterKeys      map[string]json.RawMessage            `json:"master_keys,omitempty"`
	SelfSigningKeys map[string]json.RawMessage            `json:"self_signing_keys,omitempty"`
	UserSigningKeys map[string]json.RawMessage            `json:"user_signing_keys,omitempty"`
}

// KeysClaimRequest is the body of POST /keys/claim: user → device → algorithm.
type KeysClaimRequest struct {
	OneTimeKeys map[string]map[string]string `json:"one_time_keys"`
	Timeout     int64                        `json:"timeout,omitempty"`
}

// KeysClaimResponse is the answer of POST /keys/claim: user → device → key
// ID → key object.
type KeysClaimResponse struct {
	Failures    map[string]json.RawMessage                       `json:"failures,omitempty"`
	OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
}

// KeyChanges is the answer of GET /keys/changes.
type KeyChanges struct {
	Changed []string `json:"changed"`
	Left    []string `json:"left"`
}

// DeviceSigningUpload is the body of POST /keys/device_signing/upload.
type DeviceSigningUpload struct {
	MasterKey      json.RawMessage `json:"master_key,omitempty"`
	SelfSigningKey json.RawMessage `json:"self_signing_key,omitempty"`
	UserSigningKey json.RawMessage `json:"user_signing_key,omitempty"`
	Auth           AuthDict        `json:"auth,omitempty"`
}

// SignaturesUpload is the body of POST /keys/signatures/upload: user ID →
// device ID or cross-signing public key → signed key object.
type SignaturesUpload map[string]map[string]json.RawMessage

// SignaturesUploadResponse is the answer of POST /keys/signatures/upload.
type SignaturesUploadResponse struct {
	Failures map[string]map[string]Error `json:"failures,omitempty"`
}

// SyncOptions are the query parameters of GET /sync.
type SyncOptions struct {
	Since       string
	TimeoutMs   int64
	FullState   bool
	SetPresence string
	Filter      string
}

// DeviceLists is the device_lists member of a sync response.
type DeviceLists struct {
	Changed []string `json:"changed,omitempty"`
	Left    []string `json:"left,omitempty"`
}

// Event is a to-device or account-data event.
type Event struct {
	Type    string          `json:"type"`
	Sender  string          `json:"sender,omitempty"`
	Content json.RawMessage `json:"content"`
}

// EventList is a {"events": [...]} member of a sync response.
type EventList struct {
	Events []Event `json:"events"`
}

// SyncResponse is the part of GET /sync the trust layer reads.
type SyncResponse struct {
	NextBatch                    string         `json:"next_batch"`
	DeviceLists                  DeviceLists    `json:"device_lists"`
	DeviceOneTimeKeysCount       map[string]int `json:"device_one_time_keys_count,omitempty"`
	DeviceUnusedFallbackKeyTypes []string       `json:"device_unused_fallback_key_types,omitempty"`
	ToDevice                     EventList      `json:"to_device"`
	AccountData                  EventList      `json:"account_data"`
}

// SendToDeviceRequest is the body of PUT /sendToDevice: user → device (or
// "*") → content.
type SendToDeviceRequest struct {
	Messages map[string]map[string]json.RawMessage `json:"messages"`
}
