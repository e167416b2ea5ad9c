package tempered_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/ssss"
	"vouch/trust"
)

// world is a set of identities with their published key objects, to which
// tests add private and public signatures before handing the keys to
// Evaluate.
type world struct {
	t      testing.TB
	viewer *testidentity.Identity
	ids    map[string]*testidentity.Identity
	master map[string][]byte // raw master key objects, signatures accumulating
	pusk   map[string][]byte // raw PUSK objects, signatures accumulating
	keys   map[string]*trust.UserKeys
}

func newWorld(t testing.TB, viewer string) *world {
	w := &world{t: t, ids: map[string]*testidentity.Identity{}, master: map[string][]byte{}, pusk: map[string][]byte{}}
	w.viewer = w.add(viewer)
	return w
}

// add creates a user whose PUSK is signed by their master key.
func (w *world) add(uid string) *testidentity.Identity {
	id := testidentity.New(uid)
	w.ids[uid] = id
	w.master[uid] = id.MasterKey()
	w.pusk[uid] = id.SubKey(keys.UsagePublicUserSigning)
	w.keys = nil
	return id
}

func (w *world) sign(obj []byte, entity, keyID string, k testidentity.Key) []byte {
	w.t.Helper()
	out, err := signedjson.Sign(obj, entity, keyID, k.Priv)
	if err != nil {
		w.t.Fatal(err)
	}
	w.keys = nil
	return out
}

// verify: the viewer's USK signs uid's master key (a private verification).
func (w *world) verify(uid string) {
	w.master[uid] = w.sign(w.master[uid], w.viewer.UserID, w.viewer.UserSigning.KeyID(), w.viewer.UserSigning)
}

// vouch: signer's PUSK publicly signs target's master key.
func (w *world) vouch(signer, target string) {
	p := w.ids[signer].PublicUserSig
	w.master[target] = w.sign(w.master[target], signer, p.KeyID(), p)
}

// vouchKey: signer's PUSK publicly signs user's PUSK (trusting them to vouch).
func (w *world) vouchKey(signer, user string) {
	p := w.ids[signer].PublicUserSig
	w.pusk[user] = w.sign(w.pusk[user], signer, p.KeyID(), p)
}

// users parses every published key (cached until the next change).
func (w *world) users() map[string]*trust.UserKeys {
	if w.keys != nil {
		return w.keys
	}
	out := map[string]*trust.UserKeys{}
	for uid, id := range w.ids {
		out[uid] = &trust.UserKeys{
			UserID:            uid,
			Master:            testidentity.MustParseCrossSigningKey(w.t, w.master[uid]),
			SelfSigning:       testidentity.MustParseCrossSigningKey(w.t, id.SubKey(keys.UsageSelfSigning)),
			UserSigning:       testidentity.MustParseCrossSigningKey(w.t, id.SubKey(keys.UsageUserSigning)),
			PublicUserSigning: testidentity.MustParseCrossSigningKey(w.t, w.pusk[uid]),
			Devices:           map[string]*keys.DeviceKeys{},
		}
	}
	w.keys = out
	return out
}

func (w *world) viewerOf() trust.Viewer {
	u := w.users()
	return trust.Viewer{UserID: w.viewer.UserID, TrustedMaster: w.viewer.Master.B64, Own: u[w.viewer.UserID]}
}

// kinds renders a path as "user/kind > …".
func kinds(path []trust.Step) string {
	var s []string
	for _, p := range path {
		s = append(s, p.UserID+"/"+p.Kind.String())
	}
	return strings.Join(s, " > ")
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// flipB64 flips one bit of byte i of an unpadded base64 value.
func flipB64(t *testing.T, s string, i int) string {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	b[i] ^= 0x01
	return base64.RawStdEncoding.EncodeToString(b)
}

func contentOf(t *testing.T, e ssss.EncryptedSecret) []byte {
	t.Helper()
	b, err := json.Marshal(ssss.SecretContent{Encrypted: map[string]ssss.EncryptedSecret{"KEYID": e}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
