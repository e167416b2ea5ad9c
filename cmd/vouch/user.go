package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"vouch/server"
	"vouch/store"
)

func newUserCmd(s stdio) *cobra.Command {
	c := &cobra.Command{
		Use:   "user",
		Short: "Administer the key server's accounts",
	}
	c.AddCommand(newUserAddCmd(s))
	return c
}

func newUserAddCmd(_ stdio) *cobra.Command {
	var (
		f        serveFlags
		user     string
		password string
		admin    bool
	)
	c := &cobra.Command{
		Use:   "add --user NAME [--password P] [--admin]",
		Short: "Create an account in the key server's database",
		Long: `Create an account directly in the database of the data directory (the
server may be running). NAME is a localpart ("alice") or a full user ID on
this server ("@alice:localhost"). The password comes from --password or the
VOUCH_PASSWORD environment variable; it is hashed with argon2id using the
configured cost. Prints the new user ID.

The data directory, server name and configuration file are resolved as for
vouch serve (flags, then VOUCH_* variables, then the configuration file), and so is
the database: PostgreSQL when a database URL is set, else SQLite.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServeConfig(cmd, f)
			if err != nil {
				return err
			}
			if user == "" {
				return failf("--user is required")
			}
			local := user
			if strings.HasPrefix(user, "@") {
				l, server, ok := strings.Cut(user[1:], ":")
				if !ok || server != cfg.ServerName {
					return failf("user %q is not on this server (%s)", user, cfg.ServerName)
				}
				local = l
			}
			if !cmd.Flags().Changed("password") {
				password = os.Getenv("VOUCH_PASSWORD")
			}
			if password == "" {
				return failf("a password is required (--password or VOUCH_PASSWORD)")
			}
			st, err := openAccountStore(cmd.Context(), cfg)
			if err != nil {
				return failf("%v", err)
			}
			defer st.Close()
			id, err := server.CreateUser(cmd.Context(), st, cfg.Config, local, password, admin, time.Now().UnixMilli())
			if errors.Is(err, store.ErrUserExists) {
				return failf("user %s already exists", "@"+local+":"+cfg.ServerName)
			}
			if err != nil {
				return failf("%v", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	c.Flags().StringVar(&user, "user", "", "localpart or user ID of the new account")
	c.Flags().StringVar(&password, "password", "", "password (prefer VOUCH_PASSWORD: flags are visible to other local users)")
	c.Flags().BoolVar(&admin, "admin", false, "make the account an administrator")
	addServeFlags(c, &f)
	return c
}
