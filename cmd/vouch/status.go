package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newStatusCmd(s stdio) *cobra.Command {
	var f accountFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show your identity fingerprint and your devices with trust marks",
		Long: `Show the account, your cross-signing fingerprint (read it to people who
verify you), which cross-signing private keys this device holds (never the
keys themselves), this device's ed25519 key, and each of your devices with
✓ when your self-signing key signed it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			me := ss.acct.UserID
			tv, err := ss.view(ctx, me)
			if err != nil {
				return err
			}
			r := tv.Users[me]
			held := []string{}
			if ss.cs != nil {
				for _, k := range []struct {
					name string
					ok   bool
				}{{"master", ss.cs.Master != nil}, {"self_signing", ss.cs.SelfSigning != nil}, {"user_signing", ss.cs.UserSigning != nil}} {
					if k.ok {
						held = append(held, k.name)
					}
				}
			}
			ed := ""
			if ss.dev != nil {
				ed = ss.dev.Ed25519()
			}
			out := cmd.OutOrStdout()
			if asJSON {
				m := userJSON(r)
				m["device_id"] = ss.acct.DeviceID
				m["device_ed25519"] = ed
				m["homeserver"] = ss.acct.Homeserver
				m["private_keys_held"] = held
				return printJSON(out, m)
			}
			fmt.Fprintf(out, "%s on %s, this device %s (ed25519 %s)\n", me, ss.acct.Homeserver, ss.acct.DeviceID, ed)
			switch {
			case r.Master == "":
				fmt.Fprintln(out, "No cross-signing identity: run vouch bootstrap.")
			case r.NeedsApproval:
				fmt.Fprintf(out, "! Your published identity %s is not the one this device trusts.\n", r.Fingerprint)
				fmt.Fprintf(out, "If you reset it on another device, compare fingerprints with it and run vouch verify user %s --fingerprint FP here.\n"+
					"If you did not, someone else may have: do not trust it.\n", me)
			case !r.Verified:
				fmt.Fprintf(out, "Your fingerprint: %s (not yet trusted on this device)\n", r.Fingerprint)
				fmt.Fprintf(out, "Next: compare it with vouch status on a device that trusts it, then run vouch verify user %s --fingerprint FP here,\n"+
					"and vouch verify device %s on a device that holds your self-signing key (or move the keys here: vouch identity export/import).\n", me, ss.acct.DeviceID)
			default:
				fmt.Fprintf(out, "Your fingerprint: %s\n", r.Fingerprint)
			}
			if len(held) > 0 {
				fmt.Fprintf(out, "Cross-signing private keys on this device: %s\n", strings.ReplaceAll(strings.Join(held, ", "), "_", "-"))
			}
			for _, d := range r.Devices {
				this := ""
				if d.DeviceID == ss.acct.DeviceID {
					this = " (this device)"
				}
				fmt.Fprintf(out, "  %s %s%s ed25519 %s\n", mark(d.Trusted), d.DeviceID, this, d.Ed25519)
			}
			holdsSSK := ss.cs != nil && ss.cs.SelfSigning != nil
			for _, d := range r.Devices {
				if !d.Trusted && r.Master != "" && holdsSSK {
					fmt.Fprintf(out, "Sign unsigned devices with: vouch verify device %s\n", d.DeviceID)
					break
				}
			}
			for _, d := range r.Devices {
				// The not-yet-trusted case above already said it.
				if d.DeviceID == ss.acct.DeviceID && !d.Trusted && r.Verified && !holdsSSK {
					fmt.Fprintf(out, "This device is not signed yet: run vouch verify device %s on a device that holds your self-signing key.\n", d.DeviceID)
				}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
