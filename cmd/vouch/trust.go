package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/trust"
)

// trustJSON is the fixed interface of `vouch trust USER --json`: at least
// user_id, verified, path and reason.
func trustJSON(userID string, verified bool, d trust.Decision) map[string]any {
	path := d.Path
	if path == nil {
		path = []trust.Step{}
	}
	return map[string]any{"user_id": userID, "verified": verified, "path": path, "reason": d.Reason}
}

// userJSON is trustJSON plus the rest of a user report.
func userJSON(r *client.UserReport) map[string]any {
	m := trustJSON(r.UserID, r.Verified, r.Decision)
	m["master_key"] = r.Master
	m["fingerprint"] = r.Fingerprint
	m["needs_approval"] = r.NeedsApproval
	m["identity_changed"] = r.NeedsApproval || r.Pin.Changed
	if r.Change.Kind == trust.IdentityChanged || r.Change.Kind == trust.IdentityRemoved {
		m["change"] = r.Change
	}
	if r.Migration != nil {
		m["migration"] = r.Migration
	}
	devs := make([]map[string]any, 0, len(r.Devices))
	for _, d := range r.Devices {
		devs = append(devs, map[string]any{
			"device_id": d.DeviceID, "ed25519": d.Ed25519, "trusted": d.Trusted,
			"path": nonNil(d.Decision.Path), "reason": d.Decision.Reason,
		})
	}
	m["devices"] = devs
	if len(r.Problems) > 0 {
		m["problems"] = r.Problems
	}
	return m
}

func nonNil(p []trust.Step) []trust.Step {
	if p == nil {
		return []trust.Step{}
	}
	return p
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// printUserReport renders a user report for people.
func printUserReport(w io.Writer, r *client.UserReport, showPath bool) {
	state := "NOT verified"
	if r.Verified {
		state = "verified"
	}
	fmt.Fprintf(w, "%s %s: %s\n", mark(r.Verified), r.UserID, state)
	if r.Master != "" {
		fmt.Fprintf(w, "  fingerprint: %s\n", r.Fingerprint)
	}
	fmt.Fprintf(w, "  reason: %s\n", r.Decision.Reason)
	if showPath && len(r.Decision.Path) > 0 {
		steps := make([]string, len(r.Decision.Path))
		for i, s := range r.Decision.Path {
			steps[i] = s.String()
		}
		label := "path"
		if !r.Verified {
			// The steps that hold, up to where the chain breaks.
			label = "path, as far as it goes"
		}
		fmt.Fprintf(w, "  %s: %s\n", label, strings.Join(steps, " → "))
	}
	if r.NeedsApproval {
		fmt.Fprintf(w, "  ! identity changed: was %s, now %s\n", client.FormatFingerprint(r.Pin.Master), r.Fingerprint)
		fmt.Fprintf(w, "    approve with: vouch identity approve %s [--fingerprint FP]\n", r.UserID)
	}
	if r.Migration != nil {
		fmt.Fprintf(w, "  can be verified from a device you verified: vouch verify user %s --from-device\n", r.UserID)
	}
	for _, d := range r.Devices {
		fmt.Fprintf(w, "  %s device %s (ed25519 %s)\n", mark(d.Trusted), d.DeviceID, d.Ed25519)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  warning: %s\n", p)
	}
}

// fetchUserReport checks userID, then fetches and judges that user's keys
// from the logged-in account named by f (pinning a first master key). It
// serves vouch keys and vouch trust, which differ only in what they print.
func fetchUserReport(cmd *cobra.Command, f *accountFlags, s stdio, userID string) (*client.UserReport, error) {
	if err := checkUserArg(userID); err != nil {
		return nil, err
	}
	ctx := cmd.Context()
	ss, err := openSession(ctx, f, s)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	tv, err := ss.view(ctx, userID)
	if err != nil {
		return nil, err
	}
	return tv.Users[userID], nil
}

func newTrustCmd(s stdio) *cobra.Command {
	var f accountFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trust USER",
		Short: "Say whether USER is verified, and the chain of signatures behind it",
		Long: `Fetch USER's keys and decide whether you trust their identity: your master
key → your user-signing key → their master key, each link a signature that
verifies. Shows the path, the reason, identity changes waiting for your
approval, and which of their devices you trust.

--json prints {"user_id", "verified", "path", "reason", ...}; the exit code
is 0 whatever the verdict (the verdict is the output).`,
		Example: `  vouch trust @bob:localhost
  vouch trust @bob:localhost --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := fetchUserReport(cmd, &f, s, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), userJSON(r))
			}
			printUserReport(cmd.OutOrStdout(), r, true)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"user_id","verified","path","reason",...} as JSON`)
	cmd.AddCommand(newTrustGraphCmd(s))                            // user IDs start with '@', so no USER is "graph"
	cmd.AddCommand(newTrustTransitiveCmd(s), newTrustPolicyCmd(s)) // MSC2882: trust/tempered
	return cmd
}
