package main

import (
	"crypto/rand"
	"fmt"

	"github.com/spf13/cobra"

	"vouch/client"
)

func newIdentityCmd(s stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "Reset your cross-signing identity, or approve another user's new one",
		Long: `vouch identity reset replaces your own cross-signing identity.
vouch identity approve accepts another user's changed identity.`,
	}
	cmd.AddCommand(newIdentityResetCmd(s), newIdentityApproveCmd(s))
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
			res, err := client.ResetIdentity(ctx, ss.c, ss.dev, client.BootstrapOptions{
				Auth: ss.uia(), Rand: rand.Reader, Save: saver{ss.st}, Progress: progressTo(cmd.ErrOrStderr()),
			})
			if err != nil {
				return ss.explain(err)
			}
			if err := ss.st.SetOwnMaster(ctx, res.Master); err != nil {
				return failf("%v", err)
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
			if err := checkUserArg(userID); err != nil {
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
