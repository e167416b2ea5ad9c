package ssss

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fixedKey is a deterministic 32-byte key for tests.
func fixedKey(seed byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

// constReader returns the same byte forever.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// failReader always fails.
type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestRecoveryKeyRoundTrip(t *testing.T) {
	for _, key := range [][]byte{make([]byte, KeySize), bytes.Repeat([]byte{0xff}, KeySize), fixedKey(7)} {
		enc, err := EncodeRecoveryKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.ReplaceAll(enc, " ", "")) != 48 || strings.HasSuffix(enc, " ") {
			t.Fatalf("unexpected shape %q", enc)
		}
		got, err := DecodeRecoveryKey(enc)
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("round trip of %x: %x, %v", key, got, err)
		}
	}
}

func TestRecoveryKeyErrors(t *testing.T) {
	good, err := EncodeRecoveryKey(fixedKey(1))
	if err != nil {
		t.Fatal(err)
	}
	compact := strings.ReplaceAll(good, " ", "")
	// Re-encode raw framings to produce precise failures.
	frame := func(prefix []byte, key []byte, fixParity bool, delta byte) string {
		b := append(append([]byte{}, prefix...), key...)
		p := parity(b)
		if !fixParity {
			p ^= delta
		}
		return base58Encode(append(b, p))
	}
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrRecoveryKeyLength},
		{"only whitespace", " \t\n ", ErrRecoveryKeyLength},
		{"zero", strings.Replace(compact, compact[5:6], "0", 1), ErrRecoveryKeyCharacter},
		{"capital O", "O" + compact[1:], ErrRecoveryKeyCharacter},
		{"capital I", "I" + compact[1:], ErrRecoveryKeyCharacter},
		{"non-ASCII", "é" + compact, ErrRecoveryKeyCharacter},
		{"dash separator", strings.ReplaceAll(good, " ", "-"), ErrRecoveryKeyCharacter},
		{"too long", compact + compact, ErrRecoveryKeyLength},
		{"one group missing", compact[:len(compact)-4], ErrRecoveryKeyLength},
		{"one character missing (still 35 bytes)", compact[:len(compact)-1], ErrRecoveryKeyPrefix},
		{"33-byte key", frame([]byte{0x8b, 0x01}, append(fixedKey(1), 9), true, 0), ErrRecoveryKeyLength},
		{"31-byte key", frame([]byte{0x8b, 0x01}, fixedKey(1)[:31], true, 0), ErrRecoveryKeyLength},
		{"prefix 8b02", frame([]byte{0x8b, 0x02}, fixedKey(1), true, 0), ErrRecoveryKeyPrefix},
		{"prefix 8c01", frame([]byte{0x8c, 0x01}, fixedKey(1), true, 0), ErrRecoveryKeyPrefix},
		{"parity off by one bit", frame([]byte{0x8b, 0x01}, fixedKey(1), false, 1), ErrRecoveryKeyParity},
		{"parity off by 0x80", frame([]byte{0x8b, 0x01}, fixedKey(1), false, 0x80), ErrRecoveryKeyParity},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, err := DecodeRecoveryKey(c.in)
			if !errors.Is(err, c.want) || key != nil {
				t.Fatalf("DecodeRecoveryKey(%q) = %x, %v; want %v", c.in, key, err, c.want)
			}
		})
	}
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := EncodeRecoveryKey(make([]byte, n)); !errors.Is(err, ErrRecoveryKeyLength) {
			t.Errorf("EncodeRecoveryKey(%d bytes) = %v, want ErrRecoveryKeyLength", n, err)
		}
	}
}

func TestBase58KnownValues(t *testing.T) {
	// Classic base58 facts: leading zero bytes become '1's, 0x00..0x39 map to
	// the alphabet in order.
	cases := []struct {
		in   []byte
		want string
	}{
		{nil, ""},
		{[]byte{0}, "1"},
		{[]byte{0, 0, 1}, "112"},
		{[]byte{57}, "z"},
		{[]byte{58}, "21"},
		{[]byte("hello world"), "StV1DL6CwTryKyV"},
	}
	for _, c := range cases {
		if got := base58Encode(c.in); got != c.want {
			t.Errorf("base58Encode(%x) = %q, want %q", c.in, got, c.want)
		}
		if got := base58Decode(c.want); !bytes.Equal(got, c.in) && len(c.in)+len(got) != 0 {
			t.Errorf("base58Decode(%q) = %x, want %x", c.want, got, c.in)
		}
	}
}

