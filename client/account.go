package client

import (
	"context"
	"fmt"
	"net/url"

	"vouch/api"
	"vouch/keys"
)

// Register creates an account (POST /register, kind=user), running
// user-interactive authentication through auth (DummyAuthFunc for open
// registration). On success the client uses the new access token.
func (c *Client) Register(ctx context.Context, req RegisterRequest, auth AuthFunc) (*LoginResponse, error) {
	var out LoginResponse
	r := request{method: "POST", path: "/register", query: url.Values{"kind": {"user"}}}
	err := c.doUIA(ctx, r, func(a *AuthDict) any { req.Auth = a; return req }, auth, &out)
	if err != nil {
		return nil, err
	}
	if err := checkLogin(&out, !req.InhibitLogin); err != nil {
		return nil, err
	}
	if out.AccessToken != "" {
		c.SetAccessToken(out.AccessToken)
	}
	return &out, nil
}

// Login logs in with m.login.password (POST /login). userID may be a full
// user ID or a localpart. deviceID reuses an existing device when not
// empty. On success the client uses the new access token.
func (c *Client) Login(ctx context.Context, userID, password, deviceID, displayName string) (*LoginResponse, error) {
	req := LoginRequest{
		Type:                     LoginPassword,
		Identifier:               &Identifier{Type: "m.id.user", User: userID},
		Password:                 password,
		DeviceID:                 deviceID,
		InitialDeviceDisplayName: displayName,
	}
	var out LoginResponse
	if err := c.do(ctx, request{method: "POST", path: "/login", body: req}, &out); err != nil {
		return nil, err
	}
	if err := checkLogin(&out, true); err != nil {
		return nil, err
	}
	c.SetAccessToken(out.AccessToken)
	return &out, nil
}

func checkLogin(out *LoginResponse, wantToken bool) error {
	if _, err := keys.ParseUserID(out.UserID); err != nil {
		return fmt.Errorf("%w: login: %w", ErrBadResponse, err)
	}
	if !wantToken {
		return nil
	}
	if out.AccessToken == "" {
		return fmt.Errorf("%w: login: no access token", ErrBadResponse)
	}
	if err := keys.ValidDeviceID(out.DeviceID); err != nil {
		return fmt.Errorf("%w: login: %w", ErrBadResponse, err)
	}
	return nil
}

// Logout invalidates the access token (POST /logout) and forgets it.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.do(ctx, request{method: "POST", path: "/logout", body: struct{}{}, auth: true}, nil); err != nil {
		return err
	}
	c.SetAccessToken("")
	return nil
}

// WhoAmI returns the user and device of the access token.
func (c *Client) WhoAmI(ctx context.Context) (*WhoAmI, error) {
	var out WhoAmI
	if err := c.do(ctx, request{method: "GET", path: "/account/whoami", auth: true, idempotent: true}, &out); err != nil {
		return nil, err
	}
	if _, err := keys.ParseUserID(out.UserID); err != nil {
		return nil, fmt.Errorf("%w: whoami: %w", ErrBadResponse, err)
	}
	return &out, nil
}

// Devices lists the caller's devices (GET /devices).
func (c *Client) Devices(ctx context.Context) ([]DeviceInfo, error) {
	var out api.DevicesResponse
	if err := c.do(ctx, request{method: "GET", path: "/devices", auth: true, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return out.Devices, nil
}

// Device returns one of the caller's devices (GET /devices/{deviceId}).
func (c *Client) Device(ctx context.Context, deviceID string) (*DeviceInfo, error) {
	var out DeviceInfo
	r := request{method: "GET", path: "/devices/" + pathEscape(deviceID), auth: true, idempotent: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RenameDevice sets a device's display name (PUT /devices/{deviceId}).
func (c *Client) RenameDevice(ctx context.Context, deviceID, name string) error {
	r := request{method: "PUT", path: "/devices/" + pathEscape(deviceID), auth: true, idempotent: true,
		body: map[string]string{"display_name": name}}
	return c.do(ctx, r, nil)
}

// DeleteDevice deletes a device (DELETE /devices/{deviceId}), which needs
// user-interactive authentication.
func (c *Client) DeleteDevice(ctx context.Context, deviceID string, auth AuthFunc) error {
	r := request{method: "DELETE", path: "/devices/" + pathEscape(deviceID), auth: true, idempotent: true}
	return c.doUIA(ctx, r, func(a *AuthDict) any { return api.DeleteDeviceRequest{Auth: a} }, auth, nil)
}

// GetAccountData returns the content of the caller's global account data
// event of type typ (GET /user/{userId}/account_data/{type}).
func (c *Client) GetAccountData(ctx context.Context, userID, typ string, out any) error {
	r := request{method: "GET", path: "/user/" + pathEscape(userID) + "/account_data/" + pathEscape(typ), auth: true, idempotent: true}
	return c.do(ctx, r, out)
}

// PutAccountData sets the caller's global account data event of type typ.
func (c *Client) PutAccountData(ctx context.Context, userID, typ string, content any) error {
	r := request{method: "PUT", path: "/user/" + pathEscape(userID) + "/account_data/" + pathEscape(typ), auth: true, idempotent: true, body: content}
	return c.do(ctx, r, nil)
}

// Versions returns the spec versions and unstable features the server
// supports (GET /_matrix/client/versions; no token needed).
func (c *Client) Versions(ctx context.Context) (*api.Versions, error) {
	var out api.Versions
	// /versions lives outside /v3.
	r := request{method: "GET", path: "/versions", idempotent: true, raw: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LoginFlows returns the login types the server accepts (GET /login).
func (c *Client) LoginFlows(ctx context.Context) ([]string, error) {
	var out api.LoginFlows
	if err := c.do(ctx, request{method: "GET", path: "/login", idempotent: true}, &out); err != nil {
		return nil, err
	}
	types := make([]string, 0, len(out.Flows))
	for _, f := range out.Flows {
		types = append(types, f.Type)
	}
	return types, nil
}

// RegisterAvailable reports whether a localpart is free to register (GET
// /register/available); a taken name is (false, nil).
func (c *Client) RegisterAvailable(ctx context.Context, username string) (bool, error) {
	var out struct {
		Available bool `json:"available"`
	}
	r := request{method: "GET", path: "/register/available", query: url.Values{"username": {username}}, idempotent: true}
	err := c.do(ctx, r, &out)
	if IsCode(err, CodeUserInUse) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return out.Available, nil
}

// LogoutAll invalidates every access token of the user (POST /logout/all)
// and forgets this client's.
func (c *Client) LogoutAll(ctx context.Context) error {
	if err := c.do(ctx, request{method: "POST", path: "/logout/all", body: struct{}{}, auth: true}, nil); err != nil {
		return err
	}
	c.SetAccessToken("")
	return nil
}

// DeleteDevices deletes several devices at once (POST /delete_devices),
// which needs user-interactive authentication.
func (c *Client) DeleteDevices(ctx context.Context, deviceIDs []string, auth AuthFunc) error {
	r := request{method: "POST", path: "/delete_devices", auth: true, idempotent: true}
	return c.doUIA(ctx, r, func(a *AuthDict) any { return api.DeleteDeviceRequest{Devices: deviceIDs, Auth: a} }, auth, nil)
}
