package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Matrix client-server API paths the bench uses.
const (
	pathRegister      = "/_matrix/client/v3/register"
	pathLogin         = "/_matrix/client/v3/login"
	pathKeysUpload    = "/_matrix/client/v3/keys/upload"
	pathKeysQuery     = "/_matrix/client/v3/keys/query"
	pathKeysClaim     = "/_matrix/client/v3/keys/claim"
	pathSigningUpload = "/_matrix/client/v3/keys/device_signing/upload"
	pathSigsUpload    = "/_matrix/client/v3/keys/signatures/upload"
	pathSync          = "/_matrix/client/v3/sync"
)

// population is the set of bench users, with their devices' access tokens
// once registered.
type population struct {
	users []*user
	// wake are the sync-wake users, apart from users so that the other
	// scenarios' queries do not make them interested in anybody: watchers
	// 0..C-1, one-to-one targets C..2C-1 and the fan-out target 2C.
	wake []*user
}

// wakeUsers is how many sync-wake users a run with clients clients needs.
func wakeUsers(clients int) int { return 2*clients + 1 }

// userIDs returns the IDs of users[from], users[from+1], … (n of them,
// wrapping around).
func (p *population) userIDs(from, n int) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = p.users[(from+i)%len(p.users)].id
	}
	return ids
}

