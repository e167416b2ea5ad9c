package storetest

import (
	"context"
	"fmt"
	"testing"

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
