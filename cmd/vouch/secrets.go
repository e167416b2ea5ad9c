package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/client/keybackup"
	"vouch/client/secrets"
	"vouch/ssss"
)

// credFlags are the ways to unlock secret storage on the command line.
type credFlags struct {
	recoveryKey string
	passphrase  string
}

func (f *credFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.recoveryKey, "recovery-key", "", "recovery key of secret storage (env VOUCH_RECOVERY_KEY; visible to other local users in the process list)")
	cmd.Flags().StringVar(&f.passphrase, "passphrase", "", "secret storage passphrase (env VOUCH_PASSPHRASE; visible in the process list)")
}

// credential returns what the user gave: flags first, then the
// environment. ok is false when nothing was given.
func (f *credFlags) credential() (secrets.Credential, bool, error) {
	rk, pp := f.recoveryKey, f.passphrase
	if rk == "" && pp == "" {
		rk, pp = os.Getenv("VOUCH_RECOVERY_KEY"), os.Getenv("VOUCH_PASSPHRASE")
	}
	switch {
	case rk != "" && pp != "":
		return secrets.Credential{}, false, failf("give either --recovery-key or --passphrase, not both")
	case rk != "":
		return secrets.Credential{RecoveryKey: rk}, true, nil
	case pp != "":
		return secrets.Credential{Passphrase: pp}, true, nil
	}
	return secrets.Credential{}, false, nil
}

// accountDir is the directory of the session's state, where the local
// secrets cache and the migration checkpoint live.
func (ss *session) accountDir() string { return filepath.Dir(ss.st.Path()) }

// secretsStore returns the account's secret storage.
func (ss *session) secretsStore() (*secrets.Store, error) {
	st, err := secrets.New(ss.c, ss.acct.UserID)
	if err != nil {
		return nil, failf("%v", err)
	}
	return st, nil
}

// localSecrets loads the device's secrets cache.
func (ss *session) localSecrets() (*secrets.Local, error) {
	l, err := secrets.LoadLocal(ss.accountDir())
	if err != nil {
		return nil, failf("%v", err)
	}
	return l, nil
}

// openSSSS opens secret storage and this device's secrets cache, and unlocks
// the default key (see unlockSSSS). It serves vouch secrets recover and vouch
// backup create.
func (ss *session) openSSSS(ctx context.Context, cf *credFlags) (*secrets.Store, *secrets.Local, *secrets.Key, error) {
	st, err := ss.secretsStore()
	if err != nil {
		return nil, nil, nil, err
	}
	local, err := ss.localSecrets()
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ss.unlockSSSS(ctx, st, local, cf)
	if err != nil {
		return nil, nil, nil, err
	}
	return st, local, key, nil
}

// unlockSSSS unlocks the default secret storage key with the credential
// the user gave, else with the key cached on this device.
func (ss *session) unlockSSSS(ctx context.Context, st *secrets.Store, local *secrets.Local, cf *credFlags) (*secrets.Key, error) {
	cred, given, err := cf.credential()
	if err != nil {
		return nil, err
	}
	if !given {
		def, err := st.DefaultKeyID(ctx)
		if err != nil {
			return nil, explainSecretsErr(err, ss.acct.Homeserver)
		}
		cached := local.SSSS()
		if cached == nil {
			return nil, failf("secret storage is locked on this device: give --recovery-key KEY or --passphrase P (or set VOUCH_RECOVERY_KEY)")
		}
		if def != cached.ID {
			return nil, failf("the default secret storage key changed since this device cached it; give --recovery-key KEY")
		}
		cred = secrets.Credential{Key: cached.Raw}
	}
	key, err := st.Unlock(ctx, "", cred)
	if err != nil {
		return nil, explainSecretsErr(err, ss.acct.Homeserver)
	}
	return key, nil
}

