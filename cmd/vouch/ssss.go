package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"vouch/ssss"
)

// maxSSSSInputBytes bounds what the secret-storage commands read: secrets,
// encrypted secrets and key descriptions are a few KiB at most.
const maxSSSSInputBytes = 1 << 20

// newRecoveryKeyCmd is the parent of the recovery-key conversions.
func newRecoveryKeyCmd(s stdio) *cobra.Command {
	_ = s // subcommands use cmd.InOrStdin / cmd.OutOrStdout, which run wires to s
	c := &cobra.Command{
		Use:   "recovery-key",
		Short: "Convert secret storage keys to and from the recovery-key format",
		Long: `Convert a 32-byte secret storage key between lowercase hex and the
recovery-key representation users are shown ("EsT... .... ...."): base58 of
0x8B 0x01, the key and a parity byte, in groups of four characters.

Both commands print a private key: run them only when you mean to see it.`,
	}
	c.AddCommand(&cobra.Command{
		Use:   "decode KEY",
		Short: "Print the hex of a recovery key (whitespace is ignored)",
		Long: `Print the 32-byte key of a recovery key as lowercase hex. Whitespace
anywhere is ignored, so the key may be given as one argument in quotes or as
several arguments. A character outside the base58 alphabet, a wrong prefix,
a wrong parity byte (a typo) or a wrong length is reported with exit code 1.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := ssss.DecodeRecoveryKey(strings.Join(args, " "))
			if err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(key))
			return err
		},
	}, &cobra.Command{
		Use:   "encode HEX",
		Short: "Print the recovery key of a 32-byte hex key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := hex.DecodeString(strings.TrimSpace(args[0]))
			if err != nil {
				return failf("key: invalid hex: %v", err)
			}
			enc, err := ssss.EncodeRecoveryKey(key)
			if err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), enc)
			return err
		},
	})
	return c
}

// newSSSSCmd is the parent of the secret-storage commands.
func newSSSSCmd(s stdio) *cobra.Command {
	_ = s // subcommands use cmd.InOrStdin / cmd.OutOrStdout, which run wires to s
	c := &cobra.Command{
		Use:   "ssss",
		Short: "Secret storage (m.secret_storage.v1.aes-hmac-sha2) tools",
		Long: `Tools for Matrix secret storage: encrypt and decrypt a secret with a
secret storage key, check a key against a key description, derive a key from
a passphrase (m.pbkdf2).

--key takes the 32-byte key as 64 hex digits or as a recovery key. Commands
that take input read the FILE given, or standard input when there is none.
A key given on the command line is visible to other users of this machine
through the process list; use these commands for debugging.`,
	}
	c.AddCommand(newSSSSDecryptCmd(), newSSSSEncryptCmd(), newSSSSCheckKeyCmd(), newSSSSPassphraseKeyCmd())
	return c
}

// ssssKeyInput is what decrypt, encrypt and check-key share: the --key flag
// (and --name when the command needs the secret's name) and an optional
// FILE argument.
type ssssKeyInput struct {
	key, name string
}

// add registers --key, and --name when withName, both required.
func (f *ssssKeyInput) add(c *cobra.Command, withName bool) {
	c.Flags().StringVar(&f.key, "key", "", "secret storage key: 64 hex digits or a recovery key (required)")
	_ = c.MarkFlagRequired("key")
	if withName {
		c.Flags().StringVar(&f.name, "name", "", "secret name, e.g. m.cross_signing.master (required)")
		_ = c.MarkFlagRequired("name")
	}
}

// read parses --key, then reads the input (see readSSSSInput).
func (f *ssssKeyInput) read(cmd *cobra.Command, args []string) (key, in []byte, fromStdin bool, err error) {
	if key, err = parseSSSSKey(f.key); err != nil {
		return nil, nil, false, err
	}
	if in, fromStdin, err = readSSSSInput(cmd, args); err != nil {
		return nil, nil, false, err
	}
	return key, in, fromStdin, nil
}

func newSSSSDecryptCmd() *cobra.Command {
	var (
		f     ssssKeyInput
		keyID string
	)
	c := &cobra.Command{
		Use:   "decrypt --key KEY --name NAME [--key-id ID] [FILE]",
		Short: "Decrypt an encrypted secret and print it",
		Long: `Read an encrypted secret {"iv","ciphertext","mac"} (or a secret's whole
account-data content {"encrypted":{KEY_ID:{...}}}, choosing the entry with
--key-id when there are several) and print the secret followed by a newline.

NAME is the secret's name (its account-data type), e.g. m.cross_signing.master:
it is part of the key derivation, so the wrong name fails like the wrong key.
Refused with exit code 1: malformed JSON or base64, a wrong IV or MAC length,
a MAC mismatch (wrong key, wrong name or tampered data; nothing is decrypted)
and a plaintext that is not UTF-8 (secrets are strings; the MAC does not
cover the IV, so a changed IV decrypts to garbage).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, in, _, err := f.read(cmd, args)
			if err != nil {
				return err
			}
			enc, err := parseEncryptedSecret(in, keyID)
			if err != nil {
				return err
			}
			secret, err := ssss.DecryptString(key, f.name, enc)
			if err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), secret)
			return err
		},
	}
	f.add(c, true)
	c.Flags().StringVar(&keyID, "key-id", "", "key ID to pick from an {\"encrypted\":{...}} input with several entries")
	return c
}

