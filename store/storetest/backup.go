package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"vouch/store"
)

// byForwardedCountDesc is the replacement rule the suite hands the store:
// deliberately not the spec's rule (the server passes that one), so that a
// backend that hard-codes any rule of its own fails the suite.
func byForwardedCountDesc(existing, incoming store.BackupSessionMeta) bool {
	return incoming.ForwardedCount > existing.ForwardedCount
}

func bsess(room, session string, fc int64, data string) store.BackupSession {
	return store.BackupSession{RoomID: room, SessionID: session, SessionData: []byte(data),
		BackupSessionMeta: store.BackupSessionMeta{FirstMessageIndex: 7, ForwardedCount: fc, IsVerified: fc%2 == 1}}
}

// sessionsOf returns the sessions of a version as sorted "room/session=data fc" strings.
func sessionsOf(t *testing.T, s store.Store, user, version, room, session string) []string {
	t.Helper()
	got, err := s.GetBackupSessions(context.Background(), user, version, room, session)
	must(t, err)
	out := []string{}
	for _, g := range got {
		out = append(out, fmt.Sprintf("%s/%s=%s fc%d fmi%d v%t", g.RoomID, g.SessionID, g.SessionData, g.ForwardedCount, g.FirstMessageIndex, g.IsVerified))
	}
	sort.Strings(out)
	return out
}

func testBackupVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	user(t, s, "@b:x")
	_, err := s.GetBackupVersion(ctx, "@a:x", "")
	wantErr(t, err, store.ErrNotFound)
	v, err := s.CreateBackupVersion(ctx, "@a:x", "alg.one", []byte(`{"public_key":"k1"}`))
	must(t, err)
	eq(t, "first version", v, "1")
	got, err := s.GetBackupVersion(ctx, "@a:x", "")
	must(t, err)
	eq(t, "current", got, store.BackupVersion{Version: "1", Algorithm: "alg.one", AuthData: []byte(`{"public_key":"k1"}`), Etag: got.Etag, Count: 0})
	if got.Etag == "" {
		t.Fatal("empty etag")
	}
	v, err = s.CreateBackupVersion(ctx, "@a:x", "alg.two", []byte(`{"public_key":"k2"}`))
	must(t, err)
	eq(t, "second version", v, "2")
	got, err = s.GetBackupVersion(ctx, "@a:x", "")
	must(t, err)
	eq(t, "current after create", got.Version+" "+got.Algorithm, "2 alg.two")
	got, err = s.GetBackupVersion(ctx, "@a:x", "1")
	must(t, err)
	eq(t, "old version readable", got.Version+" "+string(got.AuthData), `1 {"public_key":"k1"}`)

	// Versions are per user: b has none and starts at 1.
	_, err = s.GetBackupVersion(ctx, "@b:x", "")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetBackupVersion(ctx, "@b:x", "1")
	wantErr(t, err, store.ErrNotFound)
	vb, err := s.CreateBackupVersion(ctx, "@b:x", "alg.b", []byte(`{}`))
	must(t, err)
	eq(t, "b's first version", vb, "1")
	got, err = s.GetBackupVersion(ctx, "@a:x", "1")
	must(t, err)
	eq(t, "a's version 1 untouched by b", got.Algorithm, "alg.one")

	// Strings that are not canonical decimal integers name no version.
	for _, bad := range []string{"01", "+1", "-1", "1.0", " 1", "1 ", "0", "abc", "99999999999999999999", "１"} {
		_, err = s.GetBackupVersion(ctx, "@a:x", bad)
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.UpdateBackupAuthData(ctx, "@a:x", bad, "alg.one", []byte(`{}`)), store.ErrNotFound)
		wantErr(t, s.DeleteBackupVersion(ctx, "@a:x", bad), store.ErrNotFound)
	}

	// auth_data may change; the algorithm may not; the etag stays.
	before, err := s.GetBackupVersion(ctx, "@a:x", "1")
	must(t, err)
	must(t, s.UpdateBackupAuthData(ctx, "@a:x", "1", "alg.one", []byte(`{"public_key":"k1","signatures":{}}`)))
	got, err = s.GetBackupVersion(ctx, "@a:x", "1")
	must(t, err)
	eq(t, "updated auth_data", string(got.AuthData), `{"public_key":"k1","signatures":{}}`)
	eq(t, "etag after auth_data update", got.Etag, before.Etag)
	wantErr(t, s.UpdateBackupAuthData(ctx, "@a:x", "1", "alg.two", []byte(`{"x":1}`)), store.ErrBackupAlgorithm)
	got, err = s.GetBackupVersion(ctx, "@a:x", "1")
	must(t, err)
	eq(t, "auth_data after refused update", string(got.AuthData), `{"public_key":"k1","signatures":{}}`)
	wantErr(t, s.UpdateBackupAuthData(ctx, "@a:x", "3", "alg.one", []byte(`{}`)), store.ErrNotFound)
	wantErr(t, s.UpdateBackupAuthData(ctx, "@b:x", "2", "alg.two", []byte(`{}`)), store.ErrNotFound)

	// Deleting the current version makes the highest remaining one current;
	// deleting again succeeds; a never-created version is not found.
	wantErr(t, s.DeleteBackupVersion(ctx, "@b:x", "2"), store.ErrNotFound)
	must(t, s.DeleteBackupVersion(ctx, "@a:x", "2"))
	must(t, s.DeleteBackupVersion(ctx, "@a:x", "2"))
	wantErr(t, s.DeleteBackupVersion(ctx, "@a:x", "5"), store.ErrNotFound)
	_, err = s.GetBackupVersion(ctx, "@a:x", "2")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.UpdateBackupAuthData(ctx, "@a:x", "2", "alg.two", []byte(`{}`)), store.ErrNotFound)
	got, err = s.GetBackupVersion(ctx, "@a:x", "")
	must(t, err)
	eq(t, "current after deleting 2", got.Version, "1")
	// Version IDs are never reused.
	v, err = s.CreateBackupVersion(ctx, "@a:x", "alg.three", []byte(`{}`))
	must(t, err)
	eq(t, "version after a deleted one", v, "3")
	must(t, s.DeleteBackupVersion(ctx, "@a:x", "3"))
	must(t, s.DeleteBackupVersion(ctx, "@a:x", "1"))
	_, err = s.GetBackupVersion(ctx, "@a:x", "")
	wantErr(t, err, store.ErrNotFound)
	v, err = s.CreateBackupVersion(ctx, "@a:x", "alg.four", []byte(`{}`))
	must(t, err)
	eq(t, "version after deleting all", v, "4")
	// b was never affected.
	got, err = s.GetBackupVersion(ctx, "@b:x", "")
	must(t, err)
	eq(t, "b's current", got.Version+" "+got.Algorithm, "1 alg.b")
}

func testBackupSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	user(t, s, "@b:x")
	// No backup yet: nothing can be written.
	_, _, err := s.PutBackupSessions(ctx, "@a:x", "1", []store.BackupSession{bsess("!r:x", "s1", 0, `{"d":0}`)}, byForwardedCountDesc)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetBackupSessions(ctx, "@a:x", "1", "", "")
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.DeleteBackupSessions(ctx, "@a:x", "1", "", "")
	wantErr(t, err, store.ErrNotFound)

	v1, err := s.CreateBackupVersion(ctx, "@a:x", "alg", []byte(`{}`))
	must(t, err)
	ver, err := s.GetBackupVersion(ctx, "@a:x", v1)
	must(t, err)
	etag0 := ver.Etag
	eq(t, "empty version", sessionsOf(t, s, "@a:x", v1, "", ""), []string{})

	etag1, count, err := s.PutBackupSessions(ctx, "@a:x", v1, []store.BackupSession{
		bsess("!r1:x", "s1", 1, `{"d":"r1s1"}`),
		bsess("!r1:x", "s2", 1, `{"d":"r1s2"}`),
		bsess("!r2:x", "s1", 1, `{"d":"r2s1"}`),
	}, byForwardedCountDesc)
	must(t, err)
	eq(t, "count", count, 3)
	if etag1 == etag0 {
		t.Fatalf("etag %q unchanged after storing sessions", etag1)
	}
	ver, err = s.GetBackupVersion(ctx, "@a:x", "")
	must(t, err)
	eq(t, "version etag and count", [2]any{ver.Etag, ver.Count}, [2]any{etag1, 3})
	eq(t, "all", sessionsOf(t, s, "@a:x", v1, "", ""), []string{
		`!r1:x/s1={"d":"r1s1"} fc1 fmi7 vtrue`, `!r1:x/s2={"d":"r1s2"} fc1 fmi7 vtrue`, `!r2:x/s1={"d":"r2s1"} fc1 fmi7 vtrue`})
	eq(t, "room", sessionsOf(t, s, "@a:x", v1, "!r1:x", ""), []string{`!r1:x/s1={"d":"r1s1"} fc1 fmi7 vtrue`, `!r1:x/s2={"d":"r1s2"} fc1 fmi7 vtrue`})
	eq(t, "session", sessionsOf(t, s, "@a:x", v1, "!r2:x", "s1"), []string{`!r2:x/s1={"d":"r2s1"} fc1 fmi7 vtrue`})
	eq(t, "missing room", sessionsOf(t, s, "@a:x", v1, "!nope:x", ""), []string{})
	eq(t, "missing session", sessionsOf(t, s, "@a:x", v1, "!r1:x", "nope"), []string{})

	// The store asks the replace function and obeys it: a copy it refuses
	// leaves everything (etag included) as it was.
	etag2, count, err := s.PutBackupSessions(ctx, "@a:x", v1, []store.BackupSession{bsess("!r1:x", "s1", 0, `{"d":"worse"}`)}, byForwardedCountDesc)
	must(t, err)
	eq(t, "etag and count after a refused copy", [2]any{etag2, count}, [2]any{etag1, 3})
	eq(t, "session kept", sessionsOf(t, s, "@a:x", v1, "!r1:x", "s1"), []string{`!r1:x/s1={"d":"r1s1"} fc1 fmi7 vtrue`})
	var calls []string
	etag3, count, err := s.PutBackupSessions(ctx, "@a:x", v1, []store.BackupSession{
		bsess("!r1:x", "s1", 2, `{"d":"better"}`),
		bsess("!r3:x", "s9", 4, `{"d":"new"}`),
	}, func(existing, incoming store.BackupSessionMeta) bool {
		calls = append(calls, fmt.Sprintf("%d->%d", existing.ForwardedCount, incoming.ForwardedCount))
		return byForwardedCountDesc(existing, incoming)
	})
	must(t, err)
	eq(t, "replace calls (only for the stored session)", calls, []string{"1->2"})
	eq(t, "count after replace and add", count, 4)
	if etag3 == etag1 {
		t.Fatal("etag unchanged after replacing a session")
	}
	eq(t, "replaced session", sessionsOf(t, s, "@a:x", v1, "!r1:x", "s1"), []string{`!r1:x/s1={"d":"better"} fc2 fmi7 vfalse`})

	// Duplicates within one upload resolve by the same function.
	_, _, err = s.PutBackupSessions(ctx, "@a:x", v1, []store.BackupSession{
		bsess("!r4:x", "d", 3, `{"d":"3"}`), bsess("!r4:x", "d", 5, `{"d":"5"}`), bsess("!r4:x", "d", 4, `{"d":"4"}`),
	}, byForwardedCountDesc)
	must(t, err)
	eq(t, "duplicate resolution", sessionsOf(t, s, "@a:x", v1, "!r4:x", ""), []string{`!r4:x/d={"d":"5"} fc5 fmi7 vtrue`})

	// Another user sees none of it and cannot write to a's version.
	_, err = s.GetBackupSessions(ctx, "@b:x", v1, "", "")
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.DeleteBackupSessions(ctx, "@b:x", v1, "", "")
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.PutBackupSessions(ctx, "@b:x", v1, []store.BackupSession{bsess("!r1:x", "s1", 9, `{}`)}, byForwardedCountDesc)
	wantErr(t, err, store.ErrNotFound)
	vb, err := s.CreateBackupVersion(ctx, "@b:x", "alg", []byte(`{}`))
	must(t, err)
	eq(t, "b's version ID equals a's", vb, v1)
	eq(t, "b's own version 1 is empty", sessionsOf(t, s, "@b:x", vb, "", ""), []string{})
	_, count, err = s.PutBackupSessions(ctx, "@b:x", vb, []store.BackupSession{bsess("!r1:x", "s1", 9, `{"d":"b"}`)}, byForwardedCountDesc)
	must(t, err)
	eq(t, "b's count", count, 1)
	eq(t, "a's session untouched by b", sessionsOf(t, s, "@a:x", v1, "!r1:x", "s1"), []string{`!r1:x/s1={"d":"better"} fc2 fmi7 vfalse`})

	// Writes go to the current version only.
	v2, err := s.CreateBackupVersion(ctx, "@a:x", "alg", []byte(`{}`))
	must(t, err)
	before := sessionsOf(t, s, "@a:x", v1, "", "")
	_, _, err = s.PutBackupSessions(ctx, "@a:x", v1, []store.BackupSession{bsess("!r9:x", "s", 1, `{}`)}, byForwardedCountDesc)
	wantErr(t, err, store.ErrWrongBackupVersion)
	var wrong *store.WrongBackupVersionError
	if !errors.As(err, &wrong) || wrong.Current != v2 || wrong.Given != v1 {
		t.Fatalf("wrong-version error %#v, want current %q", wrong, v2)
	}
	for _, bad := range []string{"", "0", "02", "x", "3"} {
		_, _, err = s.PutBackupSessions(ctx, "@a:x", bad, []store.BackupSession{bsess("!r9:x", "s", 1, `{}`)}, byForwardedCountDesc)
		if !errors.As(err, &wrong) || wrong.Current != v2 {
			t.Fatalf("put to version %q: %v, want wrong version naming %q", bad, err, v2)
		}
	}
	eq(t, "old version unchanged by refused puts", sessionsOf(t, s, "@a:x", v1, "", ""), before)
	eq(t, "new version starts empty", sessionsOf(t, s, "@a:x", v2, "", ""), []string{})

	// Deleting sessions: one, a room, all; the etag moves only when
	// something was deleted. Old versions may be pruned too.
	ver, err = s.GetBackupVersion(ctx, "@a:x", v1)
	must(t, err)
	etag, count, err := s.DeleteBackupSessions(ctx, "@a:x", v1, "!r1:x", "nope")
	must(t, err)
	eq(t, "delete nothing", [2]any{etag, count}, [2]any{ver.Etag, ver.Count})
	etag, count, err = s.DeleteBackupSessions(ctx, "@a:x", v1, "!r1:x", "s2")
	must(t, err)
	eq(t, "count after deleting a session", count, ver.Count-1)
	if etag == ver.Etag {
		t.Fatal("etag unchanged after deleting a session")
	}
	eq(t, "room after deleting a session", sessionsOf(t, s, "@a:x", v1, "!r1:x", ""), []string{`!r1:x/s1={"d":"better"} fc2 fmi7 vfalse`})
	_, count, err = s.DeleteBackupSessions(ctx, "@a:x", v1, "!r1:x", "")
	must(t, err)
	eq(t, "count after deleting a room", count, ver.Count-2)
	eq(t, "deleted room", sessionsOf(t, s, "@a:x", v1, "!r1:x", ""), []string{})
	_, count, err = s.DeleteBackupSessions(ctx, "@a:x", v1, "", "")
	must(t, err)
	eq(t, "count after deleting all", count, 0)
	eq(t, "b's sessions survive a's deletions", len(sessionsOf(t, s, "@b:x", vb, "", "")), 1)

	// Deleting a version deletes its sessions; its ID is not reused.
	_, _, err = s.PutBackupSessions(ctx, "@a:x", v2, []store.BackupSession{bsess("!r1:x", "s1", 1, `{}`)}, byForwardedCountDesc)
	must(t, err)
	must(t, s.DeleteBackupVersion(ctx, "@a:x", v2))
	_, err = s.GetBackupSessions(ctx, "@a:x", v2, "", "")
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.DeleteBackupSessions(ctx, "@a:x", v2, "", "")
	wantErr(t, err, store.ErrNotFound)
	// v1 is current again; v2 is gone.
	_, _, err = s.PutBackupSessions(ctx, "@a:x", v2, []store.BackupSession{bsess("!r1:x", "s1", 1, `{}`)}, byForwardedCountDesc)
	if !errors.As(err, &wrong) || wrong.Current != v1 {
		t.Fatalf("put to deleted version: %v, want wrong version naming %q", err, v1)
	}
	v3, err := s.CreateBackupVersion(ctx, "@a:x", "alg", []byte(`{}`))
	must(t, err)
	eq(t, "new version after deleting 2", v3, "3")
	eq(t, "new version empty", sessionsOf(t, s, "@a:x", v3, "", ""), []string{})
}

