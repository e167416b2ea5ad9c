package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"vouch/verification/qr"
)

// maxQRImageBytes bounds the PNG that `qr decode` reads.
const maxQRImageBytes = 16 << 20

// newQRCmd is the parent of the QR-code verification payload commands.
func newQRCmd(s stdio) *cobra.Command {
	_ = s // subcommands use cmd.InOrStdin / cmd.OutOrStdout, which run wires to s
	c := &cobra.Command{
		Use:   "qr",
		Short: "QR code verification payloads (encode, decode, show)",
		Long: `Build, read and display the binary payload of Matrix QR code verification:
"MATRIX", version 0x02, mode, u16 length + transaction ID, key1, key2, secret.

Modes: 0 verify another user, 1 self-verification trusting the master signing
key, 2 self-verification not yet trusting it. Keys are 32 bytes and, like the
shared secret (at least 8 bytes), given in base64 (unpadded or padded).`,
	}
	c.AddCommand(newQREncodeCmd(), newQRDecodeCmd(), newQRShowCmd())
	return c
}

// qrFlags are the flags encode and show share.
type qrFlags struct {
	mode                    int
	txn, key1, key2, secret string
}

func (f *qrFlags) register(c *cobra.Command) {
	c.Flags().IntVar(&f.mode, "mode", 0, "verification mode: 0, 1 or 2")
	c.Flags().StringVar(&f.txn, "txn", "", "transaction ID (or request event ID)")
	c.Flags().StringVar(&f.key1, "key1", "", "first key, base64 (32 bytes)")
	c.Flags().StringVar(&f.key2, "key2", "", "second key, base64 (32 bytes)")
	c.Flags().StringVar(&f.secret, "secret", "", "shared secret, base64 (at least 8 bytes)")
	for _, name := range []string{"txn", "key1", "key2", "secret"} {
		_ = c.MarkFlagRequired(name)
	}
}

// code turns the flags into a qr.Code, refusing bad input with failf.
func (f *qrFlags) code() (qr.Code, error) {
	if f.mode < 0 || f.mode > 2 {
		return qr.Code{}, failf("--mode %d: must be 0, 1 or 2", f.mode)
	}
	c := qr.Code{Mode: qr.Mode(f.mode), TransactionID: f.txn}
	for _, k := range []struct {
		name, val string
		dst       *[qr.KeyLen]byte
	}{{"--key1", f.key1, &c.Key1}, {"--key2", f.key2, &c.Key2}} {
		b, err := decodeVerificationB64(k.val)
		if err != nil {
			return qr.Code{}, failf("%s: %v", k.name, err)
		}
		if len(b) != qr.KeyLen {
			return qr.Code{}, failf("%s: %d bytes, want %d", k.name, len(b), qr.KeyLen)
		}
		*k.dst = [qr.KeyLen]byte(b)
	}
	secret, err := decodeVerificationB64(f.secret)
	if err != nil {
		return qr.Code{}, failf("--secret: %v", err)
	}
	c.Secret = secret
	return c, nil
}

func newQREncodeCmd() *cobra.Command {
	var (
		f    qrFlags
		out  string
		size int
	)
	c := &cobra.Command{
		Use:   "encode --mode N --txn ID --key1 B64 --key2 B64 --secret B64 [-o FILE.png]",
		Short: "Print the payload as hex, or write it as a QR code PNG",
		Long: `Build the QR verification payload and print it as lowercase hex, or with
-o write a PNG image of the QR code. The PNG holds the shared secret, so it is
created readable by its owner only (mode 0600).

Refused with exit code 1: an unknown mode, an empty or over-long transaction
ID, keys that are not 32 bytes, a secret shorter than 8 bytes, bad base64.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := f.code()
			if err != nil {
				return err
			}
			if out == "" {
				payload, err := code.Encode()
				if err != nil {
					return failf("%v", err)
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(payload))
				return err
			}
			img, err := qr.PNG(code, size)
			if err != nil {
				return failf("%v", err)
			}
			if err := writeSecretFile(out, img); err != nil {
				return failf("%v", err)
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (mode 0600: it contains the shared secret)\n", out)
			return err
		},
	}
	f.register(c)
	c.Flags().StringVarP(&out, "output", "o", "", "write a PNG image to this file instead of printing hex")
	c.Flags().IntVar(&size, "size", 512, "minimum PNG width and height in pixels")
	return c
}

// writeSecretFile writes data to path with mode 0600, also when the file
// already existed with wider permissions.
func writeSecretFile(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := fh.Chmod(0o600); err != nil {
		fh.Close()
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// qrJSON is the output of `qr decode`.
type qrJSON struct {
	Mode          int    `json:"mode"`
	TransactionID string `json:"transaction_id"`
	Key1          string `json:"key1"`
	Key2          string `json:"key2"`
	Secret        string `json:"secret"`
}

func newQRDecodeCmd() *cobra.Command {
	var hexPayload string
	c := &cobra.Command{
		Use:   "decode (--hex HEX | [FILE.png])",
		Short: "Decode a payload (hex) or a QR code image (PNG) and print it as JSON",
		Long: `Decode a QR verification payload given in hex with --hex, or read a PNG image
(the FILE given, or standard input) and decode the QR code in it. Prints
{"mode","transaction_id","key1","key2","secret"}: mode a number, keys and
secret unpadded base64.

Refused with exit code 1: any malformed payload (wrong prefix, version or
mode, truncation, empty or non-UTF-8 transaction ID, secret shorter than 8
bytes), an image without a readable QR code.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				code qr.Code
				err  error
			)
			if cmd.Flags().Changed("hex") {
				if len(args) > 0 {
					return failf("give either --hex or a FILE, not both")
				}
				raw, herr := hex.DecodeString(strings.TrimSpace(hexPayload))
				if herr != nil {
					return failf("--hex: %v", herr)
				}
				code, err = qr.Decode(raw)
			} else {
				var r io.Reader = cmd.InOrStdin()
				if len(args) == 1 {
					fh, oerr := os.Open(args[0])
					if oerr != nil {
						return failf("%v", oerr)
					}
					defer fh.Close()
					r = fh
				}
				code, err = qr.DecodePNG(io.LimitReader(r, maxQRImageBytes))
			}
			if err != nil {
				return failf("%v", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			return enc.Encode(qrJSON{
				Mode:          int(code.Mode),
				TransactionID: code.TransactionID,
				Key1:          base64.RawStdEncoding.EncodeToString(code.Key1[:]),
				Key2:          base64.RawStdEncoding.EncodeToString(code.Key2[:]),
				Secret:        base64.RawStdEncoding.EncodeToString(code.Secret),
			})
		},
	}
	c.Flags().StringVar(&hexPayload, "hex", "", "the payload in hex")
	return c
}

func newQRShowCmd() *cobra.Command {
	var (
		f     qrFlags
		light bool
	)
	c := &cobra.Command{
		Use:   "show --mode N --txn ID --key1 B64 --key2 B64 --secret B64",
		Short: "Draw the QR code in the terminal",
		Long: `Build the QR verification payload and draw its QR code with half-block
characters, for scanning from the screen. The default suits light text on a
dark background; use --light-terminal on a light background.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := f.code()
			if err != nil {
				return err
			}
			text, err := qr.Terminal(code, light)
			if err != nil {
				return failf("%v", err)
			}
			_, err = io.WriteString(cmd.OutOrStdout(), text)
			return err
		},
	}
	f.register(c)
	c.Flags().BoolVar(&light, "light-terminal", false, "draw dark modules, for terminals with a light background")
	return c
}

// decodeVerificationB64 decodes standard base64 with or without padding.
func decodeVerificationB64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
