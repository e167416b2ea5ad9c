package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"vouch/client"
	"vouch/client/device"
	"vouch/client/state"
	"vouch/keys"
	"vouch/trust"
)

// accountFlags are the flags every account command takes to find its state.
type accountFlags struct {
	stateDir string
	user     string
}

func (f *accountFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.stateDir, "state-dir", "", "directory holding vouch's per-account state (env VOUCH_STATE_DIR; default $XDG_DATA_HOME/vouch)")
	cmd.Flags().StringVar(&f.user, "user", "", "account to use, e.g. @alice:localhost (env VOUCH_USER; default: the only account)")
}

// base returns the state base directory.
func (f *accountFlags) base() (string, error) {
	if f.stateDir != "" {
		return f.stateDir, nil
	}
	if d := os.Getenv("VOUCH_STATE_DIR"); d != "" {
		return d, nil
	}
	b, err := state.DefaultBase()
	if err != nil {
		return "", failf("%v", err)
	}
	return b, nil
}

// resolveUser picks the account: --user, VOUCH_USER, or the only one.
func (f *accountFlags) resolveUser(base string) (string, error) {
	u := f.user
	if u == "" {
		u = os.Getenv("VOUCH_USER")
	}
	if u != "" {
		if _, err := keys.ParseUserID(u); err != nil {
			return "", failf("--user %q is not a Matrix user ID like @alice:localhost", u)
		}
		return u, nil
	}
	accts, err := state.Accounts(base)
	if err != nil {
		return "", failf("%v", err)
	}
	switch len(accts) {
	case 0:
		return "", failf("not logged in; run `vouch login --server URL --user @you:server`")
	case 1:
		return accts[0], nil
	}
	return "", failf("several accounts in %s (%s); choose one with --user", base, strings.Join(accts, ", "))
}

// session is an opened account: its state, login, client and keys.
type session struct {
	st   *state.Store
	acct state.Account
	c    *client.Client
	dev  *device.Device
	cs   *client.CrossSigningKeys // nil when this device holds none
	s    stdio
}

func (ss *session) close() { ss.st.Close() }

// openState opens the state of the account named by the flags.
func openState(ctx context.Context, f *accountFlags, userID string) (*state.Store, error) {
	base, err := f.base()
	if err != nil {
		return nil, err
	}
	if userID == "" {
		if userID, err = f.resolveUser(base); err != nil {
			return nil, err
		}
	}
	dir, err := state.AccountDir(base, userID)
	if err != nil {
		return nil, failf("%v", err)
	}
	st, err := state.Open(ctx, dir)
	if err != nil {
		return nil, failf("%v", err)
	}
	return st, nil
}

// openSession opens the logged-in account named by the flags.
func openSession(ctx context.Context, f *accountFlags, s stdio) (*session, error) {
	st, err := openState(ctx, f, "")
	if err != nil {
		return nil, err
	}
	acct, err := st.Account(ctx)
	if err != nil {
		st.Close()
		if errors.Is(err, state.ErrNoAccount) {
			return nil, failf("not logged in; run `vouch login --server URL --user @you:server`")
		}
		return nil, failf("%v", err)
	}
	c, err := client.New(acct.Homeserver, client.WithAccessToken(acct.AccessToken))
	if err != nil {
		st.Close()
		return nil, failf("%v", err)
	}
	ss := &session{st: st, acct: acct, c: c, s: s}
	if sec, err := st.Device(ctx); err == nil {
		if ss.dev, err = device.FromSecrets(sec); err != nil {
			st.Close()
			return nil, failf("device keys in %s are damaged: %v; run vouch login again", st.Path(), err)
		}
	}
	if cs, err := st.CrossSigning(ctx); err == nil {
		if ss.cs, err = client.CrossSigningKeysFromSeeds(cs.Master, cs.SelfSigning, cs.UserSigning); err != nil {
			st.Close()
			return nil, failf("cross-signing keys in %s are damaged: %v", st.Path(), err)
		}
	}
	return ss, nil
}

