package signedjson

import (
	"encoding/json"
	"errors"
	"strconv"
)

var errNotJSONObject = errors.New("not a JSON object")

// member returns the raw value of the member named key of the JSON object
// obj. obj must already be valid JSON (canonicaljson validated the whole
// signed object before this is called); member still refuses anything that
// is not an object rather than trusting that. It allocates only when a key
// contains escapes.
func member(obj []byte, key string) (raw []byte, found bool, err error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false, errNotJSONObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil, false, nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return nil, false, errNotJSONObject
		}
		end, escaped, err := stringEnd(obj, i)
		if err != nil {
			return nil, false, err
		}
		k := obj[i+1 : end-1]
		match := false
		if escaped {
			s, uerr := strconv.Unquote(string(obj[i:end]))
			if uerr != nil {
				// JSON escapes that Go's syntax lacks (\/): fall back.
				var js string
				if json.Unmarshal(obj[i:end], &js) != nil {
					return nil, false, errNotJSONObject
				}
				s = js
			}
			match = s == key
		} else {
			match = string(k) == key
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false, errNotJSONObject
		}
		i = skipSpace(obj, i+1)
		vEnd, err := valueEnd(obj, i)
		if err != nil {
			return nil, false, err
		}
		if match {
			return obj[i:vEnd], true, nil
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			break
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return nil, false, nil
		default:
			return nil, false, errNotJSONObject
		}
	}
	return nil, false, errNotJSONObject
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errNotJSONObject
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotJSONObject
	}
	switch b[i] {
	case '"':
		end, _, err := stringEnd(b, i)
		return end, err
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotJSONObject
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return 0, errNotJSONObject
		}
		return j, nil
	}
}

// fastSignatures decodes a "signatures" value — an object of objects of
// strings — the way encoding/json decodes it into Signatures, for the
// common case only: every name and string plain ASCII without escapes,
// no null, no repeated name. It reports ok = false for anything else
// (including anything that is not valid JSON), and the caller then asks
// encoding/json, which gives its usual answer or error.
func fastSignatures(raw []byte) (Signatures, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	out := Signatures{}
	var ok bool
	i, ok = plainObject(raw, i, func(entity string, j int) (int, bool) {
		if j >= len(raw) || raw[j] != '{' {
			return 0, false
		}
		if _, dup := out[entity]; dup {
			return 0, false
		}
		inner := map[string]string{}
		out[entity] = inner
		return plainObject(raw, j, func(keyID string, k int) (int, bool) {
			if _, dup := inner[keyID]; dup {
				return 0, false
			}
			v, end, ok := plainString(raw, k)
			if !ok {
				return 0, false
			}
			inner[keyID] = v
			return end, true
		})
	})
	if !ok || skipSpace(raw, i) != len(raw) {
		return nil, false
	}
	return out, true
}

// plainObject walks the object at raw[i] == '{', calling member with each
// name and the index of its value; member returns the index just past the
// value. It returns the index just past the object.
func plainObject(raw []byte, i int, member func(name string, value int) (int, bool)) (int, bool) {
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return i + 1, true
	}
	for {
		name, end, ok := plainString(raw, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return 0, false
		}
		if i, ok = member(name, skipSpace(raw, i+1)); !ok {
			return 0, false
		}
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return 0, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// plainString reads the string at raw[i] == '"' when it holds only
// printable ASCII without escapes, and returns it and the index just past
// it.
func plainString(raw []byte, i int) (string, int, bool) {
	if i >= len(raw) || raw[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			return string(raw[i+1 : j]), j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", 0, false
		}
	}
	return "", 0, false
}
