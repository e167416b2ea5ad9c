package secrets_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"vouch/internal/testvectors"

	"vouch/client/secrets"
)

// FuzzDecodeKeySecret: an accepted secret is 32 bytes and is exactly the
// canonical encoding of those bytes, with or without its one padding
// character (no other spelling decodes to the same key).
func FuzzDecodeKeySecret(f *testing.F) {
	for _, s := range testvectors.LoadSSSS(f).Secrets {
		f.Add(s.Plaintext)
		f.Add(s.Plaintext + "=")
	}
	f.Add("")
	f.Add("AAAA AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := secrets.DecodeKeySecret("fuzz", s)
		if err != nil {
			return
		}
		if len(b) != 32 {
			t.Fatalf("%d bytes", len(b))
		}
		enc := secrets.EncodeKeySecret(b)
		if s != enc && s != enc+"=" {
			t.Fatalf("%q accepted as %q", s, enc)
		}
	})
}

// FuzzLoadLocal: any file content either fails to load or loads to a
// cache that saves and loads back unchanged.
func FuzzLoadLocal(f *testing.F) {
	f.Add([]byte(`{"ssss_key_id":"abc","ssss_key":"AAEC","backup_key":"x","backup_signing_key":"y"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"ssss_key":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, secrets.LocalFileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := secrets.LoadLocal(dir)
		if err != nil {
			return
		}
		dir2 := t.TempDir()
		if err := secrets.SaveLocal(dir2, l); err != nil {
			t.Fatal(err)
		}
		l2, err := secrets.LoadLocal(dir2)
		if err != nil {
			t.Fatal(err)
		}
		if l.SSSSKeyID != l2.SSSSKeyID || !bytes.Equal(l.SSSSKey, l2.SSSSKey) || l.BackupKey != l2.BackupKey || l.BackupSigningKey != l2.BackupSigningKey {
			t.Fatal("round trip changed the cache")
		}
	})
}
