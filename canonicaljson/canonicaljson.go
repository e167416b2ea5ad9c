// Package canonicaljson produces Matrix canonical JSON, the byte encoding
// that Matrix signs and verifies (spec appendices, "Canonical JSON").
//
// # What canonical JSON is
//
// The canonical form of a JSON value is its shortest UTF-8 encoding with
// object keys sorted by Unicode code point: no insignificant whitespace,
// only '"', '\' and the control characters below U+0020 escaped (the last
// as \b \t \n \f \r or lowercase \u00xx), every other character — U+007F,
// U+2028 and all non-ASCII text included — written as raw UTF-8, and numbers
// written as plain integers. Two parties that canonicalize the same value get
// the same bytes, which is what makes a signature over those bytes portable.
//
// Keys are compared as UTF-8 byte strings, which orders them by code point.
// This differs from UTF-16 code-unit order (JavaScript's default) for keys
// holding characters above U+FFFF: "\U0001F600" sorts after "\uFB01" here.
//
// # What it refuses, and why
//
// The package refuses, with an error wrapping one of the sentinel errors
// below and carrying the byte offset of the problem (see [Error]):
//
//   - duplicate object keys, compared after unescaping ("a" and "\u0061"
//     collide) — [ErrDuplicateKey]. Parsers disagree on which duplicate
//     wins, so a signer and a verifier could see different objects behind
//     the same signed bytes;
//   - numbers that are not integers — [ErrFloat] — or that lie outside
//     [-(2^53)+1, 2^53-1] — [ErrNumberOutOfRange]. Integral spellings such
//     as -0, 1e10, 1E2 or 1.0 are accepted and rewritten as plain integers
//     (0, 10000000000, 100, 1);
//   - invalid UTF-8, including overlong forms and encoded surrogates —
//     [ErrInvalidUTF8] — and \u escapes of unpaired surrogates —
//     [ErrLoneSurrogate]: neither denotes a sequence of Unicode characters;
//   - nesting deeper than [MaxDepth] — [ErrTooDeep] — so hostile input
//     cannot exhaust the stack;
//   - anything after the top-level value — [ErrTrailingData];
//   - everything else that is not RFC 8259 JSON, a leading byte order mark
//     included — [ErrSyntax].
//
// # What it is not
//
// This is not a general JSON library: it has no decoder into Go values and
// no streaming API, it refuses floats, and it does not accept the relaxed
// JSON found in old room versions. It rewrites bytes into bytes in one pass
// without building a tree, which keeps signature checks cheap. Signing and
// verifying live in package signedjson.
package canonicaljson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxDepth is the deepest nesting of objects and arrays accepted: the
// top-level container is at depth 1. Matrix signed objects nest about five
// levels deep and /keys/query responses about seven, so 128 leaves a wide
// margin while bounding the recursion on attacker-supplied input.
const MaxDepth = 128

// Sentinel errors. Every error returned by this package for bad input is an
// [*Error] that wraps exactly one of them; test with [errors.Is].
var (
	// ErrSyntax reports input that is not JSON text (RFC 8259).
	ErrSyntax = errors.New("canonicaljson: syntax error")
	// ErrTrailingData reports bytes other than whitespace after the top-level value.
	ErrTrailingData = errors.New("canonicaljson: data after the top-level value")
	// ErrInvalidUTF8 reports a string holding bytes that are not valid UTF-8.
	ErrInvalidUTF8 = errors.New("canonicaljson: invalid UTF-8")
	// ErrLoneSurrogate reports a \u escape of a UTF-16 surrogate that is not
	// part of a high-low pair.
	ErrLoneSurrogate = errors.New("canonicaljson: unpaired surrogate escape")
	// ErrDuplicateKey reports an object with two members whose keys are equal
	// after unescaping.
	ErrDuplicateKey = errors.New("canonicaljson: duplicate object key")
	// ErrFloat reports a number whose value is not an integer.
	ErrFloat = errors.New("canonicaljson: number is not an integer")
	// ErrNumberOutOfRange reports an integer outside [-(2^53)+1, 2^53-1].
	ErrNumberOutOfRange = errors.New("canonicaljson: integer out of range")
	// ErrTooDeep reports objects and arrays nested deeper than MaxDepth.
	ErrTooDeep = errors.New("canonicaljson: nesting too deep")
	// ErrNotObject reports that AppendCanonicalFunc got a top-level value
	// that is not an object.
	ErrNotObject = errors.New("canonicaljson: top-level value is not an object")
)

// Error describes why the input was refused and where.
type Error struct {
	// Offset is the byte offset in the input where the problem was found.
	Offset int
	// Detail says what was wrong, in words.
	Detail string
	// Err is the sentinel error classifying the problem.
	Err error
}

// Error returns the sentinel's message, the offset and the detail.
func (e *Error) Error() string {
	return fmt.Sprintf("%v at offset %d: %s", e.Err, e.Offset, e.Detail)
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// Canonicalize returns the canonical form of the JSON text in.
// It returns nil and an error wrapping one of the sentinel errors if in is
// not acceptable JSON (see the package documentation).
func Canonicalize(in []byte) ([]byte, error) {
	// The canonical form is usually no longer than the input; exponent forms
	// such as 1e10 are the exception and append grows the buffer for them.
	out, err := AppendCanonical(make([]byte, 0, len(in)+8), in)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AppendCanonical appends the canonical form of in to dst.
// dst's spare capacity must not overlap in. On error it returns dst
// unextended together with the error; bytes of dst's spare capacity may have
// been overwritten. With enough capacity in dst it does not allocate for
// typical inputs, which makes it the call to use in loops.
func AppendCanonical(dst, in []byte) ([]byte, error) {
	var e encoder
	return e.run(dst, in, false, nil)
}

// AppendCanonicalFunc is AppendCanonical for a top-level JSON object whose members can be filtered:
// keep is called once per top-level member with the unescaped key and the member's raw
// (validated, not yet canonical) value bytes; members for which it returns false are left out.
// The value slice aliases in. Returns an error if in is not an object.
//
// keep is called in input order, as each member is read; a member seen
// later may still make the whole input invalid, in which case the result is
// an error regardless of what keep returned. Members that are left out still
// take part in the duplicate-key check. A nil keep keeps every member.
// On error it returns dst unextended together with the error.
func AppendCanonicalFunc(dst, in []byte, keep func(key string, rawValue []byte) bool) ([]byte, error) {
	var e encoder
	return e.run(dst, in, true, keep)
}

// Marshal encodes v with encoding/json and returns its canonical form.
// Values that encoding/json writes as non-integral numbers (float fields
// holding 1.5, for example) or integers outside the safe range are refused
// with ErrFloat or ErrNumberOutOfRange.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// HTML escaping would only add \u003c-style escapes that
	// canonicalization then has to decode again.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonicaljson: marshal %T: %w", v, err)
	}
	return Canonicalize(buf.Bytes())
}
