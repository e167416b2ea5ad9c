package graph_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
	"vouch/trust/graph"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sign(t testing.TB, obj []byte, entity, keyID string, k testidentity.Key) []byte {
	t.Helper()
	out, err := signedjson.Sign(obj, entity, keyID, k.Priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// world is alice (the viewer), bob and carol with every kind of signature:
//
//   - alice: master, SSK, USK, devices A1 (cross-signed) and A2 (cross-signed,
//     and A2 signed alice's master); alice's USK signed bob's master.
//   - bob: master, SSK, USK, PUSK; device B1 cross-signed, B2 only
//     self-signed; a device named after bob's master public key, with a key
//     of its own (seed 002), so "ed25519:<bob MSK>" names two keys; bob's
//     PUSK signed carol's master and carol's PUSK.
//   - carol: master, SSK, PUSK; device C1 with a forged SSK signature (made
//     by another key under the SSK's key ID) and a signature by a key of
//     @mallory:z that nobody published.
type world struct {
	alice, bob, carol *testidentity.Identity
	users             map[string]*trust.UserKeys
	viewer            trust.Viewer
}

func newWorld(t testing.TB) *world {
	t.Helper()
	alice := testidentity.New("@alice:x", "A1", "A2")
	bob := testidentity.New("@bob:y", "B1", "B2")
	carol := testidentity.New("@carol:z", "C1")
	mallory := testidentity.NewKey("mallory")

	aliceMaster := sign(t, alice.MasterKey(), alice.UserID, "ed25519:A2", alice.Devices["A2"].Ed25519)
	a := &trust.UserKeys{
		UserID:      alice.UserID,
		Master:      testidentity.MustParseCrossSigningKey(t, aliceMaster),
		SelfSigning: testidentity.MustParseCrossSigningKey(t, alice.SubKey(keys.UsageSelfSigning)),
		UserSigning: testidentity.MustParseCrossSigningKey(t, alice.SubKey(keys.UsageUserSigning)),
		Devices: map[string]*keys.DeviceKeys{
			"A1": testidentity.MustParseDeviceKeys(t, alice.DeviceKeysCrossSigned("A1")),
			"A2": testidentity.MustParseDeviceKeys(t, alice.DeviceKeysCrossSigned("A2")),
		},
	}

	collide := bob.AddDevice(bob.Master.B64)
	b := &trust.UserKeys{
		UserID:            bob.UserID,
		Master:            testidentity.MustParseCrossSigningKey(t, alice.SignOtherMaster(bob)),
		SelfSigning:       testidentity.MustParseCrossSigningKey(t, bob.SubKey(keys.UsageSelfSigning)),
		UserSigning:       testidentity.MustParseCrossSigningKey(t, bob.SubKey(keys.UsageUserSigning)),
		PublicUserSigning: testidentity.MustParseCrossSigningKey(t, bob.SubKey(keys.UsagePublicUserSigning)),
		Devices: map[string]*keys.DeviceKeys{
			"B1":       testidentity.MustParseDeviceKeys(t, bob.DeviceKeysCrossSigned("B1")),
			"B2":       testidentity.MustParseDeviceKeys(t, bob.DeviceKeys("B2")),
			collide.ID: testidentity.MustParseDeviceKeys(t, bob.DeviceKeys(collide.ID)),
		},
	}

	carolMaster := sign(t, carol.MasterKey(), bob.UserID, bob.PublicUserSig.KeyID(), bob.PublicUserSig)
	carolPUSK := sign(t, carol.SubKey(keys.UsagePublicUserSigning), bob.UserID, bob.PublicUserSig.KeyID(), bob.PublicUserSig)
	c1 := sign(t, carol.DeviceKeys("C1"), carol.UserID, carol.SelfSigning.KeyID(), mallory)
	c1 = sign(t, c1, "@mallory:z", "ed25519:GHOST", mallory)
	c := &trust.UserKeys{
		UserID:            carol.UserID,
		Master:            testidentity.MustParseCrossSigningKey(t, carolMaster),
		SelfSigning:       testidentity.MustParseCrossSigningKey(t, carol.SubKey(keys.UsageSelfSigning)),
		PublicUserSigning: testidentity.MustParseCrossSigningKey(t, carolPUSK),
		Devices:           map[string]*keys.DeviceKeys{"C1": testidentity.MustParseDeviceKeys(t, c1)},
	}
	return &world{
		alice: alice, bob: bob, carol: carol,
		users:  map[string]*trust.UserKeys{alice.UserID: a, bob.UserID: b, carol.UserID: c},
		viewer: trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: a},
	}
}

// name is a short, readable name of a node for test tables.
func (w *world) name(n graph.Node) string {
	who := strings.TrimPrefix(strings.SplitN(n.UserID, ":", 2)[0], "@")
	switch n.Kind {
	case trust.KindDevice:
		if n.DeviceID == w.bob.Master.B64 {
			return who + "/device<MSK>"
		}
		return who + "/device " + n.DeviceID
	case trust.KindUnknown:
		return who + "/unknown " + n.KeyID
	}
	return who + "/" + n.Kind.String()
}

func (w *world) edges(g *graph.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		s := w.name(g.Nodes[e.From]) + " -> " + w.name(g.Nodes[e.To]) + " " + e.Kind.String() + " " + e.Status.String()
		if e.Private {
			s += " private"
		}
		if e.Ambiguous {
			s += " ambiguous"
		}
		if e.Highlighted {
			s += " highlighted"
		}
		out = append(out, s)
	}
	return out
}

