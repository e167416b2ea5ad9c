package canonicaljson

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxSafeInteger is 2^53-1, the largest integer canonical JSON allows.
const maxSafeInteger = 1<<53 - 1

// maxSafeDigits is the decimal spelling of maxSafeInteger; integers with as
// many digits are compared against it as strings.
const maxSafeDigits = "9007199254740991"

// member is one object member already written to the output.
type member struct {
	key   []byte // unescaped key; aliases the input or encoder.keys
	off   int    // input offset of the key's opening quote, for errors
	start int    // output offset of the member's `"key":value`
	end   int    // output offset just past the value
	kept  bool   // false if the keep callback left the member out
}

// encoder holds the state of one canonicalization that outlives a single
// object. It lives on the caller's stack. Each object keeps its members in a
// small array in its own stack frame (see object), so already-sorted input
// with plain keys needs no allocation besides the output.
type encoder struct {
	// keys holds the unescaped form of keys that contain escapes (rare, so
	// it starts nil): an open object owns keys[keyBase:] until it closes.
	keys []byte
	// scratch holds the unsorted body of a large object while reorder
	// writes it back in order.
	scratch []byte
	depth   int
}

// membersInline is how many members an object holds before its member list
// moves to the heap.
const membersInline = 16

// fail returns an *Error for the sentinel err at input offset off.
func fail(err error, off int, format string, args ...any) error {
	return &Error{Offset: off, Detail: fmt.Sprintf(format, args...), Err: err}
}

