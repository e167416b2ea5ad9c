package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"vouch/internal/testvectors"
)

func TestQRCLIVectors(t *testing.T) {
	v := testvectors.LoadQR(t)
	dir := t.TempDir()
	for i, c := range v.Valid {
		want := qrJSON{Mode: c.Mode, TransactionID: c.TransactionID, Key1: c.Key1, Key2: c.Key2, Secret: c.Secret}
		flags := []string{"--mode", strconv.Itoa(c.Mode), "--txn", c.TransactionID, "--key1", c.Key1, "--key2", c.Key2, "--secret", c.Secret}

		code, out, errs := runCLI(t, "", "qr", "decode", "--hex", c.Hex)
		var got qrJSON
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got != want {
			t.Errorf("valid %d: decode = %d %q %q, want %+v", i, code, out, errs, want)
		}

		code, out, errs = runCLI(t, "", append([]string{"qr", "encode"}, flags...)...)
		if code != 0 || out != c.Hex+"\n" {
			t.Errorf("valid %d: encode = %d %q %q, want %s", i, code, out, errs, c.Hex)
		}

		// PNG: written 0600, decoded from the file and from stdin.
		png := filepath.Join(dir, strconv.Itoa(i)+".png")
		code, out, errs = runCLI(t, "", append([]string{"qr", "encode", "-o", png}, flags...)...)
		if code != 0 || out != "" || !strings.Contains(errs, "0600") {
			t.Fatalf("valid %d: encode -o = %d %q %q", i, code, out, errs)
		}
		st, err := os.Stat(png)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("valid %d: PNG file %v, %v; want mode 0600", i, st, err)
		}
		code, out, errs = runCLI(t, "", "qr", "decode", png)
		got = qrJSON{}
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got != want {
			t.Errorf("valid %d: decode FILE = %d %q %q", i, code, out, errs)
		}
		img, err := os.ReadFile(png)
		if err != nil {
			t.Fatal(err)
		}
		code, out, _ = runCLI(t, string(img), "qr", "decode")
		got = qrJSON{}
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got != want {
			t.Errorf("valid %d: decode stdin = %d %q", i, code, out)
		}

		code, out, errs = runCLI(t, "", append([]string{"qr", "show"}, flags...)...)
		if code != 0 || !strings.Contains(out, "▀") || !strings.Contains(out, "▄") {
			t.Errorf("valid %d: show = %d %q", i, code, errs)
		}
	}
	for _, c := range v.Invalid {
		code, out, errs := runCLI(t, "", "qr", "decode", "--hex", c.Hex)
		if code != 1 || out != "" || !strings.HasPrefix(errs, "vouch: ") {
			t.Errorf("invalid %q: decode = %d %q %q, want exit 1 with a message", c.Reason, code, out, errs)
		}
	}
}

func TestQRCLIOverwritesWithPrivateMode(t *testing.T) {
	png := filepath.Join(t.TempDir(), "code.png")
	if err := os.WriteFile(png, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "", "qr", "encode", "-o", png, "--mode", "1", "--txn", "t",
		"--key1", strings.Repeat("A", 43), "--key2", strings.Repeat("B", 43), "--secret", "AAAAAAAAAAA")
	if code != 0 {
		t.Fatalf("encode -o: %d %s", code, errs)
	}
	st, err := os.Stat(png)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("existing 0644 file now %v, %v; want 0600", st.Mode(), err)
	}
}

func TestQRCLIErrors(t *testing.T) {
	key := strings.Repeat("A", 43)
	ok := []string{"--mode", "0", "--txn", "t", "--key1", key, "--key2", key, "--secret", "AAAAAAAAAAA"}
	with := func(flag, val string) []string {
		out := append([]string{"qr", "encode"}, ok...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = val
			}
		}
		return out
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"mode 3", with("--mode", "3"), "--mode"},
		{"mode -1", with("--mode", "-1"), "--mode"},
		{"short key", with("--key1", "AAAA"), "--key1"},
		{"bad base64 key", with("--key2", "!!!"), "--key2"},
		{"short secret", with("--secret", "AAAAAAA"), "8 bytes"},
		{"empty txn", with("--txn", ""), "empty transaction ID"},
		{"missing flag", []string{"qr", "encode", "--mode", "0"}, "required"},
		{"bad hex", []string{"qr", "decode", "--hex", "zz"}, "--hex"},
		{"hex and file", []string{"qr", "decode", "--hex", "00", "x.png"}, "either"},
		{"missing file", []string{"qr", "decode", filepath.Join(t.TempDir(), "none.png")}, "no such file"},
		{"not a PNG on stdin", []string{"qr", "decode"}, "cannot read image"},
		{"PNG too small", append(with("--mode", "0"), "-o", filepath.Join(t.TempDir(), "x.png"), "--size", "0"), "size"},
		{"show with short secret", append([]string{"qr", "show"}, with("--secret", "AAAA")[2:]...), "8 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "not a png", tt.args...)
			if code != 1 || out != "" || !strings.Contains(errs, tt.want) {
				t.Fatalf("%v = %d %q %q, want exit 1 mentioning %q", tt.args, code, out, errs, tt.want)
			}
		})
	}
}