func TestBuildWorld(t *testing.T) {
	w := newWorld(t)
	g := graph.Build(w.alice.UserID, w.users)

	var nodes []string
	for _, n := range g.Nodes {
		nodes = append(nodes, w.name(n))
	}
	wantNodes := []string{
		"alice/master", "alice/self_signing", "alice/user_signing", "alice/device A1", "alice/device A2",
		"bob/master", "bob/self_signing", "bob/user_signing", "bob/public_user_signing",
		// Device key IDs sort as strings: the master-named device's ID is
		// base64 of a key, compared with "B1" and "B2".
	}
	bobDevs := []string{"bob/device B1", "bob/device B2", "bob/device<MSK>"}
	slices.SortFunc(bobDevs, func(a, b string) int {
		id := func(s string) string {
			if s == "bob/device<MSK>" {
				return w.bob.Master.B64
			}
			return strings.TrimPrefix(s, "bob/device ")
		}
		return strings.Compare(id(a), id(b))
	})
	wantNodes = append(wantNodes, bobDevs...)
	wantNodes = append(wantNodes, "carol/master", "carol/self_signing", "carol/public_user_signing", "carol/device C1", "mallory/unknown ed25519:GHOST")
	if !slices.Equal(nodes, wantNodes) {
		t.Fatalf("nodes:\n got %q\nwant %q", nodes, wantNodes)
	}
	if !slices.Equal(g.Users, []string{"@alice:x", "@bob:y", "@carol:z", "@mallory:z"}) {
		t.Errorf("users %q", g.Users)
	}

	got := w.edges(g)
	want := []string{
		"alice/master -> alice/self_signing master→subkey valid",
		"alice/master -> alice/user_signing master→subkey valid",
		"alice/user_signing -> bob/master usk→master valid private",
		"alice/self_signing -> alice/device A1 ssk→device valid",
		"alice/self_signing -> alice/device A2 ssk→device valid",
		"alice/device A1 -> alice/device A1 self valid",
		"alice/device A2 -> alice/master device→master valid",
		"alice/device A2 -> alice/device A2 self valid",
		"bob/master -> bob/self_signing master→subkey valid ambiguous",
		"bob/master -> bob/user_signing master→subkey valid ambiguous",
		"bob/master -> bob/public_user_signing master→subkey valid ambiguous",
		"bob/master -> bob/device<MSK> other invalid ambiguous",
		"bob/self_signing -> bob/device B1 ssk→device valid",
		"bob/public_user_signing -> carol/master pusk→master valid",
		"bob/public_user_signing -> carol/public_user_signing pusk→pusk valid",
		"bob/device B1 -> bob/device B1 self valid",
		"bob/device B2 -> bob/device B2 self valid",
		"bob/device<MSK> -> bob/self_signing other invalid ambiguous",
		"bob/device<MSK> -> bob/user_signing other invalid ambiguous",
		"bob/device<MSK> -> bob/public_user_signing other invalid ambiguous",
		"bob/device<MSK> -> bob/device<MSK> self valid ambiguous",
		"carol/master -> carol/self_signing master→subkey valid",
		"carol/master -> carol/public_user_signing master→subkey valid",
		"carol/self_signing -> carol/device C1 ssk→device invalid",
		"carol/device C1 -> carol/device C1 self valid",
		"mallory/unknown ed25519:GHOST -> carol/device C1 other signer unknown",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("edges:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// Edges come sorted by (From, To).
	if !slices.IsSortedFunc(g.Edges, func(a, b graph.Edge) int {
		if a.From != b.From {
			return a.From - b.From
		}
		return a.To - b.To
	}) {
		t.Error("edges not sorted")
	}
}

func TestBuildDeterministic(t *testing.T) {
	w := newWorld(t)
	var first bytes.Buffer
	for i := range 20 {
		g := graph.Build(w.alice.UserID, w.users)
		var b bytes.Buffer
		if err := graph.WriteDOT(&b, g); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
		} else if b.String() != first.String() {
			t.Fatal("two builds of the same keys drew different graphs")
		}
	}
}

func TestHighlight(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		decision func() trust.Decision
		trusted  bool
		want     []string
	}{
		{
			"bob's device B1 is trusted through alice's USK",
			func() trust.Decision { return w.viewer.Device(w.users["@bob:y"], "B1") },
			true,
			[]string{
				"alice/master -> alice/user_signing master→subkey valid highlighted",
				"alice/user_signing -> bob/master usk→master valid private highlighted",
				"bob/master -> bob/self_signing master→subkey valid ambiguous highlighted",
				"bob/self_signing -> bob/device B1 ssk→device valid highlighted",
			},
		},
		{
			"alice's own device A1",
			func() trust.Decision { return w.viewer.OwnDevice("A1") },
			true,
			[]string{
				"alice/master -> alice/self_signing master→subkey valid highlighted",
				"alice/self_signing -> alice/device A1 ssk→device valid highlighted",
			},
		},
		{
			"carol is not verified: the chain stops at alice's USK",
			func() trust.Decision { return w.viewer.User(w.users["@carol:z"]) },
			false,
			[]string{"alice/master -> alice/user_signing master→subkey valid highlighted"},
		},
		{
			"bob's B2 is not signed: the chain stops at bob's SSK",
			func() trust.Decision { return w.viewer.Device(w.users["@bob:y"], "B2") },
			false,
			[]string{
				"alice/master -> alice/user_signing master→subkey valid highlighted",
				"alice/user_signing -> bob/master usk→master valid private highlighted",
				"bob/master -> bob/self_signing master→subkey valid ambiguous highlighted",
			},
		},
		{"empty path", func() trust.Decision { return trust.Decision{} }, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.decision()
			if d.Trusted != tt.trusted {
				t.Fatalf("trusted=%v (%s)", d.Trusted, d.Reason)
			}
			g := graph.Build(w.alice.UserID, w.users)
			if n := g.Highlight(d.Path); n != len(tt.want) {
				t.Errorf("Highlight marked %d edges, want %d", n, len(tt.want))
			}
			var got []string
			for _, e := range w.edges(g) {
				if strings.HasSuffix(e, " highlighted") {
					got = append(got, e)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("highlighted:\n got %q\nwant %q", got, tt.want)
			}
			for _, s := range d.Path {
				if i := g.Node(s); i < 0 || !g.Nodes[i].Highlighted {
					t.Errorf("step %s not highlighted", s)
				}
			}
		})
	}
}