// trustInputs gathers what the account remembers for the trust view.
func (ss *session) trustInputs(ctx context.Context) (client.TrustInputs, error) {
	in := client.TrustInputs{UserID: ss.acct.UserID, Pins: map[string]trust.Pin{}, VerifiedDevices: map[string]map[string]string{}}
	var err error
	if in.OwnMaster, err = ss.st.OwnMaster(ctx); err != nil {
		return in, failf("%v", err)
	}
	pins, err := ss.st.Pins(ctx)
	if err != nil {
		return in, failf("%v", err)
	}
	for _, p := range pins {
		in.Pins[p.UserID] = p
		vd, err := ss.st.VerifiedDevices(ctx, p.UserID)
		if err != nil {
			return in, failf("%v", err)
		}
		if len(vd) > 0 {
			in.VerifiedDevices[p.UserID] = vd
		}
	}
	return in, nil
}

// view builds the trust view of users and stores the updated pins.
func (ss *session) view(ctx context.Context, users ...string) (*client.TrustView, error) {
	in, err := ss.trustInputs(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u == ss.acct.UserID {
			continue
		}
		if vd, err := ss.st.VerifiedDevices(ctx, u); err == nil && len(vd) > 0 {
			in.VerifiedDevices[u] = vd
		}
	}
	tv, err := client.BuildTrustView(ctx, ss.c, in, users...)
	if err != nil {
		return nil, ss.explain(err)
	}
	for _, u := range users {
		r := tv.Users[u]
		if u == ss.acct.UserID || r.Master == "" {
			continue
		}
		if err := ss.st.SavePin(ctx, r.Pin); err != nil {
			return nil, failf("%v", err)
		}
	}
	return tv, nil
}

// saver persists secrets into the account state (client.KeySaver).
type saver struct{ st *state.Store }

func (sv saver) SaveOneTimeKeys(ctx context.Context, d device.Secrets, ks []device.OneTimeKey) error {
	return sv.st.SaveOneTimeKeys(ctx, d, ks)
}

func (sv saver) SaveCrossSigningKeys(ctx context.Context, k *client.CrossSigningKeys) error {
	m, s, u := k.Seeds()
	return sv.st.SaveCrossSigning(ctx, state.CrossSigning{Master: m, SelfSigning: s, UserSigning: u})
}

// passwordSource returns the password: VOUCH_PASSWORD, else typed on the
// terminal without echo.
func passwordSource(s stdio, prompt string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if pw, ok := os.LookupEnv("VOUCH_PASSWORD"); ok {
			return pw, nil
		}
		f, ok := s.in.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return "", failf("a password is needed: set VOUCH_PASSWORD or run vouch on a terminal")
		}
		if isTerminalWriter(s.err) {
			// Clear a progress bar the prompt would otherwise follow.
			fmt.Fprint(s.err, "\r\033[K")
		}
		fmt.Fprint(s.err, prompt)
		// ReadPassword blocks until Enter and restores the terminal only
		// when it returns; Ctrl-C ends ctx (main catches SIGINT), so read in
		// the background and, on an interrupt, give the echo back ourselves.
		fd := int(f.Fd())
		saved, err := term.GetState(fd)
		if err != nil {
			return "", failf("reading password: %v", err)
		}
		type answer struct {
			b   []byte
			err error
		}
		got := make(chan answer, 1)
		go func() {
			b, err := term.ReadPassword(fd)
			got <- answer{b, err}
		}()
		select {
		case a := <-got:
			fmt.Fprintln(s.err)
			if a.err != nil {
				return "", failf("reading password: %v", a.err)
			}
			return string(a.b), nil
		case <-ctx.Done():
			_ = term.Restore(fd, saved)
			fmt.Fprintln(s.err)
			return "", failf("interrupted")
		}
	}
}

