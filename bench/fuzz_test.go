package bench

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzCheckNoFailures: the check never panics, accepts only valid JSON, and
// refuses every object whose "failures" member is a non-empty object.
func FuzzCheckNoFailures(f *testing.F) {
	for _, s := range []string{
		`{"failures":{}}`, `{}`, `{"ok":true}`, `{"failures":{"@a:localhost":{"X":{"errcode":"M_INVALID_SIGNATURE"}}}}`,
		`{"failures":null}`, `{"failures":[]}`, `[]`, `{"failures"`, `"failures"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkNoFailures(body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v is not ErrBadResponse", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		// Member names are matched exactly, as the Matrix API names them.
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return
		}
		var failures map[string]json.RawMessage
		if json.Unmarshal(obj["failures"], &failures) == nil && len(failures) != 0 {
			t.Fatalf("accepted failures %q", body)
		}
	})
}

// FuzzParseScenarios: whatever parses names only known scenarios, and
// joining the result parses back to the same list.
func FuzzParseScenarios(f *testing.F) {
	for _, s := range []string{"all", "", "keys-query", "sync-wake,keys-upload", " signatures-upload ", "x", ",,", "signatures-upload-batch", "signatures-upload,signatures-upload-batch", "signatures-upload-batch,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseScenarios(s)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			return
		}
		names := make([]string, len(got))
		for i, sc := range got {
			names[i] = string(sc)
		}
		again, err := ParseScenarios(strings.Join(names, ","))
		if err != nil || len(again) != len(got) {
			t.Fatalf("%q → %v → %v, %v", s, got, again, err)
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("%q → %v → %v", s, got, again)
			}
		}
	})
}

func TestCheckNoFailures(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"failures":{}}`, true},
		{`{}`, true},
		{`{"ok":true}`, true},
		{`{"failures":null}`, true},
		{`{"failures":{"@a:localhost":{"K":{"errcode":"M_INVALID_SIGNATURE"}}}}`, false},
		{`{"failures":{"a":1},"Failures":{}}`, false},
		{`{"failures":[]}`, false},
		{`{"failures"`, false},
		{`not json`, false},
		{``, false},
	}
	for _, tt := range tests {
		if err := checkNoFailures([]byte(tt.body)); (err == nil) != tt.ok {
			t.Errorf("checkNoFailures(%s) = %v, want ok %v", tt.body, err, tt.ok)
		}
	}
}