func newSSSSEncryptCmd() *cobra.Command {
	var (
		f     ssssKeyInput
		ivArg string
	)
	c := &cobra.Command{
		Use:   "encrypt --key KEY --name NAME [--iv B64] [FILE]",
		Short: "Encrypt a secret and print {\"iv\",\"ciphertext\",\"mac\"}",
		Long: `Encrypt the secret read from FILE, or standard input, and print the
encrypted secret as JSON {"iv","ciphertext","mac"} in unpadded base64.

A FILE is used byte for byte. From standard input, one trailing newline
("\n" or "\r\n", as typed at a terminal or added by echo) is removed; to
store a secret that ends with a newline, put it in a file.

The IV is random (bit 63 cleared) unless --iv gives one, which makes the
output reproducible; never reuse an IV for a different secret.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, in, fromStdin, err := f.read(cmd, args)
			if err != nil {
				return err
			}
			if fromStdin {
				in = bytes.TrimSuffix(in, []byte("\n"))
				in = bytes.TrimSuffix(in, []byte("\r"))
			}
			var enc ssss.EncryptedSecret
			if ivArg != "" {
				iv, err := decodeSSSSB64(ivArg)
				if err != nil {
					return failf("--iv: %v", err)
				}
				enc, err = ssss.EncryptWithIV(key, f.name, in, iv)
				if err != nil {
					return failf("%v", err)
				}
			} else if enc, err = ssss.Encrypt(key, f.name, in, rand.Reader); err != nil {
				return failf("%v", err)
			}
			out, err := json.Marshal(enc)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	f.add(c, true)
	c.Flags().StringVar(&ivArg, "iv", "", "16-byte IV in base64, for reproducible output (default: random)")
	return c
}

func newSSSSCheckKeyCmd() *cobra.Command {
	var f ssssKeyInput
	c := &cobra.Command{
		Use:   "check-key --key KEY [FILE]",
		Short: "Check a key against a key description (m.secret_storage.key.*)",
		Long: `Read a key description {"algorithm","iv","mac",...} (the content of
m.secret_storage.key.<ID> account data) and check the key against it.

Prints "ok" and exits 0 when the key matches. A description without iv and
mac cannot be checked; the spec says to assume the key is valid, so this
prints "ok (unverifiable: ...)" and exits 0. A wrong key, a malformed
description or an unsupported algorithm exit 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, in, _, err := f.read(cmd, args)
			if err != nil {
				return err
			}
			var d ssss.KeyDescription
			if err := decodeSSSSJSON(in, &d); err != nil {
				return failf("key description: %v", err)
			}
			if err := d.Check(key); err != nil {
				if errors.Is(err, ssss.ErrWrongKey) {
					return failf("the key does not match the key description")
				}
				return failf("%v", err)
			}
			msg := "ok"
			if !d.Verifiable() {
				msg = "ok (unverifiable: the key description has no iv and mac)"
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	f.add(c, false)
	return c
}

func newSSSSPassphraseKeyCmd() *cobra.Command {
	var passphrase, salt string
	var iterations, bits int
	c := &cobra.Command{
		Use:   "passphrase-key --passphrase P --salt S --iterations N [--bits 256]",
		Short: "Derive a key from a passphrase (m.pbkdf2) and print it as hex",
		Long: fmt.Sprintf(`Derive a secret storage key with PBKDF2-HMAC-SHA-512 from the passphrase
and salt (both as UTF-8) and print it as lowercase hex. --iterations must be
in [1, %d]; --bits a multiple of 8 in [8, %d].`, ssss.MaxIterations, ssss.MaxBits),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := ssss.PassphraseKey(passphrase, salt, iterations, bits)
			if err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(key))
			return err
		},
	}
	c.Flags().StringVar(&passphrase, "passphrase", "", "the passphrase (required)")
	c.Flags().StringVar(&salt, "salt", "", "the salt from the key description (required)")
	c.Flags().IntVar(&iterations, "iterations", 0, "PBKDF2 iteration count (required)")
	c.Flags().IntVar(&bits, "bits", ssss.DefaultBits, "key size in bits")
	for _, f := range []string{"passphrase", "salt", "iterations"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}

// parseSSSSKey reads a secret storage key given as 64 hex digits or as a
// recovery key.
func parseSSSSKey(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	if len(t) == 2*ssss.KeySize {
		if key, err := hex.DecodeString(t); err == nil {
			return key, nil
		}
	}
	key, err := ssss.DecodeRecoveryKey(t)
	if err != nil {
		return nil, failf("--key is neither %d hex digits nor a valid recovery key: %v", 2*ssss.KeySize, err)
	}
	return key, nil
}

// decodeSSSSB64 decodes standard base64 with or without padding.
func decodeSSSSB64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

// readSSSSInput reads the named file, or stdin when args is empty or "-", and
// reports whether the input came from stdin.
func readSSSSInput(cmd *cobra.Command, args []string) (data []byte, fromStdin bool, err error) {
	data, err = readInput(cmd, args, maxSSSSInputBytes)
	if err != nil {
		return nil, false, err
	}
	return data, len(args) == 0 || args[0] == "-", nil
}

// decodeSSSSJSON decodes a single JSON object into v, refusing trailing data.
func decodeSSSSJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: data after the object")
	}
	return nil
}

