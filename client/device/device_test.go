package device_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"vouch/client/device"
	"vouch/keys"
	"vouch/signedjson"
)

func newDevice(t testing.TB) *device.Device {
	t.Helper()
	d, err := device.New("@alice:localhost", "DEV1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeviceKeysValidate(t *testing.T) {
	d := newDevice(t)
	raw, err := d.DeviceKeys()
	if err != nil {
		t.Fatal(err)
	}
	dk, err := keys.ParseDeviceKeys(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := dk.Validate("@alice:localhost", "DEV1"); err != nil {
		t.Fatalf("own device keys do not validate: %v", err)
	}
	if dk.Curve25519() != d.Curve25519() {
		t.Errorf("curve25519 %q, want %q", dk.Curve25519(), d.Curve25519())
	}
	if !strings.Contains(string(raw), `"m.olm.v1.curve25519-aes-sha2"`) {
		t.Errorf("olm algorithm not advertised: %s", raw)
	}
}

func TestNewRejectsBadIDs(t *testing.T) {
	tests := []struct{ user, dev string }{
		{"alice", "D"}, {"@alice:localhost", ""}, {"@alice:localhost", "A:B"}, {"@a:b c", "D"},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.dev, func(t *testing.T) {
			if _, err := device.New(tt.user, tt.dev, rand.Reader); !errors.Is(err, device.ErrBadID) {
				t.Fatalf("err = %v, want ErrBadID", err)
			}
		})
	}
}

func TestSecretsRoundTrip(t *testing.T) {
	d := newDevice(t)
	if _, err := d.GenerateOneTimeKeys(rand.Reader, 3); err != nil {
		t.Fatal(err)
	}
	s := d.Secrets()
	d2, err := device.FromSecrets(s)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Ed25519() != d.Ed25519() || d2.Curve25519() != d.Curve25519() {
		t.Fatal("restored device has other keys")
	}
	// Key numbering continues, so no key ID is reused.
	k, err := d2.GenerateOneTimeKeys(rand.Reader, 1)
	if err != nil {
		t.Fatal(err)
	}
	if k[0].KeyID != "signed_curve25519:AAAABA" {
		t.Errorf("next key ID %q, want signed_curve25519:AAAABA", k[0].KeyID)
	}
	bad := []struct {
		name string
		mod  func(*device.Secrets)
	}{
		{"short seed", func(s *device.Secrets) { s.Ed25519Seed = s.Ed25519Seed[:31] }},
		{"no curve", func(s *device.Secrets) { s.Curve25519 = nil }},
		{"bad user", func(s *device.Secrets) { s.UserID = "x" }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s := d.Secrets()
			tt.mod(&s)
			if _, err := device.FromSecrets(s); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestOneTimeKeys(t *testing.T) {
	d := newDevice(t)
	ks, err := d.GenerateOneTimeKeys(rand.Reader, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"signed_curve25519:AAAAAQ", "signed_curve25519:AAAAAg", "signed_curve25519:AAAAAw"}
	for i, k := range ks {
		if k.KeyID != want[i] {
			t.Errorf("key %d ID %q, want %q", i, k.KeyID, want[i])
		}
		if err := device.VerifyOneTimeKey(k.Object, d.UserID(), d.DeviceID(), d.Ed25519()); err != nil {
			t.Errorf("key %d does not verify: %v", i, err)
		}
		if len(k.Private) != 32 {
			t.Errorf("private key %d bytes", len(k.Private))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(k.Object, &obj); err != nil {
			t.Fatal(err)
		}
		if _, ok := obj["fallback"]; ok {
			t.Error("one-time key marked fallback")
		}
	}
	fb, err := d.GenerateFallbackKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(fb.Object, []byte(`"fallback":true`)) {
		t.Errorf("fallback key not marked: %s", fb.Object)
	}
	if err := device.VerifyOneTimeKey(fb.Object, d.UserID(), d.DeviceID(), d.Ed25519()); err != nil {
		t.Errorf("fallback key does not verify: %v", err)
	}
	// Tampering and wrong signer are refused.
	tampered := bytes.Replace(ks[0].Object, []byte(`"key":"`), []byte(`"key":"A`), 1)
	if err := device.VerifyOneTimeKey(tampered, d.UserID(), d.DeviceID(), d.Ed25519()); err == nil {
		t.Error("tampered key verified")
	}
	other := newDevice(t)
	if err := device.VerifyOneTimeKey(ks[0].Object, d.UserID(), d.DeviceID(), other.Ed25519()); !errors.Is(err, signedjson.ErrBadSignature) {
		t.Errorf("other device's key: %v", err)
	}
	m := device.UploadRequest(ks)
	if len(m) != 3 || device.UploadRequest(nil) != nil {
		t.Errorf("upload request %v", m)
	}
}

func TestTopUp(t *testing.T) {
	tests := []struct {
		name         string
		counts       map[string]int
		unused       []string
		known        bool
		wantN        int
		wantFallback bool
	}{
		{"empty server", nil, nil, true, 50, true},
		{"some left", map[string]int{"signed_curve25519": 20}, []string{"signed_curve25519"}, true, 30, false},
		{"full", map[string]int{"signed_curve25519": 50}, []string{"signed_curve25519"}, true, 0, false},
		{"over full", map[string]int{"signed_curve25519": 80}, nil, false, 0, false},
		{"negative count", map[string]int{"signed_curve25519": -3}, nil, false, 50, false},
		{"other algorithm only", map[string]int{"curve25519": 50}, []string{"curve25519"}, true, 50, true},
		{"fallback used", map[string]int{"signed_curve25519": 49}, []string{}, true, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, fb := device.TopUp(tt.counts, tt.unused, tt.known)
			if n != tt.wantN || fb != tt.wantFallback {
				t.Fatalf("TopUp = %d, %v; want %d, %v", n, fb, tt.wantN, tt.wantFallback)
			}
		})
	}
}

func FuzzVerifyOneTimeKey(f *testing.F) {
	// Fixed keys: every fuzzing worker is a separate process and must hold
	// the same device and one-time key, or an input found by one worker
	// means something else in another (and crypto/ecdh ignores a seeded
	// reader, so the keys come from fixed bytes, not from New).
	fixed := func(b byte) []byte { k := make([]byte, 32); k[0] = b; return k }
	d, err := device.FromSecrets(device.Secrets{UserID: "@alice:localhost", DeviceID: "DEV1", Ed25519Seed: fixed(1), Curve25519: fixed(2)})
	if err != nil {
		f.Fatal(err)
	}
	otk, err := d.Sign([]byte(`{"key":"` + base64.RawStdEncoding.EncodeToString(fixed(3)) + `"}`))
	if err != nil {
		f.Fatal(err)
	}
	ks := []device.OneTimeKey{{Object: otk}}
	f.Add([]byte(ks[0].Object))
	f.Add([]byte(`{"key":"AAAA","signatures":{}}`))
	f.Add([]byte(`[]`))
	ed := d.Ed25519()
	f.Fuzz(func(t *testing.T, obj []byte) {
		if device.VerifyOneTimeKey(obj, "@alice:localhost", "DEV1", ed) != nil {
			return
		}
		// Whatever verifies must sign the same canonical content as the
		// original key: signatures are not malleable.
		a, err1 := signedjson.SigningBytes(obj)
		b, err2 := signedjson.SigningBytes(ks[0].Object)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("a different object verified: %s (errs %v %v)", obj, err1, err2)
		}
	})
}

func BenchmarkGenerateOneTimeKeys(b *testing.B) {
	d := newDevice(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.GenerateOneTimeKeys(rand.Reader, 50); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeviceKeys(b *testing.B) {
	d := newDevice(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DeviceKeys(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNilDevice(t *testing.T) {
	var d *device.Device
	if _, err := d.DeviceKeys(); !errors.Is(err, device.ErrNoDevice) {
		t.Errorf("DeviceKeys: %v", err)
	}
	if _, err := d.Sign([]byte(`{}`)); !errors.Is(err, device.ErrNoDevice) {
		t.Errorf("Sign: %v", err)
	}
	if _, err := d.GenerateOneTimeKeys(rand.Reader, 1); !errors.Is(err, device.ErrNoDevice) {
		t.Errorf("GenerateOneTimeKeys: %v", err)
	}
	if d.Ed25519() != "" || d.Curve25519() != "" {
		t.Error("keys of a nil device")
	}
}
