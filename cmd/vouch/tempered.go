package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"vouch/trust"
	"vouch/trust/tempered"
)

// readPolicy reads and parses a plaintext transitive-trust policy from path
// ("-" is stdin).
func readPolicy(in io.Reader, path string) (tempered.Policy, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(in, tempered.MaxPolicySize+1))
	} else {
		var f *os.File
		if f, err = os.Open(path); err == nil {
			b, err = io.ReadAll(io.LimitReader(f, tempered.MaxPolicySize+1))
			f.Close()
		}
	}
	name := path
	if path == "-" {
		name = "stdin"
	}
	if err != nil {
		return tempered.Policy{}, failf("reading %s: %v", name, err)
	}
	p, err := tempered.Parse(b)
	if err != nil {
		return tempered.Policy{}, failf("policy from %s: %v", name, err)
	}
	return p, nil
}

// transitiveJSON is the interface of `vouch trust transitive --json`: at
// least user_id, trusted, path and reason.
func transitiveJSON(userID string, d trust.Decision, st tempered.Stats, problems []string) map[string]any {
	m := map[string]any{
		"user_id": userID, "trusted": d.Trusted, "path": nonNil(d.Path), "reason": d.Reason,
		"verifications": st.Verifications,
	}
	if len(problems) > 0 {
		m["problems"] = problems
	}
	return m
}

func printTransitive(w io.Writer, userID string, d trust.Decision, problems []string) {
	state := "NOT trusted"
	if d.Trusted {
		state = "trusted"
	}
	fmt.Fprintf(w, "%s %s: %s\n", mark(d.Trusted), userID, state)
	fmt.Fprintf(w, "  reason: %s\n", d.Reason)
	if len(d.Path) > 0 {
		steps := make([]string, len(d.Path))
		for i, s := range d.Path {
			steps[i] = s.String()
		}
		label := "path"
		if !d.Trusted {
			label = "path, as far as it goes"
		}
		fmt.Fprintf(w, "  %s: %s\n", label, strings.Join(steps, " → "))
	}
	for _, p := range problems {
		fmt.Fprintf(w, "  warning: %s\n", p)
	}
}

func newTrustTransitiveCmd(_ stdio) *cobra.Command {
	var policyFile, keysFile, viewer, master string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "transitive TARGET",
		Short: "Decide offline whether TARGET is vouched for under a transitive-trust policy (MSC2882)",
		Long: `Evaluate a plaintext transitive-trust policy (MSC2882, the content of
org.matrix.msc2882.trust.transitive once decrypted) against a saved
/keys/query response, from --viewer's point of view.

TARGET is trusted when you verified them directly, or when a voucher of the
policy that you verified publicly signed their master key with their public
user-signing key (or, with "depth" above 1, through a chain of public
user-signing keys), with TARGET inside the voucher's "for" and not in its
"except". Public user-signing keys are read from the response's
"public_user_signing_keys".

Nothing is fetched or stored. --json prints {"user_id", "trusted", "path",
"reason", ...}; the exit code is 0 whatever the verdict.`,
		Example: `  vouch trust transitive --policy policy.json --keys query.json --viewer @me:example.org @carol:example.org
  vouch trust transitive --policy policy.json --keys - --viewer @me:example.org @carol:example.org --json < query.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			if err := checkUserArg(target); err != nil {
				return err
			}
			if policyFile == "" || keysFile == "" || viewer == "" {
				return failf("--policy, --keys and --viewer are required")
			}
			if err := checkUserArg(viewer); err != nil {
				return failf("--viewer: %v", err)
			}
			if policyFile == "-" && keysFile == "-" {
				return failf("--policy and --keys cannot both be read from stdin")
			}
			p, err := readPolicy(cmd.InOrStdin(), policyFile)
			if err != nil {
				return err
			}
			resp, pusk, err := readKeysQuery(cmd.InOrStdin(), keysFile)
			if err != nil {
				return err
			}
			uks, problems := graphUsers(resp, pusk, usersInResponse(resp, pusk))
			v := offlineViewer(resp, uks, viewer, master)
			d, st := tempered.Evaluator{}.Evaluate(v, p, uks, target)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), transitiveJSON(target, d, st, problems))
			}
			printTransitive(cmd.OutOrStdout(), target, d, problems)
			return nil
		},
	}
	cmd.Flags().StringVar(&policyFile, "policy", "", `plaintext policy JSON (FILE, or "-" for stdin)`)
	cmd.Flags().StringVar(&keysFile, "keys", "", `saved /keys/query response (FILE, or "-" for stdin)`)
	cmd.Flags().StringVar(&viewer, "viewer", "", "whose view to decide from, e.g. @me:example.org")
	cmd.Flags().StringVar(&master, "master", "", "the viewer's trusted master key (default: as published in --keys)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"user_id","trusted","path","reason",...} as JSON`)
	return cmd
}

func newTrustPolicyCmd(_ stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with transitive-trust policies (MSC2882)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a transitive-trust policy and print its canonical form",
		Long: `Read a plaintext transitive-trust policy from FILE (stdin when absent),
check it strictly (user IDs, patterns "@user:server", "*:server" or "*",
no duplicates, depth 1 to 3) and print it as canonical JSON, with the
default depth written out and unknown members kept. Exits 1 with the reason
when the policy is invalid.

The format:
  {"vouchers": {"@alice:example.com": {
      "for": ["@carol:matrix.org", "*:example.org"],
      "except": ["@dave:example.org"],
      "depth": 1}}}`,
		Example: `  vouch trust policy check policy.json
  echo '{"vouchers":{"@alice:example.com":{"for":["*:example.org"]}}}' | vouch trust policy check`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "-"
			if len(args) == 1 {
				path = args[0]
			}
			p, err := readPolicy(cmd.InOrStdin(), path)
			if err != nil {
				return err
			}
			b, err := p.Marshal()
			if err != nil {
				return failf("policy %s: %v", path, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
			return err
		},
	})
	return cmd
}