func TestNilAndEmpty(t *testing.T) {
	var nilGraph *graph.Graph
	if nilGraph.Highlight([]trust.Step{{}}) != 0 {
		t.Error("nil graph highlighted something")
	}
	for name, write := range writers {
		if err := write(&bytes.Buffer{}, nil); err == nil {
			t.Errorf("%s accepted a nil graph", name)
		}
	}
	g := graph.Build("@me:x", map[string]*trust.UserKeys{"@a:x": nil, "@b:x": {Devices: map[string]*keys.DeviceKeys{"D": nil}}})
	if len(g.Nodes) != 0 || len(g.Edges) != 0 {
		t.Fatalf("nil keys drew %d nodes, %d edges", len(g.Nodes), len(g.Edges))
	}
	for name, write := range writers {
		var b bytes.Buffer
		if err := write(&b, g); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

var writers = map[string]func(*bytes.Buffer, *graph.Graph) error{
	"dot":     func(b *bytes.Buffer, g *graph.Graph) error { return graph.WriteDOT(b, g) },
	"mermaid": func(b *bytes.Buffer, g *graph.Graph) error { return graph.WriteMermaid(b, g) },
	"text":    func(b *bytes.Buffer, g *graph.Graph) error { return graph.WriteText(b, g) },
}

var goldenExt = map[string]string{"dot": "dot", "mermaid": "mmd", "text": "txt"}

// TestGolden draws the world with bob's device B1 highlighted in each
// format and compares with testdata/world.*; -update rewrites them.
func TestGolden(t *testing.T) {
	w := newWorld(t)
	g := graph.Build(w.alice.UserID, w.users)
	g.Highlight(w.viewer.Device(w.users["@bob:y"], "B1").Path)
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b, g); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "world."+goldenExt[name])
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs from %s:\n%s", name, path, b.String())
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	w := newWorld(b)
	for b.Loop() {
		graph.Build(w.alice.UserID, w.users)
	}
}

