package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"vouch/backup"
	"vouch/internal/testvectors"
)

// sameJSON reports whether a and b are equal JSON values.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	jx, _ := json.Marshal(x)
	jy, _ := json.Marshal(y)
	return bytes.Equal(jx, jy)
}

func TestBackupCLIVectors(t *testing.T) {
	v := testvectors.LoadBackup(t)
	for i, c := range v.Sessions {
		// decrypt from a FILE and from stdin
		file := writeTemp(t, c.SessionData)
		for _, args := range [][]string{
			{"backup", "decrypt", "--private-key", c.PrivateKey, file},
			{"backup", "decrypt", "--private-key", c.PrivateKey},
		} {
			code, out, errOut := runCLI(t, string(c.SessionData), args...)
			if code != 0 || out != c.Plaintext+"\n" {
				t.Fatalf("session %d %v: code %d out %q err %q", i, args[3:], code, out, errOut)
			}
		}
		// encrypt then decrypt through the CLI
		code, enc, errOut := runCLI(t, "", "backup", "encrypt", "--public-key", c.PublicKey, writeTemp(t, []byte(c.Plaintext)))
		if code != 0 {
			t.Fatalf("session %d encrypt: code %d err %q", i, code, errOut)
		}
		var sd map[string]string
		if err := json.Unmarshal([]byte(enc), &sd); err != nil || len(sd) != 3 || sd["ephemeral"] == "" || sd["ciphertext"] == "" || sd["mac"] == "" {
			t.Fatalf("session %d encrypt output %q: %v", i, enc, err)
		}
		code, out, errOut := runCLI(t, enc, "backup", "decrypt", "--private-key", c.PrivateKey)
		if code != 0 || !sameJSON(t, out, c.Plaintext) {
			t.Fatalf("session %d round trip: code %d out %q err %q", i, code, out, errOut)
		}
	}
	for i, c := range v.Invalid {
		code, out, errOut := runCLI(t, "", "backup", "decrypt", "--private-key", c.PrivateKey, writeTemp(t, c.SessionData))
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "vouch: backup: ") {
			t.Fatalf("invalid %d (%s): code %d out %q err %q", i, c.Reason, code, out, errOut)
		}
	}
}

