package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"vouch/client"
	"vouch/client/device"
	"vouch/client/state"
	"vouch/internal/testserver"
)

// TestWatchRecoversFromUnknownSyncToken: a sync token the server does not
// know (say, after its database was replaced) makes watch start a new sync
// instead of failing forever.
func TestWatchRecoversFromUnknownSyncToken(t *testing.T) {
	url := testserver.URL(t)
	dir := t.TempDir()
	t.Setenv("VOUCH_PASSWORD", "pw")
	acctMust(t, dir, "login", "--server", url, "--user", "@dora:localhost", "--register")
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
	if !strings.Contains(errOut, "refused the sync token") || !strings.Contains(out, "@dora:localhost: watching") {
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

// TestTwoWatchersBothReport runs two watchers of one account side by side
// (two terminals running vouch watch): a change must be reported by both,
// not only by the one that happens to look first.
func TestTwoWatchersBothReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	t.Setenv("VOUCH_PASSWORD", "pw")
	alice, bob, bob2 := t.TempDir(), t.TempDir(), t.TempDir()
	for _, c := range []struct {
		dir  string
		args []string
	}{
		{alice, []string{"login", "--server", url, "--user", "@alice:localhost", "--register"}},
		{bob, []string{"login", "--server", url, "--user", "@bob:localhost", "--register"}},
		{alice, []string{"keys", "@bob:localhost"}},
	} {
		acctMust(t, c.dir, c.args...)
	}
	ctx := context.Background()
	var outs [2]bytes.Buffer
	var wts [2]*watcher
	for i := range wts {
		ss, err := openSession(ctx, &accountFlags{stateDir: alice}, stdio{in: strings.NewReader(""), out: io.Discard, err: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		defer ss.close()
		wts[i] = &watcher{ss: ss, w: &outs[i]}
		if err := wts[i].check(ctx, []string{"@bob:localhost"}); err != nil {
			t.Fatal(err)
		}
	}
	acctMust(t, bob2, "login", "--server", url, "--user", "@bob:localhost")
	for i, wt := range wts {
		outs[i].Reset()
		if err := wt.check(ctx, []string{"@bob:localhost"}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(outs[i].String(), "new device") {
			t.Errorf("watcher %d did not report bob's new device: %q", i, outs[i].String())
		}
	}
}

// TestWatchTopsUpOneTimeKeys: after others claim some of this device's
// one-time keys, the counts /sync reports make watch upload new ones, back
// to device.MaxOneTimeKeys.
func TestWatchTopsUpOneTimeKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	dir := t.TempDir()
	t.Setenv("VOUCH_PASSWORD", "pw")
	acctMust(t, dir, "login", "--server", url, "--user", "@olga:localhost", "--register")
	ctx := context.Background()
	st, err := state.Open(ctx, mustAccountDir(t, dir, "@olga:localhost"))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.Account(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	olga, err := client.New(url, client.WithAccessToken(acct.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	peter, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peter.Register(ctx, client.RegisterRequest{Username: "peter", Password: "pw"}, client.DummyAuthFunc); err != nil {
		t.Fatal(err)
	}
	const claimed = 20
	for range claimed {
		if _, err := peter.ClaimKeys(ctx, map[string]map[string]string{"@olga:localhost": {acct.DeviceID: device.AlgSignedCurve25519}}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := olga.UploadKeys(ctx, client.KeysUploadRequest{})
	if err != nil || counts[device.AlgSignedCurve25519] != device.MaxOneTimeKeys-claimed {
		t.Fatalf("after claims: counts %v, %v", counts, err)
	}
	acctMust(t, dir, "watch", "--once")
	counts, err = olga.UploadKeys(ctx, client.KeysUploadRequest{})
	if err != nil || counts[device.AlgSignedCurve25519] != device.MaxOneTimeKeys {
		t.Fatalf("after watch: counts %v, %v", counts, err)
	}
}
