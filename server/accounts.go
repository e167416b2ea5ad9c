package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"vouch/api"
	"vouch/keys"
	"vouch/store"
)

// Login and auth types.
const (
	loginPassword = "m.login.password"
	loginDummy    = "m.login.dummy"
)

// uiaChallenge is the 401 answer that asks for user-interactive auth.
type uiaChallenge struct{ body api.UIAResponse }

func (u *uiaChallenge) Error() string { return "user-interactive authentication required" }

// challenge creates a UIA session and returns the 401 asking for stage.
func (s *Server) challenge(ctx context.Context, userID, stage, code, msg string) error {
	id := randomID(24)
	if err := s.st.CreateUIASession(ctx, store.UIASession{ID: id, UserID: userID, CreatedMs: s.now().UnixMilli()}); err != nil {
		return err
	}
	return &uiaChallenge{body: api.UIAResponse{
		Flows: []api.UIAFlow{{Stages: []string{stage}}}, Params: map[string]json.RawMessage{},
		Session: id, Code: code, Msg: msg,
	}}
}

// requirePassword runs user-interactive auth with m.login.password for the
// caller: nil when auth proves the caller's password.
func (s *Server) requirePassword(ctx context.Context, c *caller, auth *api.AuthDict) error {
	if auth == nil || auth.Type == "" {
		return s.challenge(ctx, c.UserID, loginPassword, "", "")
	}
	if auth.Session != "" {
		sess, err := s.st.GetUIASession(ctx, auth.Session)
		// An expired session the sweep has not deleted yet is unknown too:
		// the answer must not depend on when the sweep last ran.
		if errors.Is(err, store.ErrNotFound) || (err == nil && (sess.UserID != c.UserID || sess.CreatedMs < s.uiaCutoffMs(s.now()))) {
			return s.challenge(ctx, c.UserID, loginPassword, api.CodeForbidden, "unknown session")
		}
		if err != nil {
			return err
		}
	}
	if auth.Type != loginPassword {
		return s.challenge(ctx, c.UserID, loginPassword, api.CodeForbidden, "unsupported auth type")
	}
	user := auth.User
	if auth.Identifier != nil {
		user = auth.Identifier.User
	}
	if s.qualify(user) != c.UserID {
		return s.challenge(ctx, c.UserID, loginPassword, api.CodeForbidden, "auth is not for the caller")
	}
	ok, err := s.checkPassword(ctx, c.UserID, auth.Password)
	if err != nil {
		return err
	}
	if !ok {
		return s.challenge(ctx, c.UserID, loginPassword, api.CodeForbidden, "invalid password")
	}
	if auth.Session != "" {
		if err := s.st.DeleteUIASession(ctx, auth.Session); err != nil {
			return err
		}
	}
	return nil
}

// qualify turns a localpart into a local user ID; full IDs pass unchanged.
func (s *Server) qualify(user string) string {
	if strings.HasPrefix(user, "@") {
		return user
	}
	return "@" + strings.ToLower(user) + ":" + s.cfg.ServerName
}

