package keybackup_test

import (
	"context"
	"testing"
	"time"

	"vouch/backup"
	"vouch/client/keybackup"
	"vouch/internal/testserver"
)

// BenchmarkRestore10000 restores a signed backup of 10,000 sessions over
// HTTP from the real server (download, decrypt, verify every signature);
// issue 7's target is under 5 s on the project machine. It reports
// seconds per restore, sessions per second, and the CPU seconds the whole
// process (client and in-process server) spent per restore, which does
// not depend on how loaded the machine is.
func BenchmarkRestore10000(b *testing.B) {
	benchRestore(b, 10000)
}

// BenchmarkRestore1000 is the same with 1,000 sessions.
func BenchmarkRestore1000(b *testing.B) {
	benchRestore(b, 1000)
}

func benchRestore(b *testing.B, n int) {
	ctx := context.Background()
	url := testserver.URL(b)
	d, _, cr := setUp(b, url, 0)
	st := mustStatus(b, d, nil)
	if _, err := keybackup.Upload(ctx, d.api, st, cr.Keys, sessions(n, backup.OlmRoomKey), keybackup.UploadOptions{BatchSize: n}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	runs := 0
	for b.Loop() {
		res, err := keybackup.Restore(ctx, d.api, st, cr.Keys.Private, keybackup.RestoreOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Authenticated != n {
			b.Fatalf("authenticated %d of %d", res.Authenticated, n)
		}
		runs++
	}
	secs := time.Since(start).Seconds() / float64(runs)
	b.ReportMetric(secs, "s/restore")
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(runs), "cpu-s/restore")
	b.ReportMetric(float64(n)/secs, "sessions/s")
}

// BenchmarkUpload1000 signs, encrypts and uploads 1,000 sessions in one
// request.
func BenchmarkUpload1000(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	url := testserver.URL(b)
	d, _, cr := setUp(b, url, 0)
	st := mustStatus(b, d, nil)
	ss := sessions(n, backup.OlmRoomKey)
	start := time.Now()
	runs := 0
	for b.Loop() {
		if _, err := keybackup.Upload(ctx, d.api, st, cr.Keys, ss, keybackup.UploadOptions{BatchSize: n}); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	secs := time.Since(start).Seconds() / float64(runs)
	b.ReportMetric(float64(n)/secs, "sessions/s")
}
