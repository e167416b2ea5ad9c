package keys_test

import (
	"errors"
	"strings"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
)

// TestServerNameGrammar follows the appendix grammar line by line:
//
//	server_name = hostname [ ":" port ]
//	port        = 1*5DIGIT
//	hostname    = IPv4address / "[" IPv6address "]" / dns-name
//	IPv6address = 2*45IPv6char
//	dns-name    = 1*255dns-char
func TestServerNameGrammar(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"matrix.org", true},
		{"matrix.org:8888", true},
		{"1.2.3.4", true},
		{"1.2.3.4:1234", true},
		{"[1234:5678::abcd]", true},
		{"[1234:5678::abcd]:5678", true},
		{"[::1]", true},
		{"[::ffff:1.2.3.4]:80", true},
		{"[ABCD::EF]", true},
		{"localhost", true},
		{"a-b.c", true},
		{strings.Repeat("a", 255), true},
		// port = 1*5DIGIT: digits only, one to five of them.
		{"matrix.org:1", true},
		{"matrix.org:65535", true},
		{"matrix.org:99999", true},
		{"matrix.org:0", true},
		{"matrix.org:+80", false},
		{"matrix.org:-1", false},
		{"matrix.org:123456", false},
		{"matrix.org:", false},
		{"matrix.org:8a", false},
		{"matrix.org: 80", false},
		{"matrix.org:٣", false},
		// hostname
		{"", false},
		{":80", false},
		{strings.Repeat("a", 256), false},
		{"matrix_org", false},
		{"matrix.org/", false},
		{"mätrix.org", false},
		{"matrix.org:80:80", false},
		{"::1", false},
		{"[::1", false},
		{"[::1]x", false},
		{"[::1]:", false},
		{"[::1]]", false},
		{"[]", false},
		{"[zz::1]", false},
		{"[1.2.3.4]", false},
		{"[fe80::1%eth0]", false},
		{"[0000:0000:0000:0000:0000:ffff:255.255.255.255]", true},
		{"[0000:0000:0000:0000:0000:0000:ffff:255.255.255.255]", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := keys.ValidServerName(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", tt.ok, err)
			}
			_, uerr := keys.ParseUserID("@a:" + tt.in)
			if tt.ok != (uerr == nil) && len(tt.in) < 250 {
				t.Fatalf("as a user ID: ok=%v, err=%v", tt.ok, uerr)
			}
		})
	}
}

// TestUserIDLimits covers the 255-byte limit (sigil and domain included)
// and the historical localparts of the appendix: accepted from U+0021 to
// U+007E except ':', refused outside (non-compliant IDs are not forwarded
// to clients, so they never carry keys).
func TestUserIDLimits(t *testing.T) {
	at255 := "@" + strings.Repeat("a", 255-len("@:x.org")) + ":x.org"
	tests := []struct {
		in string
		ok bool
	}{
		{at255, true},
		{at255[:1] + "a" + at255[1:], false},
		{"@!#$%&'()*+,-./;<=>?[]^_`{|}~\\\"AZ:x.org", true},
		{"@a\x00b:x.org", false},
		{"@a\x7fb:x.org", false},
		{"@a\tb:x.org", false},
		{"@:x.org", false},
		{"@@:x.org", true},
		{"@a:b:x.org", false},
		{"@a", false},
		{"a:x.org", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := keys.ParseUserID(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", tt.ok, err)
			}
			if err != nil && !errors.Is(err, keys.ErrInvalidUserID) {
				t.Fatalf("%v does not wrap ErrInvalidUserID", err)
			}
			if err == nil && "@"+u.Localpart()+":"+u.ServerName() != tt.in {
				t.Fatalf("parts %q %q do not rebuild the ID", u.Localpart(), u.ServerName())
			}
		})
	}
}

