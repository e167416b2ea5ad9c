package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/client/device"
	"vouch/client/state"
	"vouch/keys"
)

func newLoginCmd(s stdio) *cobra.Command {
	var f accountFlags
	var server, deviceID, name string
	var register bool
	cmd := &cobra.Command{
		Use:   "login --server URL --user @you:server",
		Short: "Log in to a homeserver and publish this device's keys",
		Long: `Log in with a password (read without echo from the terminal, or from
VOUCH_PASSWORD), create this device's ed25519 and curve25519 keys, publish
them with signed one-time and fallback keys, and remember the login in the
account's state directory (files 0600, directory 0700).

With --register the account is created first (servers with open
registration, such as vouch serve for server name localhost).

Next: run vouch bootstrap on your first device, or vouch verify device ID
from a device that holds your cross-signing keys.`,
		Example: `  vouch login --server http://127.0.0.1:8008 --user @alice:localhost
  VOUCH_PASSWORD=secret vouch login --server http://127.0.0.1:8008 --user @bob:localhost --register`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if server == "" {
				server = os.Getenv("VOUCH_SERVER")
			}
			if server == "" {
				return failf("--server is required, e.g. --server http://127.0.0.1:8008")
			}
			if f.user == "" {
				return failf("--user is required, e.g. --user @alice:localhost")
			}
			uid, err := keys.ParseUserID(f.user)
			if err != nil {
				return failf("--user %q is not a Matrix user ID like @alice:localhost", f.user)
			}
			if deviceID != "" {
				if err := keys.ValidDeviceID(deviceID); err != nil {
					return failf("--device-id: %v", err)
				}
			}
			c, err := client.New(server)
			if err != nil {
				return failf("--server %q is not a homeserver URL; give one like http://127.0.0.1:8008", server)
			}
			// (--register needs no check: the server refuses an existing account.)
			if !register {
				if err := checkNotLoggedIn(ctx, &f, f.user, deviceID); err != nil {
					return err
				}
			}
			ask := passwordSource(s, "Password for "+f.user+": ")
			if register {
				ask = newPasswordSource(s, "New password for "+f.user+": ")
			}
			pw, err := ask(ctx)
			if err != nil {
				return err
			}
			if pw == "" {
				return failf("empty password")
			}
			if name == "" {
				name = "vouch CLI"
			}
			var lr *client.LoginResponse
			if register {
				lr, err = c.Register(ctx, client.RegisterRequest{Username: uid.Localpart(), Password: pw, DeviceID: deviceID, InitialDeviceDisplayName: name}, client.DummyAuthFunc)
				if client.IsCode(err, client.CodeUserInUse) {
					return failf("%s already exists; log in without --register", f.user)
				}
			} else {
				lr, err = c.Login(ctx, f.user, pw, deviceID, name)
				if client.IsCode(err, client.CodeForbidden) {
					return failf("wrong user or password for %s%s", f.user, passwordOrigin())
				}
			}
			if err != nil {
				return explainErr(err, server)
			}
			if lr.UserID != f.user {
				return failf("the server logged you in as %s, not %s; use --user %s", lr.UserID, f.user, lr.UserID)
			}
			st, err := openState(ctx, &f, lr.UserID)
			if err != nil {
				return err
			}
			defer st.Close()
			dev, err := device.New(lr.UserID, lr.DeviceID, rand.Reader)
			if deviceID != "" {
				// Reusing a device: keep its keys if we have them.
				if sec, serr := st.Device(ctx); serr == nil && sec.DeviceID == deviceID {
					dev, err = device.FromSecrets(sec)
				}
			}
			if err != nil {
				return failf("%v", err)
			}
			if err := st.ForgetLogin(ctx); err != nil {
				return failf("%v", err)
			}
			if err := st.SaveDevice(ctx, dev.Secrets()); err != nil {
				return failf("%v", err)
			}
			acct := state.Account{Homeserver: c.BaseURL(), UserID: lr.UserID, DeviceID: lr.DeviceID, AccessToken: lr.AccessToken}
			if err := st.SaveAccount(ctx, acct); err != nil {
				return failf("%v", err)
			}
			counts, err := client.UploadDeviceKeys(ctx, c, dev, rand.Reader, saver{st}, true, nil, nil, true)
			if err != nil {
				return explainErr(fmt.Errorf("publishing device keys: %w", err), server)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Logged in as %s, device %s (ed25519 %s), %d one-time keys published.\n",
				lr.UserID, lr.DeviceID, dev.Ed25519(), counts[device.AlgSignedCurve25519])
			resp, err := c.QueryKeys(ctx, lr.UserID)
			if err != nil || resp.MasterKeys[lr.UserID] == nil {
				fmt.Fprintln(out, "Next: vouch bootstrap, to create your cross-signing identity.")
				return nil
			}
			// This machine may still hold the user's self-signing key from an
			// earlier login: then sign the new device right away.
			if signed := signNewDevice(ctx, st, c, lr.UserID, lr.DeviceID); signed {
				fmt.Fprintf(out, "Device %s is signed with your self-signing key kept on this machine.\n", lr.DeviceID)
				return nil
			}
			fmt.Fprintf(out, "You already have a cross-signing identity: sign this device from one that holds your keys (vouch verify device %s).\n", lr.DeviceID)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&server, "server", "", "homeserver base URL, e.g. http://127.0.0.1:8008 (env VOUCH_SERVER)")
	cmd.Flags().StringVar(&deviceID, "device-id", "", "log in as this existing device instead of a new one")
	cmd.Flags().StringVar(&name, "name", "", "display name of the new device (default \"vouch CLI\")")
	cmd.Flags().BoolVar(&register, "register", false, "create the account first (open registration)")
	return cmd
}

