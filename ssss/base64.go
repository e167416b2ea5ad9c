package ssss

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// encodeB64 encodes b as unpadded standard base64, the encoding the spec says
// clients SHOULD produce.
func encodeB64(b []byte) string {
	return base64.RawStdEncoding.EncodeToString(b)
}

// decodeB64 decodes standard base64 with or without padding, as the spec
// requires readers to accept. It is strict otherwise: no URL-safe alphabet, no
// embedded line breaks, no partial padding and no non-zero trailing bits, so
// that each byte string has exactly two accepted encodings (unpadded and
// padded). field names the value in error messages.
func decodeB64(field, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: %s: line break in base64", ErrMalformed, field)
	}
	enc := base64.RawStdEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: invalid base64: %v", ErrMalformed, field, err)
	}
	return b, nil
}
