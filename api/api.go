// Package api holds the wire types of the Matrix client-server endpoints the
// vouch key server serves and the errcodes it answers with, so that server
// and client share one definition without importing each other.
//
// The package is data only: no HTTP, no validation beyond what encoding/json
// does. Key objects stay json.RawMessage because their exact bytes are
// signed; packages keys and signedjson interpret them.
package api

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Matrix errcodes answered by the server.
const (
	CodeUnknown          = "M_UNKNOWN"
	CodeNotJSON          = "M_NOT_JSON"
	CodeBadJSON          = "M_BAD_JSON"
	CodeMissingToken     = "M_MISSING_TOKEN"
	CodeUnknownToken     = "M_UNKNOWN_TOKEN"
	CodeForbidden        = "M_FORBIDDEN"
	CodeInvalidParam     = "M_INVALID_PARAM"
	CodeMissingParam     = "M_MISSING_PARAM"
	CodeNotFound         = "M_NOT_FOUND"
	CodeUnrecognized     = "M_UNRECOGNIZED"
	CodeTooLarge         = "M_TOO_LARGE"
	CodeLimitExceeded    = "M_LIMIT_EXCEEDED"
	CodeUserInUse        = "M_USER_IN_USE"
	CodeInvalidUsername  = "M_INVALID_USERNAME"
	CodeInvalidSignature = "M_INVALID_SIGNATURE"
	CodeUnauthorized     = "M_UNAUTHORIZED"
)

// Error is a Matrix error response. It implements error so that handlers can
// return it; the server writes it as {"errcode", "error", "retry_after_ms"}
// with HTTP status Status.
type Error struct {
	Status       int    `json:"-"`
	Code         string `json:"errcode"`
	Msg          string `json:"error"`
	RetryAfterMs int64  `json:"retry_after_ms,omitempty"`
	// CurrentVersion is set with CodeWrongRoomKeysVersion.
	CurrentVersion string `json:"current_version,omitempty"`
}

// Error renders "M_CODE (HTTP n): message".
func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Msg)
}

// Errorf returns an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// BadJSON is a 400 M_BAD_JSON.
func BadJSON(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeBadJSON, format, args...)
}

// InvalidParam is a 400 M_INVALID_PARAM.
func InvalidParam(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeInvalidParam, format, args...)
}

// Forbidden is a 403 M_FORBIDDEN.
func Forbidden(format string, args ...any) *Error {
	return Errorf(http.StatusForbidden, CodeForbidden, format, args...)
}

// NotFound is a 404 M_NOT_FOUND.
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, CodeNotFound, format, args...)
}

// Versions is GET /_matrix/client/versions.
type Versions struct {
	Versions         []string        `json:"versions"`
	UnstableFeatures map[string]bool `json:"unstable_features"`
}

// UIAFlow is one list of stages of user-interactive authentication.
type UIAFlow struct {
	Stages []string `json:"stages"`
}

// UIAResponse is the 401 body asking for user-interactive authentication.
type UIAResponse struct {
	Flows     []UIAFlow                  `json:"flows"`
	Params    map[string]json.RawMessage `json:"params"`
	Session   string                     `json:"session"`
	Completed []string                   `json:"completed,omitempty"`
	Code      string                     `json:"errcode,omitempty"`
	Msg       string                     `json:"error,omitempty"`
}

// Identifier is a login identifier; vouch accepts {"type":"m.id.user"}.
type Identifier struct {
	Type string `json:"type"`
	User string `json:"user,omitempty"`
}

// AuthDict is the "auth" member of a request under user-interactive auth.
type AuthDict struct {
	Type       string      `json:"type"`
	Session    string      `json:"session,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	User       string      `json:"user,omitempty"` // deprecated form
	Password   string      `json:"password,omitempty"`
}

// RegisterRequest is POST /register.
type RegisterRequest struct {
	Username                 string    `json:"username,omitempty"`
	Password                 string    `json:"password,omitempty"`
	DeviceID                 string    `json:"device_id,omitempty"`
	InitialDeviceDisplayName string    `json:"initial_device_display_name,omitempty"`
	InhibitLogin             bool      `json:"inhibit_login,omitempty"`
	Auth                     *AuthDict `json:"auth,omitempty"`
}

// LoginResponse is the answer of /register and /login.
type LoginResponse struct {
	UserID      string `json:"user_id"`
	AccessToken string `json:"access_token,omitempty"`
	DeviceID    string `json:"device_id,omitempty"`
	HomeServer  string `json:"home_server,omitempty"`
}

// LoginRequest is POST /login.
type LoginRequest struct {
	Type                     string      `json:"type"`
	Identifier               *Identifier `json:"identifier,omitempty"`
	User                     string      `json:"user,omitempty"` // deprecated form
	Password                 string      `json:"password,omitempty"`
	DeviceID                 string      `json:"device_id,omitempty"`
	InitialDeviceDisplayName string      `json:"initial_device_display_name,omitempty"`
}

// LoginFlows is GET /login.
type LoginFlows struct {
	Flows []LoginFlow `json:"flows"`
}

// LoginFlow is one supported login type.
type LoginFlow struct {
	Type string `json:"type"`
}

// SharedSecretNonce is GET /_synapse/admin/v1/register.
type SharedSecretNonce struct {
	Nonce string `json:"nonce"`
}

// SharedSecretRegister is POST /_synapse/admin/v1/register.
type SharedSecretRegister struct {
	Nonce    string `json:"nonce"`
	Username string `json:"username"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
	MAC      string `json:"mac"`
}

// WhoAmI is GET /account/whoami.
type WhoAmI struct {
	UserID   string `json:"user_id"`
	DeviceID string `json:"device_id,omitempty"`
}