// askNewPassword asks for a new password twice (ask shows the prompt and
// reads one answer without echo) and refuses two different answers or an
// empty one: a typo in a password nobody can see would lock the account.
func askNewPassword(ask func(prompt string) (string, error), prompt string) (string, error) {
	pw, err := ask(prompt)
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", failf("empty password")
	}
	again, err := ask("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", failf("the two passwords differ; run the command again")
	}
	return pw, nil
}

// newPasswordSource is passwordSource for a password being chosen: from a
// terminal it is asked twice.
func newPasswordSource(s stdio, prompt string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if pw, ok := os.LookupEnv("VOUCH_PASSWORD"); ok {
			return pw, nil
		}
		return askNewPassword(func(p string) (string, error) { return passwordSource(s, p)(ctx) }, prompt)
	}
}

// uia is the user-interactive auth callback of the account.
func (ss *session) uia() client.AuthFunc {
	return client.PasswordAuthFunc(ss.acct.UserID, passwordSource(ss.s, "Password for "+ss.acct.UserID+": "))
}

// explain turns library errors into one-line messages that say what to do.
func (ss *session) explain(err error) error {
	server := ""
	if ss != nil {
		server = ss.acct.Homeserver
	}
	return explainErr(err, server)
}

func explainErr(err error, server string) error {
	var ee *exitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return err
	case errors.Is(err, context.Canceled):
		return failf("interrupted")
	case errors.Is(err, client.ErrNetwork):
		return failf("cannot reach the server %s: %s (is it running? check --server)", server, networkCause(err))
	case client.IsCode(err, client.CodeUnknownToken), client.IsCode(err, client.CodeMissingToken):
		return failf("the server no longer accepts this login; run `vouch login` again")
	case errors.Is(err, client.ErrAuthRequired) && client.IsCode(err, client.CodeForbidden):
		return failf("wrong password%s", passwordOrigin())
	case client.IsCode(err, client.CodeLimitExceeded):
		return failf("the server is rate-limiting requests; try again in a moment")
	}
	return failf("%v", err)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// checkUserArg validates a user ID argument.
func checkUserArg(u string) error {
	if _, err := keys.ParseUserID(u); err != nil {
		return failf("%q is not a Matrix user ID like @bob:localhost", u)
	}
	return nil
}

// checkDeviceArg validates a device ID argument (vouch devices rename and
// delete, vouch verify device).
func checkDeviceArg(id string) error {
	if err := keys.ValidDeviceID(id); err != nil {
		return failf("%q is not a device ID", id)
	}
	return nil
}

// isTerminalWriter reports whether w is a terminal.
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressTo returns a client.Progress drawing a bar on a terminal and
// writing plain lines otherwise, on w (stderr, so --json output stays
// clean), and a function to call when the operation ends, which finishes a
// bar left mid-line (so an error message starts on its own line).
func progressTo(w io.Writer) (client.Progress, func()) {
	b := newProgressBar(w, 20, true)
	return b.draw, b.end
}

// networkCause is the transport detail of a client.ErrNetwork error (such as
// "connect: connection refused"), without the request and the sentinel's
// own words, which the caller's message already says.
func networkCause(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, client.ErrNetwork.Error()); i >= 0 {
		msg = msg[i+len(client.ErrNetwork.Error()):]
		// "… at HOST: dial tcp HOST: connect: connection refused"
		if j := strings.Index(msg, ": "); j >= 0 {
			msg = msg[j+2:]
		}
	}
	if k := strings.LastIndex(msg, ": "); k >= 0 && strings.HasPrefix(msg, "dial ") {
		msg = msg[k+2:]
	}
	return msg
}

// passwordOrigin adds, when the password came from VOUCH_PASSWORD, where it
// came from: the person typed nothing and may not know the variable is set.
func passwordOrigin() string {
	if _, ok := os.LookupEnv("VOUCH_PASSWORD"); ok {
		return " (taken from VOUCH_PASSWORD: fix or unset it, then run the command again)"
	}
	return "; run the command again"
}