func TestPassphraseKeyBounds(t *testing.T) {
	cases := []struct {
		iterations, bits int
		ok               bool
		wantLen          int
	}{
		{1, 0, true, 32},
		{1, 256, true, 32},
		{1, 8, true, 1},
		{1, 512, true, 64},
		{0, 256, false, 0},
		{-5, 256, false, 0},
		{MaxIterations + 1, 256, false, 0},
		{1, 7, false, 0},
		{1, 255, false, 0},
		{1, 520, false, 0},
		{1, -256, false, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("i%d_b%d", c.iterations, c.bits), func(t *testing.T) {
			key, err := PassphraseKey("pw", "salt", c.iterations, c.bits)
			if c.ok {
				if err != nil || len(key) != c.wantLen {
					t.Fatalf("got %d bytes, %v; want %d bytes", len(key), err, c.wantLen)
				}
				return
			}
			if !errors.Is(err, ErrPassphraseParams) {
				t.Fatalf("err = %v, want ErrPassphraseParams", err)
			}
		})
	}
	// A smaller bit count is a prefix of the larger derivation (PBKDF2 block 1).
	k256, _ := PassphraseKey("pw", "salt", 3, 256)
	k512, _ := PassphraseKey("pw", "salt", 3, 512)
	if !bytes.Equal(k256, k512[:32]) {
		t.Fatal("256-bit key is not the prefix of the 512-bit key")
	}
}

func TestPassphraseInfo(t *testing.T) {
	info, err := NewPassphraseInfo(rand.Reader, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Algorithm != PassphraseAlgorithmPBKDF2 || info.Iterations != DefaultIterations || info.Bits != 256 || len(info.Salt) != 32 {
		t.Fatalf("unexpected %+v", info)
	}
	other, err := NewPassphraseInfo(rand.Reader, 10)
	if err != nil || other.Iterations != 10 || other.Salt == info.Salt {
		t.Fatalf("second info %+v, %v", other, err)
	}
	if _, err := NewPassphraseInfo(rand.Reader, -1); !errors.Is(err, ErrPassphraseParams) {
		t.Fatalf("negative iterations: %v", err)
	}
	if _, err := NewPassphraseInfo(failReader{}, 10); !errors.Is(err, ErrRandom) {
		t.Fatalf("failing rand: %v", err)
	}
	// JSON shape of the spec example.
	var p PassphraseInfo
	if err := json.Unmarshal([]byte(`{"algorithm":"m.pbkdf2","salt":"MmMsAlty","iterations":100000,"bits":256}`), &p); err != nil {
		t.Fatal(err)
	}
	if p != (PassphraseInfo{Algorithm: "m.pbkdf2", Salt: "MmMsAlty", Iterations: 100000, Bits: 256}) {
		t.Fatalf("decoded %+v", p)
	}
	for _, bad := range []PassphraseInfo{
		{Algorithm: "m.argon2", Salt: "s", Iterations: 1},
		{Algorithm: "", Salt: "s", Iterations: 1},
	} {
		if _, err := bad.Key("pw"); !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Errorf("%+v: %v, want ErrUnsupportedAlgorithm", bad, err)
		}
	}
	if _, err := (PassphraseInfo{Algorithm: "m.pbkdf2", Iterations: 1}).Key("pw"); !errors.Is(err, ErrPassphraseParams) {
		t.Errorf("empty salt: %v", err)
	}
	if _, err := (PassphraseInfo{Algorithm: "m.pbkdf2", Salt: "s", Iterations: MaxIterations * 10}).Key("pw"); !errors.Is(err, ErrPassphraseParams) {
		t.Errorf("huge iterations: %v", err)
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	key := fixedKey(3)
	for _, plain := range []string{"", "a", "hello secret", strings.Repeat("x", 1000), "☃ snow"} {
		enc, err := Encrypt(key, SecretMegolmBackup, []byte(plain), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(enc.IV+enc.Ciphertext+enc.MAC, "=") {
			t.Fatalf("output is padded: %+v", enc)
		}
		iv, _ := base64.RawStdEncoding.DecodeString(enc.IV)
		if iv[8]&0x80 != 0 {
			t.Fatalf("bit 63 of the IV is set: %x", iv)
		}
		got, err := DecryptString(key, SecretMegolmBackup, enc)
		if err != nil || got != plain {
			t.Fatalf("round trip %q: %q, %v", plain, got, err)
		}
		// Another name or key is refused.
		if _, err := Decrypt(key, SecretCrossSigningMaster, enc); !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("other name: %v", err)
		}
		if _, err := Decrypt(fixedKey(4), SecretMegolmBackup, enc); !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("other key: %v", err)
		}
	}
	// Bit 63 is cleared even when the random source sets every bit.
	enc, err := Encrypt(key, "n", []byte("x"), constReader(0xff))
	if err != nil {
		t.Fatal(err)
	}
	iv, _ := base64.RawStdEncoding.DecodeString(enc.IV)
	want := bytes.Repeat([]byte{0xff}, 16)
	want[8] = 0x7f
	if !bytes.Equal(iv, want) {
		t.Fatalf("iv = %x, want %x", iv, want)
	}
	if _, err := Encrypt(key, "n", nil, failReader{}); !errors.Is(err, ErrRandom) {
		t.Fatalf("failing rand: %v", err)
	}
}

