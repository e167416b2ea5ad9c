package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/client/secrets"
	"vouch/signedjson"
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

// printPolicy writes the policy's canonical JSON and a newline.
func printPolicy(w io.Writer, p tempered.Policy) error {
	b, err := p.Marshal()
	if err != nil {
		return failf("policy: %v", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
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

func newTrustTransitiveCmd(s stdio) *cobra.Command {
	var policyFile, keysFile, viewer, master string
	var asJSON bool
	var f accountFlags
	var cf credFlags
	cmd := &cobra.Command{
		Use:   "transitive TARGET",
		Short: "Decide whether TARGET is vouched for under a transitive-trust policy (MSC2882)",
		Long: `Evaluate a transitive-trust policy (MSC2882, the content of
org.matrix.msc2882.trust.transitive once decrypted) and say whether TARGET
is trusted.

TARGET is trusted when you verified them directly, or when a voucher of the
policy that you verified publicly signed their master key with their public
user-signing key (or, with "depth" above 1, through a chain of public
user-signing keys), with TARGET inside the voucher's "for" and not in its
"except".

Online (default, logged in): the viewer is you, anchored at the master key
this device trusts as yours; the policy is the one stored in your account
(sealed with secret storage: unlocked with the key cached on this device, or
--recovery-key / --passphrase), or --policy FILE; the keys are fetched from
the server: you, TARGET and the vouchers, then, once per level of depth,
whoever signs the master or public user-signing keys fetched so far (at
most ` + fmt.Sprint(maxTransitiveUsers) + ` users in all).

Offline (--keys FILE, a saved /keys/query response, with --policy and
--viewer): nothing is fetched or stored; public user-signing keys are read
from the response's "public_user_signing_keys".

--json prints {"user_id", "trusted", "path", "reason", ...}; the exit code
is 0 whatever the verdict.`,
		Example: `  vouch trust transitive @carol:example.org
  vouch trust transitive --policy policy.json --keys query.json --viewer @me:example.org @carol:example.org
  vouch trust transitive --policy policy.json --keys - --viewer @me:example.org @carol:example.org --json < query.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			if err := checkUserArg(target); err != nil {
				return err
			}
			if keysFile == "" {
				if viewer != "" || master != "" {
					return failf("--viewer and --master go with --keys (offline); online the viewer is you")
				}
				return transitiveOnline(cmd, s, &f, &cf, policyFile, target, asJSON)
			}
			if policyFile == "" || viewer == "" {
				return failf("--keys (offline) needs --policy and --viewer too")
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
	f.add(cmd)
	cf.add(cmd)
	cmd.Flags().StringVar(&policyFile, "policy", "", `plaintext policy JSON (FILE, or "-" for stdin); online, instead of the stored one`)
	cmd.Flags().StringVar(&keysFile, "keys", "", `offline: saved /keys/query response (FILE, or "-" for stdin)`)
	cmd.Flags().StringVar(&viewer, "viewer", "", "offline: whose view to decide from, e.g. @me:example.org")
	cmd.Flags().StringVar(&master, "master", "", "offline: the viewer's trusted master key (default: as published in --keys)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"user_id","trusted","path","reason",...} as JSON`)
	return cmd
}

// maxTransitiveUsers bounds the users an online transitive-trust decision
// fetches keys for.
const maxTransitiveUsers = 1000

// transitiveOnline decides target from the logged-in account's view.
func transitiveOnline(cmd *cobra.Command, s stdio, f *accountFlags, cf *credFlags, policyFile, target string, asJSON bool) error {
	ctx := cmd.Context()
	ss, err := openSession(ctx, f, s)
	if err != nil {
		return err
	}
	defer ss.close()
	me := ss.acct.UserID
	own, err := ss.st.OwnMaster(ctx)
	if err != nil {
		return failf("%v", err)
	}
	if own == "" {
		return failf("this device does not trust an identity of yours yet: run `vouch bootstrap` or `vouch verify user %s --fingerprint FP`", me)
	}
	var p tempered.Policy
	if policyFile != "" {
		if p, err = readPolicy(cmd.InOrStdin(), policyFile); err != nil {
			return err
		}
	} else if p, err = storedPolicy(ctx, ss, cf); err != nil {
		return err
	}
	resp, err := fetchTransitiveKeys(ctx, ss, p, me, target)
	if err != nil {
		return err
	}
	uks, problems := graphUsers(resp, resp.PublicUserSigningKeys, usersInResponse(resp, resp.PublicUserSigningKeys))
	v := offlineViewer(resp, uks, me, own)
	d, st := tempered.Evaluator{}.Evaluate(v, p, uks, target)
	if asJSON {
		return printJSON(cmd.OutOrStdout(), transitiveJSON(target, d, st, problems))
	}
	printTransitive(cmd.OutOrStdout(), target, d, problems)
	return nil
}

// fetchTransitiveKeys queries the viewer, the target and the policy's
// vouchers, then, once per level of the deepest rule, every user who signs
// a master or public user-signing key fetched so far, up to
// maxTransitiveUsers users, and returns the merged answer.
func fetchTransitiveKeys(ctx context.Context, ss *session, p tempered.Policy, me, target string) (*client.KeysQueryResponse, error) {
	depth := 0
	next := []string{me, target}
	for v, r := range p.Vouchers {
		next = append(next, v)
		depth = max(depth, r.EffectiveDepth())
	}
	merged := &client.KeysQueryResponse{
		DeviceKeys: map[string]map[string]json.RawMessage{}, MasterKeys: map[string]json.RawMessage{},
		SelfSigningKeys: map[string]json.RawMessage{}, UserSigningKeys: map[string]json.RawMessage{},
		PublicUserSigningKeys: map[string]json.RawMessage{},
	}
	fetched := map[string]bool{}
	for round := 0; round <= depth && len(next) > 0; round++ {
		var batch []string
		for _, u := range next {
			if !fetched[u] && len(fetched) < maxTransitiveUsers {
				fetched[u] = true
				batch = append(batch, u)
			}
		}
		if len(batch) == 0 {
			break
		}
		slices.Sort(batch)
		resp, err := ss.c.QueryKeys(ctx, batch...)
		if err != nil {
			return nil, ss.explain(err)
		}
		maps.Copy(merged.DeviceKeys, resp.DeviceKeys)
		maps.Copy(merged.MasterKeys, resp.MasterKeys)
		maps.Copy(merged.SelfSigningKeys, resp.SelfSigningKeys)
		maps.Copy(merged.UserSigningKeys, resp.UserSigningKeys)
		maps.Copy(merged.PublicUserSigningKeys, resp.PublicUserSigningKeys)
		next = next[:0]
		for _, u := range batch {
			for _, raw := range []json.RawMessage{resp.MasterKeys[u], resp.PublicUserSigningKeys[u]} {
				if raw == nil {
					continue
				}
				sigs, err := signedjson.SignaturesOf(raw)
				if err != nil {
					continue // graphUsers reports the malformed key
				}
				for signer := range sigs {
					if signer != u && !fetched[signer] {
						next = append(next, signer)
					}
				}
			}
		}
	}
	return merged, nil
}

// storedPolicy reads the account's sealed policy and opens it with the
// secret storage key.
func storedPolicy(ctx context.Context, ss *session, cf *credFlags) (tempered.Policy, error) {
	var content json.RawMessage
	err := ss.c.GetAccountData(ctx, ss.acct.UserID, tempered.EventType, &content)
	if client.IsCode(err, client.CodeNotFound) {
		return tempered.Policy{}, failf("no transitive-trust policy is stored in your account: store one with `vouch trust policy set FILE`, or give --policy FILE")
	}
	if err != nil {
		return tempered.Policy{}, ss.explain(err)
	}
	st, local, err := ss.secretsAndLocal()
	if err != nil {
		return tempered.Policy{}, err
	}
	key, err := ss.unlockSSSS(ctx, st, local, cf)
	if err != nil {
		return tempered.Policy{}, err
	}
	p, err := tempered.Open(content, key.Raw, key.ID)
	if errors.Is(err, tempered.ErrSealed) {
		return tempered.Policy{}, failf("the stored transitive-trust policy does not open with your secret storage key %s: it was changed, or sealed with another key (%v)", key.ID, err)
	}
	if err != nil {
		return tempered.Policy{}, failf("the stored transitive-trust policy: %v", err)
	}
	return p, nil
}

// secretsAndLocal opens secret storage and this device's secrets cache.
func (ss *session) secretsAndLocal() (*secrets.Store, *secrets.Local, error) {
	st, err := ss.secretsStore()
	if err != nil {
		return nil, nil, err
	}
	local, err := ss.localSecrets()
	if err != nil {
		return nil, nil, err
	}
	return st, local, nil
}

func newTrustPolicyCmd(s stdio) *cobra.Command {
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
			return printPolicy(cmd.OutOrStdout(), p)
		},
	})
	cmd.AddCommand(newTrustPolicySetCmd(s), newTrustPolicyShowCmd(s))
	return cmd
}

