package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"vouch/verification/sas"
)

// newSASCmd is the parent of the SAS verification commands.
func newSASCmd(s stdio) *cobra.Command {
	_ = s // subcommands use cmd.OutOrStdout, which run wires to s
	c := &cobra.Command{
		Use:   "sas",
		Short: "Short Authentication String verification (MACs, emoji, decimals)",
		Long: `Compute the values of SAS verification: the MAC of a key or key-ID list
(hkdf-hmac-sha256.v2, or the deprecated hkdf-hmac-sha256), and the emoji and
decimal renderings of the SAS bytes.`,
	}
	c.AddCommand(newSASMACCmd(), newSASShowCmd())
	return c
}

func newSASMACCmd() *cobra.Command {
	var secretB64, info, input, method string
	c := &cobra.Command{
		Use:   "mac --shared-secret B64 --info STRING --input STRING [--method METHOD]",
		Short: "Print the MAC of an input",
		Long: `Print HMAC-SHA-256(HKDF-SHA-256(shared secret, no salt, info, 32), input) in
the encoding of the method: unpadded base64 for hkdf-hmac-sha256.v2 (the
default), libolm's broken base64 for hkdf-hmac-sha256.

The info is used as given, e.g.
MATRIX_KEY_VERIFICATION_MAC<user><device><other user><other device><txn><key ID>
or ...<txn>KEY_IDS with the sorted, comma-separated key IDs as input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret, err := decodeVerificationB64(secretB64)
			if err != nil {
				return failf("--shared-secret: %v", err)
			}
			mac, err := sas.MAC(method, secret, info, input)
			if errors.Is(err, sas.ErrUnknownMethod) {
				return failf("%v; use --method %s (or the legacy %s)", err, sas.MethodHKDFHMACSHA256V2, sas.MethodHKDFHMACSHA256)
			}
			if err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), mac)
			return err
		},
	}
	c.Flags().StringVar(&secretB64, "shared-secret", "", "the ECDH shared secret, base64")
	c.Flags().StringVar(&info, "info", "", "the HKDF info string")
	c.Flags().StringVar(&input, "input", "", "the MACed input (a key, or the key-ID list)")
	c.Flags().StringVar(&method, "method", sas.MethodHKDFHMACSHA256V2, "MAC method: hkdf-hmac-sha256.v2 or hkdf-hmac-sha256")
	for _, name := range []string{"shared-secret", "info", "input"} {
		_ = c.MarkFlagRequired(name)
	}
	return c
}

func newSASShowCmd() *cobra.Command {
	var bytesHex, secretB64, info string
	c := &cobra.Command{
		Use:   "show (--bytes HEX | --shared-secret B64 --info STRING)",
		Short: "Print the seven emoji and three numbers of a SAS",
		Long: `Print the emoji (table index, emoji, name; one per line) and the three
decimal numbers for six SAS bytes, given in hex with --bytes or derived with
HKDF from --shared-secret and the SAS --info
(MATRIX_KEY_VERIFICATION_SAS|user|device|key|user|device|key|txn).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var sasBytes []byte
			switch {
			case cmd.Flags().Changed("bytes") && !cmd.Flags().Changed("shared-secret") && !cmd.Flags().Changed("info"):
				b, err := hex.DecodeString(strings.TrimSpace(bytesHex))
				if err != nil {
					return failf("--bytes: %v", err)
				}
				if len(b) != sas.SASBytesLen {
					return failf("--bytes: %d bytes, want %d", len(b), sas.SASBytesLen)
				}
				sasBytes = b
			case !cmd.Flags().Changed("bytes") && cmd.Flags().Changed("shared-secret") && cmd.Flags().Changed("info"):
				secret, err := decodeVerificationB64(secretB64)
				if err != nil {
					return failf("--shared-secret: %v", err)
				}
				if sasBytes, err = sas.SASBytes(secret, info); err != nil {
					return failf("%v", err)
				}
			default:
				return failf("give either --bytes, or --shared-secret and --info")
			}
			emoji, err := sas.Emoji(sasBytes)
			if err != nil {
				return failf("%v", err)
			}
			decimals, err := sas.Decimals(sasBytes)
			if err != nil {
				return failf("%v", err)
			}
			var sb strings.Builder
			for _, e := range emoji {
				fmt.Fprintf(&sb, "%2d  %s  %s\n", e.Number, e.Emoji, e.Description)
			}
			fmt.Fprintf(&sb, "%d %d %d\n", decimals[0], decimals[1], decimals[2])
			_, err = fmt.Fprint(cmd.OutOrStdout(), sb.String())
			return err
		},
	}
	c.Flags().StringVar(&bytesHex, "bytes", "", "the six SAS bytes in hex")
	c.Flags().StringVar(&secretB64, "shared-secret", "", "the ECDH shared secret, base64")
	c.Flags().StringVar(&info, "info", "", "the SAS HKDF info string")
	return c
}