// TestTamperEveryByte flips every bit pattern 0x01 in every byte of the
// ciphertext and of the MAC in turn: each must be refused.
func TestTamperEveryByte(t *testing.T) {
	key := fixedKey(9)
	enc, err := Encrypt(key, SecretCrossSigningSelfSigning, []byte("a secret worth protecting"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.RawStdEncoding.DecodeString(enc.Ciphertext)
	mac, _ := base64.RawStdEncoding.DecodeString(enc.MAC)
	for _, field := range []struct {
		name string
		raw  []byte
		set  func(e *EncryptedSecret, b []byte)
	}{
		{"ciphertext", ct, func(e *EncryptedSecret, b []byte) { e.Ciphertext = encodeB64(b) }},
		{"mac", mac, func(e *EncryptedSecret, b []byte) { e.MAC = encodeB64(b) }},
	} {
		for i := range field.raw {
			for _, bit := range []byte{0x01, 0x80} {
				b := bytes.Clone(field.raw)
				b[i] ^= bit
				e := enc
				field.set(&e, b)
				if plain, err := Decrypt(key, SecretCrossSigningSelfSigning, e); !errors.Is(err, ErrMACMismatch) || plain != nil {
					t.Fatalf("%s byte %d ^%#x: %q, %v", field.name, i, bit, plain, err)
				}
			}
		}
	}
	// Truncating or extending the ciphertext is refused as well.
	for _, b := range [][]byte{ct[:len(ct)-1], append(bytes.Clone(ct), 0)} {
		e := enc
		e.Ciphertext = encodeB64(b)
		if _, err := Decrypt(key, SecretCrossSigningSelfSigning, e); !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("length change: %v", err)
		}
	}
}

func TestDecryptMalformed(t *testing.T) {
	key := fixedKey(5)
	good, err := EncryptWithIV(key, "n", []byte("secret"), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(e *EncryptedSecret)) EncryptedSecret { e := good; f(&e); return e }
	cases := []struct {
		name string
		enc  EncryptedSecret
		want error
	}{
		{"missing iv", with(func(e *EncryptedSecret) { e.IV = "" }), ErrMalformed},
		{"missing mac", with(func(e *EncryptedSecret) { e.MAC = "" }), ErrMalformed},
		{"iv 15 bytes", with(func(e *EncryptedSecret) { e.IV = encodeB64(make([]byte, 15)) }), ErrMalformed},
		{"iv 17 bytes", with(func(e *EncryptedSecret) { e.IV = encodeB64(make([]byte, 17)) }), ErrMalformed},
		{"mac 31 bytes", with(func(e *EncryptedSecret) { e.MAC = encodeB64(make([]byte, 31)) }), ErrMalformed},
		{"iv not base64", with(func(e *EncryptedSecret) { e.IV = "!!!!" }), ErrMalformed},
		{"ciphertext not base64", with(func(e *EncryptedSecret) { e.Ciphertext = "a*b" }), ErrMalformed},
		{"url-safe alphabet", with(func(e *EncryptedSecret) { e.MAC = strings.NewReplacer("+", "-", "/", "_").Replace(e.MAC) + "-" }), ErrMalformed},
		{"line break", with(func(e *EncryptedSecret) { e.Ciphertext = e.Ciphertext[:2] + "\n" + e.Ciphertext[2:] }), ErrMalformed},
		{"partial padding", with(func(e *EncryptedSecret) { e.IV += "=" }), ErrMalformed},
		{"non-zero trailing bits", with(func(e *EncryptedSecret) { e.IV = e.IV[:21] + "B" }), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if plain, err := Decrypt(key, "n", c.enc); !errors.Is(err, c.want) || plain != nil {
				t.Fatalf("Decrypt(%+v) = %q, %v; want %v", c.enc, plain, err, c.want)
			}
		})
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := Decrypt(make([]byte, n), "n", good); !errors.Is(err, ErrKeyLength) {
			t.Errorf("key of %d bytes: %v", n, err)
		}
		if _, err := EncryptWithIV(make([]byte, n), "n", nil, make([]byte, 16)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("encrypt, key of %d bytes: %v", n, err)
		}
	}
	if _, err := EncryptWithIV(key, "n", nil, make([]byte, 12)); !errors.Is(err, ErrMalformed) {
		t.Errorf("12-byte iv: %v", err)
	}
}

