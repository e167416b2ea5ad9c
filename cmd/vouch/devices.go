package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"vouch/client"
)

func newDevicesCmd(s stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List, rename or delete your devices",
	}
	cmd.AddCommand(newDevicesListCmd(s), newDevicesRenameCmd(s), newDevicesDeleteCmd(s))
	return cmd
}

func newDevicesListCmd(s stdio) *cobra.Command {
	var f accountFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List your devices with their names and whether they are signed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			devs, err := ss.c.Devices(ctx)
			if err != nil {
				return ss.explain(err)
			}
			tv, err := ss.view(ctx, ss.acct.UserID)
			if err != nil {
				return err
			}
			trusted := map[string]client.DeviceReport{}
			for _, d := range tv.Users[ss.acct.UserID].Devices {
				trusted[d.DeviceID] = d
			}
			out := cmd.OutOrStdout()
			if asJSON {
				list := make([]map[string]any, 0, len(devs))
				for _, d := range devs {
					r := trusted[d.DeviceID]
					list = append(list, map[string]any{
						"device_id": d.DeviceID, "display_name": d.DisplayName,
						"ed25519": r.Ed25519, "trusted": r.Trusted, "current": d.DeviceID == ss.acct.DeviceID,
					})
				}
				return printJSON(out, map[string]any{"devices": list})
			}
			for _, d := range devs {
				r := trusted[d.DeviceID]
				this := ""
				if d.DeviceID == ss.acct.DeviceID {
					this = " (this device)"
				}
				keysNote := ""
				if r.Ed25519 == "" {
					keysNote = " [no keys published]"
				}
				fmt.Fprintf(out, "%s %s %q%s%s\n", mark(r.Trusted), d.DeviceID, d.DisplayName, this, keysNote)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newDevicesRenameCmd(s stdio) *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "rename DEVICEID NAME",
		Short: "Set a device's display name",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkDeviceArg(args[0]); err != nil {
				return err
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if err := ss.c.RenameDevice(ctx, args[0], args[1]); err != nil {
				return ss.explainOwnDevice(err, args[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Device %s renamed to %q.\n", args[0], args[1])
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newDevicesDeleteCmd(s stdio) *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "delete DEVICEID",
		Short: "Delete a device (asks for your password)",
		Long: `Delete one of your devices: the server forgets its keys and logs it out,
and everyone tracking your keys is told. The server asks for your password
(VOUCH_PASSWORD or typed without echo).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkDeviceArg(args[0]); err != nil {
				return err
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if err := ss.c.DeleteDevice(ctx, args[0], ss.uia()); err != nil {
				return ss.explainOwnDevice(err, args[0])
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Device %s deleted.\n", args[0])
			if args[0] == ss.acct.DeviceID {
				if err := ss.st.ForgetLogin(ctx); err != nil {
					return failf("%v", err)
				}
				fmt.Fprintln(out, "That was this device: you are logged out.")
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// explainOwnDevice explains err from an operation on the user's device id
// (rename, delete): a device the server does not know gets its own message.
func (ss *session) explainOwnDevice(err error, id string) error {
	if client.IsCode(err, client.CodeNotFound) {
		return failf("you have no device %s; see vouch devices list", id)
	}
	return ss.explain(err)
}