// Device is one entry of GET /devices.
type Device struct {
	DeviceID    string `json:"device_id"`
	DisplayName string `json:"display_name,omitempty"`
}

// DevicesResponse is GET /devices.
type DevicesResponse struct {
	Devices []Device `json:"devices"`
}

// DeviceUpdate is PUT /devices/{deviceId}.
type DeviceUpdate struct {
	DisplayName *string `json:"display_name"`
}

// DeleteDeviceRequest is DELETE /devices/{deviceId} and the body of
// POST /delete_devices.
type DeleteDeviceRequest struct {
	Devices []string  `json:"devices,omitempty"`
	Auth    *AuthDict `json:"auth,omitempty"`
}

// KeysUploadRequest is POST /keys/upload.
type KeysUploadRequest struct {
	DeviceKeys   json.RawMessage            `json:"device_keys,omitempty"`
	OneTimeKeys  map[string]json.RawMessage `json:"one_time_keys,omitempty"`
	FallbackKeys map[string]json.RawMessage `json:"fallback_keys,omitempty"`
}

// KeysUploadResponse is the answer of /keys/upload.
type KeysUploadResponse struct {
	OneTimeKeyCounts map[string]int `json:"one_time_key_counts"`
}

// KeysQueryRequest is POST /keys/query.
type KeysQueryRequest struct {
	DeviceKeys map[string][]string `json:"device_keys"`
	Timeout    int64               `json:"timeout,omitempty"`
}

// KeysQueryResponse is the answer of /keys/query.
type KeysQueryResponse struct {
	Failures        map[string]json.RawMessage            `json:"failures"`
	DeviceKeys      map[string]map[string]json.RawMessage `json:"device_keys"`
	MasterKeys      map[string]json.RawMessage            `json:"master_keys"`
	SelfSigningKeys map[string]json.RawMessage            `json:"self_signing_keys"`
	UserSigningKeys map[string]json.RawMessage            `json:"user_signing_keys"`
	// PublicUserSigningKeys are MSC2882 public user-signing keys, shown to
	// every viewer.
	PublicUserSigningKeys map[string]json.RawMessage `json:"public_user_signing_keys,omitempty"`
}

// KeysClaimRequest is POST /keys/claim.
type KeysClaimRequest struct {
	OneTimeKeys map[string]map[string]string `json:"one_time_keys"`
	Timeout     int64                        `json:"timeout,omitempty"`
}

// KeysClaimResponse is the answer of /keys/claim.
type KeysClaimResponse struct {
	Failures    map[string]json.RawMessage                       `json:"failures"`
	OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
}

// KeyChanges is GET /keys/changes.
type KeyChanges struct {
	Changed []string `json:"changed"`
	Left    []string `json:"left"`
}

// DeviceSigningUpload is POST /keys/device_signing/upload.
type DeviceSigningUpload struct {
	MasterKey      json.RawMessage `json:"master_key,omitempty"`
	SelfSigningKey json.RawMessage `json:"self_signing_key,omitempty"`
	UserSigningKey json.RawMessage `json:"user_signing_key,omitempty"`
	// PublicUserSigningKey is the MSC2882 public user-signing key.
	PublicUserSigningKey json.RawMessage `json:"public_user_signing_key,omitempty"`
	Auth                 *AuthDict       `json:"auth,omitempty"`
}

// SignaturesUpload is POST /keys/signatures/upload: user ID → key or device
// ID → signed key object.
type SignaturesUpload map[string]map[string]json.RawMessage

// SignaturesUploadResponse is the answer of /keys/signatures/upload.
type SignaturesUploadResponse struct {
	Failures map[string]map[string]*Error `json:"failures"`
}

// PublicPrivateSignaturesUpload is POST
// /_matrix/client/unstable/msc2882/keys/signatures/upload: signatures
// others may see in Public, signatures only the uploader may see in
// Private, each user ID → key or device ID → signed key object.
type PublicPrivateSignaturesUpload struct {
	Public  SignaturesUpload `json:"public,omitempty"`
	Private SignaturesUpload `json:"private,omitempty"`
}

// SignaturesDelete is POST
// /_matrix/client/unstable/msc2882/keys/signatures/delete: user ID → key
// or device ID → key IDs ("ed25519:…") of the caller's keys whose
// signatures over that key are to be deleted. Its answer is a
// SignaturesUploadResponse.
type SignaturesDelete map[string]map[string][]string

// DeviceLists is the device_lists member of /sync.
type DeviceLists struct {
	Changed []string `json:"changed,omitempty"`
	Left    []string `json:"left,omitempty"`
}

// Event is a to-device or account-data event in /sync.
type Event struct {
	Type    string          `json:"type"`
	Sender  string          `json:"sender,omitempty"`
	Content json.RawMessage `json:"content"`
}

// EventList is {"events": [...]}.
type EventList struct {
	Events []Event `json:"events"`
}

// SyncResponse is GET /sync (the parts the key server serves; rooms and
// presence are always empty).
type SyncResponse struct {
	NextBatch                    string         `json:"next_batch"`
	DeviceLists                  DeviceLists    `json:"device_lists"`
	DeviceOneTimeKeysCount       map[string]int `json:"device_one_time_keys_count"`
	DeviceUnusedFallbackKeyTypes []string       `json:"device_unused_fallback_key_types"`
	ToDevice                     EventList      `json:"to_device"`
	AccountData                  EventList      `json:"account_data"`
	Rooms                        struct{}       `json:"rooms"`
}

// SendToDeviceRequest is PUT /sendToDevice/{eventType}/{txnId}.
type SendToDeviceRequest struct {
	Messages map[string]map[string]json.RawMessage `json:"messages"`
}

// Empty is the {} answer.
type Empty struct{}
