package keys

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxUserIDLength is the spec's limit on a user ID, in bytes, sigil and
// server name included.
const MaxUserIDLength = 255

// MaxDeviceIDLength is vouch's limit on a device ID, in bytes. The spec sets
// none; 255 matches the user ID limit and keeps key IDs bounded.
const MaxDeviceIDLength = 255

// UserID is a Matrix user ID, "@localpart:server_name".
type UserID string

// ParseUserID checks s against the user ID grammar of the spec's appendix.
// Historical localparts (any printable ASCII but ':') are accepted, since
// keys of users on other servers may carry them; new accounts must pass
// [ValidLocalpart].
func ParseUserID(s string) (UserID, error) {
	if len(s) > MaxUserIDLength {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidUserID, len(s), MaxUserIDLength)
	}
	if !strings.HasPrefix(s, "@") {
		return "", fmt.Errorf("%w: %q does not start with @", ErrInvalidUserID, s)
	}
	local, server, ok := strings.Cut(s[1:], ":")
	if !ok {
		return "", fmt.Errorf("%w: %q has no server name", ErrInvalidUserID, s)
	}
	if local == "" {
		return "", fmt.Errorf("%w: %q has an empty localpart", ErrInvalidUserID, s)
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("%w: %q has a character outside printable ASCII in its localpart", ErrInvalidUserID, s)
		}
	}
	if err := ValidServerName(server); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidUserID, s, err)
	}
	return UserID(s), nil
}

// Localpart returns the part between "@" and the first ":".
func (u UserID) Localpart() string {
	local, _, _ := strings.Cut(strings.TrimPrefix(string(u), "@"), ":")
	return local
}

// ServerName returns the part after the first ":".
func (u UserID) ServerName() string {
	_, server, _ := strings.Cut(string(u), ":")
	return server
}

// String returns the user ID.
func (u UserID) String() string { return string(u) }

// ValidLocalpart reports whether local may be the localpart of a new user:
// non-empty and only a-z, 0-9, '.', '_', '=', '-', '/' and '+'.
func ValidLocalpart(local string) error {
	if local == "" {
		return fmt.Errorf("%w: empty localpart", ErrInvalidUserID)
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("._=-/+", c) >= 0:
		default:
			return fmt.Errorf("%w: localpart %q has character %q; allowed are a-z, 0-9 and ._=-/+", ErrInvalidUserID, local, c)
		}
	}
	return nil
}

// ValidServerName checks a server name: a DNS name, an IPv4 literal or a
// bracketed IPv6 literal, with an optional port.
func ValidServerName(s string) error {
	if s == "" {
		return fmt.Errorf("empty server name")
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fmt.Errorf("unclosed IPv6 literal in server name %q", s)
		}
		host, port = s[1:end], s[end+1:]
		addr, err := netip.ParseAddr(host)
		// IPv6address = 2*45IPv6char, and an RFC 3513 literal: netip
		// checks the form, the grammar bounds the length (and excludes
		// zones, whose '%' is no IPv6char).
		if err != nil || !addr.Is6() || addr.Zone() != "" || len(host) > 45 {
			return fmt.Errorf("bad IPv6 literal in server name %q", s)
		}
		if port != "" && !strings.HasPrefix(port, ":") {
			return fmt.Errorf("junk after IPv6 literal in server name %q", s)
		}
		if port == ":" {
			return fmt.Errorf("empty port in server name %q", s)
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if port == "" {
			return fmt.Errorf("empty port in server name %q", s)
		}
	}
	// port = 1*5DIGIT. The grammar sets no numeric range: 0 and 99999 are
	// valid server names, if unreachable ones. strconv.Atoi would also take
	// "+80", so the digits are checked one by one.
	if len(port) > 5 {
		return fmt.Errorf("port of server name %q has more than 5 digits", s)
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return fmt.Errorf("port of server name %q is not decimal digits", s)
		}
	}
	if strings.HasPrefix(s, "[") {
		return nil
	}
	if host == "" || len(host) > 255 {
		return fmt.Errorf("bad host in server name %q", s)
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("character %q not allowed in server name %q", c, s)
		}
	}
	return nil
}

// ValidDeviceID checks that id can serve as a device ID and as the
// identifier half of a key ID: non-empty, at most MaxDeviceIDLength bytes,
// printable ASCII without ':' or space.
func ValidDeviceID(id string) error {
	if id == "" || len(id) > MaxDeviceIDLength {
		return fmt.Errorf("%w: length %d", ErrInvalidDeviceID, len(id))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f || c == ':' {
			return fmt.Errorf("%w: %q has character %q", ErrInvalidDeviceID, id, c)
		}
	}
	return nil
}

// KeyID is an "algorithm:identifier" key ID such as "ed25519:JLAFKJWSCS".
type KeyID string

// NewKeyID joins an algorithm and an identifier.
func NewKeyID(algorithm, id string) KeyID { return KeyID(algorithm + ":" + id) }

// Ed25519KeyID is the key ID of the ed25519 key named id (a device ID or an
// unpadded base64 public key).
func Ed25519KeyID(id string) KeyID { return NewKeyID("ed25519", id) }

// Split returns the algorithm and identifier; ok is false when there is no
// ':' or either half is empty.
func (k KeyID) Split() (algorithm, id string, ok bool) {
	algorithm, id, ok = strings.Cut(string(k), ":")
	return algorithm, id, ok && algorithm != "" && id != ""
}

// String returns the key ID.
func (k KeyID) String() string { return string(k) }
