package server

import "testing"

// FuzzParseToken checks that since tokens are non-malleable: a token that
// parses is exactly the rendering of its position.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"", "v0", "v1", "v42", "v9223372036854775807", "v01", "v-1", "x1", "v", "v1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pos, err := parseToken(s)
		if err != nil {
			return
		}
		if s == "" {
			if pos != 0 {
				t.Fatalf("empty token gives %d", pos)
			}
			return
		}
		if got := syncToken(pos); got != s {
			t.Fatalf("token %q parses to %d, renders %q", s, pos, got)
		}
	})
}

func TestParseToken(t *testing.T) {
	tests := []struct {
		in   string
		pos  int64
		fail bool
	}{
		{"", 0, false}, {"v0", 0, false}, {"v17", 17, false},
		{"v01", 0, true}, {"v-1", 0, true}, {"17", 0, true}, {"v", 0, true}, {"v1x", 0, true}, {"v99999999999999999999", 0, true},
	}
	for _, tc := range tests {
		pos, err := parseToken(tc.in)
		if (err != nil) != tc.fail || pos != tc.pos {
			t.Errorf("parseToken(%q) = %d, %v", tc.in, pos, err)
		}
	}
}
