package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/client/state"
	"vouch/keys"
	"vouch/signedjson"
)

func newIdentityCmd(s stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "Reset your cross-signing identity, or approve another user's new one",
		Long: `vouch identity reset replaces your own cross-signing identity.
vouch identity approve accepts another user's changed identity.
vouch identity export and import move your cross-signing private keys to
another device.`,
	}
	cmd.AddCommand(newIdentityResetCmd(s), newIdentityApproveCmd(s), newIdentityExportCmd(s), newIdentityImportCmd(s))
	return cmd
}

func newIdentityResetCmd(s stdio) *cobra.Command {
	var f accountFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset --yes",
		Short: "Replace your cross-signing identity with a new master key",
		Long: `Create a new master, self-signing and user-signing key and publish them,
replacing the old ones (the server asks for your password). This device is
signed with the new keys; users you had verified whose keys did not change
are signed again with the new user-signing key.

WARNING: everyone who verified you sees an identity change and must verify
you again, and your other devices must be signed again
(vouch verify device ID). Use it when your keys are lost or compromised.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return failf("this replaces your identity: everyone who verified you must verify you again and your other devices must be signed again; re-run with --yes to go ahead")
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if ss.dev == nil {
				return failf("%v", errNoDevice)
			}
			in, err := ss.trustInputs(ctx)
			if err != nil {
				return err
			}
			res, err := ss.createIdentity(cmd, client.ResetIdentity)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "New cross-signing identity for %s; device %s is signed.\nYour new fingerprint: %s\n",
				ss.acct.UserID, ss.acct.DeviceID, client.FormatFingerprint(res.Master))
			verified := map[string]string{}
			for u, p := range in.Pins {
				if p.WasVerified && p.Master != "" {
					verified[u] = p.Master
				}
			}
			in.OwnMaster = res.Master
			done, err := client.ResignUsers(ctx, ss.c, in, res.Keys, verified)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "vouch: could not sign your verified users again: %v\n", err)
			}
			for _, u := range done {
				fmt.Fprintf(out, "Signed %s again with your new user-signing key.\n", u)
			}
			// Name the devices that lost their signature, so the next step
			// can be copied.
			if tv, err := ss.view(ctx, ss.acct.UserID); err == nil {
				for _, d := range tv.Users[ss.acct.UserID].Devices {
					if !d.Trusted && d.DeviceID != ss.acct.DeviceID {
						fmt.Fprintf(out, "Sign your other device again: vouch verify device %s\n", d.DeviceID)
					}
				}
			}
			fmt.Fprintln(out, "Tell the people who verified you: they will see an identity change and must verify your new fingerprint.")
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm that you want to replace your identity")
	return cmd
}

func newIdentityApproveCmd(s stdio) *cobra.Command {
	var f accountFlags
	var fingerprint string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "approve USER [--fingerprint FP]",
		Short: "Accept another user's changed identity",
		Long: `Accept the master signing key USER publishes now after it changed: the new
key is pinned and the identity-change warning goes away.

Approving is not verifying. With --fingerprint, the fingerprint you compared
with USER out of band must match the new key, which is then also verified
(signed with your user-signing key); without it, USER stays unverified until
you run vouch verify user.`,
		Example: `  vouch identity approve @bob:localhost
  vouch identity approve @bob:localhost --fingerprint "nqOv zeuG ..."`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			userID := args[0]
			if err := checkUserFingerprintArgs(userID, fingerprint); err != nil {
				return err
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if userID == ss.acct.UserID {
				return failf("%s is you; to trust your own new identity log in again and have it sign this device", userID)
			}
			tv, err := ss.view(ctx, userID)
			if err != nil {
				return err
			}
			r := tv.Users[userID]
			if r.Master == "" {
				return failf("%s has no cross-signing identity to approve", userID)
			}
			// A fingerprint that does not match means "do not approve": check
			// it before the pin moves.
			if fingerprint != "" && !client.FingerprintMatches(fingerprint, r.Master) {
				return failf("fingerprint does not match %s's new master signing key: nothing approved; do NOT trust this identity until %s reads you their fingerprint (vouch status) again", userID, userID)
			}
			pin := r.Pin.Approve(r.Master)
			if err := ss.st.SavePin(ctx, pin); err != nil {
				return failf("%v", err)
			}
			verified := r.Verified
			if fingerprint != "" && !verified {
				in, err := ss.trustInputs(ctx)
				if err != nil {
					return err
				}
				res, err := client.VerifyUser(ctx, ss.c, in, ss.cs, userID, fingerprint)
				if err != nil {
					return explainVerify(ss, userID, err)
				}
				verified = res.Decision.Trusted
				if verified {
					if err := ss.st.SavePin(ctx, pin.MarkVerified(r.Master)); err != nil {
						return failf("%v", err)
					}
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, map[string]any{"user_id": userID, "master_key": r.Master, "approved": true, "verified": verified})
			}
			if !r.NeedsApproval {
				fmt.Fprintf(out, "%s's identity had not changed; master key %s is pinned.\n", userID, client.FormatFingerprint(r.Master))
			} else {
				fmt.Fprintf(out, "Approved %s's new identity %s.\n", userID, client.FormatFingerprint(r.Master))
			}
			if verified {
				fmt.Fprintf(out, "%s is verified.\n", userID)
			} else {
				fmt.Fprintf(out, "%s is not verified: compare fingerprints and run vouch verify user %s --fingerprint FP.\n", userID, userID)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&fingerprint, "fingerprint", "", "also verify: the new fingerprint compared out of band")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// Secret names of the cross-signing keys (spec: "Cross-signing", secrets).
const (
	secretMaster      = "m.cross_signing.master"
	secretSelfSigning = "m.cross_signing.self_signing"
	secretUserSigning = "m.cross_signing.user_signing"
)

func newIdentityExportCmd(s stdio) *cobra.Command {
	var f accountFlags
	var out string
	var yes bool
	cmd := &cobra.Command{
		Use:   "export --yes [--out FILE]",
		Short: "Print (or write) your cross-signing PRIVATE keys, to import on another device",
		Long: `Export the cross-signing private keys this device holds as JSON:
{"user_id", "m.cross_signing.master", "m.cross_signing.self_signing",
"m.cross_signing.user_signing"}, each the unpadded base64 of the key's
32-byte seed (the names and encoding of the spec's secret storage).

Anyone who gets this output can impersonate you. It is written only with
--yes, to stdout or to --out FILE (created with mode 0600, never
overwritten). Import it with vouch identity import.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return failf("this prints your private keys, which let anyone impersonate you; re-run with --yes")
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if ss.cs == nil {
				return failf("this device holds no cross-signing private keys")
			}
			m := map[string]string{"user_id": ss.acct.UserID}
			master, ssk, usk := ss.cs.Seeds()
			for name, seed := range map[string][]byte{secretMaster: master, secretSelfSigning: ssk, secretUserSigning: usk} {
				if seed != nil {
					m[name] = signedjson.EncodeBase64(seed)
				}
			}
			w := cmd.OutOrStdout()
			if out != "" {
				fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return failf("--out: %v", err)
				}
				defer fh.Close()
				w = fh
			}
			if err := printJSON(w, m); err != nil {
				return failf("writing keys: %v", err)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "vouch: these are your private cross-signing keys: keep them secret and delete them once imported")
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write to this new file (mode 0600) instead of stdout")
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm that you want your private keys printed")
	return cmd
}