func TestDecryptStringRejectsBinary(t *testing.T) {
	key := fixedKey(6)
	enc, err := Encrypt(key, "n", []byte{0xff, 0xfe, 0x00}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecryptString(key, "n", enc); !errors.Is(err, ErrNotUTF8) {
		t.Fatalf("DecryptString = %v, want ErrNotUTF8", err)
	}
	if b, err := Decrypt(key, "n", enc); err != nil || !bytes.Equal(b, []byte{0xff, 0xfe, 0x00}) {
		t.Fatalf("Decrypt = %x, %v", b, err)
	}
}

func TestNewKey(t *testing.T) {
	k, err := NewKey(rand.Reader, "My key")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Key) != KeySize || len(k.ID) != 32 || k.Description.Name != "My key" || k.Description.Algorithm != AlgorithmAESHMACSHA2 || k.Description.Passphrase != nil {
		t.Fatalf("unexpected key %v %+v", k, k.Description)
	}
	for _, r := range k.ID {
		if !strings.ContainsRune(keyIDAlphabet, r) {
			t.Fatalf("key ID %q has %q", k.ID, r)
		}
	}
	if err := k.Description.Check(k.Key); err != nil {
		t.Fatalf("own key refused: %v", err)
	}
	other := bytes.Clone(k.Key)
	other[31] ^= 1
	if err := k.Description.Check(other); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other key: %v", err)
	}
	rk, err := k.RecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := DecodeRecoveryKey(rk); err != nil || !bytes.Equal(back, k.Key) {
		t.Fatalf("recovery key round trip: %v", err)
	}
	// Printing a Key never shows the raw key.
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %s %#v %+v", k, k, k, k)} {
		if strings.Contains(s, hex.EncodeToString(k.Key)) || strings.Contains(s, fmt.Sprint(k.Key)) || !strings.Contains(s, k.ID) {
			t.Fatalf("printed key leaks or lacks the ID: %s", s)
		}
	}
	// JSON of the description matches the spec's shape.
	var m map[string]any
	data, _ := json.Marshal(k.Description)
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"name", "algorithm", "iv", "mac"} {
		if _, ok := m[f]; !ok {
			t.Fatalf("description JSON %s lacks %q", data, f)
		}
	}
	if _, ok := m["passphrase"]; ok {
		t.Fatalf("random key has a passphrase: %s", data)
	}
	k2, _ := NewKey(rand.Reader, "")
	if k2.ID == k.ID || bytes.Equal(k2.Key, k.Key) {
		t.Fatal("two new keys are equal")
	}
	if _, err := NewKey(failReader{}, ""); !errors.Is(err, ErrRandom) {
		t.Fatalf("failing rand: %v", err)
	}
	if _, err := NewKey(constReader(0xff), ""); !errors.Is(err, ErrRandom) {
		t.Fatalf("rand that only gives rejected bytes: %v", err)
	}
}