// parseEncryptedSecret accepts {"iv","ciphertext","mac"} or a secret's
// account-data content {"encrypted":{ID:{...}}}, picking keyID, or the only
// entry when keyID is empty.
func parseEncryptedSecret(data []byte, keyID string) (ssss.EncryptedSecret, error) {
	var in struct {
		ssss.EncryptedSecret
		Encrypted map[string]ssss.EncryptedSecret `json:"encrypted"`
	}
	if err := decodeSSSSJSON(data, &in); err != nil {
		return ssss.EncryptedSecret{}, failf("encrypted secret: %v", err)
	}
	if in.Encrypted == nil {
		if keyID != "" {
			return ssss.EncryptedSecret{}, failf("--key-id given but the input has no \"encrypted\" map")
		}
		return in.EncryptedSecret, nil
	}
	if in.EncryptedSecret != (ssss.EncryptedSecret{}) {
		return ssss.EncryptedSecret{}, failf("encrypted secret: both \"encrypted\" and iv/ciphertext/mac at the top level")
	}
	content := ssss.SecretContent{Encrypted: in.Encrypted}
	if keyID == "" {
		if len(in.Encrypted) != 1 {
			ids := make([]string, 0, len(in.Encrypted))
			for id := range in.Encrypted {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			return ssss.EncryptedSecret{}, failf("the secret is encrypted with %d keys %q: choose one with --key-id", len(ids), ids)
		}
		for id := range in.Encrypted {
			keyID = id
		}
	}
	enc, ok := content.Get(keyID)
	if !ok {
		return ssss.EncryptedSecret{}, failf("the secret is not encrypted with key %q", keyID)
	}
	return enc, nil
}