func newIdentityImportCmd(s stdio) *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "import [FILE]",
		Short: "Import cross-signing private keys exported by vouch identity export",
		Long: `Read the JSON written by vouch identity export (from FILE or stdin) and keep
the keys in this device's state. Each key must be the public key you
currently publish; a master key that matches also makes this device trust
your identity.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readInput(cmd, args, maxInputBytes)
			if err != nil {
				return err
			}
			var in map[string]string
			if err := json.Unmarshal(raw, &in); err != nil {
				return failf("input is not the JSON object vouch identity export writes")
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if in["user_id"] != ss.acct.UserID {
				return failf("these keys are for %q, not %s", in["user_id"], ss.acct.UserID)
			}
			seeds := make([][]byte, 3)
			for i, name := range []string{secretMaster, secretSelfSigning, secretUserSigning} {
				if v, ok := in[name]; ok {
					if seeds[i], err = signedjson.DecodeBase64(v); err != nil {
						return failf("%s: %v", name, err)
					}
				}
			}
			ks, err := client.CrossSigningKeysFromSeeds(seeds[0], seeds[1], seeds[2])
			if err != nil {
				return failf("%v", err)
			}
			resp, err := ss.c.QueryKeys(ctx, ss.acct.UserID)
			if err != nil {
				return ss.explain(err)
			}
			own, _ := client.ParseUserKeys(resp, ss.acct.UserID)
			for _, k := range []struct {
				name string
				priv ed25519.PrivateKey
				pub  *keys.CrossSigningKey
			}{{secretMaster, ks.Master, own.Master}, {secretSelfSigning, ks.SelfSigning, own.SelfSigning}, {secretUserSigning, ks.UserSigning, own.UserSigning}} {
				if k.priv == nil {
					continue
				}
				if k.pub == nil {
					return failf("%s: you publish no such key; these keys are stale (identity reset?)", k.name)
				}
				if _, pub, _ := k.pub.PublicKey(); pub != client.PublicKey(k.priv) {
					return failf("%s does not match the key you publish; these keys are stale (identity reset?)", k.name)
				}
			}
			m, sk, u := ks.Seeds()
			if err := ss.st.SaveCrossSigning(ctx, state.CrossSigning{Master: m, SelfSigning: sk, UserSigning: u}); err != nil {
				return failf("%v", err)
			}
			if ks.Master != nil {
				if err := ss.st.SetOwnMaster(ctx, client.PublicKey(ks.Master)); err != nil {
					return failf("%v", err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Imported your cross-signing keys into device %s.\n", ss.acct.DeviceID)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}
