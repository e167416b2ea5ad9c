package keys_test

import (
	"errors"
	"strings"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
)

func TestParseUserID(t *testing.T) {
	tests := []struct {
		in    string
		ok    bool
		local string
	}{
		{"@alice:example.org", true, "alice"},
		{"@a.b_c=d-e/f+g:example.org:8448", true, "a.b_c=d-e/f+g"},
		{"@alice:[::1]:8448", true, "alice"},
		{"@alice:1.2.3.4", true, "alice"},
		{"@Alice:example.org", true, "Alice"}, // historical: accepted for others' keys
		{"alice:example.org", false, ""},
		{"@:example.org", false, ""},
		{"@alice", false, ""},
		{"@alice:", false, ""},
		{"@al ice:example.org", false, ""},
		{"@alice:exa mple.org", false, ""},
		{"@alice:example.org:", false, ""},
		{"@alice:example.org:99999", true, "alice"}, // port = 1*5DIGIT, no range
		{"@alice:example.org:+80", false, ""},
		{"@alice:[::1", false, ""},
		{"@alice:[zz]", false, ""},
		{"@" + strings.Repeat("a", 250) + ":example.org", false, ""},
		{"@ali\u00e9:example.org", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := keys.ParseUserID(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ok=%v err=%v", tt.ok, err)
			}
			if err != nil {
				if !errors.Is(err, keys.ErrInvalidUserID) {
					t.Fatalf("error %v does not wrap ErrInvalidUserID", err)
				}
				return
			}
			if u.Localpart() != tt.local {
				t.Errorf("localpart %q", u.Localpart())
			}
		})
	}
}

