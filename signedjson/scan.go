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
