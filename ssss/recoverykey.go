package ssss

import (
	"fmt"
	"strings"
	"unicode"
)

// base58Alphabet is the Bitcoin base58 alphabet used by the spec's
// cryptographic key representation.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Recovery key framing (appendices, "Cryptographic key representation").
const (
	recoveryKeyPrefix0 = 0x8B
	recoveryKeyPrefix1 = 0x01
	// recoveryKeyBytes is prefix (2) + key + parity (1).
	recoveryKeyBytes = 2 + KeySize + 1
	// maxRecoveryKeyChars bounds the base58 text we are willing to decode
	// (a 35-byte value needs 48 characters) so that hostile input cannot make
	// the quadratic base58 decoder run for long.
	maxRecoveryKeyChars = 64
)

// EncodeRecoveryKey formats a KeySize-byte secret storage key as a recovery key:
// 0x8B 0x01, the key and a parity byte (XOR of all preceding bytes), encoded in
// base58 and printed in groups of four characters separated by single spaces
// (no trailing space).
func EncodeRecoveryKey(key []byte) (string, error) {
	if len(key) != KeySize {
		return "", fmt.Errorf("%w: key is %d bytes, want %d", ErrRecoveryKeyLength, len(key), KeySize)
	}
	buf := make([]byte, 0, recoveryKeyBytes)
	buf = append(buf, recoveryKeyPrefix0, recoveryKeyPrefix1)
	buf = append(buf, key...)
	buf = append(buf, parity(buf))
	plain := base58Encode(buf)
	var b strings.Builder
	for i := 0; i < len(plain); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(plain[i:min(i+4, len(plain))])
	}
	return b.String(), nil
}

// DecodeRecoveryKey parses a recovery key, ignoring all whitespace, and returns
// the KeySize-byte key. Errors wrap ErrRecoveryKeyCharacter, ErrRecoveryKeyLength,
// ErrRecoveryKeyPrefix or ErrRecoveryKeyParity, checked in that order.
func DecodeRecoveryKey(s string) ([]byte, error) {
	compact := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	for i, r := range compact {
		if r >= 0x80 || strings.IndexByte(base58Alphabet, byte(r)) < 0 {
			return nil, fmt.Errorf("%w: %q at position %d", ErrRecoveryKeyCharacter, r, i)
		}
	}
	if compact == "" {
		return nil, fmt.Errorf("%w: empty", ErrRecoveryKeyLength)
	}
	if len(compact) > maxRecoveryKeyChars {
		return nil, fmt.Errorf("%w: %d characters", ErrRecoveryKeyLength, len(compact))
	}
	raw := base58Decode(compact)
	if len(raw) != recoveryKeyBytes {
		return nil, fmt.Errorf("%w: decodes to %d bytes, want %d (a %d-byte key)", ErrRecoveryKeyLength, len(raw), recoveryKeyBytes, KeySize)
	}
	if raw[0] != recoveryKeyPrefix0 || raw[1] != recoveryKeyPrefix1 {
		return nil, fmt.Errorf("%w: starts with %#02x %#02x, want 0x8b 0x01", ErrRecoveryKeyPrefix, raw[0], raw[1])
	}
	if parity(raw[:len(raw)-1]) != raw[len(raw)-1] {
		return nil, fmt.Errorf("%w: the key was probably mistyped", ErrRecoveryKeyParity)
	}
	key := make([]byte, KeySize)
	copy(key, raw[2:2+KeySize])
	return key, nil
}

// parity returns the XOR of all bytes of b.
func parity(b []byte) byte {
	var p byte
	for _, c := range b {
		p ^= c
	}
	return p
}

// base58Encode encodes b in base58 with the Bitcoin alphabet; each leading
// zero byte becomes a leading '1'.
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// Little-endian base-58 digits of the big-endian number b[zeros:].
	digits := make([]byte, 0, len(b)*138/100+1)
	for _, c := range b[zeros:] {
		carry := int(c)
		for i := range digits {
			carry += int(digits[i]) << 8
			digits[i] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits = append(digits, byte(carry%58))
			carry /= 58
		}
	}
	out := make([]byte, zeros+len(digits))
	for i := range zeros {
		out[i] = '1'
	}
	for i, d := range digits {
		out[len(out)-1-i] = base58Alphabet[d]
	}
	return string(out)
}

// base58Decode decodes s, which must contain only base58Alphabet characters;
// each leading '1' becomes a leading zero byte.
func base58Decode(s string) []byte {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// Little-endian base-256 bytes of the number s[zeros:].
	num := make([]byte, 0, len(s)*733/1000+1)
	for i := zeros; i < len(s); i++ {
		carry := strings.IndexByte(base58Alphabet, s[i])
		for j := range num {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			num = append(num, byte(carry))
			carry >>= 8
		}
	}
	out := make([]byte, zeros+len(num))
	for i, c := range num {
		out[len(out)-1-i] = c
	}
	return out
}
