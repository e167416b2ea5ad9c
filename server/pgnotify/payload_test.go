package pgnotify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"vouch/internal/pgtest"
)

// parse is the inverse of payloads as deliver reads it.
func parse(p string) (string, []string) {
	from, users, _ := strings.Cut(p, "\n")
	if users == "" {
		return from, nil
	}
	return from, strings.Split(users, "\n")
}

func checkPayloads(t *testing.T, id string, users map[string]struct{}) {
	t.Helper()
	got := map[string]struct{}{}
	for _, p := range payloads(id, users) {
		if len(p) > maxPayload {
			t.Fatalf("payload of %d bytes > %d", len(p), maxPayload)
		}
		from, us := parse(p)
		if from != id || len(us) == 0 {
			t.Fatalf("payload %.40q: from %q, %d users", p, from, len(us))
		}
		for _, u := range us {
			got[u] = struct{}{}
		}
	}
	if len(got) != len(users) {
		t.Fatalf("%d users after the round trip, want %d", len(got), len(users))
	}
	for u := range users {
		if _, ok := got[u]; !ok {
			t.Fatalf("user %q lost", u)
		}
	}
}

func TestPayloads(t *testing.T) {
	many := map[string]struct{}{}
	for i := range 2000 {
		many[fmt.Sprintf("@user%04d:example.org", i)] = struct{}{}
	}
	long := map[string]struct{}{strings.Repeat("x", maxPayload-17): {}, "@a:x": {}}
	for _, tc := range []struct {
		name  string
		users map[string]struct{}
		want  int // payloads
	}{
		{"none", map[string]struct{}{}, 0},
		{"one", map[string]struct{}{"@a:x": {}}, 1},
		{"many", many, 7},
		{"one too long to share", long, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := len(payloads("0123456789abcdef", tc.users)); n != tc.want {
				t.Errorf("%d payloads, want %d", n, tc.want)
			}
			checkPayloads(t, "0123456789abcdef", tc.users)
		})
	}
}

// FuzzPayloads checks that every set of user IDs (as Notify admits them:
// no newline, short enough) survives payloads and deliver's parsing intact.
func FuzzPayloads(f *testing.F) {
	f.Add("@alice:example.org\n@bob:example.org")
	f.Add("@a:x")
	f.Fuzz(func(t *testing.T, s string) {
		users := map[string]struct{}{}
		for u := range strings.SplitSeq(s, "\n") {
			if u != "" && len(u)+17 <= maxPayload {
				users[u] = struct{}{}
			}
		}
		checkPayloads(t, "0123456789abcdef", users)
	})
}

func BenchmarkPayloads(b *testing.B) {
	users := map[string]struct{}{}
	for i := range 500 {
		users[fmt.Sprintf("@user%04d:example.org", i)] = struct{}{}
	}
	for b.Loop() {
		payloads("0123456789abcdef", users)
	}
}

// TestLivenessCheckKeepsConnection runs the listener with a tiny liveness
// interval: the timed-out waits and pings must neither break the
// connection nor lose notifications.
func TestLivenessCheckKeepsConnection(t *testing.T) {
	dsn := pgtest.Start(t)
	log := slog.New(slog.DiscardHandler)
	a, err := newNotifier(context.Background(), dsn, log, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := newNotifier(context.Background(), dsn, log, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ch, unsub := b.Subscribe("@alice:x")
	defer unsub()
	time.Sleep(300 * time.Millisecond) // many liveness rounds
	a.Notify("@alice:x")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("notification lost after liveness checks")
	}
	if n := a.lost.Load() + b.lost.Load(); n != 0 {
		t.Fatalf("%d listener connections lost during liveness checks", n)
	}
}
