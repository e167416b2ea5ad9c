package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"vouch/internal/testvectors"
)

// encJSON is the JSON the CLI prints for an encrypted secret, fields in the
// spec's order.
func encJSON(iv, ct, mac string) string {
	b, _ := json.Marshal(struct {
		IV         string `json:"iv"`
		Ciphertext string `json:"ciphertext"`
		MAC        string `json:"mac"`
	}{iv, ct, mac})
	return string(b)
}

func TestRecoveryKeyCLIVectors(t *testing.T) {
	v := testvectors.LoadSSSS(t)
	for _, c := range v.RecoveryKeys {
		t.Run("decode "+c.KeyHex[:8]+c.Note, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "recovery-key", "decode", c.Encoded)
			if code != 0 || out != c.KeyHex+"\n" {
				t.Fatalf("code %d out %q err %q", code, out, errs)
			}
		})
		if c.Note != "" {
			continue
		}
		t.Run("encode "+c.KeyHex[:8], func(t *testing.T) {
			code, out, errs := runCLI(t, "", "recovery-key", "encode", c.KeyHex)
			if code != 0 || out != c.Encoded+"\n" {
				t.Fatalf("code %d out %q err %q", code, out, errs)
			}
		})
	}
	for _, c := range v.InvalidRecoveryKeys {
		t.Run("invalid "+c.Reason, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "recovery-key", "decode", c.Encoded)
			if code != 1 || out != "" || !strings.HasPrefix(errs, "vouch: ") {
				t.Fatalf("code %d out %q err %q", code, out, errs)
			}
		})
	}
	// The groups may also be passed as separate arguments.
	c := v.RecoveryKeys[1]
	code, out, _ := runCLI(t, "", append([]string{"recovery-key", "decode"}, strings.Fields(c.Encoded)...)...)
	if code != 0 || out != c.KeyHex+"\n" {
		t.Fatalf("split arguments: code %d out %q", code, out)
	}
	for _, bad := range []string{"zz", "00", strings.Repeat("00", 33)} {
		if code, _, _ := runCLI(t, "", "recovery-key", "encode", bad); code != 1 {
			t.Errorf("encode %q: code %d", bad, code)
		}
	}
}

func TestSSSSPassphraseKeyCLIVectors(t *testing.T) {
	for _, c := range testvectors.LoadSSSS(t).PassphraseKeys {
		t.Run(c.Passphrase, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "ssss", "passphrase-key", "--passphrase", c.Passphrase, "--salt", c.Salt,
				"--iterations", strconv.Itoa(c.Iterations), "--bits", strconv.Itoa(c.Bits))
			if code != 0 || out != c.KeyHex+"\n" {
				t.Fatalf("code %d out %q err %q", code, out, errs)
			}
		})
	}
	for _, args := range [][]string{
		{"--passphrase", "p", "--salt", "s", "--iterations", "0"},
		{"--passphrase", "p", "--salt", "s", "--iterations", "1", "--bits", "100"},
		{"--passphrase", "p", "--salt", "s"},
	} {
		if code, out, _ := runCLI(t, "", append([]string{"ssss", "passphrase-key"}, args...)...); code != 1 || out != "" {
			t.Errorf("%v: code %d out %q", args, code, out)
		}
	}
}

func TestSSSSDecryptEncryptCLIVectors(t *testing.T) {
	v := testvectors.LoadSSSS(t)
	for _, c := range v.Secrets {
		t.Run(c.Name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name, writeTemp(t, []byte(encJSON(c.IV, c.Ciphertext, c.MAC))))
			if code != 0 || out != c.Plaintext+"\n" {
				t.Fatalf("decrypt: code %d out %q err %q", code, out, errs)
			}
			// From stdin, and from a secret's account-data content.
			content := `{"encrypted":{"k1":` + encJSON(c.IV, c.Ciphertext, c.MAC) + `}}`
			if code, out, errs := runCLI(t, content, "ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name); code != 0 || out != c.Plaintext+"\n" {
				t.Fatalf("decrypt content from stdin: code %d out %q err %q", code, out, errs)
			}
			want := encJSON(c.IV, c.Ciphertext, c.MAC) + "\n"
			code, out, errs = runCLI(t, "", "ssss", "encrypt", "--key", c.KeyHex, "--name", c.Name, "--iv", c.IV, writeTemp(t, []byte(c.Plaintext)))
			if code != 0 || out != want {
				t.Fatalf("encrypt: code %d out %q want %q err %q", code, out, want, errs)
			}
			// From stdin one trailing newline is dropped: same output.
			code, out, _ = runCLI(t, c.Plaintext+"\n", "ssss", "encrypt", "--key", c.KeyHex, "--name", c.Name, "--iv", c.IV)
			if code != 0 || out != want {
				t.Fatalf("encrypt from stdin: code %d out %q want %q", code, out, want)
			}
		})
	}
	for _, c := range v.TamperedSecrets {
		t.Run("tampered "+c.Reason, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name, writeTemp(t, []byte(encJSON(c.IV, c.Ciphertext, c.MAC))))
			if c.Decrypts {
				// The MAC verifies but the plaintext is garbage: the CLI refuses
				// non-UTF-8, and must in no case print the original secret.
				for _, s := range v.Secrets {
					if s.Ciphertext == c.Ciphertext && strings.Contains(out, s.Plaintext) {
						t.Fatalf("a changed IV printed the original secret")
					}
				}
				if code != 0 && !strings.Contains(errs, "UTF-8") {
					t.Fatalf("refused for another reason than UTF-8: code %d err %q", code, errs)
				}
				return
			}
			if code != 1 || out != "" || !strings.Contains(errs, "MAC mismatch") {
				t.Fatalf("code %d out %q err %q", code, out, errs)
			}
		})
	}
}

