package sas

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"vouch/internal/testvectors"
)

// vectorContext is the MAC context all vectors share; only the transaction
// ID varies.
const vectorInfoPrefix = "MATRIX_KEY_VERIFICATION_MAC@alice:example.orgALICEDEV@bob:example.orgBOBDEV"

// splitInfo recovers the transaction ID and key ID (or "" for KEY_IDS) from a
// vector's info string.
func splitInfo(t *testing.T, info string) (txn, keyID string) {
	t.Helper()
	rest, ok := strings.CutPrefix(info, vectorInfoPrefix)
	if !ok {
		t.Fatalf("info %q does not start with the expected users and devices", info)
	}
	if txn, ok := strings.CutSuffix(rest, KeyIDsInfoSuffix); ok {
		return txn, ""
	}
	i := strings.Index(rest, "ed25519:")
	if i < 0 {
		t.Fatalf("info %q has no key ID", info)
	}
	return rest[:i], rest[i:]
}

func TestMACVectors(t *testing.T) {
	for i, v := range testvectors.LoadSAS(t).MACs {
		t.Run(v.Info[len(v.Info)-20:], func(t *testing.T) {
			secret := testvectors.Base64(t, v.SharedSecret)
			got, err := MAC(v.Method, secret, v.Info, v.Input)
			if err != nil {
				t.Fatalf("MAC: %v", err)
			}
			if got != v.MAC {
				t.Fatalf("MAC = %s, want %s", got, v.MAC)
			}
			if err := VerifyMAC(v.Method, secret, v.Info, v.Input, v.MAC); err != nil {
				t.Fatalf("VerifyMAC: %v", err)
			}

			// Rebuild the same MAC with the helpers, from the parts.
			txn, keyID := splitInfo(t, v.Info)
			ctx := MACContext{UserID: "@alice:example.org", DeviceID: "ALICEDEV", OtherUserID: "@bob:example.org", OtherDeviceID: "BOBDEV", TransactionID: txn}
			var helper string
			switch {
			case keyID == "":
				if KeyIDList(v.KeyIDs) != v.Input {
					t.Fatalf("KeyIDList(%q) = %q, want %q", v.KeyIDs, KeyIDList(v.KeyIDs), v.Input)
				}
				reversed := slices.Clone(v.KeyIDs)
				slices.Reverse(reversed)
				if KeyIDList(reversed) != v.Input {
					t.Fatalf("KeyIDList depends on input order")
				}
				info, err := ctx.KeyIDsInfo()
				if err != nil || info != v.Info {
					t.Fatalf("KeyIDsInfo = %q, %v; want %q", info, err, v.Info)
				}
				helper, err = MACKeyIDs(v.Method, secret, ctx, reversed)
				if err != nil {
					t.Fatal(err)
				}
			case keyID == "ed25519:"+v.Input:
				// A master signing key MACed as a device named after itself.
				id, key := MasterKeyID(testvectors.Base64(t, v.Input))
				if id != keyID || key != v.Input {
					t.Fatalf("MasterKeyID = %q, %q; want %q, %q", id, key, keyID, v.Input)
				}
				gotID, mac, err := MACMasterKey(v.Method, secret, ctx, testvectors.Base64(t, v.Input))
				if err != nil || gotID != keyID {
					t.Fatalf("MACMasterKey key ID = %q, %v", gotID, err)
				}
				helper = mac
			default:
				info, err := ctx.KeyInfo(keyID)
				if err != nil || info != v.Info {
					t.Fatalf("KeyInfo = %q, %v; want %q", info, err, v.Info)
				}
				helper, err = MACKey(v.Method, secret, ctx, keyID, v.Input)
				if err != nil {
					t.Fatal(err)
				}
			}
			if helper != v.MAC {
				t.Fatalf("vector %d: helper MAC = %s, want %s", i, helper, v.MAC)
			}
		})
	}
}