func TestBackupCLIErrors(t *testing.T) {
	v := testvectors.LoadBackup(t)
	c := v.Sessions[0]
	other := v.Sessions[1]
	// A session_data whose ciphertext decrypts fine but to a non-object:
	// built with the library, so the CLI's plaintext check is what refuses.
	pub, err := backup.ParsePublicKey(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	notObject, err := backup.Encrypt(pub, []byte(`["not","an","object"]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	notObjectJSON, _ := json.Marshal(notObject)

	tests := []struct {
		name    string
		stdin   string
		args    []string
		wantErr string
	}{
		{"decrypt missing flag", string(c.SessionData), []string{"backup", "decrypt"}, "private-key"},
		{"decrypt bad key", string(c.SessionData), []string{"backup", "decrypt", "--private-key", "AAAA"}, "--private-key"},
		{"decrypt wrong key", string(c.SessionData), []string{"backup", "decrypt", "--private-key", other.PrivateKey}, "legacy mac"},
		{"decrypt not JSON", "nope", []string{"backup", "decrypt", "--private-key", c.PrivateKey}, "malformed session_data"},
		{"decrypt duplicate key", `{"mac":"a","mac":"b"}`, []string{"backup", "decrypt", "--private-key", c.PrivateKey}, "duplicate"},
		{"decrypt empty object", `{}`, []string{"backup", "decrypt", "--private-key", c.PrivateKey}, "missing ephemeral"},
		{"decrypt non-object plaintext", string(notObjectJSON), []string{"backup", "decrypt", "--private-key", c.PrivateKey}, "not a JSON object"},
		{"decrypt missing file", "", []string{"backup", "decrypt", "--private-key", c.PrivateKey, filepath.Join(t.TempDir(), "absent")}, "no such file"},
		{"decrypt too many args", "", []string{"backup", "decrypt", "--private-key", c.PrivateKey, "a", "b"}, "accepts at most 1 arg"},
		{"encrypt missing flag", c.Plaintext, []string{"backup", "encrypt"}, "public-key"},
		{"encrypt bad key", c.Plaintext, []string{"backup", "encrypt", "--public-key", "not base64!"}, "--public-key"},
		{"encrypt low-order key", c.Plaintext, []string{"backup", "encrypt", "--public-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "low-order"},
		{"encrypt not JSON", "hello", []string{"backup", "encrypt", "--public-key", c.PublicKey}, "not a single JSON object"},
		{"encrypt JSON array", "[1]", []string{"backup", "encrypt", "--public-key", c.PublicKey}, "not a single JSON object"},
		{"encrypt two objects", "{}{}", []string{"backup", "encrypt", "--public-key", c.PublicKey}, "not a single JSON object"},
		{"encrypt invalid UTF-8", "{\"a\":\"\xff\"}", []string{"backup", "encrypt", "--public-key", c.PublicKey}, "not a single JSON object"},
		{"encrypt empty", "", []string{"backup", "encrypt", "--public-key", c.PublicKey}, "not a single JSON object"},
		{"encrypt too large", `{"a":"` + strings.Repeat("a", 70<<10) + `"}`, []string{"backup", "encrypt", "--public-key", c.PublicKey}, "plaintext too large"},
		{"encrypt input over read limit", strings.Repeat(" ", maxBackupInputBytes+1), []string{"backup", "encrypt", "--public-key", c.PublicKey}, "larger than"},
		{"keygen with args", "", []string{"backup", "keygen", "x"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.stdin, tc.args...)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("code %d out %q err %q; want exit 1 mentioning %q", code, out, errOut, tc.wantErr)
			}
		})
	}
}

func TestBackupCLIEncryptTrimsWhitespace(t *testing.T) {
	c := testvectors.LoadBackup(t).Sessions[0]
	code, enc, errOut := runCLI(t, "\n  "+c.Plaintext+"\n", "backup", "encrypt", "--public-key", c.PublicKey)
	if code != 0 {
		t.Fatalf("code %d err %q", code, errOut)
	}
	code, out, errOut := runCLI(t, enc, "backup", "decrypt", "--private-key", c.PrivateKey, "-")
	if code != 0 || out != c.Plaintext+"\n" {
		t.Fatalf("code %d out %q err %q; want the exact trimmed plaintext", code, out, errOut)
	}
}

func TestBackupCLIKeygen(t *testing.T) {
	code, out, errOut := runCLI(t, "", "backup", "keygen")
	if code != 0 {
		t.Fatalf("code %d err %q", code, errOut)
	}
	var kp struct {
		PrivateKey string `json:"private_key"`
		PublicKey  string `json:"public_key"`
	}
	if err := json.Unmarshal([]byte(out), &kp); err != nil {
		t.Fatal(err)
	}
	priv, err := backup.ParsePrivateKey(kp.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := priv.PublicKey()
	if err != nil || pub.Encode() != kp.PublicKey || strings.Contains(out, "=") {
		t.Fatalf("keygen output %q inconsistent: %v", out, err)
	}
	// The generated pair works end to end through the CLI.
	code, enc, _ := runCLI(t, `{"k":"v"}`, "backup", "encrypt", "--public-key", kp.PublicKey)
	if code != 0 {
		t.Fatal("encrypt to generated key failed")
	}
	code, dec, _ := runCLI(t, enc, "backup", "decrypt", "--private-key", kp.PrivateKey)
	if code != 0 || dec != "{\"k\":\"v\"}\n" {
		t.Fatalf("decrypt with generated key: %d %q", code, dec)
	}
	// Two runs give different keys.
	_, out2, _ := runCLI(t, "", "backup", "keygen")
	if out2 == out {
		t.Fatal("keygen repeated a key")
	}
}

func TestBackupCLIHelpDoesNotNeedKeys(t *testing.T) {
	code, out, errOut := runCLI(t, "", "backup", "--help")
	if code != 0 || !strings.Contains(out, "decrypt") || !strings.Contains(out, "encrypt") || !strings.Contains(out, "keygen") {
		t.Fatalf("code %d out %q err %q", code, out, errOut)
	}
}
