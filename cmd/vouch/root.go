package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit code out of a subcommand. Commands return
// it (through failf) when the failure is the user's input rather than a bug.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// failf returns an error that makes vouch print the message on stderr and exit 1.
func failf(format string, args ...any) error {
	return &exitError{code: 1, err: fmt.Errorf(format, args...)}
}

// run executes the vouch command line args and returns the process exit code.
func run(ctx context.Context, args []string, s stdio) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(s.err, "vouch: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func newRootCmd(s stdio) *cobra.Command {
	root := &cobra.Command{
		Use:   "vouch",
		Short: "The trust layer of Matrix end-to-end encryption",
		Long: `vouch is a Matrix key server (cross-signing, signatures, key backup) and a
toolbox for client developers: canonical and signed JSON, recovery keys,
secret storage, key backups, QR and SAS verification payloads.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newJSONCmd(),
		newBackupCmd(s),
		newRecoveryKeyCmd(s), newSSSSCmd(s),
		newQRCmd(s), newSASCmd(s),
		newBenchCmd(s),
		newLoginCmd(s), newLogoutCmd(s), newWhoAmICmd(s), newBootstrapCmd(s), newStatusCmd(s), newDevicesCmd(s), newKeysCmd(s), newVerifyCmd(s), newTrustCmd(s), newIdentityCmd(s), newWatchCmd(s),
		newServeCmd(s), newUserCmd(s),
		newSecretsCmd(s),
		newPuskCmd(s),
	)
	return root
}