func TestVerifyMACRejects(t *testing.T) {
	v := testvectors.LoadSAS(t).MACs[0]
	secret := testvectors.Base64(t, v.SharedSecret)
	flipped := []byte(v.MAC)
	flipped[5] ^= 1 // still base64, different bytes
	otherSecret := bytes.Clone(secret)
	otherSecret[0] ^= 1
	tests := []struct {
		name             string
		method           string
		secret           []byte
		info, input, mac string
		want             error
	}{
		{"vector", v.Method, secret, v.Info, v.Input, v.MAC, nil},
		{"padded MAC accepted", v.Method, secret, v.Info, v.Input, v.MAC + "=", nil},
		{"over-padded MAC", v.Method, secret, v.Info, v.Input, v.MAC + "==", ErrBadMACEncoding},
		{"non-canonical last character", v.Method, secret, v.Info, v.Input, v.MAC[:42] + "1", ErrBadMACEncoding},
		{"other input", v.Method, secret, v.Info, v.Input + "x", v.MAC, ErrMACMismatch},
		{"other info", v.Method, secret, v.Info + "x", v.Input, v.MAC, ErrMACMismatch},
		{"other secret", v.Method, otherSecret, v.Info, v.Input, v.MAC, ErrMACMismatch},
		{"flipped MAC", v.Method, secret, v.Info, v.Input, string(flipped), ErrMACMismatch},
		{"truncated MAC", v.Method, secret, v.Info, v.Input, v.MAC[:40], ErrBadMACEncoding},
		{"not base64", v.Method, secret, v.Info, v.Input, strings.Repeat("!", 43), ErrBadMACEncoding},
		{"empty MAC", v.Method, secret, v.Info, v.Input, "", ErrBadMACEncoding},
		{"legacy method, v2 MAC", MethodHKDFHMACSHA256, secret, v.Info, v.Input, v.MAC, ErrMACMismatch},
		{"unknown method", "hmac-sha256", secret, v.Info, v.Input, v.MAC, ErrUnknownMethod},
		{"empty secret", v.Method, nil, v.Info, v.Input, v.MAC, ErrEmptySecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyMAC(tt.method, tt.secret, tt.info, tt.input, tt.mac)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyMAC error = %v, want %v", err, tt.want)
			}
		})
	}
}

// legacyKnownAnswer is the hkdf-hmac-sha256 MAC for the first MAC vector as
// computed by an independent emulation of libolm's bug (mautrix-go's
// verificationhelper.BrokenB64Encode, run outside this repository).
const legacyKnownAnswer = "kKf1MUVyVnn5bm41Ym00MVltMDBNVmx0TURCTlZteDA"

func TestLegacyMAC(t *testing.T) {
	v := testvectors.LoadSAS(t).MACs[0]
	secret := testvectors.Base64(t, v.SharedSecret)
	got, err := MAC(MethodHKDFHMACSHA256, secret, v.Info, v.Input)
	if err != nil {
		t.Fatal(err)
	}
	if got != legacyKnownAnswer {
		t.Fatalf("legacy MAC = %s, want %s", got, legacyKnownAnswer)
	}
	// The first group of four is read before anything is overwritten, so it
	// agrees with correct base64; the rest must not.
	if got[:4] != v.MAC[:4] || got == v.MAC {
		t.Fatalf("legacy MAC %s vs v2 %s: quirk not reproduced", got, v.MAC)
	}
	if err := VerifyMAC(MethodHKDFHMACSHA256, secret, v.Info, v.Input, legacyKnownAnswer); err != nil {
		t.Fatalf("VerifyMAC legacy: %v", err)
	}
	if err := VerifyMAC(MethodHKDFHMACSHA256, secret, v.Info, v.Input+"x", legacyKnownAnswer); !errors.Is(err, ErrMACMismatch) {
		t.Fatalf("VerifyMAC legacy on other input = %v, want ErrMACMismatch", err)
	}
}

// TestLibolmInPlaceBase64 checks the emulation against the mechanism of the
// bug itself: a correct base64 encoder run group by group on one buffer in
// which the output overlaps the input.
func TestLibolmInPlaceBase64(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 31, 32, 33} {
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(i*37 + 11)
		}
		outLen := base64.RawStdEncoding.EncodedLen(n)
		buf := make([]byte, max(outLen, n))
		copy(buf, in)
		full := n / 3 * 3
		for k := 0; 3*k < full; k++ {
			base64.StdEncoding.Encode(buf[4*k:4*k+4], buf[3*k:3*k+3])
		}
		if n > full {
			base64.RawStdEncoding.Encode(buf[full/3*4:outLen], buf[full:n])
		}
		if got, want := libolmInPlaceBase64(in), string(buf[:outLen]); got != want {
			t.Errorf("n=%d: got %s, want %s", n, got, want)
		}
		if n <= 3 {
			// Nothing is overwritten before it is read: plain base64.
			if got, want := libolmInPlaceBase64(in), base64.RawStdEncoding.EncodeToString(in); got != want {
				t.Errorf("n=%d: got %s, want plain %s", n, got, want)
			}
		}
	}
}

