package server

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// plainSlow is the byte-at-a-time definition isPlainJSON must match.
func plainSlow(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

func TestIsPlainJSON(t *testing.T) {
	sig := "dGhpcyBpcyBhIHNpZ25hdHVyZSBvZiBzaXh0eS1mb3VyIGJ5dGVzIGVuY29kZWQgYXMgdW5wYWRkZWQgYmFzZTY0"
	cases := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"ed25519:DEVICEID", true},
		{sig, true},
		{"@alice:example.org", true},
		{" ~!#$%&'()*+,-./", true},
		{"0123456\x1f", false},
		{"01234567\x1f", false},
		{"0123456789abcde\"", false},
		{"0123456789abcdef\\", false},
		{"0123456\x7f89", false},
		{"0123456\x80", false},
		{"é0123456789", false},
		{"\x00", false},
		{"01234567\x00", false},
		{strings.Repeat("a", 64) + "\n", false},
		{strings.Repeat("\x20", 16), true},
		{strings.Repeat("\x7e", 16), true},
		{"\xff\xff\xff\xff\xff\xff\xff\xff", false},
		{"\x21\x21\x21\x21\x21\x21\x21\x1f", false},
		{"\x1f\x21\x21\x21\x21\x21\x21\x21", false},
	}
	for _, c := range cases {
		if got := isPlainJSON(c.in); got != c.want {
			t.Errorf("isPlainJSON(%q) = %v, want %v", c.in, got, c.want)
		}
		if got := plainSlow(c.in); got != c.want {
			t.Errorf("plainSlow(%q) = %v, want %v (bad case)", c.in, got, c.want)
		}
	}
	// Every byte value in every lane of an otherwise plain word.
	for pos := 0; pos < 9; pos++ {
		for b := 0; b < 256; b++ {
			in := []byte("abcdefghi")
			in[pos] = byte(b)
			if got, want := isPlainJSON(string(in)), plainSlow(string(in)); got != want {
				t.Fatalf("isPlainJSON(%q) = %v, want %v", in, got, want)
			}
		}
	}
}

// FuzzAppendJSONString checks that the fast test agrees with the byte loop
// and that the appended string decodes back to the input (for valid UTF-8,
// which encoding/json does not replace).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "ed25519:ABCDEFGH", "a\"b", "tab\there", "é", "\x7f\x80", strings.Repeat("x", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if isPlainJSON(s) != plainSlow(s) {
			t.Fatalf("isPlainJSON(%q) disagrees with the byte loop", s)
		}
		out := appendJSONString([]byte("x"), s)
		if out[0] != 'x' {
			t.Fatal("prefix lost")
		}
		var back string
		if err := json.Unmarshal(out[1:], &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, out[1:], err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}

func BenchmarkAppendJSONString(b *testing.B) {
	sig := "dGhpcyBpcyBhIHNpZ25hdHVyZSBvZiBzaXh0eS1mb3VyIGJ5dGVzIGVuY29kZWQgYXMgdW5wYWRkZWQgYmFzZTY0"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(sig)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], sig)
	}
}