// checkPassword reports whether password is the user's. An unknown user
// costs the same hashing time as a wrong password.
func (s *Server) checkPassword(ctx context.Context, userID, password string) (bool, error) {
	acc, err := s.st.GetAccount(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && acc.PasswordHash == "") {
		s.once.Do(func() { s.dummyHash, _ = HashPassword("x", s.cfg.Argon2) })
		VerifyPassword(s.dummyHash, password) //nolint:errcheck // timing only
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ok, err := VerifyPassword(acc.PasswordHash, password)
	if err != nil {
		return false, fmt.Errorf("password of %s: %w", userID, err)
	}
	return ok, nil
}

// CreateUser creates a local account (the path of `vouch user add` and of
// registration): localpart validation, password hashing.
func CreateUser(ctx context.Context, st store.Accounts, cfg Config, localpart, password string, admin bool, nowMs int64) (string, error) {
	if err := keys.ValidLocalpart(localpart); err != nil {
		return "", api.Errorf(http.StatusBadRequest, api.CodeInvalidUsername, "%v", err)
	}
	userID := "@" + localpart + ":" + cfg.ServerName
	if _, err := keys.ParseUserID(userID); err != nil {
		return "", api.Errorf(http.StatusBadRequest, api.CodeInvalidUsername, "%v", err)
	}
	hash := ""
	if password != "" {
		var err error
		if hash, err = HashPassword(password, cfg.Argon2); err != nil {
			return "", err
		}
	}
	if err := st.CreateAccount(ctx, store.Account{UserID: userID, PasswordHash: hash, Admin: admin, CreatedMs: nowMs}); err != nil {
		return "", err
	}
	return userID, nil
}

// newDevice logs a device in and returns the login answer.
func (s *Server) newDevice(ctx context.Context, userID, deviceID, name string) (api.LoginResponse, error) {
	if deviceID == "" {
		deviceID = randomID(10)
	} else if err := keys.ValidDeviceID(deviceID); err != nil {
		return api.LoginResponse{}, api.InvalidParam("%v", err)
	}
	tok, hash := newToken()
	created, err := s.st.LoginDevice(ctx, store.Device{UserID: userID, DeviceID: deviceID, DisplayName: name, CreatedMs: s.now().UnixMilli()}, hash)
	if err != nil {
		return api.LoginResponse{}, err
	}
	if created {
		s.notifyDeviceChange(ctx, userID)
	}
	return api.LoginResponse{UserID: userID, AccessToken: tok, DeviceID: deviceID, HomeServer: s.cfg.ServerName}, nil
}

// register answers POST /register (m.login.dummy, when open).
func (s *Server) register(r *http.Request, _ *caller) (any, error) {
	if kind := r.URL.Query().Get("kind"); kind != "" && kind != "user" {
		return nil, api.Forbidden("guest registration is not supported")
	}
	if !s.cfg.RegistrationOpen() {
		return nil, api.Forbidden("registration is disabled")
	}
	var req api.RegisterRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	ctx := r.Context()
	local := strings.ToLower(req.Username)
	if local != "" {
		if err := keys.ValidLocalpart(local); err != nil {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidUsername, "%v", err)
		}
	}
	if req.Auth == nil || req.Auth.Type == "" {
		return nil, s.challenge(ctx, "", loginDummy, "", "")
	}
	if req.Auth.Type != loginDummy {
		return nil, s.challenge(ctx, "", loginDummy, api.CodeForbidden, "unsupported auth type")
	}
	if req.Auth.Session != "" {
		if err := s.st.DeleteUIASession(ctx, req.Auth.Session); err != nil {
			return nil, err
		}
	}
	if local == "" {
		local = strings.ToLower(randomID(12))
	}
	userID, err := CreateUser(ctx, s.st, s.cfg, local, req.Password, false, s.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	s.log.Info("user registered", "user_id", userID)
	if req.InhibitLogin {
		return api.LoginResponse{UserID: userID, HomeServer: s.cfg.ServerName}, nil
	}
	return s.newDevice(ctx, userID, req.DeviceID, req.InitialDeviceDisplayName)
}

// registerAvailable answers GET /register/available.
func (s *Server) registerAvailable(r *http.Request, _ *caller) (any, error) {
	local := r.URL.Query().Get("username")
	if err := keys.ValidLocalpart(local); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidUsername, "%v", err)
	}
	_, err := s.st.GetAccount(r.Context(), "@"+local+":"+s.cfg.ServerName)
	switch {
	case err == nil:
		return nil, api.Errorf(http.StatusBadRequest, api.CodeUserInUse, "user ID already taken")
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return map[string]bool{"available": true}, nil
}

// nonceLifetime is how long a shared-secret registration nonce is valid
// after it was issued (Synapse's 60 s).
const nonceLifetime = time.Minute

// A shared-secret registration nonce is base64url(expiry ‖ random ‖ tag):
// the expiry in Unix milliseconds (8 bytes, big-endian), 16 random bytes,
// and the first 16 bytes of HMAC-SHA-256 over both under a key derived
// from the shared secret. Any instance configured with the same secret can
// check it without the database, so issuing one writes nothing: an
// unauthenticated GET costs no write. Single use is recorded in the store
// (UseRegistrationNonce) only by a POST whose registration MAC is right.
const (
	nonceRandomLen = 16
	nonceTagLen    = 16
	nonceLen       = 8 + nonceRandomLen + nonceTagLen
)

