package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"vouch/backup"
	"vouch/client"
	"vouch/client/keybackup"
	"vouch/client/secrets"
)

// migrationCheckpointFile is the name of the backup migration checkpoint in
// the account's state directory.
const migrationCheckpointFile = "backup-migration.json"

// newBackupProgress returns a progress function drawing a 30-wide bar on w
// (see progressBar), left open at the end, and a function that ends an
// unfinished bar line.
func newBackupProgress(w io.Writer) (progress func(done, total int, what string), end func()) {
	b := newProgressBar(w, 30, false)
	return b.draw, b.end
}

// newBackupAccountCmds are the account-level key-backup commands, added to
// the vouch backup parent.
func newBackupAccountCmds(s stdio) []*cobra.Command {
	return []*cobra.Command{newBackupCreateCmd(s), newBackupStatusCmd(s), newBackupRestoreCmd(s), newBackupMigrateCmd(s)}
}

// backupAPI returns the account's key-backup API.
func (ss *session) backupAPI() (*keybackup.API, error) {
	a, err := keybackup.NewAPI(ss.c)
	if err != nil {
		return nil, failf("%v", err)
	}
	return a, nil
}

// backupAPIAndLocal is backupAPI and this device's secrets cache: what vouch
// backup status and vouch backup restore start from.
func (ss *session) backupAPIAndLocal() (*keybackup.API, *secrets.Local, error) {
	a, err := ss.backupAPI()
	if err != nil {
		return nil, nil, err
	}
	local, err := ss.localSecrets()
	if err != nil {
		return nil, nil, err
	}
	return a, local, nil
}

// explainBackupErr turns key-backup errors into messages that say what to
// do next.
func explainBackupErr(err error, server string) error {
	switch {
	case errors.Is(err, keybackup.ErrNoBackup):
		return failf("there is no key backup on the server; create one with `vouch backup create`")
	case errors.Is(err, keybackup.ErrAlreadySigned):
		return failf("%v; nothing to migrate", err)
	case errors.Is(err, keybackup.ErrUntrusted):
		return failf("%v; verify your identity on this device (vouch secrets recover) or create a new backup with vouch backup create --force", err)
	case errors.Is(err, backup.ErrWrongBackupKey):
		return failf("the backup key this device holds does not belong to this backup version; run `vouch secrets recover` to fetch the current one")
	case errors.Is(err, keybackup.ErrCheckpoint):
		return failf("%v", err)
	case client.IsCode(err, "M_WRONG_ROOM_KEYS_VERSION"):
		return failf("another backup version became current meanwhile; check `vouch backup status` and try again")
	}
	return explainSecretsErr(err, server)
}

// backupKeys returns the backup's private keys: from the credential the
// user gave (read from secret storage), else from this device's cache.
// hasSigning is false when no backup signing key is known.
func (ss *session) backupKeys(ctx context.Context, local *secrets.Local, cf *credFlags) (k keybackup.Keys, hasSigning bool, err error) {
	_, given, err := cf.credential()
	if err != nil {
		return k, false, err
	}
	if !given && local.BackupKey != "" {
		if k.Private, err = backup.ParsePrivateKey(local.BackupKey); err != nil {
			return k, false, failf("the backup key cached in %s is damaged: %v; run vouch secrets recover", ss.accountDir(), err)
		}
		if local.BackupSigningKey != "" {
			if k.Signing, err = backup.ParseSigningKey(local.BackupSigningKey); err != nil {
				return k, false, failf("the backup signing key cached in %s is damaged: %v; run vouch secrets recover", ss.accountDir(), err)
			}
			hasSigning = true
		}
		return k, hasSigning, nil
	}
	st, err := ss.secretsStore()
	if err != nil {
		return k, false, err
	}
	key, err := ss.unlockSSSS(ctx, st, local, cf)
	if err != nil {
		if !given && local.SSSS() == nil {
			return k, false, failf("this device does not hold the backup key: give --recovery-key KEY (or run vouch secrets recover)")
		}
		return k, false, err
	}
	k, hasSigning, err = keybackup.LoadKeys(ctx, st, key)
	if errors.Is(err, secrets.ErrSecretNotFound) {
		return k, false, failf("secret storage holds no backup key; create a backup with vouch backup create")
	}
	if err != nil {
		return k, false, explainSecretsErr(err, ss.acct.Homeserver)
	}
	local.BackupKey = k.Private.Encode()
	if hasSigning {
		local.BackupSigningKey = k.Signing.Encode()
	}
	if err := secrets.SaveLocal(ss.accountDir(), local); err != nil {
		return k, false, failf("%v", err)
	}
	return k, hasSigning, nil
}

