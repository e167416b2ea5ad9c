package signedjson_test

import (
	"bytes"
	"reflect"
	"testing"

	"vouch/signedjson"
)

// splitCases are objects SigningBytesAndSignatures must treat exactly as
// SigningBytes and SignaturesOf do, refusals included.
var splitCases = []string{
	`{}`,
	`{"a":1}`,
	`{"b":[1,2],"a":{"y":1,"x":2},"unsigned":{"age":3},"signatures":{"@u:x":{"ed25519:K":"c2ln"}}}`,
	`{"signatures":{"@u:x":{"ed25519:K":"c2ln"},"@v:x":{"ed25519:L":"dg"}},"usage":["master"]}`,
	`{ "signatures" : { "@\u00fc:x" : { "ed25519:\u004b" : "c2ln" } } , "a" : "\"}" }`,
	`{"signatures":null}`,
	`{"signatures":[]}`,
	`{"signatures":{"@u:x":"s"}}`,
	`{"signatures":{"@u:x":{"ed25519:K":1}}}`,
	`{"a":1.5}`,
	`{"a":1,"a":2}`,
	`[]`,
	`"s"`,
	`{`,
	``,
}

// TestSigningBytesAndSignatures checks the one-pass function against the
// two it stands for.
func TestSigningBytesAndSignatures(t *testing.T) {
	for _, obj := range splitCases {
		checkSplit(t, []byte(obj))
	}
}

func checkSplit(t *testing.T, obj []byte) {
	t.Helper()
	b, sigs, err := signedjson.SigningBytesAndSignatures(obj)
	wantB, errB := signedjson.SigningBytes(obj)
	wantSigs, errS := signedjson.SignaturesOf(obj)
	wantErr := errB
	if wantErr == nil {
		wantErr = errS
	}
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%q: error %v, want %v", obj, err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(b, wantB) || !reflect.DeepEqual(sigs, wantSigs) {
		t.Fatalf("%q: %q %v, want %q %v", obj, b, sigs, wantB, wantSigs)
	}
}

// FuzzSigningBytesAndSignatures: the same on arbitrary input.
func FuzzSigningBytesAndSignatures(f *testing.F) {
	for _, c := range splitCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		checkSplit(t, obj)
	})
}
