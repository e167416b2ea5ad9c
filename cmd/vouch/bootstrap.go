package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/client/device"
)

func newBootstrapCmd(s stdio) *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Create your cross-signing identity and sign this device with it",
		Long: `Create and publish your cross-signing identity: upload this device's keys,
create a master, a self-signing and a user-signing key, upload them (asking
for your password if the server wants user-interactive authentication),
sign this device with the self-signing key and the master key with this
device. The private keys are kept in this account's state (0600).

Prints your fingerprint: the master signing key, which others compare with
you out of band before running vouch verify user.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if ss.dev == nil {
				return failf("%v", errNoDevice)
			}
			res, err := ss.createIdentity(cmd, client.Bootstrap)
			if errors.Is(err, client.ErrIdentityExists) {
				return failf("%s already has a cross-signing identity; sign this device from a device that holds it (vouch verify device %s), or replace it with vouch identity reset --yes", ss.acct.UserID, ss.acct.DeviceID)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cross-signing identity created for %s; device %s is signed.\nYour fingerprint: %s\n",
				ss.acct.UserID, ss.acct.DeviceID, client.FormatFingerprint(res.Master))
			fmt.Fprintln(cmd.OutOrStdout(), "Next: read your fingerprint to the people who verify you; verify them with vouch verify user @them:server --fingerprint FP.")
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// createIdentity runs flow (client.Bootstrap or client.ResetIdentity) for
// this device, with progress on stderr and private keys saved in the
// account's state, then records the new master key as this account's own.
// It serves vouch bootstrap and vouch identity reset. A flow error comes back
// explained, except client.ErrIdentityExists, which comes back as it is.
func (ss *session) createIdentity(cmd *cobra.Command, flow func(context.Context, *client.Client, *device.Device, client.BootstrapOptions) (*client.BootstrapResult, error)) (*client.BootstrapResult, error) {
	ctx := cmd.Context()
	progress, endProgress := progressTo(cmd.ErrOrStderr())
	res, err := flow(ctx, ss.c, ss.dev, client.BootstrapOptions{
		Auth: ss.uia(), Rand: rand.Reader, Save: saver{ss.st}, Progress: progress,
	})
	endProgress()
	if errors.Is(err, client.ErrIdentityExists) {
		return nil, err
	}
	if err != nil {
		return nil, ss.explain(err)
	}
	if err := ss.st.SetOwnMaster(ctx, res.Master); err != nil {
		return nil, failf("%v", err)
	}
	return res, nil
}