// runID returns a random tag that keeps the user names of one run apart from
// those of earlier runs on the same server.
func runID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("bench: random run ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// syntheticPopulation builds users and devices locally, without a server,
// for a ceiling-only run: the request bodies have the same shapes and sizes.
func syntheticPopulation(users, devices, wake int) (*population, error) {
	p := &population{}
	mk := func(prefix string, n, devices int) ([]*user, error) {
		var out []*user
		for i := range n {
			u, err := newUser(fmt.Sprintf("bench_%s%d", prefix, i), "localhost", "")
			if err != nil {
				return nil, err
			}
			for j := range devices {
				if _, err := u.addDevice(fmt.Sprintf("BENCHDEV%02d%s%04d", j, strings.ToUpper(prefix), i), "ceiling"); err != nil {
					return nil, err
				}
			}
			out = append(out, u)
		}
		return out, nil
	}
	var err error
	if p.users, err = mk("u", users, devices); err != nil {
		return nil, err
	}
	if p.wake, err = mk("w", wake, 1); err != nil {
		return nil, err
	}
	return p, nil
}

// registerResponse is the answer of /register and /login.
type registerResponse struct {
	UserID      string `json:"user_id"`
	AccessToken string `json:"access_token"`
	DeviceID    string `json:"device_id"`
}

// register creates an account with m.login.dummy, following the
// user-interactive auth session if the server asks for one first.
func register(ctx context.Context, e endpoint, local, password string) (registerResponse, error) {
	var out registerResponse
	req := map[string]any{
		"username":                    local,
		"password":                    password,
		"auth":                        map[string]string{"type": "m.login.dummy"},
		"initial_device_display_name": "vouch bench",
	}
	for attempt := 0; attempt < 2; attempt++ {
		body, err := json.Marshal(req)
		if err != nil {
			return out, fmt.Errorf("bench: register body: %w", err)
		}
		err = e.call(ctx, http.MethodPost, pathRegister, "", body, &out)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusUnauthorized && se.body.Session != "" && attempt == 0 {
			req["auth"] = map[string]string{"type": "m.login.dummy", "session": se.body.Session}
			continue
		}
		if err != nil {
			return out, fmt.Errorf("bench: registering %s: %w", local, err)
		}
		break
	}
	if out.UserID == "" || out.AccessToken == "" || out.DeviceID == "" {
		return out, fmt.Errorf("%w: register %s: missing user_id, access_token or device_id", ErrBadResponse, local)
	}
	return out, nil
}

// login creates a new device with m.login.password.
func login(ctx context.Context, e endpoint, local, password string) (registerResponse, error) {
	var out registerResponse
	body, err := json.Marshal(map[string]any{
		"type":                        "m.login.password",
		"identifier":                  map[string]string{"type": "m.id.user", "user": local},
		"password":                    password,
		"initial_device_display_name": "vouch bench",
	})
	if err != nil {
		return out, fmt.Errorf("bench: login body: %w", err)
	}
	if err := e.call(ctx, http.MethodPost, pathLogin, "", body, &out); err != nil {
		return out, fmt.Errorf("bench: logging in %s: %w", local, err)
	}
	if out.AccessToken == "" || out.DeviceID == "" {
		return out, fmt.Errorf("%w: login %s: missing access_token or device_id", ErrBadResponse, local)
	}
	return out, nil
}

// signatureUploadResponse is the part of /keys/signatures/upload's answer
// the bench checks.
type signatureUploadResponse struct {
	Failures map[string]json.RawMessage `json:"failures"`
}

// setupUser registers one user with its devices, uploads every device's
// keys, the cross-signing keys and the self-signing key's signatures over
// every device.
func setupUser(ctx context.Context, e endpoint, local string, devices int) (*user, error) {
	var pw [16]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, fmt.Errorf("bench: random password: %w", err)
	}
	password := hex.EncodeToString(pw[:])
	reg, err := register(ctx, e, local, password)
	if err != nil {
		return nil, err
	}
	_, serverName, ok := strings.Cut(reg.UserID, ":")
	if !ok || serverName == "" {
		return nil, fmt.Errorf("%w: register returned user ID %q", ErrBadResponse, reg.UserID)
	}
	u, err := newUser(local, serverName, password)
	if err != nil {
		return nil, err
	}
	if u.id != reg.UserID {
		return nil, fmt.Errorf("%w: registered %q, server says %q", ErrBadResponse, u.id, reg.UserID)
	}
	if _, err := u.addDevice(reg.DeviceID, reg.AccessToken); err != nil {
		return nil, err
	}
	for len(u.devices) < devices {
		l, err := login(ctx, e, local, password)
		if err != nil {
			return nil, err
		}
		if _, err := u.addDevice(l.DeviceID, l.AccessToken); err != nil {
			return nil, err
		}
	}
	for _, d := range u.devices {
		body, err := u.deviceKeysUploadBody(d)
		if err != nil {
			return nil, err
		}
		if err := e.call(ctx, http.MethodPost, pathKeysUpload, d.token, body, nil); err != nil {
			return nil, fmt.Errorf("bench: uploading device keys of %s %s: %w", u.id, d.id, err)
		}
	}
	body, err := u.crossSigningUploadBody()
	if err != nil {
		return nil, err
	}
	if err := e.call(ctx, http.MethodPost, pathSigningUpload, u.devices[0].token, body, nil); err != nil {
		return nil, fmt.Errorf("bench: uploading cross-signing keys of %s: %w", u.id, err)
	}
	if body, err = u.deviceCrossSignaturesBody(); err != nil {
		return nil, err
	}
	var sr signatureUploadResponse
	if err := e.call(ctx, http.MethodPost, pathSigsUpload, u.devices[0].token, body, &sr); err != nil {
		return nil, fmt.Errorf("bench: cross-signing devices of %s: %w", u.id, err)
	}
	if len(sr.Failures) != 0 {
		return nil, fmt.Errorf("%w: cross-signing devices of %s: failures %v", ErrBadResponse, u.id, sr.Failures)
	}
	return u, nil
}

// setupPopulation registers users users with devices devices each, and
// wake sync-wake users with one device each, on the server, parallel at a
// time.
func setupPopulation(ctx context.Context, e endpoint, users, devices, wake, parallel int) (*population, error) {
	tag, err := runID()
	if err != nil {
		return nil, err
	}
	p := &population{}
	if p.users, err = setupUsers(ctx, e, "bench_"+tag+"_u", users, devices, parallel); err != nil {
		return nil, err
	}
	if p.wake, err = setupUsers(ctx, e, "bench_"+tag+"_w", wake, 1, parallel); err != nil {
		return nil, err
	}
	return p, nil
}

// setupUsers registers n users named prefix0, prefix1, … with devices
// devices each, parallel at a time.
func setupUsers(ctx context.Context, e endpoint, prefix string, n, devices, parallel int) ([]*user, error) {
	users := make([]*user, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range max(1, min(parallel, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				u, err := setupUser(ctx, e, fmt.Sprintf("%s%d", prefix, i), devices)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				users[i] = u
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: setting up users: %w", err)
	}
	return users, nil
}
