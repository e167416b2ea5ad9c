package canonicaljson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// checkAccepted asserts the properties every successful result must have:
// it is valid JSON, a fixed point, equal as a value to the input, equal to
// the oracle's output, and AppendCanonicalFunc with no filter agrees.
func checkAccepted(t *testing.T, in, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("output %q of %q is not valid JSON", out, in)
	}
	again, err := Canonicalize(out)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
	}
	var vin, vout any
	if err := json.Unmarshal(in, &vin); err != nil {
		t.Fatalf("encoding/json refuses input we accepted %q: %v", in, err)
	}
	if err := json.Unmarshal(out, &vout); err != nil {
		t.Fatalf("encoding/json refuses output %q: %v", out, err)
	}
	if !reflect.DeepEqual(vin, vout) {
		t.Fatalf("value changed: %q (%v) -> %q (%v)", in, vin, out, vout)
	}
	want, err := oracle(in)
	if err != nil || !bytes.Equal(want, out) {
		t.Fatalf("oracle disagrees on %q:\n ours   %q\n oracle %q, %v", in, out, want, err)
	}
	if len(out) > 0 && out[0] == '{' {
		viaFunc, err := AppendCanonicalFunc(nil, in, nil)
		if err != nil || !bytes.Equal(viaFunc, out) {
			t.Fatalf("AppendCanonicalFunc(nil keep) = %q, %v; want %q", viaFunc, err, out)
		}
	}
}

// checkRefused asserts that a refusal is an *Error with a known sentinel and
// an offset inside the input.
func checkRefused(t *testing.T, in []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Canonicalize(%q) error %v is not an *Error", in, err)
	}
	if e.Offset < 0 || e.Offset > len(in) {
		t.Fatalf("Canonicalize(%q): offset %d outside the input", in, e.Offset)
	}
	switch e.Err {
	case ErrSyntax, ErrTrailingData, ErrInvalidUTF8, ErrLoneSurrogate, ErrDuplicateKey,
		ErrFloat, ErrNumberOutOfRange, ErrTooDeep:
	default:
		t.Fatalf("Canonicalize(%q): unexpected sentinel %v", in, e.Err)
	}
}

// TestProperties checks the properties on the vectors and on generated
// inputs: valid ones must be accepted, mutated ones may go either way but
// must then satisfy checkAccepted or checkRefused.
func TestProperties(t *testing.T) {
	f := loadVectors(t)
	for _, c := range f.Valid {
		out, err := Canonicalize([]byte(c.Input))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		checkAccepted(t, []byte(c.Input), out)
	}
	g := newGen(1)
	for range 3000 {
		in := g.valid()
		out, err := Canonicalize(in)
		if err != nil {
			t.Fatalf("Canonicalize(%q): %v", in, err)
		}
		checkAccepted(t, in, out)
	}
	accepted, refused := 0, 0
	for range 3000 {
		in := g.mutated()
		out, err := Canonicalize(in)
		if err != nil {
			refused++
			checkRefused(t, in, err)
			continue
		}
		accepted++
		checkAccepted(t, in, out)
	}
	if accepted == 0 || refused == 0 {
		t.Fatalf("mutated corpus is one-sided: %d accepted, %d refused", accepted, refused)
	}
}

func FuzzCanonicalize(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.Valid {
		f.Add([]byte(c.Input))
		f.Add([]byte(c.Canonical))
	}
	for k := range v.Invalid {
		f.Add(v.invalidInput(f, k))
	}
	g := newGen(2)
	for range 20 {
		f.Add(g.valid())
		f.Add(g.mutated())
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			checkRefused(t, in, err)
			if out != nil {
				t.Fatalf("Canonicalize returned %q with error %v", out, err)
			}
			return
		}
		checkAccepted(t, in, out)
	})
}

// TestAppendCanonicalFuncProperty checks filtering on generated objects:
// leaving members out must give the canonical form of the object with those
// members deleted, and keep must see every member exactly once.
func TestAppendCanonicalFuncProperty(t *testing.T) {
	g := newGen(4)
	drop := func(key string) bool { return len(key)%2 == 0 } // an arbitrary rule
	tested := 0
	for range 100000 {
		if tested == 300 {
			break
		}
		in := g.valid()
		if t := bytes.TrimSpace(in); t[0] != '{' || bytes.Count(t, []byte(":")) < 3 {
			continue // want objects with a few members
		}
		tested++
		seen := map[string]int{}
		got, err := AppendCanonicalFunc(nil, in, func(key string, raw []byte) bool {
			seen[key]++
			if !json.Valid(raw) {
				t.Errorf("raw value %q of %q is not valid JSON", raw, key)
			}
			return !drop(key)
		})
		if err != nil {
			t.Fatalf("AppendCanonicalFunc(%q): %v", in, err)
		}
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			if seen[k] != 1 {
				t.Fatalf("keep saw %q %d times in %q", k, seen[k], in)
			}
			if drop(k) {
				delete(m, k)
			}
		}
		if len(seen) != len(m)+countDropped(seen, drop) {
			t.Fatalf("keep saw keys %v not in %q", seen, in)
		}
		filtered, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Canonicalize(filtered)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("AppendCanonicalFunc(%q) = %q; want %q (%v)", in, got, want, err)
		}
	}
	if tested < 300 {
		t.Fatalf("generator produced only %d suitable objects", tested)
	}
}

func countDropped(seen map[string]int, drop func(string) bool) int {
	n := 0
	for k := range seen {
		if drop(k) {
			n++
		}
	}
	return n
}