// explainSecretsErr turns secret storage errors into messages that say
// what to do next.
func explainSecretsErr(err error, server string) error {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return err
	case errors.Is(err, secrets.ErrNoDefaultKey):
		return failf("secret storage is not set up for this account; run `vouch secrets setup` on a device that holds your cross-signing keys")
	case errors.Is(err, ssss.ErrWrongKey):
		return failf("wrong recovery key or passphrase for secret storage")
	case errors.Is(err, ssss.ErrRecoveryKeyParity):
		return failf("the recovery key has a typo (parity check failed); check it and try again")
	case errors.Is(err, ssss.ErrRecoveryKeyPrefix), errors.Is(err, ssss.ErrRecoveryKeyLength), errors.Is(err, ssss.ErrRecoveryKeyCharacter):
		return failf("that is not a recovery key (%v); it looks like 'EsTc 1234 ...' in groups of four", err)
	case errors.Is(err, secrets.ErrNoPassphrase):
		return failf("this secret storage key was not made from a passphrase; use --recovery-key")
	case errors.Is(err, ssss.ErrMACMismatch):
		return failf("a secret in secret storage failed its integrity check (tampered, or written with another key): %v", err)
	case errors.Is(err, secrets.ErrKeyMismatch):
		return failf("refusing the cross-signing keys in secret storage: %v; they are stale or were planted — do not trust them; if your identity was reset, run `vouch secrets setup --force` from a device that holds the current keys", err)
	case errors.Is(err, secrets.ErrNoIdentity):
		return failf("your account has no published cross-signing identity; run `vouch bootstrap` first")
	}
	return explainErr(err, server)
}

func newSecretsCmd(s stdio) *cobra.Command {
	c := &cobra.Command{
		Use:   "secrets",
		Short: "Secret storage (SSSS) on your account: set up, list, recover",
		Long: `Secret storage keeps your cross-signing private keys and key-backup keys on
the server, encrypted with a key only you hold (shown once as a recovery
key, or derived from a passphrase). A new device recovers them with that
key; nothing is readable by the server.`,
	}
	c.AddCommand(newSecretsSetupCmd(s), newSecretsShowNamesCmd(s), newSecretsRecoverCmd(s))
	return c
}