func newTrustPolicySetCmd(s stdio) *cobra.Command {
	var f accountFlags
	var cf credFlags
	cmd := &cobra.Command{
		Use:   "set [FILE]",
		Short: "Store a transitive-trust policy in your account, sealed with secret storage",
		Long: `Check a plaintext transitive-trust policy (FILE, stdin when absent) as
vouch trust policy check does, seal it with your default secret storage key
(unlocked with the key cached on this device, or --recovery-key /
--passphrase) and store it as the account data
org.matrix.msc2882.trust.transitive, replacing any previous one. The server
sees only ciphertext: nobody else learns whom you trust, and nobody without
the key can change it. Prints the stored policy.`,
		Example: `  vouch trust policy set policy.json`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "-"
			if len(args) == 1 {
				path = args[0]
			}
			p, err := readPolicy(cmd.InOrStdin(), path)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			st, local, err := ss.secretsAndLocal()
			if err != nil {
				return err
			}
			key, err := ss.unlockSSSS(ctx, st, local, &cf)
			if err != nil {
				return err
			}
			sealed, err := tempered.Seal(p, key.Raw, key.ID)
			if err != nil {
				return failf("sealing the policy: %v", err)
			}
			if err := ss.c.PutAccountData(ctx, ss.acct.UserID, tempered.EventType, json.RawMessage(sealed)); err != nil {
				return ss.explain(err)
			}
			return printPolicy(cmd.OutOrStdout(), p)
		},
	}
	f.add(cmd)
	cf.add(cmd)
	return cmd
}

func newTrustPolicyShowCmd(s stdio) *cobra.Command {
	var f accountFlags
	var cf credFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the transitive-trust policy stored in your account",
		Long: `Read the sealed policy from your account data, check its MAC and decrypt
it with your default secret storage key (cached on this device, or
--recovery-key / --passphrase), and print it as canonical JSON. Fails when
there is none, or when it does not open with your key (changed by someone
without the key, or sealed with another one).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			p, err := storedPolicy(ctx, ss, &cf)
			if err != nil {
				return err
			}
			return printPolicy(cmd.OutOrStdout(), p)
		},
	}
	f.add(cmd)
	cf.add(cmd)
	return cmd
}
