package main

import (
	"context"
	"strings"
	"testing"

	"vouch/client/state"
)

// TestWatchRecoversFromUnknownSyncToken: a sync token the server does not
// know (say, after its database was replaced) makes watch start a new sync
// instead of failing forever.
func TestWatchRecoversFromUnknownSyncToken(t *testing.T) {
	url := startInProcessServer(t)
	dir := t.TempDir()
	t.Setenv("VOUCH_PASSWORD", "pw")
	if code, _, errOut := acctRun(t, dir, "login", "--server", url, "--user", "@dora:localhost", "--register"); code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	st, err := openState(context.Background(), &accountFlags{stateDir: dir}, "@dora:localhost")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSyncToken(context.Background(), "not-a-token-the-server-made"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut := acctRun(t, dir, "watch", "--once")
	if code != 0 {
		t.Fatalf("watch: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "refused the sync token") || !strings.Contains(out, "@dora:localhost: tracking") {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	st, err = state.Open(context.Background(), mustAccountDir(t, dir, "@dora:localhost"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if tok, _ := st.SyncToken(context.Background()); tok == "" || tok == "not-a-token-the-server-made" {
		t.Fatalf("sync token %q not replaced", tok)
	}
}

func mustAccountDir(t *testing.T, base, user string) string {
	t.Helper()
	d, err := state.AccountDir(base, user)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
