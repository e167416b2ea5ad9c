package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/client/state"
	"vouch/keys"
	"vouch/signedjson"
)

// The `vouch pusk` commands: the account's MSC2882 public user-signing key
// and the public signatures it makes (docs/msc2882.md, "Command line").

func newPuskCmd(s stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pusk",
		Short: "Your public user-signing key (MSC2882): vouch publicly for users you verified",
		Long: `A public user-signing key (MSC2882, "tempered transitive trust") signs
other users' master keys like your user-signing key does, but its
signatures are shown to everyone: people who trust you can then trust the
users you vouch for (see vouch trust transitive). Your private
user-signing signatures stay private; nothing here publishes them.

  vouch pusk create          make one, signed by your master key
  vouch pusk sign USER       vouch publicly for a user you verified
  vouch pusk unsign USER     withdraw that public signature
  vouch pusk show [USER]     your key, or the public signatures on USER`,
	}
	cmd.AddCommand(newPuskCreateCmd(s), newPuskSignCmd(s), newPuskUnsignCmd(s), newPuskShowCmd(s))
	return cmd
}

// puskOf returns the public user-signing private key this device holds,
// or nil.
func puskOf(ctx context.Context, st *state.Store) (ed25519.PrivateKey, error) {
	cs, err := st.CrossSigning(ctx)
	if errors.Is(err, state.ErrNotFound) || err == nil && cs.PublicUserSigning == nil {
		return nil, nil
	}
	if err != nil {
		return nil, failf("%v", err)
	}
	if len(cs.PublicUserSigning) != ed25519.SeedSize {
		return nil, failf("the public user-signing key in %s is damaged", st.Path())
	}
	return ed25519.NewKeyFromSeed(cs.PublicUserSigning), nil
}

// publishedKey parses userID's cross-signing key of one kind (what names
// it in messages) from a /keys/query map; k is nil when there is none.
func publishedKey(m map[string]json.RawMessage, userID, what string) (k *keys.CrossSigningKey, pub string, err error) {
	raw, ok := m[userID]
	if !ok {
		return nil, "", nil
	}
	if k, err = keys.ParseCrossSigningKey(raw); err == nil {
		_, pub, err = k.PublicKey()
	}
	if err != nil {
		return nil, "", failf("%s's %s on the server is malformed: %v", userID, what, err)
	}
	return k, pub, nil
}

// publishedPUSK returns userID's public user-signing key as the server
// publishes it ("" when none) and its raw object.
func publishedPUSK(resp *client.KeysQueryResponse, userID string) (string, json.RawMessage, error) {
	k, pub, err := publishedKey(resp.PublicUserSigningKeys, userID, "public user-signing key")
	if k == nil {
		return "", nil, err
	}
	return pub, k.Raw, nil
}

// publishedMaster returns userID's master key as the server publishes it,
// refusing its absence.
func publishedMaster(resp *client.KeysQueryResponse, userID string) (*keys.CrossSigningKey, string, error) {
	k, pub, err := publishedKey(resp.MasterKeys, userID, "master key")
	if err == nil && k == nil {
		err = failf("%s has no master key on the server", userID)
	}
	return k, pub, err
}