// nonceKey derives the key of registration-nonce tags from the shared
// secret, apart from the key of the registration MAC itself.
func nonceKey(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("vouch registration nonce v1"))
	return m.Sum(nil)
}

// nonceTag is the tag of a nonce's expiry and random bytes.
func nonceTag(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, nonceKey(secret))
	m.Write(body)
	return m.Sum(nil)[:nonceTagLen]
}

// issueNonce makes a nonce valid until now + nonceLifetime.
func issueNonce(secret string, now time.Time) string {
	b := make([]byte, nonceLen)
	binary.BigEndian.PutUint64(b[:8], uint64(now.Add(nonceLifetime).UnixMilli()))
	rand.Read(b[8 : 8+nonceRandomLen]) //nolint:errcheck // crypto/rand.Read never fails
	copy(b[8+nonceRandomLen:], nonceTag(secret, b[:8+nonceRandomLen]))
	return base64URL(b)
}

// checkNonce reports whether nonce was issued with secret (its tag checked
// in constant time) and is still valid at now, and returns its expiry.
func checkNonce(secret, nonce string, now time.Time) (expiresMs int64, ok bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return 0, false
	}
	if !hmac.Equal(b[8+nonceRandomLen:], nonceTag(secret, b[:8+nonceRandomLen])) {
		return 0, false
	}
	expires := binary.BigEndian.Uint64(b[:8])
	if expires > math.MaxInt64 || now.UnixMilli() > int64(expires) {
		return 0, false
	}
	return int64(expires), true
}

// sharedSecretNonce answers GET /_synapse/admin/v1/register with a nonce
// that any instance sharing the secret accepts; nothing is stored.
func (s *Server) sharedSecretNonce(*http.Request, *caller) (any, error) {
	if s.cfg.Registration.SharedSecret == "" {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeUnknown, "shared secret registration is not enabled")
	}
	return api.SharedSecretNonce{Nonce: issueNonce(s.cfg.Registration.SharedSecret, s.now())}, nil
}

// sharedSecretRegister answers POST /_synapse/admin/v1/register: the MAC is
// HMAC-SHA1(secret, nonce NUL username NUL password NUL "admin"|"notadmin"),
// hex encoded, as in Synapse. The nonce's own tag and expiry are checked
// first, then the MAC (both in constant time); only then is the nonce
// recorded as used, so a request with a wrong MAC leaves it usable (unlike
// Synapse, which spends it) and writes nothing.
func (s *Server) sharedSecretRegister(r *http.Request, _ *caller) (any, error) {
	secret := s.cfg.Registration.SharedSecret
	if secret == "" {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeUnknown, "shared secret registration is not enabled")
	}
	var req api.SharedSecretRegister
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	expires, ok := checkNonce(secret, req.Nonce, s.now())
	if !ok {
		return nil, api.InvalidParam("unrecognised nonce")
	}
	admin := "notadmin"
	if req.Admin {
		admin = "admin"
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(req.Nonce + "\x00" + req.Username + "\x00" + req.Password + "\x00" + admin))
	got, err := hex.DecodeString(req.MAC)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return nil, api.Forbidden("HMAC incorrect")
	}
	switch err := s.st.UseRegistrationNonce(r.Context(), req.Nonce, expires); {
	case errors.Is(err, store.ErrConflict):
		return nil, api.InvalidParam("unrecognised nonce")
	case err != nil:
		return nil, fmt.Errorf("use registration nonce: %w", err)
	}
	userID, err := CreateUser(r.Context(), s.st, s.cfg, strings.ToLower(req.Username), req.Password, req.Admin, s.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	s.log.Info("user registered with shared secret", "user_id", userID)
	return s.newDevice(r.Context(), userID, "", "")
}

// loginFlows answers GET /login.
func (s *Server) loginFlows(*http.Request, *caller) (any, error) {
	return api.LoginFlows{Flows: []api.LoginFlow{{Type: loginPassword}}}, nil
}

// login answers POST /login (m.login.password).
func (s *Server) login(r *http.Request, _ *caller) (any, error) {
	var req api.LoginRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Type != loginPassword {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeUnknown, "unsupported login type %q", req.Type)
	}
	user := req.User
	if req.Identifier != nil {
		if req.Identifier.Type != "m.id.user" {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeUnknown, "unsupported identifier type %q", req.Identifier.Type)
		}
		user = req.Identifier.User
	}
	if user == "" {
		return nil, api.BadJSON("missing user")
	}
	userID := s.qualify(user)
	ok, err := s.checkPassword(r.Context(), userID, req.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, api.Forbidden("invalid username or password")
	}
	return s.newDevice(r.Context(), userID, req.DeviceID, req.InitialDeviceDisplayName)
}

