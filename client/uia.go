package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// AuthFunc completes one stage of user-interactive authentication. It gets
// the server's flows, its params and the session, and returns the auth
// dictionary to send (the client adds the session). Returning an error
// aborts the request with that error.
type AuthFunc func(ctx context.Context, info UIAInfo) (*AuthDict, error)

// PasswordAuthFunc answers m.login.password stages for userID with the
// password that getPassword returns (called only when the server asks).
func PasswordAuthFunc(userID string, getPassword func(context.Context) (string, error)) AuthFunc {
	return func(ctx context.Context, info UIAInfo) (*AuthDict, error) {
		switch {
		case hasStage(info, LoginPassword):
			pw, err := getPassword(ctx)
			if err != nil {
				return nil, err
			}
			return PasswordAuth(userID, pw), nil
		case hasStage(info, LoginDummy):
			return &AuthDict{Type: LoginDummy}, nil
		}
		return nil, fmt.Errorf("%w: server offers %v, this client supports m.login.password", ErrAuthRequired, info.Flows)
	}
}

// DummyAuthFunc answers an m.login.dummy stage (open registration).
func DummyAuthFunc(ctx context.Context, info UIAInfo) (*AuthDict, error) {
	if !hasStage(info, LoginDummy) {
		return nil, fmt.Errorf("%w: server offers %v, not m.login.dummy", ErrAuthRequired, info.Flows)
	}
	return &AuthDict{Type: LoginDummy}, nil
}

// maxUIAStages bounds the rounds of one authenticated request.
const maxUIAStages = 5

// doUIA sends the request built by build (given the auth dict, nil at
// first) and runs the user-interactive authentication loop through auth.
func (c *Client) doUIA(ctx context.Context, r request, build func(*AuthDict) any, auth AuthFunc, out any) error {
	var dict *AuthDict
	for round := 0; ; round++ {
		r.body = build(dict)
		raw, err := c.doRaw(ctx, r, out)
		if err == nil {
			return nil
		}
		var merr *Error
		if !errors.As(err, &merr) || merr.Status != 401 {
			return err
		}
		var info UIAInfo
		if json.Unmarshal(raw, &info) != nil || len(info.Flows) == 0 {
			return err // a plain 401 such as M_UNKNOWN_TOKEN
		}
		uerr := &UIAError{Info: info, Err: merr}
		// The server rejected the stage we just sent (wrong password): stop
		// rather than ask again in a loop.
		if dict != nil && merr.Code != "" {
			return fmt.Errorf("%s %s: %w", r.method, r.path, uerr)
		}
		if auth == nil || round >= maxUIAStages {
			return fmt.Errorf("%s %s: %w", r.method, r.path, uerr)
		}
		next, aerr := auth(ctx, info)
		if aerr != nil {
			return fmt.Errorf("%s %s: %w", r.method, r.path, aerr)
		}
		if next == nil {
			return fmt.Errorf("%s %s: %w", r.method, r.path, uerr)
		}
		d := *next
		d.Session = info.Session
		dict = &d
	}
}
