package server

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"vouch/api"
)

// decodeNested decodes body, a JSON object of JSON objects — the shape of
// a /keys/signatures/upload body, user ID → key ID → signed object — the
// way encoding/json decodes it into map[string]map[string]json.RawMessage,
// but without reflection and without copying the values: each value is a
// sub-slice of body. It does only the common case and reports ok = false
// for anything else (invalid JSON, a member name with an escape or with
// invalid UTF-8, a
// repeated name, a value at the second level that is not an object, null),
// and the caller then decodes with decodeBytes, which gives the usual
// answer and the usual errors. On a 16-signature upload it costs about 0.4
// of encoding/json's time (BenchmarkDecodeNested).
func decodeNested(body []byte) (map[string]map[string]json.RawMessage, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	p := nestedParser{b: body}
	out := map[string]map[string]json.RawMessage{}
	ok := p.object(func(name string) bool {
		if _, dup := out[name]; dup {
			return false
		}
		inner, ok := p.rawMembers()
		out[name] = inner
		return ok
	})
	if !ok || p.skipSpace() != len(body) {
		return nil, false
	}
	return out, true
}

// rawMembers reads the object at the cursor into a map of its members'
// raw values (sub-slices of the body). It declines a value that is not an
// object, a repeated name and a null member, as decodeNested documents.
func (p *nestedParser) rawMembers() (map[string]json.RawMessage, bool) {
	if p.peek() != '{' {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	ok := p.object(func(name string) bool {
		if _, dup := m[name]; dup {
			return false
		}
		start := p.i
		if !p.skipValue() {
			return false
		}
		raw := p.b[start:p.i]
		if string(raw) == "null" {
			return false
		}
		m[name] = raw
		return true
	})
	return m, ok
}

// nestedParser walks JSON that json.Valid has accepted, so it checks only
// what it relies on.
type nestedParser struct {
	b []byte
	i int
}

func (p *nestedParser) skipSpace() int {
	for p.i < len(p.b) && strings.IndexByte(" \t\n\r", p.b[p.i]) >= 0 {
		p.i++
	}
	return p.i
}

func (p *nestedParser) peek() byte {
	if p.skipSpace() >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

// object reads an object, calling member with each name once the parser
// stands at the member's value; member must consume the value.
func (p *nestedParser) object(member func(name string) bool) bool {
	if p.peek() != '{' {
		return false
	}
	p.i++
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		if p.peek() != '"' {
			return false
		}
		end := p.i + 1
		for end < len(p.b) && p.b[end] != '"' {
			if p.b[end] == '\\' {
				return false // an escaped name: leave it to encoding/json
			}
			end++
		}
		if end >= len(p.b) || !utf8.Valid(p.b[p.i+1:end]) {
			// Invalid UTF-8: encoding/json replaces it with U+FFFD.
			return false
		}
		name := string(p.b[p.i+1 : end])
		p.i = end + 1
		if p.peek() != ':' {
			return false
		}
		p.i++
		p.skipSpace()
		if !member(name) {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// skipValue moves past the value at the cursor.
func (p *nestedParser) skipValue() bool {
	if p.skipSpace() >= len(p.b) {
		return false
	}
	switch p.b[p.i] {
	case '"':
		return p.skipString()
	case '{', '[':
		depth := 0
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case '"':
				if !p.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					p.i++
					return true
				}
			}
			p.i++
		}
		return false
	default: // number, true, false, null
		for p.i < len(p.b) && strings.IndexByte(",}] \t\n\r", p.b[p.i]) < 0 {
			p.i++
		}
		return true
	}
}

// skipString moves past the string starting at the cursor.
func (p *nestedParser) skipString() bool {
	for j := p.i + 1; j < len(p.b); j++ {
		switch p.b[j] {
		case '\\':
			j++
		case '"':
			p.i = j + 1
			return true
		}
	}
	return false
}

// decodeKeysUpload decodes a /keys/upload body the way encoding/json
// decodes it into api.KeysUploadRequest, without reflection and without
// copying the values, for the common case only: an object whose members
// are exactly "device_keys" (any value but null), "one_time_keys" and
// "fallback_keys" (objects of non-null values), each at most once, and
// members of other names, which encoding/json ignores. Anything else —
// invalid JSON, a repeated or escaped name, a name that matches a field
// only case-insensitively (encoding/json would take it), null — reports
// ok = false, and the caller decodes with decodeBytes, which gives the
// usual answer and the usual errors.
func decodeKeysUpload(body []byte) (api.KeysUploadRequest, bool) {
	var req api.KeysUploadRequest
	if !json.Valid(body) {
		return req, false
	}
	p := nestedParser{b: body}
	seen := 0
	ok := p.object(func(name string) bool {
		var bit int
		switch name {
		case "device_keys":
			bit = 1
		case "one_time_keys":
			bit = 2
		case "fallback_keys":
			bit = 4
		default:
			for _, field := range [...]string{"device_keys", "one_time_keys", "fallback_keys"} {
				if strings.EqualFold(name, field) {
					return false
				}
			}
			return p.skipValue()
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch bit {
		case 1:
			start := p.i
			if !p.skipValue() || string(body[start:p.i]) == "null" {
				return false
			}
			req.DeviceKeys = body[start:p.i]
			return true
		case 2:
			var ok bool
			req.OneTimeKeys, ok = p.rawMembers()
			return ok
		default:
			var ok bool
			req.FallbackKeys, ok = p.rawMembers()
			return ok
		}
	})
	if !ok || p.skipSpace() != len(body) {
		return api.KeysUploadRequest{}, false
	}
	return req, true
}