func TestSSSSEncryptRandomRoundTrip(t *testing.T) {
	key := strings.Repeat("ab", 32)
	code, out, errs := runCLI(t, "my secret\n", "ssss", "encrypt", "--key", key, "--name", "m.megolm_backup.v1")
	if code != 0 {
		t.Fatalf("encrypt: %d %q", code, errs)
	}
	code, out, errs = runCLI(t, out, "ssss", "decrypt", "--key", key, "--name", "m.megolm_backup.v1")
	if code != 0 || out != "my secret\n" {
		t.Fatalf("decrypt: code %d out %q err %q", code, out, errs)
	}
	// A file keeps its trailing newline.
	code, out, _ = runCLI(t, "", "ssss", "encrypt", "--key", key, "--name", "n", writeTemp(t, []byte("line\n")))
	if code != 0 {
		t.Fatal(code)
	}
	_, out, _ = runCLI(t, out, "ssss", "decrypt", "--key", key, "--name", "n")
	if out != "line\n\n" {
		t.Fatalf("file newline lost: %q", out)
	}
	// The recovery-key form of the key works as --key too.
	_, rk, _ := runCLI(t, "", "recovery-key", "encode", key)
	code, enc, _ := runCLI(t, "x", "ssss", "encrypt", "--key", strings.TrimSpace(rk), "--name", "n")
	if code != 0 {
		t.Fatal(code)
	}
	if code, out, _ := runCLI(t, enc, "ssss", "decrypt", "--key", key, "--name", "n"); code != 0 || out != "x\n" {
		t.Fatalf("recovery key as --key: %d %q", code, out)
	}
}

func TestSSSSCLIErrors(t *testing.T) {
	c := testvectors.LoadSSSS(t).Secrets[0]
	good := encJSON(c.IV, c.Ciphertext, c.MAC)
	two := `{"encrypted":{"a":` + good + `,"b":` + good + `}}`
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"bad key hex", good, []string{"ssss", "decrypt", "--key", "xyz", "--name", c.Name}, 1, ""},
		{"short key", good, []string{"ssss", "decrypt", "--key", "abcd", "--name", c.Name}, 1, ""},
		{"missing name flag", good, []string{"ssss", "decrypt", "--key", c.KeyHex}, 1, ""},
		{"not JSON", "nope", []string{"ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name}, 1, ""},
		{"trailing data", good + "{}", []string{"ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name}, 1, ""},
		{"bad base64", encJSON("!!", c.Ciphertext, c.MAC), []string{"ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name}, 1, ""},
		{"two keys without --key-id", two, []string{"ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name}, 1, ""},
		{"two keys with --key-id", two, []string{"ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name, "--key-id", "b"}, 0, c.Plaintext + "\n"},
		{"unknown --key-id", two, []string{"ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name, "--key-id", "z"}, 1, ""},
		{"bad --iv", c.Plaintext, []string{"ssss", "encrypt", "--key", c.KeyHex, "--name", c.Name, "--iv", "AAAA"}, 1, ""},
		{"missing file", "", []string{"ssss", "decrypt", "--key", c.KeyHex, "--name", c.Name, "/nonexistent/x"}, 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code || out != tc.out {
				t.Fatalf("code %d out %q err %q; want code %d out %q", code, out, errs, tc.code, tc.out)
			}
			if code != 0 && !strings.HasPrefix(errs, "vouch: ") {
				t.Fatalf("stderr %q", errs)
			}
		})
	}
}

func TestSSSSCheckKeyCLI(t *testing.T) {
	for i, c := range testvectors.LoadSSSS(t).KeyChecks {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			desc := `{"algorithm":"m.secret_storage.v1.aes-hmac-sha2","iv":"` + c.IV + `","mac":"` + c.MAC + `"}`
			code, out, errs := runCLI(t, desc, "ssss", "check-key", "--key", c.KeyHex)
			if c.Valid && (code != 0 || out != "ok\n") || !c.Valid && (code != 1 || out != "") {
				t.Fatalf("valid=%v: code %d out %q err %q", c.Valid, code, out, errs)
			}
		})
	}
	key := strings.Repeat("11", 32)
	code, out, _ := runCLI(t, `{"algorithm":"m.secret_storage.v1.aes-hmac-sha2","name":"old"}`, "ssss", "check-key", "--key", key)
	if code != 0 || !strings.HasPrefix(out, "ok (unverifiable") {
		t.Fatalf("unverifiable: code %d out %q", code, out)
	}
	for _, desc := range []string{
		`{"algorithm":"m.other"}`,
		`{"algorithm":"m.secret_storage.v1.aes-hmac-sha2","iv":"AAAAAAAAAAAAAAAAAAAAAA"}`,
		`[]`,
	} {
		if code, out, _ := runCLI(t, desc, "ssss", "check-key", "--key", key); code != 1 || out != "" {
			t.Errorf("%s: code %d out %q", desc, code, out)
		}
	}
}