func TestValidLocalpart(t *testing.T) {
	for _, ok := range []string{"alice", "a.b_c=d-e/f+g", "0"} {
		if err := keys.ValidLocalpart(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Alice", "al ice", "a:b", "a*", "é"} {
		if err := keys.ValidLocalpart(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDeviceKeys(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	good := alice.DeviceKeys("A1")
	d, err := keys.ParseDeviceKeys(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate("@alice:x", "A1"); err != nil {
		t.Fatalf("valid device keys refused: %v", err)
	}
	if d.Curve25519() != alice.Devices["A1"].Curve {
		t.Error("curve25519 key not found")
	}
	if err := d.Validate("@bob:x", "A1"); !errors.Is(err, keys.ErrUserMismatch) {
		t.Errorf("user mismatch: %v", err)
	}
	if err := d.Validate("@alice:x", "A2"); !errors.Is(err, keys.ErrDeviceMismatch) {
		t.Errorf("device mismatch: %v", err)
	}
	unsigned, err := keys.ParseDeviceKeys(alice.DeviceKeysUnsigned("A1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := unsigned.Validate("@alice:x", "A1"); !errors.Is(err, keys.ErrBadSignature) || !errors.Is(err, keys.ErrMissingSignature) {
		t.Errorf("unsigned: %v", err)
	}
	// Signed by another key than its own.
	other := alice.Sign(alice.DeviceKeysUnsigned("A1"), testidentity.NewKey("other"))
	forged := strings.Replace(string(other), "ed25519:"+testidentity.NewKey("other").B64, "ed25519:A1", 1)
	fd, err := keys.ParseDeviceKeys([]byte(forged))
	if err != nil {
		t.Fatal(err)
	}
	if err := fd.Validate("@alice:x", "A1"); !errors.Is(err, keys.ErrBadSignature) {
		t.Errorf("forged self-signature: %v", err)
	}
}

func TestParseDeviceKeysMalformed(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not json", `{`},
		{"array", `[]`},
		{"no user", `{"device_id":"D","algorithms":[],"keys":{"ed25519:D":"AAAA"}}`},
		{"bad user", `{"user_id":"alice","device_id":"D","algorithms":[],"keys":{"ed25519:D":"AAAA"}}`},
		{"no device", `{"user_id":"@a:x","algorithms":[],"keys":{"ed25519:D":"AAAA"}}`},
		{"device with colon", `{"user_id":"@a:x","device_id":"D:E","algorithms":[],"keys":{"ed25519:D:E":"AAAA"}}`},
		{"no algorithms", `{"user_id":"@a:x","device_id":"D","keys":{"ed25519:D":"AAAA"}}`},
		{"no keys", `{"user_id":"@a:x","device_id":"D","algorithms":[]}`},
		{"key for another device", `{"user_id":"@a:x","device_id":"D","algorithms":[],"keys":{"ed25519:E":"AAAA"}}`},
		{"short ed25519", `{"user_id":"@a:x","device_id":"D","algorithms":[],"keys":{"ed25519:D":"AAAA"}}`},
		{"no ed25519", `{"user_id":"@a:x","device_id":"D","algorithms":[],"keys":{"curve25519:D":"AAAA"}}`},
		{"wrong type", `{"user_id":5,"device_id":"D","algorithms":[],"keys":{}}`},
		{"duplicate member", `{"user_id":"@a:x","user_id":"@b:x","device_id":"D","algorithms":[],"keys":{}}`},
		{"float", `{"user_id":"@a:x","device_id":"D","algorithms":[],"keys":{},"x":1.5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := keys.ParseDeviceKeys([]byte(tt.in)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestCrossSigningKey(t *testing.T) {
	alice := testidentity.New("@alice:x")
	master, err := keys.ParseCrossSigningKey(alice.MasterKey())
	if err != nil {
		t.Fatal(err)
	}
	pub, b64, err := master.PublicKey()
	if err != nil || b64 != alice.Master.B64 || !pub.Equal(alice.Master.Pub) {
		t.Fatalf("public key %s %v", b64, err)
	}
	if err := master.Validate("@alice:x", keys.UsageMaster); err != nil {
		t.Fatal(err)
	}
	if err := master.Validate("@alice:x", keys.UsageSelfSigning); !errors.Is(err, keys.ErrUsageMismatch) {
		t.Errorf("usage: %v", err)
	}
	if err := master.Validate("@bob:x", keys.UsageMaster); !errors.Is(err, keys.ErrUserMismatch) {
		t.Errorf("user: %v", err)
	}
	for _, u := range []keys.Usage{keys.UsageSelfSigning, keys.UsageUserSigning, keys.UsagePublicUserSigning} {
		sub, err := keys.ParseCrossSigningKey(alice.SubKey(u))
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.Validate("@alice:x", u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
		if err := sub.VerifySignedByMaster(master); err != nil {
			t.Errorf("%s not signed by master: %v", u, err)
		}
		unsigned, _ := keys.ParseCrossSigningKey(alice.CrossSigningKeyUnsigned(u))
		if err := unsigned.VerifySignedByMaster(master); !errors.Is(err, keys.ErrBadSignature) {
			t.Errorf("%s unsigned: %v", u, err)
		}
	}
	bob := testidentity.New("@bob:x")
	bobMaster, _ := keys.ParseCrossSigningKey(bob.MasterKey())
	ssk, _ := keys.ParseCrossSigningKey(alice.SubKey(keys.UsageSelfSigning))
	if err := ssk.VerifySignedByMaster(bobMaster); !errors.Is(err, keys.ErrUserMismatch) {
		t.Errorf("cross-user master: %v", err)
	}
}

func TestParseCrossSigningKeyMalformed(t *testing.T) {
	k := testidentity.NewKey("k")
	k2 := testidentity.NewKey("k2")
	padded := k.B64 + "="
	tests := []struct{ name, in string }{
		{"no keys", `{"user_id":"@a:x","usage":["master"],"keys":{}}`},
		{"two keys", `{"user_id":"@a:x","usage":["master"],"keys":{"ed25519:` + k.B64 + `":"` + k.B64 + `","ed25519:` + k2.B64 + `":"` + k2.B64 + `"}}`},
		{"id does not name key", `{"user_id":"@a:x","usage":["master"],"keys":{"ed25519:` + k2.B64 + `":"` + k.B64 + `"}}`},
		{"not ed25519", `{"user_id":"@a:x","usage":["master"],"keys":{"curve25519:` + k.B64 + `":"` + k.B64 + `"}}`},
		{"padded key", `{"user_id":"@a:x","usage":["master"],"keys":{"ed25519:` + padded + `":"` + padded + `"}}`},
		{"short key", `{"user_id":"@a:x","usage":["master"],"keys":{"ed25519:AAAA":"AAAA"}}`},
		{"no usage", `{"user_id":"@a:x","usage":[],"keys":{"ed25519:` + k.B64 + `":"` + k.B64 + `"}}`},
		{"unknown usage", `{"user_id":"@a:x","usage":["root"],"keys":{"ed25519:` + k.B64 + `":"` + k.B64 + `"}}`},
		{"repeated usage", `{"user_id":"@a:x","usage":["master","master"],"keys":{"ed25519:` + k.B64 + `":"` + k.B64 + `"}}`},
		{"bad user", `{"user_id":"a","usage":["master"],"keys":{"ed25519:` + k.B64 + `":"` + k.B64 + `"}}`},
		{"usage not list", `{"user_id":"@a:x","usage":"master","keys":{"ed25519:` + k.B64 + `":"` + k.B64 + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := keys.ParseCrossSigningKey([]byte(tt.in)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// Two roles in one key parse, but fit no slot.
	two, err := keys.ParseCrossSigningKey([]byte(`{"user_id":"@a:x","usage":["master","self_signing"],"keys":{"ed25519:` + k.B64 + `":"` + k.B64 + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := two.Validate("@a:x", keys.UsageMaster); !errors.Is(err, keys.ErrUsageMismatch) {
		t.Errorf("two-role key fits a slot: %v", err)
	}
}

func TestSameKeyIgnoringSignatures(t *testing.T) {
	alice := testidentity.New("@alice:x")
	bob := testidentity.New("@bob:x")
	same, err := keys.SameKeyIgnoringSignatures(alice.MasterKey(), bob.SignOtherMaster(alice))
	if err != nil || !same {
		t.Fatalf("signed copy not the same key: %v", err)
	}
	same, err = keys.SameKeyIgnoringSignatures(alice.MasterKey(), bob.MasterKey())
	if err != nil || same {
		t.Fatalf("different keys reported the same: %v", err)
	}
	if _, err := keys.SameKeyIgnoringSignatures([]byte(`{`), alice.MasterKey()); err == nil {
		t.Fatal("malformed accepted")
	}
}

func TestCheckNamespace(t *testing.T) {
	k := testidentity.NewKey("k").B64
	if err := keys.CheckNamespace([]string{"DEV1", "DEV2"}, []string{k}); err != nil {
		t.Fatal(err)
	}
	if err := keys.CheckNamespace([]string{"DEV1", k}, []string{k}); !errors.Is(err, keys.ErrNamespaceCollision) {
		t.Fatalf("collision not found: %v", err)
	}
}

func FuzzParseCrossSigningKey(f *testing.F) {
	alice := testidentity.New("@alice:x")
	f.Add(alice.MasterKey())
	f.Add(alice.SubKey(keys.UsageSelfSigning))
	f.Add([]byte(`{"user_id":"@a:x","usage":["master"],"keys":{"ed25519:AAAA":"AAAA"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := keys.ParseCrossSigningKey(raw)
		if err != nil {
			return
		}
		pub, b64, err := k.PublicKey()
		if err != nil || len(pub) != 32 || k.KeyID() != keys.Ed25519KeyID(b64) {
			t.Fatalf("parsed key without a usable public key: %v", err)
		}
		_ = k.VerifySignedBy(k.UserID, pub, string(k.KeyID()))
	})
}

func FuzzParseDeviceKeys(f *testing.F) {
	alice := testidentity.New("@alice:x", "A1")
	f.Add(alice.DeviceKeys("A1"))
	f.Add(alice.DeviceKeysCrossSigned("A1"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := keys.ParseDeviceKeys(raw)
		if err != nil {
			return
		}
		if _, err := d.Ed25519(); err != nil {
			t.Fatalf("parsed device without ed25519 key: %v", err)
		}
		_ = d.Validate(d.UserID, d.DeviceID)
	})
}
