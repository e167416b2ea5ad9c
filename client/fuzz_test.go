package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"vouch/client"
	"vouch/internal/testidentity"
	"vouch/keys"
)

// FuzzEvaluateTrust feeds attacker-controlled master and device objects for
// bob into alice's trust view. Whatever the bytes, nothing panics, every
// device kept is well formed and listed under its own ID, and bob can only
// come out verified with exactly the master key alice's user-signing key
// signed.
func FuzzEvaluateTrust(f *testing.F) {
	alice := testidentity.New("@alice:localhost", "A1")
	bob := testidentity.New("@bob:localhost", "B1")
	f.Add(alice.SignOtherMaster(bob), bob.DeviceKeysCrossSigned("B1"), bob.SubKey(keys.UsageSelfSigning))
	f.Add(bob.MasterKey(), bob.DeviceKeys("B1"), []byte(`{}`))
	f.Add([]byte(`{"user_id":"@bob:localhost","usage":["master"],"keys":{}}`), []byte(`[]`), []byte(`null`))
	in := client.TrustInputs{UserID: alice.UserID, OwnMaster: alice.Master.B64}
	f.Fuzz(func(t *testing.T, master, dev, ssk []byte) {
		q := newQR().add(alice, alice.MasterKey(), true)
		q.r.MasterKeys[bob.UserID] = json.RawMessage(master)
		q.r.SelfSigningKeys[bob.UserID] = json.RawMessage(ssk)
		q.r.DeviceKeys[bob.UserID] = map[string]json.RawMessage{"B1": dev}
		r := client.EvaluateTrust(&q.r, in, []string{bob.UserID}).Users[bob.UserID]
		for _, d := range r.Devices {
			if d.DeviceID != "B1" || d.Ed25519 == "" {
				t.Fatalf("bad device kept: %+v", d)
			}
		}
		if r.Verified {
			if r.Master != bob.Master.B64 {
				t.Fatalf("verified a master key alice never signed: %s", r.Master)
			}
			same, err := keys.SameKeyIgnoringSignatures(master, bob.MasterKey())
			if err != nil || !same {
				t.Fatalf("verified a different master object: %s", master)
			}
		}
	})
}

// FuzzResponse serves attacker-chosen status codes and bodies to the
// client's decoding of answers, Matrix errors and user-interactive auth:
// nothing panics, success means a 2xx with a well-formed body, and every
// failure is one of the documented error kinds.
func FuzzResponse(f *testing.F) {
	f.Add(200, []byte(`{"user_id":"@alice:localhost","device_id":"D"}`))
	f.Add(401, []byte(`{"flows":[{"stages":["m.login.password"]}],"session":"s"}`))
	f.Add(401, []byte(`{"flows":[{"stages":["m.login.password"]}],"session":"s","errcode":"M_FORBIDDEN"}`))
	f.Add(429, []byte(`{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":-5}`))
	f.Add(500, []byte(`<html>`))
	f.Add(200, []byte(`{"user_id":5}`))
	var status atomic.Int32
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		w.Write(body.Load().([]byte))
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithAccessToken("t"), client.WithRetries(0, 0, 0))
	if err != nil {
		f.Fatal(err)
	}
	auth := client.PasswordAuthFunc("@alice:localhost", func(context.Context) (string, error) { return "pw", nil })
	f.Fuzz(func(t *testing.T, code int, raw []byte) {
		if code < 200 || code > 599 {
			code = 200 + (code%400+400)%400
		}
		status.Store(int32(code))
		body.Store(raw)
		ctx := context.Background()
		who, err := c.WhoAmI(ctx)
		if err == nil {
			if code >= 300 || who == nil {
				t.Fatalf("success from HTTP %d", code)
			}
			if _, perr := keys.ParseUserID(who.UserID); perr != nil {
				t.Fatalf("accepted user ID %q", who.UserID)
			}
		} else if !errors.Is(err, client.ErrBadResponse) && !errors.As(err, new(*client.Error)) {
			t.Fatalf("undocumented error kind %T: %v", err, err)
		}
		err = c.DeleteDevice(ctx, "D", auth)
		if err == nil && code >= 300 {
			t.Fatalf("delete succeeded on HTTP %d", code)
		}
		if err != nil && !errors.Is(err, client.ErrBadResponse) && !errors.As(err, new(*client.Error)) && !errors.Is(err, client.ErrAuthRequired) {
			t.Fatalf("undocumented error kind %T: %v", err, err)
		}
	})
}
