package backup_test

import (
	"testing"

	"vouch/backup"
)

// benchSession is vector 1's plaintext (~600 bytes, one forwarding key),
// the same session BenchmarkEncrypt and BenchmarkDecrypt use, so the
// figures compare directly with the unsigned baseline.
func benchSession(b *testing.B) (*fixture, []byte) {
	b.Helper()
	f := newFixture(b)
	v := loadVectors(b)
	return f, []byte(v.Sessions[1].Plaintext)
}

// BenchmarkSignEncryptSession measures EncryptSignedSession: strict parse,
// canonical JSON, ed25519 signature, then Encrypt. Baseline:
// BenchmarkEncrypt.
func BenchmarkSignEncryptSession(b *testing.B) {
	f, pt := benchSession(b)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := backup.EncryptSignedSession(f.pub, pt, f.alice.UserID, f.signing, backup.OlmRoomKey, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkOpenSession measures OpenSession of a signed, authenticated
// session through a trusted auth_data: Decrypt, strict parse, canonical
// JSON and ed25519 verification. Baseline: BenchmarkDecrypt.
func BenchmarkOpenSession(b *testing.B) {
	f, pt := benchSession(b)
	signedTrust, _, _ := f.trusts(b)
	enc, err := backup.EncryptSignedSession(f.pub, pt, f.alice.UserID, f.signing, backup.OlmRoomKey, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := backup.OpenSession(enc, f.priv, signedTrust, f.alice.UserID)
		if err != nil || !r.Authenticated {
			b.Fatal(err, r.Reason)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkOpenerOpen is BenchmarkOpenSession with the per-version checks
// done once (NewOpener), as a restore of many sessions runs.
func BenchmarkOpenerOpen(b *testing.B) {
	f, pt := benchSession(b)
	signedTrust, _, _ := f.trusts(b)
	enc, err := backup.EncryptSignedSession(f.pub, pt, f.alice.UserID, f.signing, backup.OlmRoomKey, nil)
	if err != nil {
		b.Fatal(err)
	}
	o, err := backup.NewOpener(f.priv, signedTrust, f.alice.UserID)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := o.Open(enc)
		if err != nil || !r.Authenticated {
			b.Fatal(err, r.Reason)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkTrustAuthData measures deciding trust for an auth_data signed by
// a verified own device (the longest path: master check fails, then the
// device's cross-signing chain and its signature).
func BenchmarkTrustAuthData(b *testing.B) {
	f := newFixture(b)
	ad, err := backup.SignAuthData(f.authData(b), f.alice.UserID, backup.DeviceSigner("A1", f.alice.Devices["A1"].Ed25519.Priv))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if t := backup.TrustAuthData(ad, f.viewer); t.Path != backup.TrustOwnDevice {
			b.Fatal(t.Reason)
		}
	}
}