// describe names the byte at in[i] for an error message.
func describe(in []byte, i int) string {
	if i >= len(in) {
		return "end of input"
	}
	c := in[i]
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func eof(i int) error {
	return fail(ErrSyntax, i, "unexpected end of input")
}

func (e *encoder) run(dst, in []byte, objectOnly bool, keep func(string, []byte) bool) ([]byte, error) {
	if bytes.HasPrefix(in, []byte("\xef\xbb\xbf")) {
		return dst, fail(ErrSyntax, 0, "byte order mark (U+FEFF) before the value")
	}
	i := skipSpace(in, 0)
	if i == len(in) {
		return dst, fail(ErrSyntax, i, "no JSON value")
	}
	var (
		out []byte
		err error
	)
	if objectOnly {
		if in[i] != '{' {
			return dst, fail(ErrNotObject, i, "found %s", describe(in, i))
		}
		out, i, err = e.object(dst, in, i, keep)
	} else {
		out, i, err = e.value(dst, in, i)
	}
	if err != nil {
		return dst, err
	}
	if i = skipSpace(in, i); i != len(in) {
		return dst, fail(ErrTrailingData, i, "%s after the top-level value", describe(in, i))
	}
	return out, nil
}

// skipSpace returns the offset of the first non-whitespace byte at or after i.
func skipSpace(in []byte, i int) int {
	for i < len(in) {
		switch in[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value appends the canonical form of the value starting at in[i], which
// is not whitespace, and returns the offset just past it.
func (e *encoder) value(dst, in []byte, i int) ([]byte, int, error) {
	if i >= len(in) {
		return dst, i, eof(i)
	}
	switch c := in[i]; c {
	case '{':
		return e.object(dst, in, i, nil)
	case '[':
		return e.array(dst, in, i)
	case '"':
		end, escaped, err := scanString(in, i)
		if err != nil {
			return dst, i, err
		}
		if !escaped {
			return append(dst, in[i:end]...), end, nil
		}
		dst = append(dst, '"')
		dst = appendUnescaped(dst, in[i+1:end-1], true)
		return append(dst, '"'), end, nil
	case 't':
		return literal(dst, in, i, "true")
	case 'f':
		return literal(dst, in, i, "false")
	case 'n':
		return literal(dst, in, i, "null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return number(dst, in, i)
		}
		return dst, i, fail(ErrSyntax, i, "invalid %s looking for a value", describe(in, i))
	}
}

func literal(dst, in []byte, i int, lit string) ([]byte, int, error) {
	if !bytes.HasPrefix(in[i:], []byte(lit)) {
		return dst, i, fail(ErrSyntax, i, "invalid literal (expected %s)", lit)
	}
	return append(dst, lit...), i + len(lit), nil
}

func (e *encoder) array(dst, in []byte, i int) ([]byte, int, error) {
	if e.depth++; e.depth > MaxDepth {
		return dst, i, fail(ErrTooDeep, i, "more than %d nested objects and arrays", MaxDepth)
	}
	dst = append(dst, '[')
	i = skipSpace(in, i+1)
	if i < len(in) && in[i] == ']' {
		e.depth--
		return append(dst, ']'), i + 1, nil
	}
	for {
		var err error
		if dst, i, err = e.value(dst, in, i); err != nil {
			return dst, i, err
		}
		i = skipSpace(in, i)
		if i >= len(in) {
			return dst, i, eof(i)
		}
		switch in[i] {
		case ',':
			dst = append(dst, ',')
			i = skipSpace(in, i+1)
			if i < len(in) && in[i] == ']' {
				return dst, i, fail(ErrSyntax, i, "trailing comma in array")
			}
		case ']':
			e.depth--
			return append(dst, ']'), i + 1, nil
		default:
			return dst, i, fail(ErrSyntax, i, "invalid %s after array element (expected ',' or ']')", describe(in, i))
		}
	}
}

// object appends the canonical form of the object starting at in[i].
// Members are written in input order while their keys are recorded; if the
// keys turn out not to be sorted, the members are sorted and the written
// bytes are permuted once when the object closes. keep, if not nil, filters
// the members; only AppendCanonicalFunc's top-level object has one.
func (e *encoder) object(dst, in []byte, i int, keep func(string, []byte) bool) ([]byte, int, error) {
	if e.depth++; e.depth > MaxDepth {
		return dst, i, fail(ErrTooDeep, i, "more than %d nested objects and arrays", MaxDepth)
	}
	dst = append(dst, '{')
	bodyStart := len(dst)
	var inline [membersInline]member
	ms := inline[:0]
	keyBase := len(e.keys)
	sorted := true
	emitted := 0
	i = skipSpace(in, i+1)
	if i < len(in) && in[i] == '}' {
		e.depth--
		return append(dst, '}'), i + 1, nil
	}
	for {
		if i >= len(in) {
			return dst, i, eof(i)
		}
		if in[i] != '"' {
			return dst, i, fail(ErrSyntax, i, "invalid %s looking for an object key", describe(in, i))
		}
		keyOff := i
		end, escaped, err := scanString(in, i)
		if err != nil {
			return dst, i, err
		}
		if emitted > 0 {
			dst = append(dst, ',')
		}
		start := len(dst)
		var key []byte
		if !escaped {
			key = in[i+1 : end-1]
			dst = append(dst, in[i:end]...)
		} else {
			k := len(e.keys)
			e.keys = appendUnescaped(e.keys, in[i+1:end-1], false)
			key = e.keys[k:len(e.keys):len(e.keys)]
			dst = appendQuoted(dst, key)
		}
		i = skipSpace(in, end)
		if i >= len(in) {
			return dst, i, eof(i)
		}
		if in[i] != ':' {
			return dst, i, fail(ErrSyntax, i, "invalid %s after object key (expected ':')", describe(in, i))
		}
		dst = append(dst, ':')
		i = skipSpace(in, i+1)
		valueStart := i
		if dst, i, err = e.value(dst, in, i); err != nil {
			return dst, i, err
		}
		kept := true
		if keep != nil && !keep(string(key), in[valueStart:i]) {
			kept = false
			dst = dst[:start]
			if emitted > 0 {
				dst = dst[:start-1] // drop the comma too
			}
			start = len(dst)
		}
		if n := len(ms); n > 0 {
			switch bytes.Compare(ms[n-1].key, key) {
			case 0:
				return dst, keyOff, fail(ErrDuplicateKey, keyOff, "key %q appears twice", string(key))
			case 1:
				sorted = false
			}
		}
		ms = append(ms, member{key: key, off: keyOff, start: start, end: len(dst), kept: kept})
		if kept {
			emitted++
		}

		i = skipSpace(in, i)
		if i >= len(in) {
			return dst, i, eof(i)
		}
		if in[i] == '}' {
			i++
			break
		}
		if in[i] != ',' {
			return dst, i, fail(ErrSyntax, i, "invalid %s after object member (expected ',' or '}')", describe(in, i))
		}
		i = skipSpace(in, i+1)
		if i < len(in) && in[i] == '}' {
			return dst, i, fail(ErrSyntax, i, "trailing comma in object")
		}
	}
	if !sorted {
		var err error
		if dst, err = e.reorder(dst, bodyStart, ms); err != nil {
			return dst, i, err
		}
	}
	e.keys = e.keys[:keyBase]
	e.depth--
	return append(dst, '}'), i, nil
}

// reorderInline is the largest object body reorder sorts in a stack buffer.
const reorderInline = 1024

// reorder sorts ms by key and rewrites the object body dst[bodyStart:] so
// the kept members appear in that order. The unsorted body is first copied
// to a scratch buffer: a stack array for small bodies, else e.scratch, which
// is reused by every large object of one call.
func (e *encoder) reorder(dst []byte, bodyStart int, ms []member) ([]byte, error) {
	slices.SortFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	for k := 1; k < len(ms); k++ {
		if bytes.Equal(ms[k-1].key, ms[k].key) {
			off := max(ms[k-1].off, ms[k].off)
			return dst, fail(ErrDuplicateKey, off, "key %q appears twice", string(ms[k].key))
		}
	}
	body := dst[bodyStart:]
	var inline [reorderInline]byte
	var tmp []byte
	if len(body) <= len(inline) {
		tmp = inline[:copy(inline[:], body)]
	} else {
		e.scratch = append(e.scratch[:0], body...)
		tmp = e.scratch
	}
	w := bodyStart
	for _, m := range ms {
		if !m.kept {
			continue
		}
		if w > bodyStart {
			dst[w] = ','
			w++
		}
		w += copy(dst[w:], tmp[m.start-bodyStart:m.end-bodyStart])
	}
	return dst, nil
}

// Masks for testing eight string bytes at once.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialBytes returns a word whose lowest set bit is in the first byte of x
// (little endian) that is a control character, '"', '\\' or non-ASCII, and
// zero if there is none. Bits above the lowest may be spurious (borrows only
// propagate upwards), so only the lowest one is meaningful.
func specialBytes(x uint64) uint64 {
	ctl := (x - lsb*0x20) &^ x // high bit set where byte < 0x20 (or borrowed)
	q := x ^ (lsb * '"')
	quote := (q - lsb) &^ q
	b := x ^ (lsb * '\\')
	backslash := (b - lsb) &^ b
	return (ctl | quote | backslash | x) & msb
}

// scanString validates the string whose opening quote is at in[i] and
// returns the offset just past its closing quote and whether it contains
// escapes.
func scanString(in []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for {
		for j+8 <= len(in) {
			if m := specialBytes(binary.LittleEndian.Uint64(in[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= len(in) {
			return j, escaped, fail(ErrSyntax, i, "unterminated string")
		}
		switch c := in[j]; {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j, err = scanEscape(in, j); err != nil {
				return j, escaped, err
			}
		case c < 0x20:
			return j, escaped, fail(ErrSyntax, j, "control character U+%04X in string must be escaped", c)
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(in[j:])
			if r == utf8.RuneError && size == 1 {
				return j, escaped, fail(ErrInvalidUTF8, j, "byte 0x%02x does not start a valid UTF-8 sequence", c)
			}
			j += size
		}
	}
}

// scanEscape validates the escape sequence whose backslash is at in[j] and
// returns the offset just past it.
func scanEscape(in []byte, j int) (int, error) {
	if j+1 >= len(in) {
		return j, eof(j + 1)
	}
	switch in[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return j + 2, nil
	case 'u':
		r, ok := hex4(in[j+2:])
		if !ok {
			return j, fail(ErrSyntax, j, "\\u must be followed by four hexadecimal digits")
		}
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return j, fail(ErrLoneSurrogate, j, "low surrogate \\u%04x without a preceding high surrogate", r)
		case r >= 0xd800 && r <= 0xdbff:
			rest := in[j+6:]
			if len(rest) >= 2 && rest[0] == '\\' && rest[1] == 'u' {
				if lo, ok := hex4(rest[2:]); ok && lo >= 0xdc00 && lo <= 0xdfff {
					return j + 12, nil
				}
			}
			return j, fail(ErrLoneSurrogate, j, "high surrogate \\u%04x not followed by a low surrogate escape", r)
		}
		return j + 6, nil
	default:
		return j, fail(ErrSyntax, j, "invalid escape \\%s", describe(in, j+1))
	}
}

// hex4 decodes four hexadecimal digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendUnescaped appends the characters of s, the body of a string already
// validated by scanString. With canonical set, characters are written as
// canonical JSON string content; otherwise as raw UTF-8 (for key comparison).
func appendUnescaped(dst, s []byte, canonical bool) []byte {
	for {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:k]...)
		s = s[k:]
		var r rune
		switch s[1] {
		case 'u':
			r, _ = hex4(s[2:])
			s = s[6:]
			if r >= 0xd800 && r <= 0xdbff { // validated: a low surrogate escape follows
				lo, _ := hex4(s[2:])
				r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				s = s[6:]
			}
		case 'b':
			r, s = '\b', s[2:]
		case 'f':
			r, s = '\f', s[2:]
		case 'n':
			r, s = '\n', s[2:]
		case 'r':
			r, s = '\r', s[2:]
		case 't':
			r, s = '\t', s[2:]
		default: // '"', '\\', '/'
			r, s = rune(s[1]), s[2:]
		}
		if canonical && (r < 0x20 || r == '"' || r == '\\') {
			dst = appendEscapedASCII(dst, byte(r))
		} else {
			dst = utf8.AppendRune(dst, r)
		}
	}
}

// appendQuoted appends the unescaped key k as a canonical JSON string.
func appendQuoted(dst, k []byte) []byte {
	dst = append(dst, '"')
	for len(k) > 0 {
		n := 0
		for n < len(k) && k[n] >= 0x20 && k[n] != '"' && k[n] != '\\' {
			n++
		}
		dst = append(dst, k[:n]...)
		if n == len(k) {
			break
		}
		dst = appendEscapedASCII(dst, k[n])
		k = k[n+1:]
	}
	return append(dst, '"')
}

// appendEscapedASCII appends the canonical escape of c, which is '"', '\\'
// or a control character below 0x20.
func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\t':
		return append(dst, '\\', 't')
	case '\n':
		return append(dst, '\\', 'n')
	case '\f':
		return append(dst, '\\', 'f')
	case '\r':
		return append(dst, '\\', 'r')
	}
	const hexDigits = "0123456789abcdef"
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number appends the canonical form of the number starting at in[i].
func number(dst, in []byte, i int) ([]byte, int, error) {
	start := i
	if in[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i >= len(in):
		return dst, i, eof(i)
	case in[i] == '0':
		i++
		if i < len(in) && isDigit(in[i]) {
			return dst, intStart, fail(ErrSyntax, intStart, "leading zero in number")
		}
	case isDigit(in[i]):
		for i++; i < len(in) && isDigit(in[i]); i++ {
		}
	default:
		return dst, i, fail(ErrSyntax, i, "invalid %s in number (expected a digit)", describe(in, i))
	}
	if i < len(in) && (in[i] == '.' || in[i] == 'e' || in[i] == 'E') {
		return slowNumber(dst, in, start, intStart, i)
	}
	digits := in[intStart:i]
	if len(digits) > len(maxSafeDigits) || len(digits) == len(maxSafeDigits) && string(digits) > maxSafeDigits {
		return dst, start, fail(ErrNumberOutOfRange, start, "%s is outside [-(2^53)+1, 2^53-1]", string(in[start:i]))
	}
	if len(digits) == 1 && digits[0] == '0' {
		return append(dst, '0'), i, nil // -0 becomes 0
	}
	return append(dst, in[start:i]...), i, nil
}

// slowNumber handles numbers with a fraction or an exponent: in[start:]
// holds the sign, in[intStart:intEnd] the integer digits, and in[intEnd] is
// '.', 'e' or 'E'. The value is computed exactly from the decimal digits;
// it is accepted if it is an integer in range and written as one.
func slowNumber(dst, in []byte, start, intStart, intEnd int) ([]byte, int, error) {
	i := intEnd
	fracStart, fracEnd := i, i
	if in[i] == '.' {
		i++
		fracStart = i
		for i < len(in) && isDigit(in[i]) {
			i++
		}
		if i == fracStart {
			return dst, i, fail(ErrSyntax, i, "invalid %s after decimal point (expected a digit)", describe(in, i))
		}
		fracEnd = i
	}
	exp := 0
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		neg := false
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			neg = in[i] == '-'
			i++
		}
		expStart := i
		for ; i < len(in) && isDigit(in[i]); i++ {
			if exp < 1<<40 { // saturate: any larger exponent is out of range (or non-integral) anyway
				exp = exp*10 + int(in[i]-'0')
			}
		}
		if i == expStart {
			return dst, i, fail(ErrSyntax, i, "invalid %s in exponent (expected a digit)", describe(in, i))
		}
		if neg {
			exp = -exp
		}
	}
	text := string(in[start:i])

	// The significand is the concatenation of the integer and fraction
	// digits; its value is sig × 10^(exp - len(fraction)).
	intD, fracD := in[intStart:intEnd], in[fracStart:fracEnd]
	digit := func(k int) byte {
		if k < len(intD) {
			return intD[k]
		}
		return fracD[k-len(intD)]
	}
	n := len(intD) + len(fracD)
	lead := 0
	for lead < n && digit(lead) == '0' {
		lead++
	}
	if lead == n {
		return append(dst, '0'), i, nil // zero, whatever the sign and exponent
	}
	trail := 0
	for digit(n-1-trail) == '0' {
		trail++
	}
	sig := n - lead - trail
	scale := exp - len(fracD) + trail
	if scale < 0 {
		return dst, start, fail(ErrFloat, start, "%s is not an integer", text)
	}
	if sig+scale > len(maxSafeDigits) {
		return dst, start, fail(ErrNumberOutOfRange, start, "%s is outside [-(2^53)+1, 2^53-1]", text)
	}
	var v uint64
	for k := lead; k < n-trail; k++ {
		v = v*10 + uint64(digit(k)-'0')
	}
	for range scale {
		v *= 10
	}
	if v > maxSafeInteger {
		return dst, start, fail(ErrNumberOutOfRange, start, "%s is outside [-(2^53)+1, 2^53-1]", text)
	}
	if in[start] == '-' {
		dst = append(dst, '-')
	}
	return strconv.AppendUint(dst, v, 10), i, nil
}
