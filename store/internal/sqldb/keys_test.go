package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"vouch/internal/pgtest"
	"vouch/store"
	"vouch/store/postgres"
	"vouch/store/sqlite"
)

// otk is a one-time key with ID "alg:id" and JSON {"key":"<content>"}.
func otk(alg, id, content string) store.OneTimeKey {
	return store.OneTimeKey{KeyID: alg + ":" + id, Algorithm: alg, JSON: []byte(fmt.Sprintf(`{"key":%q}`, content))}
}

// manyOTKs returns n signed_curve25519 keys with IDs prefix0…prefix(n-1).
func manyOTKs(prefix string, n int) []store.OneTimeKey {
	out := make([]store.OneTimeKey, n)
	for i := range out {
		out[i] = otk("signed_curve25519", fmt.Sprintf("%s%d", prefix, i), fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// TestUploadOneTimeKeys checks one-time key uploads: many keys at once, IDs
// repeated within one upload, re-uploads mixed with new keys, and that a
// refused upload stores nothing.
func TestUploadOneTimeKeys(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.OpenUncached(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateAccount(ctx, store.Account{UserID: "@a:x", PasswordHash: "h", CreatedMs: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: "D1"}, []byte("tok")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		keys    []store.OneTimeKey
		wantErr error
		want    map[string]int
	}{
		{"70 keys", manyOTKs("a", 70), nil, map[string]int{"signed_curve25519": 70}},
		{"identical re-upload of all 70", manyOTKs("a", 70), nil, map[string]int{"signed_curve25519": 70}},
		{"re-upload mixed with new keys", append(manyOTKs("a", 40), manyOTKs("b", 40)...), nil, map[string]int{"signed_curve25519": 110}},
		{"two algorithms", []store.OneTimeKey{otk("curve25519", "c", "c"), otk("signed_curve25519", "d", "d")}, nil,
			map[string]int{"signed_curve25519": 111, "curve25519": 1}},
		{"an ID repeated identically in one upload counts once", []store.OneTimeKey{otk("signed_curve25519", "e", "e"), otk("signed_curve25519", "e", "e")}, nil,
			map[string]int{"signed_curve25519": 112, "curve25519": 1}},
		{"an ID repeated with other content in one upload", []store.OneTimeKey{otk("signed_curve25519", "f", "f"), otk("signed_curve25519", "f", "g")},
			store.ErrOneTimeKeyExists, nil},
		{"a stored ID with other content after new keys", append(manyOTKs("g", 33), otk("signed_curve25519", "a5", "other")),
			store.ErrOneTimeKeyExists, nil},
		{"refused uploads stored nothing", []store.OneTimeKey{otk("signed_curve25519", "f", "g"), otk("signed_curve25519", "g0", "x")}, nil,
			map[string]int{"signed_curve25519": 114, "curve25519": 1}},
	}
	for _, st := range steps {
		got, err := s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", OneTimeKeys: st.keys})
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: err %v, want %v", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Fatalf("%s: counts %v, want %v", st.name, got, st.want)
		}
	}
	// The stored content is the first upload's, and claims see every key.
	claimed := 0
	for {
		c, err := s.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D1": "signed_curve25519"}})
		if err != nil {
			t.Fatal(err)
		}
		ks := c["@a:x"]["D1"]
		if len(ks) == 0 {
			break
		}
		if js, ok := ks["signed_curve25519:a5"]; ok && string(js) != `{"key":"a5"}` {
			t.Fatalf("a5 stored as %s", js)
		}
		claimed++
	}
	if claimed != 114 {
		t.Fatalf("claimed %d keys, want 114", claimed)
	}
}

// TestClaimByKeyIDPrefix checks that a claim, which range-scans the primary
// key on "algorithm:", returns only keys of the requested algorithm when
// other algorithms sort right next to it ("a0" and "a~" around "a:", "a"
// itself as a prefix of "ab"), lowest key ID first, and that a requested
// algorithm containing ':' matches no key, even one whose ID lies in its
// range. It runs on SQLite and, when the
// binaries are installed, PostgreSQL.
func TestClaimByKeyIDPrefix(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			s, err := sqlite.OpenUncached(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"postgres", func(t *testing.T) store.Store {
			s, err := postgres.Open(context.Background(), pgtest.Start(t))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	claims := []struct {
		alg  string
		want string // key ID claimed, "" for none
	}{
		{"a", "a:1"},
		{"a:3", ""}, // the range holds "a:3:x", whose algorithm is "a"
		{"a", "a:2"},
		{"a", "a:3:x"},
		{"a", ""},
		{"a0", "a0:1"},
		{"ab", "ab:1"},
		{"a~", "a~:1"},
		{"a0", ""},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := b.open(t)
			defer s.Close()
			if err := s.CreateAccount(ctx, store.Account{UserID: "@a:x", PasswordHash: "h", CreatedMs: 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: "D1"}, []byte("tok")); err != nil {
				t.Fatal(err)
			}
			keys := []store.OneTimeKey{
				otk("a~", "1", "t"), otk("a", "2", "2"), otk("ab", "1", "b"), otk("a", "3:x", "3"),
				otk("a0", "1", "0"), otk("a", "1", "1"),
			}
			if _, err := s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", OneTimeKeys: keys}); err != nil {
				t.Fatal(err)
			}
			for i, c := range claims {
				got, err := s.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D1": c.alg}})
				if err != nil {
					t.Fatalf("claim %d (%s): %v", i, c.alg, err)
				}
				var ids []string
				for id := range got["@a:x"]["D1"] {
					ids = append(ids, id)
				}
				if (c.want == "" && len(ids) != 0) || (c.want != "" && (len(ids) != 1 || ids[0] != c.want)) {
					t.Errorf("claim %d (%s) = %v, want %q", i, c.alg, ids, c.want)
				}
			}
		})
	}
}