func TestMACRefuses(t *testing.T) {
	if _, err := MAC("hkdf-hmac-sha256.v3", []byte{1}, "i", "x"); !errors.Is(err, ErrUnknownMethod) {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := MAC(MethodHKDFHMACSHA256V2, nil, "i", "x"); !errors.Is(err, ErrEmptySecret) {
		t.Fatalf("empty secret: %v", err)
	}
	if _, err := HKDF([]byte{1}, "i", 255*32+1); err == nil {
		t.Fatal("HKDF accepted an over-long output")
	}
}

func TestInfoBuilders(t *testing.T) {
	ok := MACContext{UserID: "@a:x", DeviceID: "A", OtherUserID: "@b:x", OtherDeviceID: "B", TransactionID: "t"}
	if got, err := ok.KeyInfo("ed25519:A"); err != nil || got != "MATRIX_KEY_VERIFICATION_MAC@a:xA@b:xBted25519:A" {
		t.Fatalf("KeyInfo = %q, %v", got, err)
	}
	if got, err := ok.Reverse().KeyIDsInfo(); err != nil || got != "MATRIX_KEY_VERIFICATION_MAC@b:xB@a:xAtKEY_IDS" {
		t.Fatalf("Reverse().KeyIDsInfo = %q, %v", got, err)
	}
	tests := []struct {
		name  string
		edit  func(*MACContext)
		keyID string
		want  error
	}{
		{"empty txn", func(c *MACContext) { c.TransactionID = "" }, "ed25519:A", ErrEmptyField},
		{"empty user", func(c *MACContext) { c.UserID = "" }, "ed25519:A", ErrEmptyField},
		{"empty device", func(c *MACContext) { c.DeviceID = "" }, "ed25519:A", ErrEmptyField},
		{"empty other user", func(c *MACContext) { c.OtherUserID = "" }, "ed25519:A", ErrEmptyField},
		{"empty other device", func(c *MACContext) { c.OtherDeviceID = "" }, "ed25519:A", ErrEmptyField},
		{"KEY_IDS as key ID", func(*MACContext) {}, "KEY_IDS", ErrBadKeyID},
		{"no algorithm", func(*MACContext) {}, ":A", ErrBadKeyID},
		{"no id", func(*MACContext) {}, "ed25519:", ErrBadKeyID},
		{"comma", func(*MACContext) {}, "ed25519:A,B", ErrBadKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if _, err := c.KeyInfo(tt.keyID); !errors.Is(err, tt.want) {
				t.Fatalf("KeyInfo error = %v, want %v", err, tt.want)
			}
			if _, err := MACKey(MethodHKDFHMACSHA256V2, []byte{1}, c, tt.keyID, "k"); !errors.Is(err, tt.want) {
				t.Fatalf("MACKey error = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := MACKeyIDs(MethodHKDFHMACSHA256V2, []byte{1}, ok, []string{"ed25519:A", "ed25519:A"}); !errors.Is(err, ErrDuplicateKeyID) {
		t.Fatalf("duplicate key IDs: %v", err)
	}
	if _, err := MACKeyIDs(MethodHKDFHMACSHA256V2, []byte{1}, ok, []string{"ed25519:A,ed25519:B"}); !errors.Is(err, ErrBadKeyID) {
		t.Fatalf("comma in key ID: %v", err)
	}
	if _, _, err := MACMasterKey(MethodHKDFHMACSHA256V2, []byte{1}, ok, make([]byte, 31)); !errors.Is(err, ErrBadKeyID) {
		t.Fatalf("31-byte master key: %v", err)
	}
	ids := []string{"ed25519:b", "ed25519:B", "ed25519:a"}
	if got := KeyIDList(ids); got != "ed25519:B,ed25519:a,ed25519:b" {
		t.Fatalf("KeyIDList = %q (byte order: upper case first)", got)
	}
	if ids[0] != "ed25519:b" {
		t.Fatal("KeyIDList sorted its argument in place")
	}
	if KeyIDList(nil) != "" {
		t.Fatal("KeyIDList(nil) not empty")
	}
}

// parseSASInfo splits a vector's SAS info into its parts.
func parseSASInfo(t *testing.T, info string) (start, accept Party, txn string) {
	t.Helper()
	rest, ok := strings.CutPrefix(info, "MATRIX_KEY_VERIFICATION_SAS|")
	parts := strings.Split(rest, "|")
	if !ok || len(parts) != 7 {
		t.Fatalf("unexpected SAS info %q", info)
	}
	start = Party{UserID: parts[0], DeviceID: parts[1], PublicKey: testvectors.Base64(t, parts[2])}
	accept = Party{UserID: parts[3], DeviceID: parts[4], PublicKey: testvectors.Base64(t, parts[5])}
	return start, accept, parts[6]
}

func TestSASVectors(t *testing.T) {
	for _, v := range testvectors.LoadSAS(t).SAS {
		t.Run(v.BytesHex, func(t *testing.T) {
			sasBytes, err := hex.DecodeString(v.BytesHex)
			if err != nil {
				t.Fatal(err)
			}
			if v.SharedSecret != "" {
				start, accept, txn := parseSASInfo(t, v.Info)
				info, err := SASInfo(start, accept, txn)
				if err != nil || info != v.Info {
					t.Fatalf("SASInfo = %q, %v; want %q", info, err, v.Info)
				}
				derived, err := SASBytes(testvectors.Base64(t, v.SharedSecret), v.Info)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(derived, sasBytes) {
					t.Fatalf("SASBytes = %x, want %s", derived, v.BytesHex)
				}
			}
			emoji, err := Emoji(sasBytes)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range emoji {
				if e.Number != v.EmojiIndices[i] || e.Emoji != v.Emoji[i] || e.Description != v.EmojiNames[i] {
					t.Errorf("emoji %d = %+v, want %d %s %s", i, e, v.EmojiIndices[i], v.Emoji[i], v.EmojiNames[i])
				}
			}
			dec, err := Decimals(sasBytes)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dec[:], v.Decimals) {
				t.Fatalf("Decimals = %v, want %v", dec, v.Decimals)
			}
		})
	}
}

// TestDecimalsSpecFormula checks the bit split against the spec's written
// formulas on patterned inputs, including all-ones.
func TestDecimalsSpecFormula(t *testing.T) {
	for _, b := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0xff}, {0x12, 0x34, 0x56, 0x78, 0x9a},
		{0x80, 0x01, 0x80, 0x01, 0x80}, {0, 0, 0, 0, 1}, {0x0e, 0xeb, 0x2b, 0xcb, 0xc9, 0x93},
	} {
		b0, b1, b2, b3, b4 := int(b[0]), int(b[1]), int(b[2]), int(b[3]), int(b[4])
		want := [3]int{
			(b0<<5 | b1>>3) + 1000,
			((b1&0x7)<<10 | b2<<2 | b3>>6) + 1000,
			((b3&0x3f)<<7 | b4>>1) + 1000,
		}
		got, err := Decimals(b)
		if err != nil || got != want {
			t.Errorf("Decimals(%x) = %v, %v; want %v", b, got, err, want)
		}
	}
	if got, _ := Decimals([]byte{0xff, 0xff, 0xff, 0xff, 0xff}); got != [3]int{9191, 9191, 9191} {
		t.Fatalf("all ones: %v", got)
	}
}

func TestShortInputs(t *testing.T) {
	if _, err := Emoji(make([]byte, 5)); !errors.Is(err, ErrShortSASBytes) {
		t.Fatalf("Emoji(5 bytes) = %v", err)
	}
	if _, err := Decimals(make([]byte, 4)); !errors.Is(err, ErrShortSASBytes) {
		t.Fatalf("Decimals(4 bytes) = %v", err)
	}
	if _, err := Emoji(nil); !errors.Is(err, ErrShortSASBytes) {
		t.Fatalf("Emoji(nil) = %v", err)
	}
	// The seventh group ends at bit 42: the last 6 bits of byte 5 are unused.
	a, _ := Emoji([]byte{0, 0, 0, 0, 0, 0x00})
	b, _ := Emoji([]byte{0, 0, 0, 0, 0, 0x3f})
	if a != b {
		t.Fatal("Emoji reads past bit 42")
	}
	c, _ := Emoji([]byte{0, 0, 0, 0, 0, 0x40})
	if c[6].Number != 1 {
		t.Fatalf("Emoji last group = %d, want 1", c[6].Number)
	}
}

func TestSASInfoRefuses(t *testing.T) {
	p := Party{UserID: "@a:x", DeviceID: "A", PublicKey: make([]byte, 32)}
	tests := []struct {
		name          string
		start, accept Party
		txn           string
		want          error
	}{
		{"empty txn", p, p, "", ErrEmptyField},
		{"short key", Party{UserID: "@a:x", DeviceID: "A", PublicKey: make([]byte, 31)}, p, "t", ErrBadPublicKey},
		{"no user", p, Party{DeviceID: "B", PublicKey: make([]byte, 32)}, "t", ErrEmptyField},
		{"no device", p, Party{UserID: "@b:x", PublicKey: make([]byte, 32)}, "t", ErrEmptyField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := SASInfo(tt.start, tt.accept, tt.txn); !errors.Is(err, tt.want) {
				t.Fatalf("SASInfo error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEmojiTable(t *testing.T) {
	table := EmojiTable()
	emoji, names := map[string]bool{}, map[string]bool{}
	for i, e := range table {
		if e.Number != i || e.Emoji == "" || e.Description == "" {
			t.Errorf("entry %d = %+v", i, e)
		}
		if emoji[e.Emoji] || names[e.Description] {
			t.Errorf("entry %d duplicates an emoji or description", i)
		}
		emoji[e.Emoji], names[e.Description] = true, true
	}
	table[0].Description = "changed"
	if EmojiTable()[0].Description != "Dog" {
		t.Fatal("EmojiTable returned the package's table, not a copy")
	}
	// Against the spec's JSON when the reference copy is at hand (it is not
	// part of this repository).
	raw, err := os.ReadFile("../../../shared/spec/matrix-spec/data-definitions/sas-emoji.json")
	if err != nil {
		t.Skipf("spec's sas-emoji.json not available: %v", err)
	}
	var spec []struct {
		Number      int    `json:"number"`
		Emoji       string `json:"emoji"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec) != 64 {
		t.Fatalf("spec table has %d entries", len(spec))
	}
	for i, s := range spec {
		if got := EmojiTable()[i]; got != (EmojiEntry{s.Number, s.Emoji, s.Description}) {
			t.Errorf("entry %d = %+v, spec %+v", i, got, s)
		}
	}
}

func BenchmarkMACv2(b *testing.B) {
	v := testvectors.LoadSAS(b).MACs[0]
	secret := testvectors.Base64(b, v.SharedSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MAC(v.Method, secret, v.Info, v.Input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMACLegacy(b *testing.B) {
	v := testvectors.LoadSAS(b).MACs[0]
	secret := testvectors.Base64(b, v.SharedSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MAC(MethodHKDFHMACSHA256, secret, v.Info, v.Input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMAC(b *testing.B) {
	v := testvectors.LoadSAS(b).MACs[0]
	secret := testvectors.Base64(b, v.SharedSecret)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyMAC(v.Method, secret, v.Info, v.Input, v.MAC); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSASBytesEmoji(b *testing.B) {
	v := testvectors.LoadSAS(b).SAS[1]
	secret := testvectors.Base64(b, v.SharedSecret)
	b.ReportAllocs()
	for b.Loop() {
		sb, err := SASBytes(secret, v.Info)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Emoji(sb); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzVerifyMAC: VerifyMAC parses the received MAC; it must accept exactly
// the encodings of the right MAC (with or without padding) and nothing else.
func FuzzVerifyMAC(f *testing.F) {
	v := testvectors.LoadSAS(f).MACs[0]
	secret := testvectors.Base64(f, v.SharedSecret)
	f.Add(v.MAC)
	f.Add(v.MAC + "=")
	f.Add(v.MAC + "==")
	f.Add(v.MAC[:42] + "1")
	f.Add("")
	f.Fuzz(func(t *testing.T, mac string) {
		err := VerifyMAC(v.Method, secret, v.Info, v.Input, mac)
		if (err == nil) != (mac == v.MAC || mac == v.MAC+"=") {
			t.Fatalf("VerifyMAC(%q) = %v", mac, err)
		}
	})
}

// FuzzEmojiDecimals: any 6 bytes give 7 table entries and 3 numbers in
// range, and the two renderings agree on the bits they share.
func FuzzEmojiDecimals(f *testing.F) {
	for _, v := range testvectors.LoadSAS(f).SAS {
		b, _ := hex.DecodeString(v.BytesHex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		emoji, errE := Emoji(b)
		dec, errD := Decimals(b)
		if (errE == nil) != (len(b) >= 6) || (errD == nil) != (len(b) >= 5) {
			t.Fatalf("len %d: errors %v, %v", len(b), errE, errD)
		}
		if errE != nil {
			return
		}
		var bitsE, bitsD uint64 // the first 39 bits, from each rendering
		for _, e := range emoji {
			bitsE = bitsE<<6 | uint64(e.Number)
		}
		bitsE >>= 3
		for _, d := range dec {
			if d < 1000 || d > 9191 {
				t.Fatalf("decimal %d out of range", d)
			}
			bitsD = bitsD<<13 | uint64(d-1000)
		}
		if bitsE != bitsD {
			t.Fatalf("emoji and decimals disagree on %x", b)
		}
	})
}
