package canonicaljson

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// vectorFile mirrors testdata/vectors/canonical_json.json.
type vectorFile struct {
	Valid []struct {
		Name      string `json:"name"`
		Input     string `json:"input"`
		Canonical string `json:"canonical"`
	} `json:"valid"`
	Invalid []struct {
		Name     string `json:"name"`
		Reason   string `json:"reason"`
		Input    string `json:"input"`
		InputHex string `json:"input_hex"`
	} `json:"invalid"`
}

// invalidInput returns the bytes of an invalid vector: input_hex if set.
func (f vectorFile) invalidInput(t testing.TB, k int) []byte {
	c := f.Invalid[k]
	if c.InputHex == "" {
		return []byte(c.Input)
	}
	b, err := hex.DecodeString(c.InputHex)
	if err != nil {
		t.Fatalf("%s: bad input_hex: %v", c.Name, err)
	}
	return b
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	raw, err := os.ReadFile("../testdata/vectors/canonical_json.json")
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Valid) == 0 || len(f.Invalid) == 0 {
		t.Fatal("vector file has no cases")
	}
	return f
}

// reasonErr maps each "reason" used by the invalid vectors to the sentinel
// we must return, so a vector refused for the wrong reason fails.
var reasonErr = map[string]error{
	"data after the top-level value":     ErrTrailingData,
	"unexpected end of input":            ErrSyntax,
	"trailing comma":                     ErrSyntax,
	"strings must use double quotes":     ErrSyntax,
	"leading zeros are not JSON":         ErrSyntax,
	"numbers may not start with +":       ErrSyntax,
	"floats are not permitted":           ErrFloat,
	"integer out of range":               ErrNumberOutOfRange,
	"not JSON":                           ErrSyntax,
	"unpaired surrogate":                 ErrLoneSurrogate,
	"control characters must be escaped": ErrSyntax,
	"invalid escape":                     ErrSyntax,
	"duplicate keys are ambiguous (parsers disagree on which wins)": ErrDuplicateKey,
	"invalid UTF-8": ErrInvalidUTF8,
	"no value":      ErrSyntax,
}