// TestFieldNamesExact: encoding/json matches struct fields without regard
// to case, so {"user_id":…,"USER_ID":…} passes the duplicate check of
// canonical JSON and then the second member silently wins. The signed
// bytes hold both; another implementation reads the first. Such objects
// must be refused, and a member spelled only in another case is not the
// field.
func TestFieldNamesExact(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	k := alice.Master.B64
	keysMember := `"keys":{"ed25519:` + k + `":"` + k + `"}`
	csTests := []struct{ name, in string }{
		{"user_id twice in two cases", `{"user_id":"@alice:x","USER_ID":"@mallory:x","usage":["master"],` + keysMember + `}`},
		{"user_id only in another case", `{"User_Id":"@alice:x","usage":["master"],` + keysMember + `}`},
		{"usage in another case", `{"user_id":"@alice:x","Usage":["master"],` + keysMember + `}`},
		{"keys twice in two cases", `{"user_id":"@alice:x","usage":["master"],` + keysMember + `,"KEYS":{"ed25519:AAAA":"AAAA"}}`},
		{"keys with a Kelvin sign", `{"user_id":"@alice:x","usage":["master"],` + keysMember + `,"\u212aeys":{"ed25519:AAAA":"AAAA"}}`},
		{"signatures in another case", `{"user_id":"@alice:x","usage":["master"],` + keysMember + `,"Signatures":{}}`},
	}
	for _, tt := range csTests {
		t.Run("cross-signing/"+tt.name, func(t *testing.T) {
			if k, err := keys.ParseCrossSigningKey([]byte(tt.in)); !errors.Is(err, keys.ErrMalformedKey) {
				t.Fatalf("got %+v, %v; want ErrMalformedKey", k, err)
			}
		})
	}
	dev := `"device_id":"A1","algorithms":[],"keys":{"ed25519:A1":"` + alice.Devices["A1"].Ed25519.B64 + `"}`
	devTests := []struct{ name, in string }{
		{"user_id twice in two cases", `{"user_id":"@alice:x","uSer_id":"@mallory:x",` + dev + `}`},
		{"device_id twice in two cases", `{"user_id":"@alice:x","DEVICE_ID":"B2",` + dev + `}`},
		{"algorithms in another case", `{"user_id":"@alice:x","Algorithms":[],"device_id":"A1","keys":{"ed25519:A1":"` + alice.Devices["A1"].Ed25519.B64 + `"}}`},
	}
	for _, tt := range devTests {
		t.Run("device/"+tt.name, func(t *testing.T) {
			if d, err := keys.ParseDeviceKeys([]byte(tt.in)); !errors.Is(err, keys.ErrMalformedKey) {
				t.Fatalf("got %+v, %v; want ErrMalformedKey", d, err)
			}
		})
	}
	// Unknown members in their exact case are fine: the spec lets objects grow.
	if _, err := keys.ParseCrossSigningKey([]byte(`{"user_id":"@alice:x","usage":["master"],` + keysMember + `,"extra":{"x":1}}`)); err != nil {
		t.Fatalf("unknown member refused: %v", err)
	}
}

// TestVerifySignedByMasterNeedsMaster: only a master key vouches for the
// other cross-signing keys. A self-signing key of the same user that
// happens to have signed a user-signing key is not a master.
func TestVerifySignedByMasterNeedsMaster(t *testing.T) {
	alice := testidentity.New("@alice:x")
	ssk, err := keys.ParseCrossSigningKey(alice.SubKey(keys.UsageSelfSigning))
	if err != nil {
		t.Fatal(err)
	}
	usk, err := keys.ParseCrossSigningKey(alice.Sign(alice.CrossSigningKeyUnsigned(keys.UsageUserSigning), alice.SelfSigning))
	if err != nil {
		t.Fatal(err)
	}
	if err := usk.VerifySignedByMaster(ssk); !errors.Is(err, keys.ErrUsageMismatch) {
		t.Fatalf("self-signing key accepted as master: %v", err)
	}
	var unparsed keys.CrossSigningKey
	if err := usk.VerifySignedByMaster(&unparsed); err == nil {
		t.Fatal("zero key accepted as master")
	}
	if err := usk.VerifySignedByMaster(nil); err == nil {
		t.Fatal("nil master accepted")
	}
}
