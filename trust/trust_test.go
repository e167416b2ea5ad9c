package trust_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/trust"
)

// published builds what /keys/query would show of id: master (with the
// given extra raw form), SSK, USK, and devices cross-signed unless listed
// in unsigned.
func published(t testing.TB, id *testidentity.Identity, master []byte, unsigned ...string) *trust.UserKeys {
	t.Helper()
	if master == nil {
		master = id.MasterKey()
	}
	u := &trust.UserKeys{
		UserID:      id.UserID,
		Master:      testidentity.MustParseCrossSigningKey(t, master),
		SelfSigning: testidentity.MustParseCrossSigningKey(t, id.SubKey(keys.UsageSelfSigning)),
		UserSigning: testidentity.MustParseCrossSigningKey(t, id.SubKey(keys.UsageUserSigning)),
		Devices:     map[string]*keys.DeviceKeys{},
	}
	for dev := range id.Devices {
		raw := id.DeviceKeysCrossSigned(dev)
		for _, n := range unsigned {
			if n == dev {
				raw = id.DeviceKeys(dev)
			}
		}
		u.Devices[dev] = testidentity.MustParseDeviceKeys(t, raw)
	}
	return u
}

func kinds(path []trust.Step) string {
	var s []string
	for _, p := range path {
		s = append(s, p.UserID+"/"+p.Kind.String())
	}
	return strings.Join(s, " > ")
}

func TestOwnDevice(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1", "A2")
	own := published(t, alice, nil, "A2")
	tests := []struct {
		name    string
		viewer  trust.Viewer
		device  string
		trusted bool
		cause   error
		path    string
	}{
		{"cross-signed device", trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}, "A1", true, nil,
			"@alice:x/master > @alice:x/self_signing > @alice:x/device"},
		{"device not signed by SSK", trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}, "A2", false, trust.ErrBrokenLink,
			"@alice:x/master > @alice:x/self_signing"},
		{"unknown device", trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}, "NOPE", false, trust.ErrUnknownDevice,
			"@alice:x/master > @alice:x/self_signing"},
		{"master not trusted", trust.Viewer{UserID: alice.UserID, TrustedMaster: "", Own: own}, "A1", false, trust.ErrOwnMasterNotTrusted, ""},
		{"other master trusted", trust.Viewer{UserID: alice.UserID, TrustedMaster: testidentity.NewKey("x").B64, Own: own}, "A1", false, trust.ErrOwnMasterNotTrusted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.viewer.OwnDevice(tt.device)
			if d.Trusted != tt.trusted {
				t.Fatalf("trusted=%v, want %v (%s)", d.Trusted, tt.trusted, d.Reason)
			}
			if tt.cause != nil && !errors.Is(d.Cause, tt.cause) {
				t.Errorf("cause %v, want %v", d.Cause, tt.cause)
			}
			if got := kinds(d.Path); got != tt.path {
				t.Errorf("path %q, want %q", got, tt.path)
			}
			if d.Reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

func TestOwnDeviceForgedSSK(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	mallory := testidentity.New("@mallory:x")
	own := published(t, alice, nil)
	// An SSK signed by a key that is not alice's master.
	forged := mallory.Sign(alice.CrossSigningKeyUnsigned(keys.UsageSelfSigning), mallory.Master)
	own.SelfSigning = testidentity.MustParseCrossSigningKey(t, forged)
	d := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}.OwnDevice("A1")
	if d.Trusted || !errors.Is(d.Cause, trust.ErrBrokenLink) {
		t.Fatalf("forged SSK accepted: %+v", d)
	}
	// A device whose signature was made by a different self-signing key.
	own = published(t, alice, nil)
	own.Devices["A1"] = testidentity.MustParseDeviceKeys(t, mallory.Sign(alice.DeviceKeys("A1"), mallory.SelfSigning))
	d = trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}.OwnDevice("A1")
	if d.Trusted {
		t.Fatal("device signed by a foreign SSK accepted")
	}
}

func TestUserAndDevice(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	bob := testidentity.New("@bob:y", "B1", "B2")
	mallory := testidentity.New("@mallory:z")
	viewer := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(t, alice, nil)}

	verifiedBob := published(t, bob, alice.SignOtherMaster(bob), "B2")
	unverifiedBob := published(t, bob, nil)
	// Mallory signs with her USK but claims to be alice: the signature is
	// under alice's user ID with mallory's key ID, which alice's USK is not.
	forgedBob := published(t, bob, mallory.Sign(bob.MasterKey(), mallory.UserSigning))
	bobReset := testidentity.NewGeneration("@bob:y", "2", "B1")
	// Alice's old signature on bob's old master does not carry over.
	resetBob := published(t, bobReset, nil)

	tests := []struct {
		name    string
		their   *trust.UserKeys
		device  string
		user    bool
		dev     bool
		cause   error
		devPath string
	}{
		{"verified user, cross-signed device", verifiedBob, "B1", true, true, nil,
			"@alice:x/master > @alice:x/user_signing > @bob:y/master > @bob:y/self_signing > @bob:y/device"},
		{"verified user, device not cross-signed", verifiedBob, "B2", true, false, trust.ErrBrokenLink, ""},
		{"unverified user", unverifiedBob, "B1", false, false, trust.ErrNotVerified, ""},
		{"signature by another user's USK", forgedBob, "B1", false, false, trust.ErrNotVerified, ""},
		{"identity reset drops verification", resetBob, "B1", false, false, trust.ErrNotVerified, ""},
		{"no master key", &trust.UserKeys{UserID: "@bob:y"}, "B1", false, false, trust.ErrNoMasterKey, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := viewer.User(tt.their)
			if u.Trusted != tt.user {
				t.Fatalf("user trusted=%v want %v: %s", u.Trusted, tt.user, u.Reason)
			}
			d := viewer.Device(tt.their, tt.device)
			if d.Trusted != tt.dev {
				t.Fatalf("device trusted=%v want %v: %s", d.Trusted, tt.dev, d.Reason)
			}
			if tt.cause != nil && !errors.Is(d.Cause, tt.cause) {
				t.Errorf("cause %v, want %v", d.Cause, tt.cause)
			}
			if tt.devPath != "" && kinds(d.Path) != tt.devPath {
				t.Errorf("path %q, want %q", kinds(d.Path), tt.devPath)
			}
		})
	}
}

func TestViewerWithoutUSK(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	bob := testidentity.New("@bob:y", "B1")
	own := published(t, alice, nil)
	own.UserSigning = nil
	v := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}
	d := v.User(published(t, bob, alice.SignOtherMaster(bob)))
	if d.Trusted || !errors.Is(d.Cause, trust.ErrNoUserSigningKey) {
		t.Fatalf("got %+v", d)
	}
}

func TestDecisionJSON(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	v := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(t, alice, nil)}
	b, err := json.Marshal(v.OwnDevice("A1"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Trusted bool
		Path    []struct {
			UserID string `json:"user_id"`
			Kind   string `json:"kind"`
			KeyID  string `json:"key_id"`
		}
		Reason string
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Trusted || len(got.Path) != 3 || got.Path[2].Kind != "device" || got.Path[2].KeyID != "ed25519:A1" {
		t.Fatalf("bad JSON %s", b)
	}
}
