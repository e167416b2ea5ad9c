package main

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"vouch/canonicaljson"
	"vouch/signedjson"
)

// maxInputBytes bounds what the debugging commands read from a file or stdin.
const maxInputBytes = 64 << 20

// readInput reads the named file, or the command's stdin when args is empty
// or "-", refusing more than limit bytes. It serves every command that takes
// an optional FILE (json, identity, backup and ssss debugging commands).
func readInput(cmd *cobra.Command, args []string, limit int) ([]byte, error) {
	var r io.Reader = cmd.InOrStdin()
	name := "standard input"
	if len(args) > 0 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return nil, failf("%v", err)
		}
		defer f.Close()
		r, name = f, args[0]
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, failf("reading %s: %v", name, err)
	}
	if len(b) > limit {
		return nil, failf("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}

func newJSONCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "json",
		Short: "Canonical and signed JSON tools for debugging",
		Long: `Tools for the JSON that Matrix signs: print the canonical form of an
object, sign it with an ed25519 seed, or check one named signature.

Each reads the FILE given, or standard input when there is none.`,
	}
	c.AddCommand(newJSONCanonicalCmd(), newJSONSignCmd(), newJSONVerifyCmd())
	return c
}

func newJSONCanonicalCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "canonical [FILE]",
		Short: "Print the canonical JSON form of the input",
		Long: `Print the Matrix canonical JSON form of the input followed by a newline:
members sorted by code point, no insignificant whitespace, shortest escapes.
Input that canonical JSON refuses (floats, integers beyond ±(2^53-1),
duplicate object keys, invalid UTF-8) is reported on stderr with exit code 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := readInput(cmd, args, maxInputBytes)
			if err != nil {
				return err
			}
			out, err := canonicaljson.Canonicalize(in)
			if err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
}

func newJSONSignCmd() *cobra.Command {
	var userID, keyID, seedB64 string
	c := &cobra.Command{
		Use:   "sign --user-id U --key-id ed25519:ID --seed SEED_B64 [FILE]",
		Short: "Sign a JSON object and print it in canonical JSON",
		Long: `Sign the input object with the ed25519 key whose 32-byte seed is SEED_B64
(standard base64, padded or not) and print the signed object in canonical JSON.
The signature goes to signatures[U][ID]; other signatures and "unsigned" are kept.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, err := signedjson.DecodeBase64(seedB64)
			if err != nil {
				return failf("--seed: %v", err)
			}
			if len(seed) != ed25519.SeedSize {
				return failf("--seed: want a %d-byte ed25519 seed, got %d bytes", ed25519.SeedSize, len(seed))
			}
			in, err := readInput(cmd, args, maxInputBytes)
			if err != nil {
				return err
			}
			out, err := signedjson.Sign(in, userID, keyID, ed25519.NewKeyFromSeed(seed))
			if err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	c.Flags().StringVar(&userID, "user-id", "", "entity that signs (a user ID or server name)")
	c.Flags().StringVar(&keyID, "key-id", "", "key ID, ed25519:<device ID or public key>")
	c.Flags().StringVar(&seedB64, "seed", "", "ed25519 seed, 32 bytes in base64")
	for _, f := range []string{"user-id", "key-id", "seed"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}

func newJSONVerifyCmd() *cobra.Command {
	var userID, keyID, pubB64 string
	c := &cobra.Command{
		Use:   "verify --user-id U --key-id ed25519:ID --public-key PUB_B64 [FILE]",
		Short: "Check one named signature of a signed JSON object",
		Long: `Check signatures[U][ID] of the input object with the ed25519 public key
PUB_B64. Prints "ok" and exits 0 when it verifies; otherwise prints the reason
on stderr and exits 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pub, err := signedjson.DecodeBase64(pubB64)
			if err != nil {
				return failf("--public-key: %v", err)
			}
			in, err := readInput(cmd, args, maxInputBytes)
			if err != nil {
				return err
			}
			if err := signedjson.Verify(in, userID, keyID, pub); err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return err
		},
	}
	c.Flags().StringVar(&userID, "user-id", "", "entity whose signature to check")
	c.Flags().StringVar(&keyID, "key-id", "", "key ID of the signature, ed25519:<id>")
	c.Flags().StringVar(&pubB64, "public-key", "", "ed25519 public key, base64")
	for _, f := range []string{"user-id", "key-id", "public-key"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}