func newSecretsSetupCmd(s stdio) *cobra.Command {
	var (
		f          accountFlags
		passphrase string
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create the default secret storage key and store your cross-signing keys in it",
		Long: `Create a new default secret storage key (random, or from --passphrase with
PBKDF2-SHA-512 and 500,000 iterations), print its recovery key ONCE, and
store the cross-signing private keys this device holds in secret storage.
The key is also cached on this device (0600, next to the account state) so
that vouch backup create can store the backup keys without asking again.

Refused when secret storage already has a default key, unless --force
(secrets stored under the old key stay readable only with the old key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if ss.cs == nil || ss.cs.Master == nil {
				return failf("this device holds no cross-signing keys to store; run `vouch bootstrap` first, or `vouch secrets recover` if secret storage already exists")
			}
			if passphrase == "" {
				passphrase = os.Getenv("VOUCH_PASSPHRASE")
			}
			st, err := ss.secretsStore()
			if err != nil {
				return err
			}
			local, err := ss.localSecrets()
			if err != nil {
				return err
			}
			key, err := st.CreateDefaultKey(ctx, secrets.CreateOptions{Passphrase: passphrase, Replace: force, Rand: rand.Reader})
			if errors.Is(err, secrets.ErrDefaultKeyExists) {
				return failf("secret storage is already set up (%v); recover it on this device with `vouch secrets recover --recovery-key KEY`, or replace it with --force", err)
			}
			if err != nil {
				return ss.explain(err)
			}
			local.SSSSKeyID, local.SSSSKey = key.ID, key.Raw
			if err := secrets.SaveLocal(ss.accountDir(), local); err != nil {
				return failf("%v", err)
			}
			written, err := st.StoreCrossSigning(ctx, key, ss.cs, rand.Reader)
			if err != nil {
				return ss.explain(err)
			}
			// Backup keys this device knows move to the new key too, so a
			// replaced default key does not strand them under the old one.
			for _, e := range []struct{ name, value string }{
				{ssss.SecretMegolmBackup, local.BackupKey},
				{ssss.SecretKeyBackupSigning, local.BackupSigningKey},
			} {
				if e.value == "" {
					continue
				}
				if err := st.Put(ctx, key, e.name, e.value, rand.Reader); err != nil {
					return ss.explain(err)
				}
				written = append(written, e.name)
			}
			rk, err := key.RecoveryKey()
			if err != nil {
				return failf("%v", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Secret storage key %s created and made the default.\n", key.ID)
			fmt.Fprintf(out, "Recovery key (shown only this once; write it down and keep it safe):\n\n    %s\n\n", rk)
			fmt.Fprintf(out, "Stored in secret storage: %s\n", strings.Join(written, ", "))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&passphrase, "passphrase", "", "derive the key from this passphrase instead of at random (env VOUCH_PASSPHRASE)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing default key")
	return cmd
}

func newSecretsShowNamesCmd(s stdio) *cobra.Command {
	var (
		f       accountFlags
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "show-names",
		Short: "List the secrets stored and the keys they are encrypted with (never their values)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			st, err := ss.secretsStore()
			if err != nil {
				return err
			}
			l, err := st.List(ctx)
			if err != nil {
				return ss.explain(err)
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				return printJSON(out, l)
			}
			writeListing(out, l)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

// writeListing prints a secret storage listing for people.
func writeListing(w io.Writer, l *secrets.Listing) {
	if l.DefaultKey == "" {
		fmt.Fprintln(w, "No default secret storage key (run vouch secrets setup).")
	}
	for _, k := range l.Keys {
		var notes []string
		if k.Default {
			notes = append(notes, "default")
		}
		if k.Passphrase {
			notes = append(notes, "passphrase")
		}
		if k.Missing {
			notes = append(notes, "description missing")
		}
		if k.Name != "" {
			notes = append(notes, fmt.Sprintf("name %q", k.Name))
		}
		fmt.Fprintf(w, "key %s", k.ID)
		if len(notes) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(notes, ", "))
		}
		fmt.Fprintln(w)
	}
	if len(l.Secrets) == 0 {
		fmt.Fprintln(w, "No secrets stored.")
	}
	for _, s := range l.Secrets {
		fmt.Fprintf(w, "%s: %s\n", s.Name, strings.Join(s.KeyIDs, ", "))
	}
}

func newSecretsRecoverCmd(s stdio) *cobra.Command {
	var (
		f  accountFlags
		cf credFlags
	)
	cmd := &cobra.Command{
		Use:   "recover --recovery-key KEY | --passphrase P",
		Short: "Unlock secret storage on this device and import your cross-signing keys",
		Long: `Unlock secret storage with the recovery key (or passphrase), read the
cross-signing private keys, check each against the public keys your account
publishes (a key that does not match is refused, and nothing is imported),
save them in this account's state and trust their master key as your own.
The key-backup keys, when stored, are cached on this device for vouch backup.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if _, given, err := cf.credential(); err != nil {
				return err
			} else if !given {
				return failf("give --recovery-key KEY or --passphrase P (or set VOUCH_RECOVERY_KEY)")
			}
			st, local, key, err := ss.openSSSS(ctx, &cf)
			if err != nil {
				return err
			}
			pub, _, err := secrets.FetchOwnKeys(ctx, ss.c, ss.acct.UserID)
			if err != nil {
				return ss.explain(err)
			}
			rec, err := st.RecoverCrossSigning(ctx, key, pub)
			if err != nil {
				return explainSecretsErr(err, ss.acct.Homeserver)
			}
			if err := secrets.ImportCrossSigning(ctx, ss.st, rec); err != nil {
				return failf("%v", err)
			}
			local.SSSSKeyID, local.SSSSKey = key.ID, key.Raw
			bk, hasSigning, err := keybackup.LoadKeys(ctx, st, key)
			switch {
			case err == nil:
				local.BackupKey = bk.Private.Encode()
				if hasSigning {
					local.BackupSigningKey = bk.Signing.Encode()
				}
			case errors.Is(err, secrets.ErrSecretNotFound):
			default:
				return explainSecretsErr(err, ss.acct.Homeserver)
			}
			if err := secrets.SaveLocal(ss.accountDir(), local); err != nil {
				return failf("%v", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Recovered the cross-signing keys of %s; master key %s is now trusted as yours.\n",
				ss.acct.UserID, client.FormatFingerprint(rec.Master))
			if len(rec.Missing) > 0 {
				fmt.Fprintf(out, "Not in secret storage: %s\n", strings.Join(rec.Missing, ", "))
			}
			if local.BackupKey != "" {
				fmt.Fprintln(out, "The key-backup keys are available: see vouch backup status.")
			}
			if ss.dev != nil && rec.Keys.SelfSigning != nil {
				fmt.Fprintf(out, "Sign this device with: vouch verify device %s\n", ss.acct.DeviceID)
			}
			return nil
		},
	}
	f.add(cmd)
	cf.add(cmd)
	return cmd
}
