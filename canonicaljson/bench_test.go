package canonicaljson

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// b64 returns n deterministic unpadded base64 characters derived from seed,
// standing in for keys and signatures.
func b64(seed string, n int) string {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := sha512.Sum512([]byte(fmt.Sprint(seed, i)))
		out = base64.RawStdEncoding.AppendEncode(out, h[:])
	}
	return string(out[:n])
}

// deviceKeysJSON returns a realistic signed device-keys object (about 500
// bytes) for device number n, with its members in canonical order if sorted
// and in reverse order (at every level) otherwise. It is pretty-printed when
// not sorted, as clients commonly send it.
func deviceKeysJSON(n int, sorted bool) string {
	dev := fmt.Sprintf("DEV%04dABCD", n)
	user := fmt.Sprintf("@user%03d:example.org", n/10)
	type kv struct{ k, v string }
	obj := func(members ...kv) string {
		if !sorted {
			for i, j := 0, len(members)-1; i < j; i, j = i+1, j-1 {
				members[i], members[j] = members[j], members[i]
			}
		}
		parts := make([]string, len(members))
		for i, m := range members {
			parts[i] = fmt.Sprintf("%q:%s", m.k, m.v)
		}
		if sorted {
			return "{" + strings.Join(parts, ",") + "}"
		}
		return "{\n  " + strings.Join(parts, ",\n  ") + "\n}"
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	return obj(
		kv{"algorithms", `["m.olm.v1.curve25519-aes-sha2","m.megolm.v1.aes-sha2"]`},
		kv{"device_id", q(dev)},
		kv{"keys", obj(
			kv{"curve25519:" + dev, q(b64("c"+dev, 43))},
			kv{"ed25519:" + dev, q(b64("e"+dev, 43))},
		)},
		kv{"signatures", obj(
			kv{user, obj(kv{"ed25519:" + dev, q(b64("s"+dev, 86))})},
		)},
		kv{"unsigned", obj(kv{"device_display_name", q(fmt.Sprintf("Phone \u2603 %d", n))})},
		kv{"user_id", q(user)},
	)
}

// keysQueryJSON returns a /keys/query response body with users × devices
// device-keys objects: {"device_keys":{user:{device:deviceKeys}}, "failures":{}}.
func keysQueryJSON(users, devices int, sorted bool) string {
	var b strings.Builder
	b.WriteString(`{"device_keys":{`)
	for u := range users {
		if u > 0 {
			b.WriteByte(',')
		}
		uu := u
		if !sorted {
			uu = users - 1 - u
		}
		fmt.Fprintf(&b, `"@user%03d:example.org":{`, uu)
		for d := range devices {
			if d > 0 {
				b.WriteByte(',')
			}
			dd := d
			if !sorted {
				dd = devices - 1 - d
			}
			n := uu*10 + dd
			fmt.Fprintf(&b, `"DEV%04dABCD":%s`, n, deviceKeysJSON(n, sorted))
		}
		b.WriteByte('}')
	}
	b.WriteString(`},"failures":{}}`)
	return b.String()
}

// benchInputs are the inputs shared by BenchmarkCanonicalize and
// BenchmarkEncodingJSONRoundTrip.
func benchInputs() []struct{ name, in string } {
	return []struct{ name, in string }{
		{"DeviceKeys/sorted", deviceKeysJSON(7, true)},
		{"DeviceKeys/unsorted", deviceKeysJSON(7, false)},
		{"KeysQuery1000/sorted", keysQueryJSON(100, 10, true)},
		{"KeysQuery1000/unsorted", keysQueryJSON(100, 10, false)},
	}
}

func TestBenchInputsAreValid(t *testing.T) {
	for _, bi := range benchInputs() {
		got, err := Canonicalize([]byte(bi.in))
		if err != nil {
			t.Fatalf("%s: %v", bi.name, err)
		}
		if strings.HasSuffix(bi.name, "/sorted") && !strings.HasPrefix(bi.name, "KeysQuery") && string(got) != bi.in {
			t.Fatalf("%s is not already canonical:\n%s\n%s", bi.name, bi.in, got)
		}
		if bi.name == "DeviceKeys/sorted" && (len(bi.in) < 400 || len(bi.in) > 600) {
			t.Fatalf("device keys object is %d bytes, want about 500", len(bi.in))
		}
	}
	// The sorted and unsorted forms describe the same value.
	a, _ := Canonicalize([]byte(keysQueryJSON(3, 2, true)))
	b, _ := Canonicalize([]byte(keysQueryJSON(3, 2, false)))
	if string(a) != string(b) {
		t.Fatalf("sorted and unsorted /keys/query bodies canonicalize differently")
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	for _, bi := range benchInputs() {
		in := []byte(bi.in)
		b.Run(bi.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Canonicalize(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendCanonical reuses the output buffer, as a server verifying
// many signatures would.
func BenchmarkAppendCanonical(b *testing.B) {
	for _, bi := range benchInputs() {
		in := []byte(bi.in)
		b.Run(bi.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				var err error
				if dst, err = AppendCanonical(dst[:0], in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodingJSONRoundTrip is the naive baseline: decode into any and
// encode again (encoding/json sorts map keys). It does not check integer
// ranges or duplicate keys, and escapes <, > and & differently, so it is
// only a speed reference.
func BenchmarkEncodingJSONRoundTrip(b *testing.B) {
	for _, bi := range benchInputs() {
		in := []byte(bi.in)
		b.Run(bi.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if err := json.Unmarshal(in, &v); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