func BenchmarkWriteDOT(b *testing.B) {
	w := newWorld(b)
	g := graph.Build(w.alice.UserID, w.users)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := graph.WriteDOT(&buf, g); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFloor is the baseline of BenchmarkBuild: the bare
// signedjson.Verify calls that Build's edges need, and nothing else.
func BenchmarkVerifyFloor(b *testing.B) {
	w := newWorld(b)
	g := graph.Build(w.alice.UserID, w.users)
	type check struct {
		raw           []byte
		entity, keyID string
		pub           []byte
	}
	var checks []check
	objs := map[string][]byte{}
	for _, u := range w.users {
		for _, k := range []*keys.CrossSigningKey{u.Master, u.SelfSigning, u.UserSigning, u.PublicUserSigning} {
			if k != nil {
				objs[u.UserID+" "+string(k.KeyID())] = k.Raw
			}
		}
		for id, d := range u.Devices {
			objs[u.UserID+" ed25519:"+id+" device"] = d.Raw
		}
	}
	for _, e := range g.Edges {
		from, to := g.Nodes[e.From], g.Nodes[e.To]
		if e.Status == graph.SignerUnknown {
			continue
		}
		key := to.UserID + " " + to.KeyID
		if to.Kind == trust.KindDevice {
			key += " device"
		}
		pub, err := signedjson.DecodeBase64(from.PublicKey)
		if err != nil {
			b.Fatal(err)
		}
		checks = append(checks, check{objs[key], from.UserID, from.KeyID, pub})
	}
	b.ReportMetric(float64(len(checks)), "verifications/op")
	for b.Loop() {
		for _, c := range checks {
			_ = signedjson.Verify(c.raw, c.entity, c.keyID, c.pub)
		}
	}
}
