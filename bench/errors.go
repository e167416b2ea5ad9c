package bench

import "errors"

// Sentinel errors, wrapped with context by the functions that return them.
var (
	// ErrConfig reports an invalid configuration value.
	ErrConfig = errors.New("bench: invalid configuration")
	// ErrNotLoopback reports a server URL whose host is not a loopback address.
	ErrNotLoopback = errors.New("bench: server is not on a loopback address")
	// ErrHTTPStatus reports a response with an unexpected HTTP status.
	ErrHTTPStatus = errors.New("bench: unexpected HTTP status")
	// ErrBadResponse reports a response body that is not what the request
	// should produce.
	ErrBadResponse = errors.New("bench: unexpected response body")
	// ErrNoRSS reports that the resident set size could not be read.
	ErrNoRSS = errors.New("bench: resident set size unavailable")
	// ErrWakeTimeout reports a watcher whose /sync did not return with the
	// changed user in time.
	ErrWakeTimeout = errors.New("bench: /sync did not wake in time")
)