func newPuskCreateCmd(s stdio) *cobra.Command {
	var f accountFlags
	var replace bool
	cmd := &cobra.Command{
		Use:   "create [--replace]",
		Short: "Make a public user-signing key, sign it with your master key and upload it",
		Long: `Generate a public user-signing key, sign it with your master key (this
device must hold it: vouch bootstrap made it here, or vouch secrets recover
brings it from secret storage) and upload it. The private key is kept in
this account's state (0600), beside your other cross-signing keys.

--replace makes a new key when you already have one. The server then drops
every public signature made with the old key: sign those users again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			me := ss.acct.UserID
			if ss.cs == nil || ss.cs.Master == nil {
				return failf("this device does not hold your master key: run `vouch bootstrap` (new identity) or `vouch secrets recover` (from secret storage) first")
			}
			held, err := puskOf(ctx, ss.st)
			if err != nil {
				return err
			}
			resp, err := ss.c.QueryKeys(ctx, me)
			if err != nil {
				return ss.explain(err)
			}
			published, _, err := publishedPUSK(resp, me)
			if err != nil {
				return err
			}
			if (held != nil || published != "") && !replace {
				fp := published
				if fp == "" {
					fp = client.PublicKey(held)
				}
				return failf("you already have a public user-signing key (%s); --replace makes a new one and drops every public signature made with the old one", client.FormatFingerprint(fp))
			}
			pusk, err := ss.c.UploadPublicUserSigningKey(ctx, me, ss.cs.Master, rand.Reader)
			if err != nil {
				return ss.explain(err)
			}
			cs, err := ss.st.CrossSigning(ctx)
			if err != nil {
				return failf("%v", err)
			}
			cs.PublicUserSigning = pusk.Seed()
			if err := ss.st.SaveCrossSigning(ctx, cs); err != nil {
				return failf("uploaded a public user-signing key but could not keep its private key: %v; run vouch pusk create --replace", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Public user-signing key %s uploaded, signed by your master key.\nNext: vouch pusk sign USER for each user you verified and want to vouch for publicly.\n", client.FormatFingerprint(client.PublicKey(pusk)))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the existing key (its public signatures are dropped)")
	return cmd
}

// puskTarget checks that userID is someone this account verified, with an
// unchanged identity, and returns their master key object as the server
// publishes it now.
func puskTarget(ctx context.Context, ss *session, userID string) (json.RawMessage, string, error) {
	if userID == ss.acct.UserID {
		return nil, "", failf("your public user-signing key signs other users; your own master key signs it")
	}
	tv, err := ss.view(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	r := tv.Users[userID]
	switch {
	case r == nil || r.Master == "":
		return nil, "", failf("%s has no cross-signing identity on the server", userID)
	case r.NeedsApproval || r.Pin.Changed:
		return nil, "", failf("%s's identity changed since you last saw it; check it (vouch trust %s) before vouching for it", userID, userID)
	case !r.Verified:
		return nil, "", failf("%s is not verified by you; run `vouch verify user %s --fingerprint FP` first", userID, userID)
	}
	resp, err := ss.c.QueryKeys(ctx, userID)
	if err != nil {
		return nil, "", ss.explain(err)
	}
	k, pub, err := publishedMaster(resp, userID)
	if err != nil {
		return nil, "", err
	}
	if pub != r.Master {
		return nil, "", failf("%s's master key changed while vouch was checking it; try again", userID)
	}
	return k.Raw, pub, nil
}

func newPuskSignCmd(s stdio) *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "sign USER",
		Short: "Publish a signature by your public user-signing key over USER's master key",
		Long: `Sign USER's current master key with your public user-signing key and
publish the signature: everyone can see it, which is the point (MSC2882).
Only for a user you verified (vouch verify user) whose identity has not
changed since; anyone whose transitive-trust policy names you as a voucher
for USER's server may then trust USER.`,
		Example: `  vouch pusk sign @bob:example.org`,
		Args:    cobra.ExactArgs(1),
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
			pusk, err := puskOf(ctx, ss.st)
			if err != nil {
				return err
			}
			if pusk == nil {
				return failf("this device holds no public user-signing key; run `vouch pusk create` first")
			}
			raw, master, err := puskTarget(ctx, ss, userID)
			if err != nil {
				return err
			}
			if err := ss.c.PublishPublicSignature(ctx, ss.acct.UserID, pusk, raw); err != nil {
				return ss.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Published: your public user-signing key signs %s's master key %s.\n", userID, client.FormatFingerprint(master))
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newPuskUnsignCmd(s stdio) *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:     "unsign USER",
		Short:   "Withdraw your public signature over USER's master key",
		Example: `  vouch pusk unsign @bob:example.org`,
		Args:    cobra.ExactArgs(1),
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
			resp, err := ss.c.QueryKeys(ctx, ss.acct.UserID, userID)
			if err != nil {
				return ss.explain(err)
			}
			mine, _, err := publishedPUSK(resp, ss.acct.UserID)
			if err != nil {
				return err
			}
			if mine == "" {
				return failf("you have no public user-signing key, so no public signatures")
			}
			k, master, err := publishedMaster(resp, userID)
			if err != nil {
				return err
			}
			if _, signed := k.Signatures.Get(ss.acct.UserID, "ed25519:"+mine); !signed {
				return failf("your public user-signing key does not sign %s's master key", userID)
			}
			if err := ss.c.DeleteSignature(ctx, userID, master, "ed25519:"+mine); err != nil {
				return ss.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Withdrawn: your public signature over %s's master key %s.\n", userID, client.FormatFingerprint(master))
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// publicSignature is one public signature on a user's master key, as
// `vouch pusk show USER` reports it.
type publicSignature struct {
	Signer string `json:"signer"`
	Key    string `json:"key"`
	// Status is "valid" (it verifies against the signer's published public
	// user-signing key), "invalid", or "unknown key" (the key ID is not
	// the signer's current public user-signing key).
	Status string `json:"status"`
}

func newPuskShowCmd(s stdio) *cobra.Command {
	var f accountFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show [USER] [--json]",
		Short: "Show your public user-signing key, or the public signatures on USER's master key",
		Long: `Without USER: your public user-signing key as the server publishes it,
whether this device holds its private key, and whether your master key
signs it.

With USER: every signature on USER's master key by another user, checked
against that user's published public user-signing key: "valid", "invalid",
or "unknown key" (not the signer's current public user-signing key, for
instance a private user-signing signature you made yourself).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if len(args) == 1 {
				if err := checkUserArg(args[0]); err != nil {
					return err
				}
			}
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if len(args) == 1 {
				return showPublicSignatures(cmd, ss, args[0], asJSON)
			}
			return showOwnPUSK(cmd, ss, asJSON)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func showOwnPUSK(cmd *cobra.Command, ss *session, asJSON bool) error {
	ctx := cmd.Context()
	me := ss.acct.UserID
	resp, err := ss.c.QueryKeys(ctx, me)
	if err != nil {
		return ss.explain(err)
	}
	published, _, err := publishedPUSK(resp, me)
	if err != nil {
		return err
	}
	held, err := puskOf(ctx, ss.st)
	if err != nil {
		return err
	}
	heldHere := held != nil && client.PublicKey(held) == published
	signedByMaster := false
	if published != "" {
		pk, _, _ := publishedKey(resp.PublicUserSigningKeys, me, "public user-signing key")
		if m, _, err := publishedMaster(resp, me); err == nil && pk != nil {
			signedByMaster = pk.VerifySignedByMaster(m) == nil
		}
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), map[string]any{
			"user_id": me, "public_user_signing_key": published,
			"held_on_this_device": heldHere, "signed_by_master_key": signedByMaster,
		})
	}
	w := cmd.OutOrStdout()
	if published == "" {
		fmt.Fprintf(w, "%s has no public user-signing key. Make one with: vouch pusk create\n", me)
		return nil
	}
	fmt.Fprintf(w, "Public user-signing key of %s: %s\n", me, client.FormatFingerprint(published))
	fmt.Fprintf(w, "  signed by your master key: %s\n", yesNo(signedByMaster))
	fmt.Fprintf(w, "  private key on this device: %s\n", yesNo(heldHere))
	return nil
}

func showPublicSignatures(cmd *cobra.Command, ss *session, userID string, asJSON bool) error {
	ctx := cmd.Context()
	resp, err := ss.c.QueryKeys(ctx, userID)
	if err != nil {
		return ss.explain(err)
	}
	k, _, err := publishedMaster(resp, userID)
	if err != nil {
		return err
	}
	raw := k.Raw
	var signers []string
	for signer := range k.Signatures {
		if signer != userID {
			signers = append(signers, signer)
		}
	}
	sort.Strings(signers)
	puskOfSigner := map[string]string{}
	if len(signers) > 0 {
		sresp, err := ss.c.QueryKeys(ctx, signers...)
		if err != nil {
			return ss.explain(err)
		}
		for _, signer := range signers {
			if pub, _, err := publishedPUSK(sresp, signer); err == nil && pub != "" {
				puskOfSigner[signer] = pub
			}
		}
	}
	sigs := []publicSignature{}
	for _, signer := range signers {
		keyIDs := make([]string, 0, len(k.Signatures[signer]))
		for keyID := range k.Signatures[signer] {
			keyIDs = append(keyIDs, keyID)
		}
		sort.Strings(keyIDs)
		for _, keyID := range keyIDs {
			ps := publicSignature{Signer: signer, Key: strings.TrimPrefix(keyID, "ed25519:"), Status: "unknown key"}
			if pub := puskOfSigner[signer]; pub != "" && keyID == "ed25519:"+pub {
				ps.Status = "invalid"
				if pk, err := keys.DecodePublicKey(pub); err == nil && signedjson.Verify(raw, signer, keyID, pk) == nil {
					ps.Status = "valid"
				}
			}
			sigs = append(sigs, ps)
		}
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), map[string]any{"user_id": userID, "public_signatures": sigs})
	}
	w := cmd.OutOrStdout()
	if len(sigs) == 0 {
		fmt.Fprintf(w, "Nobody else signs %s's master key.\n", userID)
		return nil
	}
	fmt.Fprintf(w, "Signatures by others on %s's master key:\n", userID)
	for _, ps := range sigs {
		fmt.Fprintf(w, "  %s  %s  %s\n", ps.Signer, client.FormatFingerprint(ps.Key), ps.Status)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
