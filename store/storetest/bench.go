package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"vouch/store"
)

// BenchmarkWrite measures one durable write transaction (an account-data
// put) on s. Every backend's BenchmarkWrite calls it, so their figures
// compare the same work.
func BenchmarkWrite(b *testing.B, s store.Store) {
	ctx := context.Background()
	for b.Loop() {
		if err := s.PutAccountData(ctx, "@a:x", "t", []byte(`{}`)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeysQueryReads measures, in parallel, the reads behind one
// /keys/query of 10 users × 2 devices (device keys and signatures) on s.
func BenchmarkKeysQueryReads(b *testing.B, s store.Store) {
	ctx := context.Background()
	var users []string
	for i := range 10 {
		u := fmt.Sprintf("@u%d:x", i)
		users = append(users, u)
		if err := s.CreateAccount(ctx, store.Account{UserID: u}); err != nil {
			b.Fatal(err)
		}
		for _, d := range []string{"D1", "D2"} {
			if _, err := s.LoginDevice(ctx, store.Device{UserID: u, DeviceID: d}, []byte(u+d)); err != nil {
				b.Fatal(err)
			}
			if _, err := s.UploadKeys(ctx, store.KeysUpload{UserID: u, DeviceID: d, DeviceKeys: &store.DeviceKeysRecord{KeyJSON: []byte(`{"a":1}`)}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetDeviceKeys(ctx, users); err != nil {
				b.Fatal(err)
			}
			if _, err := s.GetSignatures(ctx, users); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUploadKeys measures the store's side of /keys/upload: 16
// goroutines, one device each, upload 5 fresh one-time keys per call, so
// the group-committing writer sees the concurrency of the HTTP benchmark
// without HTTP. Besides ns/op it reports cpu-ns/op, the process's CPU time
// (user and system) per upload, which moves less with other load on a
// shared machine than the wall time does.
func BenchmarkUploadKeys(b *testing.B, s store.Store) {
	ctx := context.Background()
	const devices = 16
	for i := range devices {
		u := fmt.Sprintf("@u%d:x", i)
		if err := s.CreateAccount(ctx, store.Account{UserID: u}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.LoginDevice(ctx, store.Device{UserID: u, DeviceID: "D"}, []byte(u)); err != nil {
			b.Fatal(err)
		}
	}
	keyJSON := []byte(`{"key":"zKbLg+NrIjpnagy+pIY6uPL4ZwEG2v+8F9lmgsnlZzs","signatures":{"@u0:x":{"ed25519:D":"FLWxXqGbwrb8SM3Y795eB6OA8bwBcoMZFXBqnTn58AYWZSqiD45tlBVcDa2L7RwdKXebW/VzDlnfVJ+9jok1Bw"}}}`)
	var worker, seq atomic.Int64
	cpu0 := processCPU()
	b.SetParallelism((devices + 1) / 2) // 16 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		u := fmt.Sprintf("@u%d:x", (worker.Add(1)-1)%devices)
		up := store.KeysUpload{UserID: u, DeviceID: "D", OneTimeKeys: make([]store.OneTimeKey, 5)}
		for pb.Next() {
			for k := range up.OneTimeKeys {
				id := fmt.Sprintf("signed_curve25519:%d", seq.Add(1))
				up.OneTimeKeys[k] = store.OneTimeKey{KeyID: id, Algorithm: "signed_curve25519", JSON: keyJSON}
			}
			if _, err := s.UploadKeys(ctx, up); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// processCPU is the user plus system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
