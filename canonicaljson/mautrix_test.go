package canonicaljson

import (
	"bytes"
	"errors"
	"regexp"
	"sort"
	"strings"
	"testing"

	mautrix "maunium.net/go/mautrix/crypto/canonicaljson"
)

// Divergences from mautrix-go's canonicaljson.CanonicalJSON (v0.26.0) that
// we accept, by name. mautrix checks the input with gjson.Valid and then
// compacts and sorts it without looking at numbers or duplicates.
const (
	// mautrix copies number text verbatim, so -0, 1e10, 1E2 and 1.0 stay as
	// written; the spec requires plain integers, and -0 "MUST NOT appear".
	divNumbersVerbatim = "mautrix copies numbers verbatim (no -0/exponent/fraction normalisation)"
	// mautrix writes \u00XX escapes with uppercase hex; the spec grammar and
	// the vectors use lowercase (%x61-66).
	divUppercaseEscape = "mautrix writes \\u001F-style escapes in uppercase hex"
	// mautrix keeps both members of a duplicate key, in unstable order.
	divDuplicates = "mautrix accepts duplicate keys"
	// mautrix accepts any number JSON allows.
	divFloats = "mautrix accepts non-integers"
	divRange  = "mautrix accepts integers outside ±(2^53-1)"
	// mautrix decodes an unpaired surrogate escape into garbage instead of
	// refusing it.
	divSurrogate = "mautrix accepts unpaired surrogate escapes"
	// gjson has no depth limit.
	divDepth = "mautrix accepts nesting deeper than MaxDepth"
	// gjson.Valid does not check UTF-8 inside strings.
	divUTF8 = "mautrix accepts invalid UTF-8"
)

// bothRefuse is compareMautrix's result when both implementations refuse.
const bothRefuse = "both refuse"

// refusalDivergence names the accepted divergence for input that we refuse
// with sentinel and mautrix accepts.
var refusalDivergence = map[error]string{
	ErrDuplicateKey:     divDuplicates,
	ErrFloat:            divFloats,
	ErrNumberOutOfRange: divRange,
	ErrLoneSurrogate:    divSurrogate,
	ErrTooDeep:          divDepth,
	ErrInvalidUTF8:      divUTF8,
}

var upperEscape = regexp.MustCompile(`\\u00[01][0-9]?[A-F]`)

// hasOddNumber reports whether the JSON text b holds a number token that is
// not a plain canonical integer (a fraction, an exponent or -0).
func hasOddNumber(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '-' || c >= '0' && c <= '9'):
			j := i
			for j < len(b) && bytes.IndexByte([]byte("-+.eE0123456789"), b[j]) >= 0 {
				j++
			}
			tok := b[i:j]
			if bytes.ContainsAny(tok, ".eE") || bytes.Equal(tok, []byte("-0")) {
				return true
			}
			i = j - 1
		}
	}
	return false
}

// compareMautrix returns "" if both implementations agree on in, the name
// of an accepted divergence, or a description of an unexplained difference
// prefixed with "UNEXPLAINED".
func compareMautrix(in []byte) (result string) {
	ours, err := Canonicalize(in)
	theirs, theirErr := func() (out []byte, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = errors.New("mautrix panicked")
			}
		}()
		return mautrix.CanonicalJSON(in)
	}()
	switch {
	case err != nil && theirErr != nil:
		return bothRefuse
	case err != nil:
		var e *Error
		errors.As(err, &e)
		if name, ok := refusalDivergence[e.Err]; ok {
			return name
		}
		return "UNEXPLAINED: we refuse (" + err.Error() + "), mautrix accepts"
	case theirErr != nil:
		return "UNEXPLAINED: we accept, mautrix refuses: " + theirErr.Error()
	case bytes.Equal(ours, theirs):
		return ""
	}
	// Both accepted with different bytes: they must denote the same
	// value, and the difference must be one that is named.
	if again, err := Canonicalize(theirs); err != nil || !bytes.Equal(again, ours) {
		return "UNEXPLAINED: outputs differ in value: ours " + string(ours) + " mautrix " + string(theirs)
	}
	if upperEscape.Match(theirs) {
		return divUppercaseEscape
	}
	if hasOddNumber(theirs) {
		return divNumbersVerbatim
	}
	return "UNEXPLAINED: outputs differ: ours " + string(ours) + " mautrix " + string(theirs)
}

// TestDifferentialMautrix runs the valid vectors and a generated corpus
// through both implementations. Every difference must be one of the named
// divergences above; the counts are logged.
func TestDifferentialMautrix(t *testing.T) {
	f := loadVectors(t)
	for _, c := range f.Valid {
		got := compareMautrix([]byte(c.Input))
		switch c.Name {
		case "spec: -0 and exponent integers", "integral exponent forms":
			if got != divNumbersVerbatim {
				t.Errorf("%s: got %q, want the named divergence %q", c.Name, got, divNumbersVerbatim)
			}
		case "other controls as lowercase \\u00xx":
			if got != divUppercaseEscape {
				t.Errorf("%s: got %q, want the named divergence %q", c.Name, got, divUppercaseEscape)
			}
		default:
			if got != "" {
				t.Errorf("%s: %s", c.Name, got)
			}
		}
	}

	// Invalid vectors: mautrix may accept some (named divergences), but
	// nothing unexplained.
	for k, c := range f.Invalid {
		if got := compareMautrix(f.invalidInput(t, k)); got != bothRefuse {
			t.Logf("invalid vector %q: %s", c.Name, got)
			if strings.HasPrefix(got, "UNEXPLAINED") {
				t.Errorf("invalid vector %q: %s", c.Name, got)
			}
		}
	}

	counts := map[string]int{}
	g := newGen(3)
	for k := range 4000 {
		var in []byte
		if k%2 == 0 {
			in = g.valid()
		} else {
			in = g.mutated()
		}
		got := compareMautrix(in)
		counts[got]++
		if strings.HasPrefix(got, "UNEXPLAINED") {
			t.Errorf("input %q: %s", in, got)
		}
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		label := n
		if label == "" {
			label = "identical"
		}
		t.Logf("%5d  %s", counts[n], label)
	}
	if counts[""] < 1000 {
		t.Errorf("only %d of 4000 generated inputs agree exactly; the corpus is too odd to be useful", counts[""])
	}
}