func newLogoutCmd(s stdio) *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Log this device out and forget its keys",
		Long: `Invalidate the access token on the server and delete this device's login,
device keys and one-time key secrets from the local state. Cross-signing
keys, pins and verifications stay, for the next login.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			if err := ss.c.Logout(ctx); err != nil && !client.IsCode(err, client.CodeUnknownToken) {
				return ss.explain(err)
			}
			if err := ss.st.ForgetLogin(ctx); err != nil {
				return failf("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out %s (device %s).\n", ss.acct.UserID, ss.acct.DeviceID)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newWhoAmICmd(s stdio) *cobra.Command {
	var f accountFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the logged-in user and device, as the server sees them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			who, err := ss.c.WhoAmI(ctx)
			if err != nil {
				return ss.explain(err)
			}
			if who.UserID != ss.acct.UserID {
				return failf("the server says this token belongs to %s, not %s; run vouch login again", who.UserID, ss.acct.UserID)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]string{"user_id": who.UserID, "device_id": who.DeviceID, "homeserver": ss.acct.Homeserver})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s, device %s, on %s\n", who.UserID, who.DeviceID, ss.acct.Homeserver)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// errNoDevice is returned when the account has no device keys stored.
var errNoDevice = errors.New("this device has no keys; run vouch login again")

// signNewDevice signs a freshly logged-in device when the state still holds
// the self-signing key of the identity this machine trusts. Any failure
// just means the user signs it another way.
func signNewDevice(ctx context.Context, st *state.Store, c *client.Client, userID, deviceID string) bool {
	own, err := st.OwnMaster(ctx)
	if err != nil || own == "" {
		return false
	}
	seeds, err := st.CrossSigning(ctx)
	if err != nil || len(seeds.SelfSigning) == 0 {
		return false
	}
	ks, err := client.CrossSigningKeysFromSeeds(seeds.Master, seeds.SelfSigning, seeds.UserSigning)
	if err != nil {
		return false
	}
	in := client.TrustInputs{UserID: userID, OwnMaster: own}
	res, err := client.VerifyOwnDevice(ctx, c, in, ks, deviceID)
	return err == nil && res.Decision.Trusted
}

// checkNotLoggedIn refuses a new login of userID over a stored login the
// server still accepts: going on would abandon that device on the server
// (its keys deleted here, its signature still trusted by others). Logging in
// to the same device again (--device-id) is fine, and so is replacing a login
// the server no longer accepts or cannot confirm.
func checkNotLoggedIn(ctx context.Context, f *accountFlags, userID, deviceID string) error {
	st, err := openState(ctx, f, userID)
	if err != nil {
		return err
	}
	prev, err := st.Account(ctx)
	st.Close()
	if err != nil || prev.AccessToken == "" || prev.DeviceID == deviceID {
		return nil
	}
	c, err := client.New(prev.Homeserver, client.WithAccessToken(prev.AccessToken), client.WithRetries(0, 0, 0))
	if err != nil {
		return nil
	}
	if _, err := c.WhoAmI(ctx); err != nil {
		return nil
	}
	return failf("already logged in as %s on this machine (device %s at %s); run vouch logout first, or vouch login --device-id %s to log in to that device again",
		userID, prev.DeviceID, prev.Homeserver, prev.DeviceID)
}
