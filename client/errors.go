package client

import (
	"errors"

	"vouch/api"
)

// Sentinel errors of the client and its flows, wrapped with context.
var (
	// ErrNetwork means the server could not be reached (after retries).
	ErrNetwork = errors.New("client: cannot reach the server")
	// ErrBadResponse means the server answered with a body that is not what
	// the endpoint returns.
	ErrBadResponse = errors.New("client: malformed response from server")
	// ErrBadURL means the homeserver base URL is not an absolute http(s) URL.
	ErrBadURL = errors.New("client: invalid homeserver URL")
	// ErrNotLoggedIn means the call needs an access token and none is set.
	ErrNotLoggedIn = errors.New("client: not logged in")
	// ErrAuthRequired means the server asked for user-interactive
	// authentication and no AuthFunc was given (or it gave up).
	ErrAuthRequired = errors.New("client: user-interactive authentication required")
	// ErrFingerprintMismatch means the fingerprint compared out of band is
	// not the user's current master signing key.
	ErrFingerprintMismatch = errors.New("client: fingerprint does not match the user's master signing key")
	// ErrNoIdentity means a user (or the caller) has no cross-signing identity.
	ErrNoIdentity = errors.New("client: no cross-signing identity")
	// ErrMissingPrivateKey means a flow needs a cross-signing private key
	// this device does not hold.
	ErrMissingPrivateKey = errors.New("client: cross-signing private key not held on this device")
	// ErrUnknownDevice means the device is not among the user's published devices.
	ErrUnknownDevice = errors.New("client: unknown device")
	// ErrUploadFailed means the server refused part of a signature upload.
	ErrUploadFailed = errors.New("client: server refused an upload")
	// ErrIdentityExists means Bootstrap found an identity already published.
	ErrIdentityExists = errors.New("client: a cross-signing identity is already published")
	// ErrNilArgument means a required argument (client, device, options) is nil.
	ErrNilArgument = errors.New("client: required argument is nil")
)

// Error is a Matrix error response: the HTTP status, the errcode, the
// human-readable error and, for M_LIMIT_EXCEEDED, how long to wait. It is
// api.Error, shared with the server.
type Error = api.Error

// Errcodes the client and its callers act on.
const (
	CodeForbidden     = api.CodeForbidden
	CodeUnknownToken  = api.CodeUnknownToken
	CodeMissingToken  = api.CodeMissingToken
	CodeLimitExceeded = api.CodeLimitExceeded
	CodeNotFound      = api.CodeNotFound
	CodeUserInUse     = api.CodeUserInUse
	CodeUnrecognized  = api.CodeUnrecognized
)

// IsCode reports whether err is (or wraps) a Matrix error with errcode code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// UIAError is the 401 answer of an endpoint that needs user-interactive
// authentication: the flows the server offers and the session to continue.
// It wraps ErrAuthRequired and, when the server gave one, the *Error of the
// failed stage (for example M_FORBIDDEN for a wrong password).
type UIAError struct {
	Info UIAInfo
	Err  *Error
}

// Error says authentication is required and why the last attempt failed.
func (e *UIAError) Error() string {
	if e.Err != nil && e.Err.Code != "" {
		return "authentication failed: " + e.Err.Error()
	}
	return ErrAuthRequired.Error()
}

// Unwrap gives ErrAuthRequired and the server's error.
func (e *UIAError) Unwrap() []error {
	if e.Err != nil && e.Err.Code != "" {
		return []error{ErrAuthRequired, e.Err}
	}
	return []error{ErrAuthRequired}
}
