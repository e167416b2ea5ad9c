package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"vouch/signedjson"
)

// TestCheckFingerprintArg checks the message each kind of bad --fingerprint
// gets: a good key passes; 32 well-formed bytes that are no key (off the
// curve, or a weak point) and a last character no key can end with are
// called typos; anything else is not a fingerprint at all.
func TestCheckFingerprintArg(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := signedjson.EncodeBase64(pub)
	tests := []struct {
		name, fp, want string
	}{
		{"a real key", good, ""},
		{"a real key with spaces", good[:4] + " " + good[4:], ""},
		{"off the curve (y = 2)", "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a point"},
		{"the identity point", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "small order"},
		{"impossible last character", good[:42] + "B", "its last character is impossible"},
		{"too short", good[:20], "is not a fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFingerprintArg(tt.fp, "@bob:localhost")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