func TestVectors(t *testing.T) {
	f := loadVectors(t)
	for _, c := range f.Valid {
		t.Run("valid/"+c.Name, func(t *testing.T) {
			got, err := Canonicalize([]byte(c.Input))
			if err != nil {
				t.Fatalf("Canonicalize(%q): %v", c.Input, err)
			}
			if string(got) != c.Canonical {
				t.Fatalf("Canonicalize(%q)\n got %q\nwant %q", c.Input, got, c.Canonical)
			}
			// The canonical form is a fixed point.
			again, err := Canonicalize(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("Canonicalize(canonical) = %q, %v; want it unchanged", again, err)
			}
			// AppendCanonical appends after existing content.
			app, err := AppendCanonical([]byte("prefix"), []byte(c.Input))
			if err != nil || string(app) != "prefix"+c.Canonical {
				t.Fatalf("AppendCanonical = %q, %v", app, err)
			}
		})
	}
	for k, c := range f.Invalid {
		t.Run("invalid/"+c.Name, func(t *testing.T) {
			in := f.invalidInput(t, k)
			want, ok := reasonErr[c.Reason]
			if !ok {
				t.Fatalf("no sentinel mapped for reason %q; extend reasonErr", c.Reason)
			}
			got, err := Canonicalize(in)
			if err == nil {
				t.Fatalf("Canonicalize(%q) = %q, want an error (%s)", in, got, c.Reason)
			}
			if !errors.Is(err, want) {
				t.Fatalf("Canonicalize(%q) error = %v, want %v", in, err, want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Offset < 0 || e.Offset > len(in) {
				t.Fatalf("error %v is not an *Error with an offset inside the input", err)
			}
			prefix := []byte("prefix")
			if out, err := AppendCanonical(prefix, in); err == nil || string(out) != "prefix" {
				t.Fatalf("AppendCanonical = %q, %v; want dst unextended and an error", out, err)
			}
		})
	}
}

// TestEdgeCases covers what the vectors do not, with the reason for each
// expected outcome. want == "" means the input must be refused with wantErr.
func TestEdgeCases(t *testing.T) {
	deep := func(n int, open, close string) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
		why     string
	}{
		// Key order.
		{"astral vs BMP key", `{"\ud83d\ude00":1,"\uffff":2}`, "{\"\uffff\":2,\"\U0001F600\":1}", nil,
			"U+FFFF < U+1F600 by code point; UTF-16 order would put the surrogate 0xD83D first"},
		{"astral vs U+E000 key", "{\"\U0001F600\":1,\"\ue000\":2}", "{\"\ue000\":2,\"\U0001F600\":1}", nil,
			"U+E000 sorts before U+1F600 by code point but after 0xD83D in UTF-16"},
		{"escaped key sorted by its decoded value", `{"b":1,"\u0061":2}`, `{"a":2,"b":1}`, nil,
			"keys are compared after unescaping"},
		{"quote key sorts before #", `{"#":1,"\"":2}`, `{"\"":2,"#":1}`, nil,
			"'\"' is U+0022 < '#' U+0023, although its escaped form \\\" starts with '\\' (0x5C)"},
		{"control key sorts first", `{" ":1,"\n":2}`, `{"\n":2," ":1}`, nil,
			"U+000A < U+0020 although \\n is written with a backslash"},
		{"uppercase before lowercase", `{"a":1,"B":2}`, `{"B":2,"a":1}`, nil, "U+0042 < U+0061"},
		{"empty key first", `{"a":1,"":2}`, `{"":2,"a":1}`, nil, "the empty string is a prefix of every key"},
		{"nested unsorted", `{"b":{"d":1,"c":2},"a":[{"f":1,"e":2}]}`, `{"a":[{"e":2,"f":1}],"b":{"c":2,"d":1}}`, nil,
			"every object at every depth is sorted"},
		{"many members unsorted", `{"p":1,"o":2,"n":3,"m":4,"l":5,"k":6,"j":7,"i":8,"h":9,"g":10,"f":11,"e":12,"d":13,"c":14,"b":15,"a":16,"z":17,"y":18}`,
			`{"a":16,"b":15,"c":14,"d":13,"e":12,"f":11,"g":10,"h":9,"i":8,"j":7,"k":6,"l":5,"m":4,"n":3,"o":2,"p":1,"y":18,"z":17}`, nil,
			"more members than the inline member array holds"},

		// Duplicates.
		{"duplicate after unescape, reversed", `{"\u0061":1,"a":2}`, "", ErrDuplicateKey, "same key after unescaping"},
		{"duplicate surrogate pair vs raw", "{\"\U0001F600\":1,\"\\ud83d\\ude00\":2}", "", ErrDuplicateKey,
			"the pair decodes to the same code point as the raw UTF-8"},
		{"duplicate in unsorted object", `{"b":1,"a":2,"b":3}`, "", ErrDuplicateKey, "found after sorting, not adjacent in input"},
		{"duplicate in nested object", `{"a":{"x":1,"x":1}}`, "", ErrDuplicateKey, "identical values do not make duplicates acceptable"},
		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":1}}`, `{"a":{"x":1},"b":{"x":1}}`, nil, "keys are per object"},
		{"escaped solidus key duplicate", `{"/":1,"\/":2}`, "", ErrDuplicateKey, "\\/ is /"},

		// Escapes and strings.
		{"escaped quote and backslash", `"\u0022\u005c"`, `"\"\\"`, nil, "only the short forms are canonical"},
		{"uppercase hex escape", `"\u00E9"`, "\"\u00e9\"", nil, "non-ASCII is written raw"},
		{"escape in key written canonically", `{"\u0009\u001F":1}`, `{"\t\u001f":1}`, nil, "keys use the same escaping as values"},
		{"U+FFFF and U+FEFF raw", `"\uffff\ufeff"`, "\"\uffff\ufeff\"", nil, "noncharacters and BOM inside strings are ordinary characters"},
		{"max code point", `"\udbff\udfff"`, "\"\U0010FFFF\"", nil, "highest surrogate pair"},
		{"raw 4-byte UTF-8", "\"\U0010FFFF\"", "\"\U0010FFFF\"", nil, "valid UTF-8 is copied"},
		{"long plain string", `"` + strings.Repeat("abcdefgh", 20) + `"`, `"` + strings.Repeat("abcdefgh", 20) + `"`, nil, "word-at-a-time scan"},
		{"special byte at each word offset", `"abcdefg\nhijklmn\"op\\"`, `"abcdefg\nhijklmn\"op\\"`, nil, "escapes found inside an 8-byte word"},
		{"high surrogate then non-surrogate escape", `"\ud83d\u0041"`, "", ErrLoneSurrogate, "a high surrogate must be followed by a low one"},
		{"high surrogate then raw char", `"\ud83dx"`, "", ErrLoneSurrogate, "same"},
		{"two high surrogates", `"\ud83d\ud83d"`, "", ErrLoneSurrogate, "same"},
		{"high surrogate at end of string", `"\ud83d"`, "", ErrLoneSurrogate, "same"},
		{"raw UTF-8 surrogate", "\"\xed\xa0\x80\"", "", ErrInvalidUTF8, "UTF-8 must not encode surrogates"},
		{"above U+10FFFF", "\"\xf4\x90\x80\x80\"", "", ErrInvalidUTF8, "not a code point"},
		{"truncated UTF-8", "\"\xe6\x97\"", "", ErrInvalidUTF8, "sequence cut short by the quote"},
		{"short \\u escape", `"\u12"`, "", ErrSyntax, "four hex digits required"},
		{"non-hex \\u escape", `"\u12G4"`, "", ErrSyntax, "four hex digits required"},
		{"raw tab in string", "\"a\tb\"", "", ErrSyntax, "RFC 8259 requires control characters to be escaped"},
		{"raw DEL in string", "\"\x7f\"", "\"\x7f\"", nil, "U+007F is not a JSON control character"},
		{"unterminated string", `"abc`, "", ErrSyntax, "no closing quote"},
		{"backslash at end", `"abc\`, "", ErrSyntax, "escape cut off"},

		// Numbers.
		{"max safe", `9007199254740991`, `9007199254740991`, nil, "2^53-1 is the largest allowed integer"},
		{"min safe", `-9007199254740991`, `-9007199254740991`, nil, "-(2^53)+1 is the smallest"},
		{"one above max", `9007199254740992`, "", ErrNumberOutOfRange, "2^53 is excluded"},
		{"one below min", `-9007199254740992`, "", ErrNumberOutOfRange, "-(2^53) is excluded"},
		{"17 digits", `10000000000000000`, "", ErrNumberOutOfRange, "longer than the limit"},
		{"leading zeros in fraction value", `0.00000000000000000000000000000001e32`, `1`, nil, "value is exactly 1"},
		{"max safe via exponent", `9.007199254740991e15`, `9007199254740991`, nil, "value is exactly 2^53-1"},
		{"above max via exponent", `9.007199254740992e15`, "", ErrNumberOutOfRange, "value is exactly 2^53"},
		{"-0", `-0`, `0`, nil, "spec: -0 must not appear; it is the integer 0"},
		{"-0.0", `-0.0`, `0`, nil, "zero whatever its spelling"},
		{"0e-5", `0e-5`, `0`, nil, "zero times any power of ten is zero, an integer"},
		{"-0e999999999999999999999", `-0e999999999999999999999`, `0`, nil, "zero with a huge exponent is still zero"},
		{"1.0", `1.0`, `1`, nil, "integral value: decision in docs/canonical-json.md (value-based, like 1e10)"},
		{"1.50e1", `1.50e1`, `15`, nil, "integral value"},
		{"10e-1", `10e-1`, `1`, nil, "integral value despite a negative exponent"},
		{"1E+2", `1E+2`, `100`, nil, "uppercase E and explicit plus sign"},
		{"-1e15", `-1e15`, `-1000000000000000`, nil, "negative exponent form"},
		{"1e16", `1e16`, "", ErrNumberOutOfRange, "10^16 > 2^53-1"},
		{"1e-400", `1e-400`, "", ErrFloat, "tiny, not an integer"},
		{"1.5e400", `1.5e400`, "", ErrNumberOutOfRange, "integral but huge"},
		{"1e999999999999999999999", `1e999999999999999999999`, "", ErrNumberOutOfRange, "exponent saturates, still out of range"},
		{"0.1", `0.1`, "", ErrFloat, "not an integer"},
		{"1.", `1.`, "", ErrSyntax, "fraction needs digits"},
		{".5", `.5`, "", ErrSyntax, "number needs an integer part"},
		{"1e", `1e`, "", ErrSyntax, "exponent needs digits"},
		{"1e+", `1e+`, "", ErrSyntax, "exponent needs digits"},
		{"bare minus", `-`, "", ErrSyntax, "minus needs digits"},
		{"minus Infinity", `-Infinity`, "", ErrSyntax, "not JSON"},
		{"hex number", `0x10`, "", ErrTrailingData, "0 is a value, x10 is garbage"},
		{"-01", `-01`, "", ErrSyntax, "leading zero"},

		// Structure and whitespace.
		{"empty object", `{}`, `{}`, nil, "spec"},
		{"empty array", `[ ]`, `[]`, nil, "whitespace inside empty containers is dropped"},
		{"empty object with space", "{ \n}", `{}`, nil, "same"},
		{"top-level number", ` 42 `, `42`, nil, "any JSON value may be top-level"},
		{"top-level null", `null`, `null`, nil, "any JSON value may be top-level"},
		{"false", `[false,true,null]`, `[false,true,null]`, nil, "literals kept"},
		{"BOM", "\ufeff{}", "", ErrSyntax, "decision: a byte order mark is refused (RFC 8259 §8.1 forbids sending one)"},
		{"form feed is not whitespace", "\f{}", "", ErrSyntax, "JSON whitespace is space, tab, LF and CR only"},
		{"NUL after value", "{}\x00", "", ErrTrailingData, "nothing but whitespace may follow"},
		{"two values", `1 2`, "", ErrTrailingData, "one top-level value"},
		{"only whitespace", " \n\t", "", ErrSyntax, "no value"},
		{"leading comma in array", `[,1]`, "", ErrSyntax, "not JSON"},
		{"trailing comma in array", `[1,]`, "", ErrSyntax, "not JSON"},
		{"missing colon", `{"a" 1}`, "", ErrSyntax, "not JSON"},
		{"missing comma", `{"a":1 "b":2}`, "", ErrSyntax, "not JSON"},
		{"number key", `{1:2}`, "", ErrSyntax, "keys are strings"},
		{"truncated literal", `tru`, "", ErrSyntax, "not JSON"},
		{"misspelled literal", `nul1`, "", ErrSyntax, "not JSON"},
		{"unclosed array", `[1,2`, "", ErrSyntax, "unexpected end"},
		{"mismatched close", `[1}`, "", ErrSyntax, "not JSON"},
		{"depth at limit", deep(MaxDepth, "[", "]"), deep(MaxDepth, "[", "]"), nil, "MaxDepth levels are allowed"},
		{"depth over limit", deep(MaxDepth+1, "[", "]"), "", ErrTooDeep, "one more is refused"},
		{"object depth over limit", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), "", ErrTooDeep, "objects count too"},
		{"very deep", strings.Repeat("[", 1_000_000), "", ErrTooDeep, "refused early, without a million stack frames"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Canonicalize(%.80q) = %q, %v; want error %v (%s)", tc.in, got, err, tc.wantErr, tc.why)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Canonicalize(%.80q) = %q, %v; want %q (%s)", tc.in, got, err, tc.want, tc.why)
			}
		})
	}
}

func TestErrorDetails(t *testing.T) {
	_, err := Canonicalize([]byte(`{"a":1, "a":2}`))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *Error", err)
	}
	if e.Offset != 8 || e.Err != ErrDuplicateKey || !strings.Contains(e.Detail, `"a"`) {
		t.Fatalf("got %+v, want offset 8 (second key), ErrDuplicateKey, detail naming the key", e)
	}
	want := `canonicaljson: duplicate object key at offset 8: key "a" appears twice`
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	_, err = Canonicalize([]byte("{\"a\":\"x\xffy\"}"))
	if !errors.As(err, &e) || e.Offset != 7 {
		t.Fatalf("invalid UTF-8 error %v: want offset 7", err)
	}
}

func TestAppendCanonicalFunc(t *testing.T) {
	in := []byte(`{"unsigned":{"x":1},"b":[2, 1],"signatures":{"u":{"k":"s"}},"a":"\u0041","c":{"z":1,"y":2}}`)
	var seen []string
	got, err := AppendCanonicalFunc([]byte("p:"), in, func(key string, raw []byte) bool {
		seen = append(seen, key+"="+string(raw))
		return key != "unsigned" && key != "signatures"
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `p:{"a":"A","b":[2,1],"c":{"y":2,"z":1}}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	wantSeen := []string{`unsigned={"x":1}`, `b=[2, 1]`, `signatures={"u":{"k":"s"}}`, `a="\u0041"`, `c={"z":1,"y":2}`}
	if !reflect.DeepEqual(seen, wantSeen) {
		t.Fatalf("keep saw %q, want %q", seen, wantSeen)
	}

	tests := []struct {
		name    string
		in      string
		keep    func(string, []byte) bool
		want    string
		wantErr error
	}{
		{"nil keep keeps all", `{"b":1,"a":2}`, nil, `{"a":2,"b":1}`, nil},
		{"drop all", `{"b":1,"a":2}`, func(string, []byte) bool { return false }, `{}`, nil},
		{"drop first of sorted", `{"a":1,"b":2,"c":3}`, func(k string, _ []byte) bool { return k != "a" }, `{"b":2,"c":3}`, nil},
		{"drop last of unsorted", `{"c":1,"b":2,"a":3}`, func(k string, _ []byte) bool { return k != "a" }, `{"b":2,"c":1}`, nil},
		{"escaped key unescaped for keep", `{"\u0073ignatures":1,"x":2}`, func(k string, _ []byte) bool { return k != "signatures" }, `{"x":2}`, nil},
		{"dropped duplicate still refused", `{"signatures":1,"signatures":2}`, func(k string, _ []byte) bool { return k != "signatures" }, "", ErrDuplicateKey},
		{"dropped duplicate unsorted still refused", `{"signatures":1,"a":0,"signatures":2}`, func(k string, _ []byte) bool { return k != "signatures" }, "", ErrDuplicateKey},
		{"not an object", `[1]`, nil, "", ErrNotObject},
		{"string is not an object", `"{}"`, nil, "", ErrNotObject},
		{"invalid later member", `{"a":1,"b":1.5}`, nil, "", ErrFloat},
		{"trailing data", `{} {}`, nil, "", ErrTrailingData},
		{"empty", ``, nil, "", ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendCanonicalFunc(nil, []byte(tc.in), tc.keep)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %q, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	type device struct {
		UserID   string            `json:"user_id"`
		DeviceID string            `json:"device_id"`
		Keys     map[string]string `json:"keys"`
		HTML     string            `json:"html"`
		N        int64             `json:"n"`
	}
	got, err := Marshal(device{UserID: "@a:b", DeviceID: "D", Keys: map[string]string{"z": "1", "a": "2"}, HTML: "<&>", N: -5})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"device_id":"D","html":"<&>","keys":{"a":"2","z":"1"},"n":-5,"user_id":"@a:b"}`
	if string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// An integral float64 is written by encoding/json without a fraction.
	if got, err := Marshal(map[string]float64{"x": 3}); err != nil || string(got) != `{"x":3}` {
		t.Fatalf("Marshal(3.0) = %s, %v", got, err)
	}
	if _, err := Marshal(map[string]float64{"x": 1.5}); !errors.Is(err, ErrFloat) {
		t.Fatalf("Marshal(1.5): %v, want ErrFloat", err)
	}
	if _, err := Marshal(int64(1 << 53)); !errors.Is(err, ErrNumberOutOfRange) {
		t.Fatalf("Marshal(2^53): %v, want ErrNumberOutOfRange", err)
	}
	if _, err := Marshal(make(chan int)); err == nil {
		t.Fatal("Marshal(chan) succeeded")
	}
}

// TestAllocs checks the allocation claims: with a large enough dst, sorted
// input with plain keys allocates nothing, and neither does unsorted input
// whose objects have at most membersInline members.
func TestAllocs(t *testing.T) {
	dst := make([]byte, 0, 4096)
	for _, in := range []string{
		deviceKeysJSON(1, true),
		deviceKeysJSON(1, false),
		`{"b":{"d":[1,2,{"f":1,"e":2}],"c":2},"a":"x"}`,
	} {
		in := []byte(in)
		n := testing.AllocsPerRun(100, func() {
			if _, err := AppendCanonical(dst, in); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("AppendCanonical(%.40q...) allocates %v times, want 0", in, n)
		}
	}
}