// status reads a backup version's status as this device sees it.
func (ss *session) backupStatus(ctx context.Context, a *keybackup.API, version string, priv *backup.PrivateKey) (*keybackup.Status, error) {
	own, err := ss.st.OwnMaster(ctx)
	if err != nil {
		return nil, failf("%v", err)
	}
	viewer, err := keybackup.Viewer(ctx, ss.c, ss.acct.UserID, own)
	if err != nil {
		return nil, ss.explain(err)
	}
	st, err := keybackup.GetStatus(ctx, a, version, viewer, priv)
	if err != nil {
		return nil, explainBackupErr(err, ss.acct.Homeserver)
	}
	return st, nil
}

func newBackupCreateCmd(s stdio) *cobra.Command {
	var (
		f       accountFlags
		cf      credFlags
		force   bool
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a signed key backup (new version) and store its keys in secret storage",
		Long: `Create a new server-side key backup version: a fresh backup key pair and a
backup signing key (MSC4048), auth_data signed by your master key and this
device, both private keys stored in secret storage (unlocked with the key
this device cached at vouch secrets setup/recover, or --recovery-key), then
POST /room_keys/version. Needs the master private key on this device.

Refused when a backup already exists, unless --force (the new version
becomes the current one; the old one stays readable).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if ss.cs == nil || ss.cs.Master == nil {
				return failf("this device does not hold your master signing key, which signs the backup; run `vouch secrets recover --recovery-key KEY` first")
			}
			if ss.dev == nil {
				return failf("%v", errNoDevice)
			}
			a, err := ss.backupAPI()
			if err != nil {
				return err
			}
			// auth_data signed by a master key that is not the published
			// one would be trusted by no device: check first.
			ownKeys, _, err := secrets.FetchOwnKeys(ctx, ss.c, ss.acct.UserID)
			if err != nil {
				return ss.explain(err)
			}
			if ownKeys.Master == nil {
				return failf("your account has no published cross-signing identity; run `vouch bootstrap` first")
			}
			if _, published, err := ownKeys.Master.PublicKey(); err != nil || published != client.PublicKey(ss.cs.Master) {
				return failf("the master signing key on this device is not your published one (your identity was reset elsewhere?); run `vouch secrets recover --recovery-key KEY`")
			}
			if cur, err := a.Version(ctx, ""); err == nil && !force {
				return failf("a key backup already exists (version %s); see vouch backup status, or create a new version with --force", cur.Version)
			} else if err != nil && !errors.Is(err, keybackup.ErrNoBackup) {
				return ss.explain(err)
			}
			st, local, key, err := ss.openSSSS(ctx, &cf)
			if err != nil {
				return err
			}
			cr, err := keybackup.Create(ctx, a, keybackup.CreateOptions{
				UserID: ss.acct.UserID, Master: ss.cs.Master, Device: ss.dev,
				Secrets: st, SecretKey: key, Rand: rand.Reader,
			})
			if err != nil {
				return explainBackupErr(err, ss.acct.Homeserver)
			}
			local.BackupKey, local.BackupSigningKey = cr.Keys.Private.Encode(), cr.Keys.Signing.Encode()
			if err := secrets.SaveLocal(ss.accountDir(), local); err != nil {
				return failf("%v", err)
			}
			pub, _ := cr.Keys.Private.PublicKey()
			out := cmd.OutOrStdout()
			if jsonOut {
				return printJSON(out, map[string]string{
					"version": cr.Version, "public_key": pub.Encode(), "signing_public_key": cr.Keys.Signing.PublicKey().Encode(),
				})
			}
			fmt.Fprintf(out, "Key backup version %s created, signed by your master key and device %s.\n", cr.Version, ss.acct.DeviceID)
			fmt.Fprintf(out, "Backup public key: %s\nBackup signing key: %s\nBoth private keys are in secret storage.\n", pub.Encode(), cr.Keys.Signing.PublicKey().Encode())
			return nil
		},
	}
	f.add(cmd)
	cf.add(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "create a new version even if a backup exists")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newBackupStatusCmd(s stdio) *cobra.Command {
	var (
		f       accountFlags
		version string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the current key backup: version, count, etag, and whether (and why) it is trusted",
		Long: `Show a key backup version (the current one unless --version): its count and
etag, whether its auth_data is trusted and by which path (your master
signing key, a verified own device, or only the backup key this device
holds), and whether restored keys can be authenticated with its signing key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			a, local, err := ss.backupAPIAndLocal()
			if err != nil {
				return err
			}
			var priv *backup.PrivateKey
			if local.BackupKey != "" {
				if k, err := backup.ParsePrivateKey(local.BackupKey); err == nil {
					priv = &k
				}
			}
			st, err := ss.backupStatus(ctx, a, version, priv)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				return printJSON(out, st)
			}
			fmt.Fprintf(out, "version %s (%s)\nkeys: %d\netag: %s\n", st.Version, st.Algorithm, st.Count, st.Etag)
			if st.Trusted {
				fmt.Fprintf(out, "trusted: yes, by %s\n", st.Path)
			} else {
				fmt.Fprintln(out, "trusted: NO")
			}
			fmt.Fprintf(out, "reason: %s\n", st.Reason)
			switch {
			case st.SigningKeyTrusted:
				fmt.Fprintf(out, "signing key: %s (restored keys can be authenticated)\n", st.SigningKey)
			case st.SigningKey != "":
				fmt.Fprintf(out, "signing key: %s (IGNORED: auth_data is not signed by a key you trust)\n", st.SigningKey)
			default:
				fmt.Fprintln(out, "signing key: none (an unsigned backup: migrate with vouch backup migrate)")
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&version, "version", "", "backup version (default: the current one)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newBackupRestoreCmd(s stdio) *cobra.Command {
	var (
		f       accountFlags
		cf      credFlags
		version string
		output  string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Download and decrypt every key of the backup, counting authenticated ones",
		Long: `Download every key of the backup (the current version unless --version),
decrypt each with the backup key (cached on this device, or read from
secret storage with --recovery-key), and check its signature by the
backup signing key. A key is authenticated only when the backup's auth_data
is signed by your master key or a verified own device AND the key is signed
by its signing key AND marked authenticated; keys from an untrusted or
unsigned backup are all unauthenticated.

Prints counts; --output FILE writes the restored sessions (which contain
the room keys) to FILE with mode 0600.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			a, local, err := ss.backupAPIAndLocal()
			if err != nil {
				return err
			}
			k, _, err := ss.backupKeys(ctx, local, &cf)
			if err != nil {
				return err
			}
			st, err := ss.backupStatus(ctx, a, version, &k.Private)
			if err != nil {
				return err
			}
			prog, endProg := newBackupProgress(cmd.ErrOrStderr())
			defer endProg()
			last := -1
			res, err := keybackup.Restore(ctx, a, st, k.Private, keybackup.RestoreOptions{Progress: func(done, total int) {
				// Redraw at most 20 times.
				if step := done * 20 / max(total, 1); step != last || done == total {
					last = step
					prog(done, total, "keys opened")
				}
			}})
			if err != nil {
				return explainBackupErr(err, ss.acct.Homeserver)
			}
			if output != "" {
				b, err := json.MarshalIndent(res.Export(), "", "  ")
				if err != nil {
					return failf("%v", err)
				}
				if err := secrets.WriteFileAtomic(output, append(b, '\n')); err != nil {
					return failf("%v", err)
				}
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				return printJSON(out, res)
			}
			writeRestore(out, res, output)
			return nil
		},
	}
	f.add(cmd)
	cf.add(cmd)
	cmd.Flags().StringVar(&version, "version", "", "backup version (default: the current one)")
	cmd.Flags().StringVar(&output, "output", "", "write the restored sessions (room keys!) to this file, mode 0600")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

// writeRestore prints a restore result for people.
func writeRestore(w io.Writer, res *keybackup.RestoreResult, output string) {
	fmt.Fprintf(w, "Restored %d of %d keys from version %s: %d authenticated, %d unauthenticated, %d failed.\n",
		res.Authenticated+res.Unauthenticated, res.Total, res.Version, res.Authenticated, res.Unauthenticated, res.Failed)
	if !res.Trusted {
		fmt.Fprintf(w, "The backup is NOT trusted (%s): every key is unauthenticated.\n", res.Reason)
	} else if res.Path == backup.TrustKnownPrivateKey.String() {
		fmt.Fprintln(w, "The backup is trusted only through its key, not by a signature you trust: every key is unauthenticated.")
	}
	for i, f := range res.Failures {
		if i == 5 {
			fmt.Fprintf(w, "... and %d more failures (see --json)\n", len(res.Failures)-5)
			break
		}
		fmt.Fprintf(w, "failed: %s %s: %s\n", f.RoomID, f.SessionID, f.Error)
	}
	if output != "" {
		fmt.Fprintf(w, "Sessions written to %s.\n", output)
	}
}

func newBackupMigrateCmd(s stdio) *cobra.Command {
	var (
		f         accountFlags
		cf        credFlags
		deleteOld bool
		force     bool
		batch     int
	)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move the current backup to a new signed version (resumable)",
		Long: `Migrate the current key backup to a new version whose auth_data names a
backup signing key (MSC4048): create the new version (same backup key,
new signing key stored in secret storage), download every key, re-sign and
re-upload it, then switch. Keys that were not authenticated stay
unauthenticated. Progress is saved after every step in the account's state
directory; if interrupted, run vouch backup migrate again to resume.

The old version is kept unless --delete-old.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if batch < 0 || batch > backup.MaxMigrationBatch {
				return failf("--batch must be between 1 and %d", backup.MaxMigrationBatch)
			}
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if ss.cs == nil || ss.cs.Master == nil {
				return failf("this device does not hold your master signing key, which signs the new backup; run `vouch secrets recover --recovery-key KEY` first")
			}
			a, err := ss.backupAPI()
			if err != nil {
				return err
			}
			if _, err := a.Version(ctx, ""); err != nil {
				return explainBackupErr(err, ss.acct.Homeserver)
			}
			local, err := ss.localSecrets()
			if err != nil {
				return err
			}
			k, _, err := ss.backupKeys(ctx, local, &cf)
			if err != nil {
				return err
			}
			st, err := ss.secretsStore()
			if err != nil {
				return err
			}
			key, err := ss.unlockSSSS(ctx, st, local, &cf)
			if err != nil {
				return err
			}
			own, err := ss.st.OwnMaster(ctx)
			if err != nil {
				return failf("%v", err)
			}
			viewer, err := keybackup.Viewer(ctx, ss.c, ss.acct.UserID, own)
			if err != nil {
				return ss.explain(err)
			}
			prog, endProg := newBackupProgress(cmd.ErrOrStderr())
			cpPath := filepath.Join(ss.accountDir(), migrationCheckpointFile)
			res, err := keybackup.Migrate(ctx, a, keybackup.MigrateOptions{
				Viewer: viewer, Master: ss.cs.Master, Device: ss.dev, OldKey: k.Private,
				Secrets: st, SecretKey: key, CheckpointPath: cpPath, BatchSize: batch,
				DeleteOld: deleteOld, Force: force, Rand: rand.Reader,
				Progress: func(cp backup.MigrationCheckpoint, total int) {
					done := cp.Copied + cp.Skipped
					if cp.State == backup.MigrationSwitched {
						done = total
					}
					prog(min(done, total), total, cp.State.String())
				},
			})
			endProg()
			if res != nil && res.Signing != (backup.SigningKey{}) {
				local.BackupSigningKey = res.Signing.Encode()
				if serr := secrets.SaveLocal(ss.accountDir(), local); serr != nil && err == nil {
					err = serr
				}
			}
			if err != nil {
				if _, serr := os.Stat(cpPath); serr == nil && !errors.Is(err, keybackup.ErrCheckpoint) {
					return failf("migration interrupted: %v; run vouch backup migrate again to resume", explainBackupErr(err, ss.acct.Homeserver))
				}
				return explainBackupErr(err, ss.acct.Homeserver)
			}
			out := cmd.OutOrStdout()
			how := ""
			if res.Resumed {
				how = " (resumed)"
			}
			fmt.Fprintf(out, "Migrated backup version %s to signed version %s%s: %d keys copied (%d authenticated), %d skipped.\n",
				res.OldVersion, res.NewVersion, how, res.Copied, res.Authenticated, res.Skipped)
			if !deleteOld {
				fmt.Fprintf(out, "Version %s is kept; delete it when you no longer need it.\n", res.OldVersion)
			}
			return nil
		},
	}
	f.add(cmd)
	cf.add(cmd)
	cmd.Flags().BoolVar(&deleteOld, "delete-old", false, "delete the old version after switching")
	cmd.Flags().BoolVar(&force, "force", false, "migrate even a backup that already has a trusted signing key")
	cmd.Flags().IntVar(&batch, "batch", 0, "keys per step (default 100)")
	return cmd
}
