package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"vouch/backup"
)

// maxBackupInputBytes bounds what the backup debugging commands read: a
// session_data envelope or a BackedUpSession is at most ~90 KiB under the
// library's limits, so 1 MiB is ample and keeps a mistaken pipe harmless.
const maxBackupInputBytes = 1 << 20

// newBackupCmd is the parent of the key-backup commands. The session_data
// tools (encrypt, decrypt, keygen) live here; server-side backup management
// subcommands are added to the same parent.
func newBackupCmd(s stdio) *cobra.Command {
	_ = s // subcommands use cmd.InOrStdin / cmd.OutOrStdout, which run wires to s
	c := &cobra.Command{
		Use:   "backup",
		Short: "Server-side room-key backups (m.megolm_backup.v1.curve25519-aes-sha2)",
		Long: `Tools for server-side key backups using the
m.megolm_backup.v1.curve25519-aes-sha2 algorithm: encrypt a backed-up session
to a backup public key, decrypt a session_data object with the backup private
key, and generate a backup key pair.

Keys are unpadded base64 (padded base64 is accepted). Commands that take
input read the FILE given, or standard input when there is none.

Note that a private key given with --private-key is visible to other users of
this machine through the process list; use these commands for debugging.`,
	}
	c.AddCommand(newBackupDecryptCmd(), newBackupEncryptCmd(), newBackupKeygenCmd())
	c.AddCommand(newBackupAccountCmds(s)...)
	return c
}

func newBackupDecryptCmd() *cobra.Command {
	var privB64 string
	c := &cobra.Command{
		Use:   "decrypt --private-key B64 [FILE]",
		Short: "Decrypt a session_data object and print the session JSON",
		Long: `Read a session_data object {"ephemeral","ciphertext","mac"} and print the
decrypted BackedUpSession JSON (which contains the Megolm session key).

Refused with exit code 1: malformed JSON or base64, a ciphertext that is not
a whole number of AES blocks or exceeds 64 KiB, a missing or wrong legacy
mac (usually the wrong backup key), invalid PKCS#7 padding, and a plaintext
that is not a JSON object. The legacy mac does not cover the ciphertext, so
success does NOT prove who wrote the session; see docs/backup-mac.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, err := backup.ParsePrivateKey(privB64)
			if err != nil {
				return failf("--private-key: %v", err)
			}
			defer clear(priv[:])
			in, err := readInput(cmd, args, maxBackupInputBytes)
			if err != nil {
				return err
			}
			enc, err := backup.ParseEncryptedSessionData(in)
			if err != nil {
				return failf("%v", err)
			}
			pt, err := backup.Decrypt(priv, enc)
			if err != nil {
				return failf("%v", err)
			}
			if !isBackupJSONObject(pt) {
				return failf("decrypted plaintext is not a JSON object (tampered ciphertext?)")
			}
			out := cmd.OutOrStdout()
			if _, err := out.Write(bytes.TrimRight(pt, " \t\r\n")); err != nil {
				return err
			}
			_, err = io.WriteString(out, "\n")
			return err
		},
	}
	c.Flags().StringVar(&privB64, "private-key", "", "backup private (decryption) key, base64 (required)")
	_ = c.MarkFlagRequired("private-key")
	return c
}

func newBackupEncryptCmd() *cobra.Command {
	var pubB64 string
	c := &cobra.Command{
		Use:   "encrypt --public-key B64 [FILE]",
		Short: "Encrypt session JSON to a backup public key",
		Long: `Read a BackedUpSession JSON object and print the session_data object
{"ephemeral","ciphertext","mac"} that encrypts it to the backup public key
(auth_data.public_key), with a fresh ephemeral key.

The input must be a single valid JSON object in UTF-8; it is encrypted as
given, after removing leading and trailing whitespace.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pub, err := backup.ParsePublicKey(pubB64)
			if err != nil {
				return failf("--public-key: %v", err)
			}
			in, err := readInput(cmd, args, maxBackupInputBytes)
			if err != nil {
				return err
			}
			pt := bytes.TrimSpace(in)
			if !isBackupJSONObject(pt) {
				return failf("input is not a single JSON object in UTF-8")
			}
			enc, err := backup.Encrypt(pub, pt, nil)
			if err != nil {
				return failf("%v", err)
			}
			return writeBackupJSON(cmd.OutOrStdout(), enc)
		},
	}
	c.Flags().StringVar(&pubB64, "public-key", "", "backup public key (auth_data.public_key), base64 (required)")
	_ = c.MarkFlagRequired("public-key")
	return c
}

func newBackupKeygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Generate a backup key pair and print it (INCLUDING the private key)",
		Long: `Generate a new random backup key pair and print
{"private_key": ..., "public_key": ...} in unpadded base64.

The private key is printed because generating it is what you asked for: it
is the backup decryption key, which can read every session in the backup.
Store it in secret storage (as m.megolm_backup.v1) or somewhere equally safe,
and publish only public_key (as the backup's auth_data.public_key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, err := backup.GenerateKey(nil)
			if err != nil {
				return err
			}
			defer clear(priv[:])
			pub, err := priv.PublicKey()
			if err != nil {
				return err
			}
			return writeBackupJSON(cmd.OutOrStdout(), struct {
				PrivateKey string `json:"private_key"`
				PublicKey  string `json:"public_key"`
			}{priv.Encode(), pub.Encode()})
		},
	}
}

// isBackupJSONObject reports whether b is valid UTF-8 holding one valid JSON
// value that is an object.
func isBackupJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return utf8.Valid(b) && len(t) > 0 && t[0] == '{' && json.Valid(b)
}

// writeBackupJSON writes v as one line of JSON.
func writeBackupJSON(w io.Writer, v any) error {
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}