func testBackupLarge(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	v, err := s.CreateBackupVersion(ctx, "@a:x", "alg", []byte(`{}`))
	must(t, err)
	const n = 10000
	up := make([]store.BackupSession, n)
	for i := range up {
		up[i] = bsess(fmt.Sprintf("!room%d:x", i%37), fmt.Sprintf("session%05d", i), 2, fmt.Sprintf(`{"i":%d}`, i))
	}
	etag1, count, err := s.PutBackupSessions(ctx, "@a:x", v, up, byForwardedCountDesc)
	must(t, err)
	eq(t, "count", count, n)
	got, err := s.GetBackupSessions(ctx, "@a:x", v, "", "")
	must(t, err)
	eq(t, "sessions read back", len(got), n)
	seen := map[string]bool{}
	for _, g := range got {
		var i int
		if _, err := fmt.Sscanf(string(g.SessionData), `{"i":%d}`, &i); err != nil || g.SessionID != fmt.Sprintf("session%05d", i) || g.RoomID != fmt.Sprintf("!room%d:x", i%37) {
			t.Fatalf("session %s/%s has data %s", g.RoomID, g.SessionID, g.SessionData)
		}
		seen[g.SessionID] = true
	}
	eq(t, "distinct sessions", len(seen), n)
	// Re-uploading everything with worse copies changes nothing.
	for i := range up {
		up[i].ForwardedCount = 1
	}
	etag2, count, err := s.PutBackupSessions(ctx, "@a:x", v, up, byForwardedCountDesc)
	must(t, err)
	eq(t, "etag and count after worse re-upload", [2]any{etag2, count}, [2]any{etag1, n})
	// Better copies of every other session replace exactly those.
	for i := range up {
		up[i].ForwardedCount = int64(2 + i%2)
		up[i].SessionData = []byte(fmt.Sprintf(`{"i":%d,"v":%d}`, i, up[i].ForwardedCount))
	}
	etag3, count, err := s.PutBackupSessions(ctx, "@a:x", v, up, byForwardedCountDesc)
	must(t, err)
	eq(t, "count after partial replace", count, n)
	if etag3 == etag1 {
		t.Fatal("etag unchanged after replacing sessions")
	}
	got, err = s.GetBackupSessions(ctx, "@a:x", v, "", "")
	must(t, err)
	replaced := 0
	for _, g := range got {
		if g.ForwardedCount == 3 {
			replaced++
		}
	}
	eq(t, "replaced sessions", replaced, n/2)
}

