package client

import "vouch/api"

// Wire types of the endpoints the client calls: those of package api,
// shared with the server, under the names the client has always used.
// Key objects stay json.RawMessage so that their exact bytes reach the
// signature checks in package keys.
type (
	// UIAInfo is the body of a 401 user-interactive authentication response.
	UIAInfo = api.UIAResponse
	// UIAFlow is one sequence of stages the server accepts.
	UIAFlow = api.UIAFlow
	// AuthDict is the "auth" object sent to complete a stage; the client
	// fills in Session.
	AuthDict = api.AuthDict
	// Identifier names the user logging in.
	Identifier = api.Identifier
	// RegisterRequest is the body of POST /register.
	RegisterRequest = api.RegisterRequest
	// LoginRequest is the body of POST /login.
	LoginRequest = api.LoginRequest
	// LoginResponse is the answer of /login and /register.
	LoginResponse = api.LoginResponse
	// WhoAmI is the answer of GET /account/whoami.
	WhoAmI = api.WhoAmI
	// DeviceInfo is one entry of GET /devices.
	DeviceInfo = api.Device
	// KeysUploadRequest is the body of POST /keys/upload.
	KeysUploadRequest = api.KeysUploadRequest
	// KeysQueryResponse is the answer of POST /keys/query.
	KeysQueryResponse = api.KeysQueryResponse
	// KeysClaimResponse is the answer of POST /keys/claim.
	KeysClaimResponse = api.KeysClaimResponse
	// KeyChanges is the answer of GET /keys/changes.
	KeyChanges = api.KeyChanges
	// DeviceSigningUpload is the body of POST /keys/device_signing/upload.
	DeviceSigningUpload = api.DeviceSigningUpload
	// SignaturesUpload is the body of POST /keys/signatures/upload: user ID
	// → device ID or cross-signing public key → signed key object.
	SignaturesUpload = api.SignaturesUpload
	// SyncResponse is the answer of GET /sync.
	SyncResponse = api.SyncResponse
	// Event is a to-device or account-data event.
	Event = api.Event
	// SendToDeviceRequest is the body of PUT /sendToDevice: user → device
	// (or "*") → content.
	SendToDeviceRequest = api.SendToDeviceRequest
)

// hasStage reports whether some flow of info offers stage.
func hasStage(info UIAInfo, stage string) bool {
	for _, f := range info.Flows {
		for _, s := range f.Stages {
			if s == stage {
				return true
			}
		}
	}
	return false
}

// Login types.
const (
	LoginPassword = "m.login.password"
	LoginDummy    = "m.login.dummy"
)

// PasswordAuth is the AuthDict of an m.login.password stage for userID.
func PasswordAuth(userID, password string) *AuthDict {
	return &AuthDict{Type: LoginPassword, Identifier: &Identifier{Type: "m.id.user", User: userID}, Password: password}
}

// SyncOptions are the query parameters of GET /sync.
type SyncOptions struct {
	Since       string
	TimeoutMs   int64
	FullState   bool
	SetPresence string
	Filter      string
}
