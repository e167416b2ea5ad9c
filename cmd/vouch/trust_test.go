package main

import (
	"encoding/json"
	"sort"
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