// testBackupAtomic cancels the context while a large upload is being
// decided: the whole upload must be rolled back.
func testBackupAtomic(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	v, err := s.CreateBackupVersion(ctx, "@a:x", "alg", []byte(`{}`))
	must(t, err)
	_, _, err = s.PutBackupSessions(ctx, "@a:x", v, []store.BackupSession{bsess("!r:x", "s0", 0, `{"old":true}`)}, byForwardedCountDesc)
	must(t, err)
	before, err := s.GetBackupVersion(ctx, "@a:x", v)
	must(t, err)
	up := []store.BackupSession{bsess("!r:x", "s0", 5, `{"new":true}`)}
	for i := 1; i < 3000; i++ {
		up = append(up, bsess("!r:x", fmt.Sprintf("s%d", i), 1, `{}`))
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, _, err = s.PutBackupSessions(cctx, "@a:x", v, up, func(existing, incoming store.BackupSessionMeta) bool {
		cancel()
		return byForwardedCountDesc(existing, incoming)
	})
	if err == nil {
		t.Fatal("upload with a cancelled context succeeded")
	}
	after, err := s.GetBackupVersion(ctx, "@a:x", v)
	must(t, err)
	eq(t, "version after a failed upload", after, before)
	eq(t, "sessions after a failed upload", sessionsOf(t, s, "@a:x", v, "", ""), []string{`!r:x/s0={"old":true} fc0 fmi7 vfalse`})
}

// testBackupConcurrent runs uploads of the same sessions at once: the
// result must be what some serial order gives, the best copy per session.
func testBackupConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	v, err := s.CreateBackupVersion(ctx, "@a:x", "alg", []byte(`{}`))
	must(t, err)
	const writers, sessions = 6, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var up []store.BackupSession
			for i := 0; i < sessions; i++ {
				fc := int64((w + i) % writers)
				up = append(up, bsess("!r:x", fmt.Sprintf("s%d", i), fc, fmt.Sprintf(`{"fc":%d}`, fc)))
			}
			_, _, err := s.PutBackupSessions(ctx, "@a:x", v, up, byForwardedCountDesc)
			errs <- err
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	got, err := s.GetBackupSessions(ctx, "@a:x", v, "", "")
	must(t, err)
	eq(t, "sessions", len(got), sessions)
	for _, g := range got {
		if g.ForwardedCount != writers-1 || string(g.SessionData) != fmt.Sprintf(`{"fc":%d}`, writers-1) {
			t.Fatalf("session %s kept fc %d data %s, want the best copy", g.SessionID, g.ForwardedCount, g.SessionData)
		}
	}
}

// testBackupConcurrentCreate creates versions of one user at once: each
// must get its own ID, and the highest becomes current.
func testBackupConcurrentCreate(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	const n = 8
	var wg sync.WaitGroup
	ids := make(chan string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.CreateBackupVersion(ctx, "@a:x", "alg", []byte(`{}`))
			errs <- err
			ids <- v
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		must(t, err)
	}
	seen := map[string]bool{}
	for v := range ids {
		seen[v] = true
	}
	for i := 1; i <= n; i++ {
		if !seen[fmt.Sprint(i)] {
			t.Fatalf("versions %v, want 1 to %d", seen, n)
		}
	}
	got, err := s.GetBackupVersion(ctx, "@a:x", "")
	must(t, err)
	eq(t, "current", got.Version, fmt.Sprint(n))
}