// logout answers POST /logout: the device and its keys are deleted.
func (s *Server) logout(r *http.Request, c *caller) (any, error) {
	if _, err := s.st.DeleteDevices(r.Context(), c.UserID, []string{c.DeviceID}); err != nil {
		return nil, err
	}
	s.notifyDeviceChange(r.Context(), c.UserID)
	return api.Empty{}, nil
}

// logoutAll answers POST /logout/all: every device of the user is deleted.
func (s *Server) logoutAll(r *http.Request, c *caller) (any, error) {
	if _, err := s.st.DeleteDevices(r.Context(), c.UserID, nil); err != nil {
		return nil, err
	}
	s.notifyDeviceChange(r.Context(), c.UserID)
	return api.Empty{}, nil
}

// whoami answers GET /account/whoami.
func (s *Server) whoami(_ *http.Request, c *caller) (any, error) {
	return api.WhoAmI{UserID: c.UserID, DeviceID: c.DeviceID}, nil
}

// listDevices answers GET /devices.
func (s *Server) listDevices(r *http.Request, c *caller) (any, error) {
	ds, err := s.st.ListDevices(r.Context(), c.UserID)
	if err != nil {
		return nil, err
	}
	out := api.DevicesResponse{Devices: []api.Device{}}
	for _, d := range ds {
		out.Devices = append(out.Devices, api.Device{DeviceID: d.DeviceID, DisplayName: d.DisplayName})
	}
	return out, nil
}

// getDevice answers GET /devices/{deviceId}.
func (s *Server) getDevice(r *http.Request, c *caller) (any, error) {
	d, err := s.st.GetDevice(r.Context(), c.UserID, r.PathValue("deviceId"))
	if err != nil {
		return nil, err
	}
	return api.Device{DeviceID: d.DeviceID, DisplayName: d.DisplayName}, nil
}

// maxDisplayName bounds device display names.
const maxDisplayName = 256

// renameDevice answers PUT /devices/{deviceId}.
func (s *Server) renameDevice(r *http.Request, c *caller) (any, error) {
	var req api.DeviceUpdate
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.DisplayName == nil {
		return api.Empty{}, nil
	}
	if len(*req.DisplayName) > maxDisplayName {
		return nil, api.InvalidParam("display name longer than %d bytes", maxDisplayName)
	}
	if err := s.st.RenameDevice(r.Context(), c.UserID, r.PathValue("deviceId"), *req.DisplayName); err != nil {
		return nil, err
	}
	return api.Empty{}, nil
}

// deleteDevice answers DELETE /devices/{deviceId} (needs the password).
func (s *Server) deleteDevice(r *http.Request, c *caller) (any, error) {
	var req api.DeleteDeviceRequest
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		return nil, api.BadJSON("cannot read body: %v", err)
	}
	// The body (with "auth") is optional on the first call.
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeBytes(body, &req); err != nil {
			return nil, err
		}
	}
	id := r.PathValue("deviceId")
	if _, err := s.st.GetDevice(r.Context(), c.UserID, id); err != nil {
		return nil, err
	}
	return s.removeDevices(r.Context(), c, []string{id}, req.Auth)
}

// deleteDevices answers POST /delete_devices (needs the password).
func (s *Server) deleteDevices(r *http.Request, c *caller) (any, error) {
	var req api.DeleteDeviceRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Devices == nil {
		return nil, api.BadJSON("missing devices")
	}
	return s.removeDevices(r.Context(), c, req.Devices, req.Auth)
}

func (s *Server) removeDevices(ctx context.Context, c *caller, ids []string, auth *api.AuthDict) (any, error) {
	if err := s.requirePassword(ctx, c, auth); err != nil {
		return nil, err
	}
	n, err := s.st.DeleteDevices(ctx, c.UserID, ids)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		s.notifyDeviceChange(ctx, c.UserID)
	}
	return api.Empty{}, nil
}
