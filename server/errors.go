package server

import (
	"context"
	"errors"
	"net/http"

	"vouch/api"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/store"
)

// errorTable maps library sentinels to Matrix errors; the first match wins,
// so more specific sentinels come first. Each errcode is decided here only.
var errorTable = []struct {
	err    error
	status int
	code   string
}{
	{store.ErrUserExists, http.StatusBadRequest, api.CodeUserInUse},
	{store.ErrDeviceIDCollision, http.StatusBadRequest, api.CodeInvalidParam},
	{keys.ErrNamespaceCollision, http.StatusBadRequest, api.CodeInvalidParam},
	{store.ErrKeysChanged, http.StatusBadRequest, api.CodeInvalidParam},
	{store.ErrOneTimeKeyExists, http.StatusBadRequest, api.CodeInvalidParam},
	{store.ErrTooManyOneTimeKeys, http.StatusBadRequest, api.CodeInvalidParam},
	{store.ErrConflict, http.StatusConflict, api.CodeUnknown},
	{store.ErrNotFound, http.StatusNotFound, api.CodeNotFound},
	{store.ErrWrongBackupVersion, http.StatusForbidden, api.CodeWrongRoomKeysVersion},
	{store.ErrBackupAlgorithm, http.StatusBadRequest, api.CodeInvalidParam},
	{keys.ErrUserMismatch, http.StatusForbidden, api.CodeForbidden},
	{keys.ErrBadSignature, http.StatusBadRequest, api.CodeInvalidSignature},
	{signedjson.ErrBadSignature, http.StatusBadRequest, api.CodeInvalidSignature},
	{signedjson.ErrMissingSignature, http.StatusBadRequest, api.CodeInvalidSignature},
	{signedjson.ErrBadBase64, http.StatusBadRequest, api.CodeInvalidSignature},
	{keys.ErrDeviceMismatch, http.StatusBadRequest, api.CodeInvalidParam},
	{keys.ErrUsageMismatch, http.StatusBadRequest, api.CodeInvalidParam},
	{keys.ErrInvalidKey, http.StatusBadRequest, api.CodeInvalidParam},
	{keys.ErrMalformedKey, http.StatusBadRequest, api.CodeInvalidParam},
	{keys.ErrInvalidUserID, http.StatusBadRequest, api.CodeInvalidParam},
	{keys.ErrInvalidDeviceID, http.StatusBadRequest, api.CodeInvalidParam},
	{signedjson.ErrNotObject, http.StatusBadRequest, api.CodeBadJSON},
	{signedjson.ErrMalformedSignatures, http.StatusBadRequest, api.CodeBadJSON},
}

// mapError turns any error into the Matrix error to answer with.
func mapError(err error) *api.Error {
	var e *api.Error
	if errors.As(err, &e) {
		return e
	}
	for _, m := range errorTable {
		if errors.Is(err, m.err) {
			return &api.Error{Status: m.status, Code: m.code, Msg: err.Error()}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnknown, Msg: "request cancelled"}
	}
	return &api.Error{Status: http.StatusInternalServerError, Code: api.CodeUnknown, Msg: "internal error"}
}
