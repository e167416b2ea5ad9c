package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vouch/internal/testvectors"
)

// runCLI runs vouch in-process with stdin and returns exit code, stdout,
// stderr. Every in-process CLI test runs through it.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// writeTemp writes data to a fresh file (mode 0600) and returns its path,
// for the tests that pass the CLI a FILE argument.
func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJSONCanonicalVectors(t *testing.T) {
	var f struct {
		Valid []struct {
			Name, Input, Canonical string
		}
		Invalid []struct {
			Name     string
			Input    *string
			InputHex string `json:"input_hex"`
		}
	}
	testvectors.Load(t, "canonical_json", &f)
	if len(f.Valid) == 0 || len(f.Invalid) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range f.Valid {
		t.Run(c.Name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "json", "canonical", writeTemp(t, []byte(c.Input)))
			if code != 0 || out != c.Canonical+"\n" {
				t.Fatalf("code %d out %q err %q, want %q", code, out, errs, c.Canonical)
			}
			// The same through stdin.
			code, out, _ = runCLI(t, c.Input, "json", "canonical")
			if code != 0 || out != c.Canonical+"\n" {
				t.Fatalf("stdin: code %d out %q", code, out)
			}
		})
	}
	for _, c := range f.Invalid {
		t.Run("invalid "+c.Name, func(t *testing.T) {
			var raw []byte
			if c.InputHex != "" {
				var err error
				if raw, err = hex.DecodeString(c.InputHex); err != nil {
					t.Fatal(err)
				}
			} else {
				raw = []byte(*c.Input)
			}
			code, out, errs := runCLI(t, "", "json", "canonical", writeTemp(t, raw))
			if code != 1 || out != "" || strings.TrimSpace(errs) == "" {
				t.Fatalf("code %d out %q err %q", code, out, errs)
			}
		})
	}
}

func TestJSONSignVerifyVectors(t *testing.T) {
	var f struct {
		Sign []struct {
			Name, Seed, Entity string
			KeyID              string          `json:"key_id"`
			Input              json.RawMessage `json:"input"`
			ExpectedCanonical  string          `json:"expected_canonical"`
		}
		Verify []struct {
			Name, Entity string
			KeyID        string          `json:"key_id"`
			PublicKey    string          `json:"public_key"`
			Input        json.RawMessage `json:"input"`
			Valid        bool
		}
	}
	testvectors.Load(t, "signing", &f)
	for _, c := range f.Sign {
		t.Run("sign "+c.Name, func(t *testing.T) {
			code, out, errs := runCLI(t, string(c.Input), "json", "sign", "--user-id", c.Entity, "--key-id", c.KeyID, "--seed", c.Seed)
			if code != 0 || out != c.ExpectedCanonical+"\n" {
				t.Fatalf("code %d err %q\n got %s\nwant %s", code, errs, out, c.ExpectedCanonical)
			}
		})
	}
	for _, c := range f.Verify {
		t.Run("verify "+c.Name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "json", "verify", "--user-id", c.Entity, "--key-id", c.KeyID, "--public-key", c.PublicKey, writeTemp(t, c.Input))
			if c.Valid && (code != 0 || out != "ok\n") {
				t.Fatalf("want ok: code %d out %q err %q", code, out, errs)
			}
			if !c.Valid && (code != 1 || strings.TrimSpace(errs) == "") {
				t.Fatalf("want failure with a reason: code %d out %q err %q", code, out, errs)
			}
		})
	}
}

func TestJSONBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"seed not base64", []string{"json", "sign", "--user-id", "@a:x", "--key-id", "ed25519:A", "--seed", "!!"}},
		{"seed too short", []string{"json", "sign", "--user-id", "@a:x", "--key-id", "ed25519:A", "--seed", "AAAA"}},
		{"missing flag", []string{"json", "sign", "--user-id", "@a:x", "--seed", "AAAA"}},
		{"key id without colon", []string{"json", "sign", "--user-id", "@a:x", "--key-id", "A", "--seed", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"public key too short", []string{"json", "verify", "--user-id", "@a:x", "--key-id", "ed25519:A", "--public-key", "AAAA"}},
		{"missing file", []string{"json", "canonical", "/nonexistent/file.json"}},
		{"two files", []string{"json", "canonical", "a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, `{"a":1}`, tt.args...)
			if code == 0 || strings.TrimSpace(errs) == "" {
				t.Fatalf("code %d err %q", code, errs)
			}
		})
	}
}
