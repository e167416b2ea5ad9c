package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/keys"
	"vouch/signedjson"
)

func newVerifyCmd(s stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify another user by fingerprint, or sign one of your own devices",
	}
	cmd.AddCommand(newVerifyUserCmd(s), newVerifyDeviceCmd(s))
	return cmd
}

// explainVerify words the errors of the verification flows.
func explainVerify(ss *session, userID string, err error) error {
	switch {
	case errors.Is(err, client.ErrFingerprintMismatch):
		return failf("fingerprint does not match %s's master signing key: do NOT trust this identity; ask %s to read their fingerprint again (vouch status) and compare over a channel you trust", userID, userID)
	case errors.Is(err, client.ErrNoIdentity):
		return failf("%s has no cross-signing identity yet; ask them to run vouch bootstrap", userID)
	case errors.Is(err, client.ErrMissingPrivateKey):
		return failf("%v", err)
	case errors.Is(err, client.ErrUnknownDevice):
		return failf("%v; list devices with vouch devices list", err)
	}
	return ss.explain(err)
}

func newVerifyUserCmd(s stdio) *cobra.Command {
	var f accountFlags
	var fingerprint string
	var fromDevice, asJSON bool
	cmd := &cobra.Command{
		Use:   "user USER --fingerprint FP",
		Short: "Verify USER by comparing their fingerprint, then sign their master key",
		Long: `Compare USER's fingerprint (their master signing key, shown by vouch status
on their side) with them over a channel you trust, then pass it with
--fingerprint (spaces allowed). If it matches the key the server publishes,
vouch signs it with your user-signing key and uploads the signature: USER
and every device they sign become trusted for you.

For your own user ID, compare the fingerprint shown by vouch status on the
device that ran vouch bootstrap: this device then trusts that master key as
yours and signs it with its device key.

--from-device instead trusts USER's first master key because a device of
theirs that you verified the old way (vouch verify device --owner) signed it.`,
		Example: `  vouch verify user @bob:localhost --fingerprint "nqOv zeuG WT/s ..."`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			userID := args[0]
			if err := checkUserFingerprintArgs(userID, fingerprint); err != nil {
				return err
			}
			if fingerprint == "" && !fromDevice {
				return failf("--fingerprint is required: compare it with %s out of band first", userID)
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if userID == ss.acct.UserID {
				return verifyOwnIdentity(cmd, ss, fingerprint)
			}
			// Observe (and pin on first use) before verifying.
			if _, err := ss.view(ctx, userID); err != nil {
				return err
			}
			in, err := ss.trustInputs(ctx)
			if err != nil {
				return err
			}
			var res *client.VerifyResult
			if fromDevice {
				res, err = client.MigrateUser(ctx, ss.c, in, ss.cs, userID)
			} else {
				res, err = client.VerifyUser(ctx, ss.c, in, ss.cs, userID, fingerprint)
			}
			if err != nil {
				return explainVerify(ss, userID, err)
			}
			pin := in.Pins[userID]
			pin.UserID = userID
			if err := ss.st.SavePin(ctx, pin.MarkVerified(res.Master)); err != nil {
				return failf("%v", err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), trustJSON(userID, res.Decision.Trusted, res.Decision))
			}
			if !res.Decision.Trusted {
				return failf("signed %s's key, but it is not trusted: %s", userID, res.Decision.Reason)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is verified: %s.\n", userID, res.Decision.Reason)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&fingerprint, "fingerprint", "", "USER's fingerprint as compared out of band")
	cmd.Flags().BoolVar(&fromDevice, "from-device", false, "migrate from a device verification instead of a fingerprint")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verdict as JSON")
	return cmd
}

func newVerifyDeviceCmd(s stdio) *cobra.Command {
	var f accountFlags
	var otherUser, edKey string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "device DEVICEID",
		Short: "Sign one of your own devices with your self-signing key",
		Long: `Sign your device DEVICEID with your self-signing key, so that everyone who
verified you trusts it. Run it on the device that ran vouch bootstrap.
Compare the device's ed25519 key (vouch status on that device) first; pass
it with --key to have vouch check it.

With --owner USER --key ED25519, record instead that you verified another
user's device the old way (before cross-signing); vouch verify user USER
--from-device can later migrate that to a cross-signing verification.`,
		Example: `  vouch verify device NEWDEVICE
  vouch verify device NEWDEVICE --key "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			deviceID := args[0]
			if err := checkDeviceArg(deviceID); err != nil {
				return err
			}
			if otherUser != "" {
				if err := checkUserArg(otherUser); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			owner := ss.acct.UserID
			if otherUser != "" {
				owner = otherUser
			}
			// Check the device exists and, with --key, that its key matches.
			tv, err := ss.view(ctx, owner)
			if err != nil {
				return err
			}
			var ed string
			for _, d := range tv.Users[owner].Devices {
				if d.DeviceID == deviceID {
					ed = d.Ed25519
				}
			}
			if ed == "" {
				return failf("%s has no device %s with valid keys; list devices with vouch keys %s", owner, deviceID, owner)
			}
			if edKey != "" && !client.FingerprintMatches(edKey, ed) {
				return failf("--key does not match device %s's ed25519 key %s: do NOT sign it", deviceID, ed)
			}
			out := cmd.OutOrStdout()
			if owner != ss.acct.UserID {
				if edKey == "" {
					return failf("--key is required to verify another user's device: compare it with %s first", owner)
				}
				if err := ss.st.AddVerifiedDevice(ctx, owner, deviceID, ed); err != nil {
					return failf("%v", err)
				}
				fmt.Fprintf(out, "Recorded that you verified %s's device %s.\n", owner, deviceID)
				return nil
			}
			in, err := ss.trustInputs(ctx)
			if err != nil {
				return err
			}
			res, err := client.VerifyOwnDevice(ctx, ss.c, in, ss.cs, deviceID)
			if err != nil {
				return explainVerify(ss, owner, err)
			}
			if asJSON {
				return printJSON(out, map[string]any{"user_id": owner, "device_id": deviceID, "trusted": res.Decision.Trusted, "path": res.Decision.Path, "reason": res.Decision.Reason})
			}
			if !res.Decision.Trusted {
				return failf("signed device %s, but it is not trusted: %s", deviceID, res.Decision.Reason)
			}
			fmt.Fprintf(out, "Done: %s.\n", res.Decision.Reason)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&otherUser, "owner", "", "record a device verification of this other user's device (needs --key)")
	cmd.Flags().StringVar(&edKey, "key", "", "the device's ed25519 key as compared out of band")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verdict as JSON")
	return cmd
}

// verifyOwnIdentity makes this device trust its user's published master key
// after the user compared its fingerprint with another of their devices.
func verifyOwnIdentity(cmd *cobra.Command, ss *session, fingerprint string) error {
	ctx := cmd.Context()
	if fingerprint == "" {
		return failf("--fingerprint is required: read it from vouch status on the device that ran vouch bootstrap")
	}
	if ss.dev == nil {
		return failf("%v", errNoDevice)
	}
	me := ss.acct.UserID
	resp, err := ss.c.QueryKeys(ctx, me)
	if err != nil {
		return ss.explain(err)
	}
	own, _ := client.ParseUserKeys(resp, me)
	if own.Master == nil {
		return failf("you have no cross-signing identity yet; run vouch bootstrap")
	}
	_, pub, _ := own.Master.PublicKey()
	if !client.FingerprintMatches(fingerprint, pub) {
		return failf("fingerprint does not match your published master signing key %s: do NOT trust it; someone may have replaced your identity", client.FormatFingerprint(pub))
	}
	bare, err := signedjson.SigningBytes(own.Master.Raw)
	if err != nil {
		return failf("%v", err)
	}
	signed, err := ss.dev.Sign(bare)
	if err != nil {
		return failf("%v", err)
	}
	if err := ss.c.UploadSignatures(ctx, client.SignaturesUpload{me: {pub: signed}}); err != nil {
		return ss.explain(err)
	}
	if err := ss.st.SetOwnMaster(ctx, pub); err != nil {
		return failf("%v", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "This device now trusts your identity %s.\n", client.FormatFingerprint(pub))
	return nil
}

// checkUserFingerprintArgs validates USER and, when one is given,
// --fingerprint: the arguments vouch verify user and vouch identity approve
// share.
func checkUserFingerprintArgs(userID, fp string) error {
	if err := checkUserArg(userID); err != nil {
		return err
	}
	if fp == "" {
		return nil
	}
	return checkFingerprintArg(fp, userID)
}

// checkFingerprintArg validates a --fingerprint typed by a person. Forty-three
// characters of the base64 alphabet whose last one cannot end a 32-byte key
// is a typo (the fingerprint of a real key never looks like that), so it gets
// its own message.
func checkFingerprintArg(fp, userID string) error {
	norm := client.NormalizeFingerprint(fp)
	_, err := keys.DecodePublicKey(norm)
	if err == nil {
		return nil
	}
	if b, derr := signedjson.DecodeBase64(norm); derr == nil && len(b) == 32 {
		// Well-formed base64 of 32 bytes, refused as a key (not a curve
		// point, or a weak one): a typo in the middle, most likely.
		return failf("--fingerprint %q cannot be anyone's fingerprint (%v): a typo? compare it with %s again", fp, err, userID)
	}
	if len(norm) == 43 && strings.Trim(norm, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == "" {
		return failf("--fingerprint %q cannot be anyone's fingerprint (its last character is impossible for a key): a typo? compare it with %s again", fp, userID)
	}
	return failf("--fingerprint %q is not a fingerprint (43 base64 characters, spaces allowed)", fp)
}
