package testvectors_test

import (
	"os"
	"path/filepath"
	"testing"

	"vouch/internal/testvectors"
)

func TestPath(t *testing.T) {
	for _, name := range []string{"ssss", "qr", "sas", "backup", "signing", "canonical_json"} {
		t.Run(name, func(t *testing.T) {
			p, err := testvectors.Path(name)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "vectors", name+".json"))
			if p != want {
				t.Fatalf("Path(%q) = %q, want %q", name, p, want)
			}
			if _, err := os.Stat(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPathOutsideModule(t *testing.T) {
	dir := t.TempDir()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			t.Skipf("%s has a go.mod above it", dir)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Chdir(dir)
	if p, err := testvectors.Path("ssss"); err == nil {
		t.Fatalf("Path outside a module = %q, want an error", p)
	}
}

func TestLoadSSSS(t *testing.T) {
	var v testvectors.SSSS
	testvectors.Load(t, "ssss", &v)
	for name, n := range map[string]int{
		"recovery_keys": len(v.RecoveryKeys), "invalid_recovery_keys": len(v.InvalidRecoveryKeys),
		"passphrase_keys": len(v.PassphraseKeys), "key_checks": len(v.KeyChecks),
		"secrets": len(v.Secrets), "tampered_secrets": len(v.TamperedSecrets),
	} {
		if n == 0 {
			t.Errorf("section %s is empty", name)
		}
	}
	if v.RecoveryKeys[0].KeyHex == "" || v.Secrets[0].Ciphertext == "" || v.TamperedSecrets[0].Reason == "" {
		t.Fatalf("fields not decoded: %+v %+v %+v", v.RecoveryKeys[0], v.Secrets[0], v.TamperedSecrets[0])
	}
}

func TestDecoders(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"hex", testvectors.Hex(t, "00ff10"), "\x00\xff\x10"},
		{"hex empty", testvectors.Hex(t, ""), ""},
		{"base64 unpadded", testvectors.Base64(t, "AAEC"), "\x00\x01\x02"},
		{"base64 unpadded short", testvectors.Base64(t, "AAE"), "\x00\x01"},
		{"base64 padded", testvectors.Base64(t, "AAE="), "\x00\x01"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s = %x, want %x", tc.name, tc.got, tc.want)
		}
	}
}

func TestLoadTyped(t *testing.T) {
	qr, sas, bk := testvectors.LoadQR(t), testvectors.LoadSAS(t), testvectors.LoadBackup(t)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"qr valid decoded", qr.Valid[0].Hex != "" && qr.Valid[0].Key1 != ""},
		{"qr invalid decoded", qr.Invalid[0].Reason != ""},
		{"sas mac decoded", sas.MACs[0].MAC != "" && sas.MACs[0].Method != ""},
		{"sas bytes decoded", sas.SAS[0].BytesHex != "" && len(sas.SAS[0].Decimals) == 3},
		{"backup session decoded", bk.Sessions[0].PrivateKey != "" && len(bk.Sessions[0].SessionData) > 0},
		{"backup invalid decoded", bk.Invalid[0].Reason != "" && len(bk.Invalid[0].SessionData) > 0},
	} {
		if !tc.ok {
			t.Errorf("%s: fields missing", tc.name)
		}
	}
}