func TestNewPassphraseKey(t *testing.T) {
	k, err := NewPassphraseKey(rand.Reader, "pw key", "correct horse", 1000)
	if err != nil {
		t.Fatal(err)
	}
	p := k.Description.Passphrase
	if p == nil || p.Iterations != 1000 {
		t.Fatalf("passphrase info %+v", p)
	}
	derived, err := p.Key("correct horse")
	if err != nil || !bytes.Equal(derived, k.Key) {
		t.Fatalf("re-derived key differs: %v", err)
	}
	if err := k.Description.Check(derived); err != nil {
		t.Fatal(err)
	}
	wrong, _ := p.Key("correct horsf")
	if err := k.Description.Check(wrong); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestKeyDescriptionCheckEdgeCases(t *testing.T) {
	k, err := NewKey(rand.Reader, "")
	if err != nil {
		t.Fatal(err)
	}
	d := k.Description
	with := func(f func(d *KeyDescription)) KeyDescription { c := d; f(&c); return c }
	cases := []struct {
		name       string
		d          KeyDescription
		key        []byte
		want       error
		verifiable bool
	}{
		{"unverifiable accepts any key", with(func(d *KeyDescription) { d.IV, d.MAC = "", "" }), fixedKey(1), nil, false},
		{"padded", with(func(d *KeyDescription) { d.IV += "=="; d.MAC += "=" }), k.Key, nil, true},
		{"only iv", with(func(d *KeyDescription) { d.MAC = "" }), k.Key, ErrMalformed, true},
		{"only mac", with(func(d *KeyDescription) { d.IV = "" }), k.Key, ErrMalformed, true},
		{"bad iv", with(func(d *KeyDescription) { d.IV = "%%" }), k.Key, ErrMalformed, true},
		{"short iv", with(func(d *KeyDescription) { d.IV = d.IV[:10] }), k.Key, ErrMalformed, true},
		{"short mac", with(func(d *KeyDescription) { d.MAC = d.MAC[:40] }), k.Key, ErrMalformed, true},
		{"other algorithm", with(func(d *KeyDescription) { d.Algorithm = "m.secret_storage.v2" }), k.Key, ErrUnsupportedAlgorithm, true},
		{"short key", d, k.Key[:16], ErrKeyLength, true},
		{"short key, unverifiable", with(func(d *KeyDescription) { d.IV, d.MAC = "", "" }), k.Key[:16], ErrKeyLength, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.d.Verifiable(); got != c.verifiable {
				t.Fatalf("Verifiable = %v", got)
			}
			err := c.d.Check(c.key)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
		})
	}
}

func TestSecretNames(t *testing.T) {
	pusk := []string{SecretPublicUserSigningStable, SecretPublicUserSigning, SecretPublicUserSigningMSC, SecretPublicUserSigningMSCUnstable}
	for _, alias := range pusk {
		got := ReadNames(alias)
		if fmt.Sprint(got) != fmt.Sprint(pusk) {
			t.Errorf("ReadNames(%q) = %v, want %v", alias, got, pusk)
		}
		if w := WriteName(alias); w != SecretPublicUserSigning {
			t.Errorf("WriteName(%q) = %q", alias, w)
		}
	}
	// The name we write is always among the names we read.
	for _, n := range []string{SecretCrossSigningMaster, SecretCrossSigningSelfSigning, SecretCrossSigningUserSigning,
		SecretMegolmBackup, SecretKeyBackupSigning, "org.example.some.secret", SecretPublicUserSigningMSC} {
		names := ReadNames(n)
		found := false
		for _, r := range names {
			found = found || r == WriteName(n)
		}
		if !found {
			t.Errorf("%q: written name %q not in %v", n, WriteName(n), names)
		}
	}
	if got := ReadNames(SecretMegolmBackup); len(got) != 1 || got[0] != SecretMegolmBackup {
		t.Errorf("ReadNames(megolm) = %v", got)
	}
	// Fresh slices: changing one does not change the next.
	ReadNames(SecretPublicUserSigning)[0] = "x"
	if ReadNames(SecretPublicUserSigning)[0] != SecretPublicUserSigningStable {
		t.Error("ReadNames shares its slice")
	}
}

func TestAccountData(t *testing.T) {
	key := fixedKey(2)
	var c SecretContent
	if _, ok := c.Get("k1"); ok {
		t.Fatal("empty content has k1")
	}
	enc, err := Encrypt(key, SecretCrossSigningMaster, []byte("master"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c.Set("k1", enc)
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back SecretContent
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got, ok := back.Get("k1")
	if !ok || got != enc {
		t.Fatalf("Get after JSON round trip = %+v, %v (json %s)", got, ok, data)
	}
	if !strings.Contains(string(data), `"encrypted":{"k1":{"iv":`) {
		t.Fatalf("unexpected JSON %s", data)
	}
	plain, err := back.Decrypt("k1", key, SecretCrossSigningMaster)
	if err != nil || string(plain) != "master" {
		t.Fatalf("Decrypt = %q, %v", plain, err)
	}
	if _, err := back.Decrypt("k2", key, SecretCrossSigningMaster); !errors.Is(err, ErrNotEncryptedForKey) {
		t.Fatalf("missing key: %v", err)
	}
	var dk DefaultKeyContent
	if err := json.Unmarshal([]byte(`{"key":"key_id_1"}`), &dk); err != nil || dk.Key != "key_id_1" {
		t.Fatalf("default key %+v, %v", dk, err)
	}
	if KeyEventType("abc") != "m.secret_storage.key.abc" {
		t.Fatal(KeyEventType("abc"))
	}
}
