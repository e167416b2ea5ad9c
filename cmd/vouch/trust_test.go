package main

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"vouch/client"
	"vouch/trust"
)

func sampleReport(master string, verified bool, devices map[string]bool) *client.UserReport {
	r := &client.UserReport{UserID: "@bob:localhost", Master: master, Verified: verified, Devices: []client.DeviceReport{}}
	ids := make([]string, 0, len(devices))
	for id := range devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r.Devices = append(r.Devices, client.DeviceReport{DeviceID: id, Trusted: devices[id]})
	}
	return r
}

// TestTrustJSONInterface pins the fixed interface of vouch trust --json.
func TestTrustJSONInterface(t *testing.T) {
	r := sampleReport("KEY", false, nil)
	r.Decision = trust.Decision{Reason: "not verified"}
	b, err := json.Marshal(userJSON(r))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"user_id": `"@bob:localhost"`, "verified": `false`, "path": `[]`, "reason": `"not verified"`} {
		if string(got[k]) != want {
			t.Errorf("%s = %s, want %s", k, got[k], want)
		}
	}
}

// TestTrustTextPartialPath: for a user who is not verified, the steps that
// do hold are labelled as a chain that stops, so nobody reads them as a
// complete path; a verified user's path is labelled "path:".
func TestTrustTextPartialPath(t *testing.T) {
	steps := []trust.Step{{UserID: "@alice:localhost", Kind: trust.KindMaster, KeyID: "ed25519:A"}}
	for _, tt := range []struct {
		verified bool
		want     string
	}{{true, "  path: @alice:localhost master"}, {false, "  path, as far as it goes: @alice:localhost master"}} {
		r := sampleReport("KEY", tt.verified, nil)
		r.Decision = trust.Decision{Trusted: tt.verified, Reason: "r", Path: steps}
		var b strings.Builder
		printUserReport(&b, r, true)
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("verified=%v: %q lacks %q", tt.verified, b.String(), tt.want)
		}
	}
}
