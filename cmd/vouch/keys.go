package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newKeysCmd(s stdio) *cobra.Command {
	var f accountFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keys USER",
		Short: "Show USER's identity, devices and which of them you trust",
		Long: `Fetch USER's published keys: their master signing key (fingerprint), their
devices with ed25519 and curve25519 keys, and for each whether you trust it.
The first master key seen for a user is pinned; a later change is shown
until you approve it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			userID := args[0]
			r, err := fetchUserReport(cmd, &f, s, userID)
			if err != nil {
				return err
			}
			if asJSON {
				m := userJSON(r)
				devs := m["devices"].([]map[string]any)
				for i, d := range r.Devices {
					devs[i]["curve25519"] = d.Curve25519
				}
				return printJSON(cmd.OutOrStdout(), m)
			}
			if r.Master == "" && len(r.Devices) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s has published no keys.\n", userID)
				return nil
			}
			printUserReport(cmd.OutOrStdout(), r, false)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
