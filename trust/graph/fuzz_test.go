package graph_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"vouch/keys"
	"vouch/trust"
	"vouch/trust/graph"
)

// query is the part of a /keys/query response the graph draws, parsed
// here without package client.
type query struct {
	DeviceKeys            map[string]map[string]json.RawMessage `json:"device_keys"`
	MasterKeys            map[string]json.RawMessage            `json:"master_keys"`
	SelfSigningKeys       map[string]json.RawMessage            `json:"self_signing_keys"`
	UserSigningKeys       map[string]json.RawMessage            `json:"user_signing_keys"`
	PublicUserSigningKeys map[string]json.RawMessage            `json:"public_user_signing_keys"`
}

// usersOf parses q with keys.Parse*, keeping what parses (signatures are
// not checked, as a hostile server's response would not be).
func usersOf(q query) map[string]*trust.UserKeys {
	users := map[string]*trust.UserKeys{}
	get := func(id string) *trust.UserKeys {
		if users[id] == nil {
			users[id] = &trust.UserKeys{UserID: id, Devices: map[string]*keys.DeviceKeys{}}
		}
		return users[id]
	}
	for id, devs := range q.DeviceKeys {
		for devID, raw := range devs {
			if d, err := keys.ParseDeviceKeys(raw); err == nil {
				get(id).Devices[devID] = d
			}
		}
	}
	for _, c := range []struct {
		m   map[string]json.RawMessage
		set func(*trust.UserKeys, *keys.CrossSigningKey)
	}{
		{q.MasterKeys, func(u *trust.UserKeys, k *keys.CrossSigningKey) { u.Master = k }},
		{q.SelfSigningKeys, func(u *trust.UserKeys, k *keys.CrossSigningKey) { u.SelfSigning = k }},
		{q.UserSigningKeys, func(u *trust.UserKeys, k *keys.CrossSigningKey) { u.UserSigning = k }},
		{q.PublicUserSigningKeys, func(u *trust.UserKeys, k *keys.CrossSigningKey) { u.PublicUserSigning = k }},
	} {
		for id, raw := range c.m {
			if k, err := keys.ParseCrossSigningKey(raw); err == nil {
				c.set(get(id), k)
			}
		}
	}
	return users
}

// worldQuery is the test world as a /keys/query response.
func worldQuery(t testing.TB) []byte {
	w := newWorld(t)
	q := query{DeviceKeys: map[string]map[string]json.RawMessage{}, MasterKeys: map[string]json.RawMessage{},
		SelfSigningKeys: map[string]json.RawMessage{}, UserSigningKeys: map[string]json.RawMessage{}, PublicUserSigningKeys: map[string]json.RawMessage{}}
	for id, u := range w.users {
		q.DeviceKeys[id] = map[string]json.RawMessage{}
		for d, k := range u.Devices {
			q.DeviceKeys[id][d] = k.Raw
		}
		for m, k := range map[*map[string]json.RawMessage]*keys.CrossSigningKey{&q.MasterKeys: u.Master, &q.SelfSigningKeys: u.SelfSigning, &q.UserSigningKeys: u.UserSigning, &q.PublicUserSigningKeys: u.PublicUserSigning} {
			if k != nil {
				(*m)[id] = k.Raw
			}
		}
	}
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzGraph feeds /keys/query-like JSON through keys.Parse*, Build,
// Highlight and the three writers: nothing panics, DOT stays balanced with
// no bare word from the input, Mermaid labels never hold a newline or a
// quote, text holds no control character, and building twice draws the
// same picture.
func FuzzGraph(f *testing.F) {
	f.Add(worldQuery(f))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"device_keys":{"@a:x":{"D":{"user_id":"@a:x","device_id":"D","algorithms":[],"keys":{"ed25519:D":"AAAA"}}}}}`))
	// Every signed object of the signing vectors, as a device and as a
	// master key of a user.
	if raw, err := os.ReadFile("../../testdata/vectors/signing.json"); err == nil {
		var v struct {
			Sign []struct {
				Expected string `json:"expected_canonical"`
			} `json:"sign"`
			Verify []struct {
				Input json.RawMessage `json:"input"`
			} `json:"verify"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			f.Fatal(err)
		}
		var objs []json.RawMessage
		for _, c := range v.Sign {
			objs = append(objs, json.RawMessage(c.Expected))
		}
		for _, c := range v.Verify {
			objs = append(objs, c.Input)
		}
		for _, o := range objs {
			b, _ := json.Marshal(map[string]any{
				"device_keys": map[string]any{"@alice:example.org": map[string]any{"JLAFKJWSCS": o}},
				"master_keys": map[string]any{"@alice:example.org": o},
			})
			f.Add(b)
		}
	} else {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var q query
		if json.Unmarshal(data, &q) != nil {
			return
		}
		users := usersOf(q)
		g := graph.Build("@viewer:x", users)
		var path []trust.Step
		for i, n := range g.Nodes {
			if i%2 == 0 {
				path = append(path, n.Step())
			}
		}
		if n := g.Highlight(path); n > len(g.Edges) {
			t.Fatalf("highlighted %d of %d edges", n, len(g.Edges))
		}
		for _, e := range g.Edges {
			if e.From < 0 || e.From >= len(g.Nodes) || e.To < 0 || e.To >= len(g.Nodes) {
				t.Fatalf("edge %+v out of range", e)
			}
		}
		var dot, dot2, mmd, txt bytes.Buffer
		if err := graph.WriteDOT(&dot, g); err != nil {
			t.Fatal(err)
		}
		if err := checkDOT(dot.String()); err != nil {
			t.Fatalf("DOT: %v\n%s", err, dot.String())
		}
		if err := graph.WriteMermaid(&mmd, g); err != nil {
			t.Fatal(err)
		}
		if err := checkMermaid(mmd.String()); err != nil {
			t.Fatalf("Mermaid: %v\n%s", err, mmd.String())
		}
		if err := graph.WriteText(&txt, g); err != nil {
			t.Fatal(err)
		}
		if err := checkText(txt.String()); err != nil {
			t.Fatal(err)
		}
		g2 := graph.Build("@viewer:x", users)
		g2.Highlight(path)
		if err := graph.WriteDOT(&dot2, g2); err != nil {
			t.Fatal(err)
		}
		if dot.String() != dot2.String() {
			t.Fatal("two builds drew different pictures")
		}
	})
}
