package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/client/device"
	"vouch/client/state"
)

// snapshot is what watch last reported about a user.
type snapshot struct {
	Master        string          `json:"master"`
	Verified      bool            `json:"verified"`
	NeedsApproval bool            `json:"needs_approval"`
	Devices       map[string]bool `json:"devices"` // device ID → trusted
}

// watchEvent is one change watch reports.
type watchEvent struct {
	UserID      string `json:"user_id"`
	Event       string `json:"event"`
	DeviceID    string `json:"device_id,omitempty"`
	Old         string `json:"old,omitempty"`
	New         string `json:"new,omitempty"`
	Verified    bool   `json:"verified"`
	Trusted     *bool  `json:"trusted,omitempty"`
	WasVerified bool   `json:"was_verified,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func (e watchEvent) text() string {
	switch e.Event {
	case "tracking":
		return fmt.Sprintf("%s: watching (%s)", e.UserID, verifiedWord(e.Verified))
	case "identity_changed":
		s := fmt.Sprintf("%s: IDENTITY CHANGED: fingerprint %s → %s", e.UserID, client.FormatFingerprint(e.Old), client.FormatFingerprint(e.New))
		if e.WasVerified {
			s += " (you had verified them)"
		}
		if !e.Verified {
			s += fmt.Sprintf("; not verified until you approve: vouch identity approve %s", e.UserID)
		}
		return s
	case "identity_created":
		return fmt.Sprintf("%s: published a cross-signing identity, fingerprint %s", e.UserID, client.FormatFingerprint(e.New))
	case "identity_removed":
		return fmt.Sprintf("%s: no longer publishes a cross-signing identity (was %s)", e.UserID, client.FormatFingerprint(e.Old))
	case "verified":
		return fmt.Sprintf("%s: now verified", e.UserID)
	case "unverified":
		return fmt.Sprintf("%s: no longer verified: %s", e.UserID, e.Reason)
	case "device_added":
		return fmt.Sprintf("%s: new device %s (%s)", e.UserID, e.DeviceID, trustedWord(e.Trusted))
	case "device_removed":
		return fmt.Sprintf("%s: device %s removed", e.UserID, e.DeviceID)
	case "device_trust_changed":
		if e.Trusted != nil && *e.Trusted {
			return fmt.Sprintf("%s: device %s is now trusted", e.UserID, e.DeviceID)
		}
		return fmt.Sprintf("%s: device %s is no longer trusted", e.UserID, e.DeviceID)
	}
	return e.UserID + ": " + e.Event
}

func verifiedWord(v bool) string {
	if v {
		return "verified"
	}
	return "not verified"
}

// trustedWord reads a device's trust mark; nil (unknown) reads as not trusted.
func trustedWord(t *bool) string {
	if t != nil && *t {
		return "trusted"
	}
	return "not trusted"
}

// diffReport compares a user report with the previous snapshot.
func diffReport(prev *snapshot, r *client.UserReport) ([]watchEvent, snapshot) {
	cur := snapshot{Master: r.Master, Verified: r.Verified, NeedsApproval: r.NeedsApproval, Devices: map[string]bool{}}
	for _, d := range r.Devices {
		cur.Devices[d.DeviceID] = d.Trusted
	}
	ev := func(kind string) watchEvent {
		return watchEvent{UserID: r.UserID, Event: kind, Verified: r.Verified}
	}
	if prev == nil {
		return []watchEvent{ev("tracking")}, cur
	}
	var out []watchEvent
	identityChanged := false
	switch {
	case prev.Master == cur.Master:
	case prev.Master == "":
		e := ev("identity_created")
		e.New = cur.Master
		out = append(out, e)
	case cur.Master == "":
		e := ev("identity_removed")
		e.Old = prev.Master
		out = append(out, e)
		identityChanged = true
	default:
		e := ev("identity_changed")
		e.Old, e.New, e.WasVerified, e.Reason = prev.Master, cur.Master, prev.Verified || r.Pin.WasVerified, r.Decision.Reason
		out = append(out, e)
		identityChanged = true
	}
	if prev.Verified != cur.Verified && !(identityChanged && !cur.Verified) {
		kind := "verified"
		if !cur.Verified {
			kind = "unverified"
		}
		e := ev(kind)
		e.Reason = r.Decision.Reason
		out = append(out, e)
	}
	ids := make([]string, 0, len(cur.Devices)+len(prev.Devices))
	for id := range cur.Devices {
		ids = append(ids, id)
	}
	for id := range prev.Devices {
		if _, ok := cur.Devices[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		was, had := prev.Devices[id]
		now, has := cur.Devices[id]
		t := now
		switch {
		case has && !had:
			e := ev("device_added")
			e.DeviceID, e.Trusted = id, &t
			out = append(out, e)
		case had && !has:
			e := ev("device_removed")
			e.DeviceID = id
			out = append(out, e)
		case was != now:
			e := ev("device_trust_changed")
			e.DeviceID, e.Trusted = id, &t
			out = append(out, e)
		}
	}
	return out, cur
}

// watcher reports changes of tracked users. It compares with what it last
// reported itself (seen), and with the stored snapshot only for a user it has
// not reported yet: two watches of one account, in two terminals, then both
// report every change instead of the first one taking it from the other.
type watcher struct {
	ss     *session
	w      io.Writer
	asJSON bool
	seen   map[string]*snapshot
}

func (wt *watcher) emit(e watchEvent) error {
	if wt.asJSON {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(wt.w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(wt.w, e.text())
	return err
}

// check evaluates users, reports differences from their snapshots and
// stores the new snapshots (and pins, through session.view).
func (wt *watcher) check(ctx context.Context, users []string) error {
	if len(users) == 0 {
		return nil
	}
	tv, err := wt.ss.view(ctx, users...)
	if err != nil {
		return err
	}
	for _, u := range users {
		r := tv.Users[u]
		prev, ok := wt.seen[u]
		if !ok {
			raw, err := wt.ss.st.Snapshot(ctx, u)
			if err != nil {
				return failf("%v", err)
			}
			if raw != nil {
				prev = &snapshot{}
				if json.Unmarshal(raw, prev) != nil {
					prev = nil
				}
			}
		}
		events, cur := diffReport(prev, r)
		if wt.seen == nil {
			wt.seen = map[string]*snapshot{}
		}
		wt.seen[u] = &cur
		for _, e := range events {
			if err := wt.emit(e); err != nil {
				return err
			}
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		if err := wt.ss.st.SaveSnapshot(ctx, u, b); err != nil {
			return failf("%v", err)
		}
	}
	return nil
}

func newWatchCmd(s stdio) *cobra.Command {
	var f accountFlags
	var asJSON, once bool
	var timeout, poll time.Duration
	var extra []string
	cmd := &cobra.Command{
		Use:   "watch [--once | --timeout DURATION] [--track USER]...",
		Short: "Follow /sync and print key and identity changes as they happen",
		Long: `Long-poll /sync and print, as they happen, changes of the identities and
devices of the users you track (everyone whose keys you looked at, and
yourself): new and removed devices, devices becoming trusted or not, users
becoming verified or not, and identity changes (a new master key), which
stay unverified until you approve them (vouch identity approve USER).

It first reports what changed since the last run, then waits. It stops on
Ctrl-C, after one sync with --once, or after --timeout. It also keeps this
device's one-time keys topped up from the counts /sync reports.
--json prints one JSON object per line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 || poll <= 0 {
				return failf("--timeout and --poll must be positive durations such as 30s")
			}
			for _, u := range extra {
				if err := checkUserArg(u); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			ss, err := openSession(ctx, &f, s)
			if err != nil {
				return err
			}
			defer ss.close()
			wt := &watcher{ss: ss, w: cmd.OutOrStdout(), asJSON: asJSON}
			done := func(err error) error {
				// A deadline or Ctrl-C is the normal way out.
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			tracked, err := ss.st.TrackedUsers(ctx)
			if err != nil {
				return done(failf("%v", err))
			}
			users := dedupeStrings(append(append([]string{ss.acct.UserID}, tracked...), extra...))
			if err := wt.check(ctx, users); err != nil {
				return done(err)
			}
			since, err := ss.st.SyncToken(ctx)
			if err != nil {
				return done(failf("%v", err))
			}
			if !once && isTerminalWriter(cmd.ErrOrStderr()) {
				fmt.Fprintln(cmd.ErrOrStderr(), "Watching for key and identity changes (Ctrl-C to stop)…")
			}
			for {
				wait := poll
				if once {
					wait = 0
				}
				resp, err := ss.c.Sync(ctx, client.SyncOptions{Since: since, TimeoutMs: wait.Milliseconds()})
				var merr *client.Error
				switch {
				case err == nil:
				case ctx.Err() != nil:
					return nil
				case !once && errors.Is(err, client.ErrNetwork):
					// A long-running watch outlives server restarts.
					fmt.Fprintf(cmd.ErrOrStderr(), "vouch: lost the server (%v); retrying in %v\n", err, retryWait)
					if sleepCtx(ctx, retryWait) != nil {
						return nil
					}
					continue
				case since != "" && errors.As(err, &merr) && merr.Status == 400:
					// The server no longer knows our token (a new database?):
					// start over; the check of every tracked user catches up.
					fmt.Fprintf(cmd.ErrOrStderr(), "vouch: the server refused the sync token (%v); starting a new sync\n", err)
					since = ""
					if err := wt.check(ctx, users); err != nil {
						return done(err)
					}
					continue
				default:
					return done(ss.explain(err))
				}
				since = resp.NextBatch
				if err := wt.check(ctx, dedupeStrings(resp.DeviceLists.Changed)); err != nil {
					return done(err)
				}
				if err := ss.st.SetSyncToken(ctx, since); err != nil {
					return done(failf("%v", err))
				}
				if err := topUp(ctx, ss, resp); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "vouch: topping up one-time keys: %v\n", err)
				}
				if once {
					return nil
				}
			}
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per change")
	cmd.Flags().BoolVar(&once, "once", false, "report changes since the last run and exit")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop after this long (0: run until Ctrl-C)")
	cmd.Flags().DurationVar(&poll, "poll", 30*time.Second, "long-poll timeout of each /sync")
	cmd.Flags().StringArrayVar(&extra, "track", nil, "also track this user")
	return cmd
}

// topUp uploads one-time and fallback keys when /sync says they run low.
func topUp(ctx context.Context, ss *session, resp *client.SyncResponse) error {
	if ss.dev == nil || (resp.DeviceOneTimeKeysCount == nil && resp.DeviceUnusedFallbackKeyTypes == nil) {
		return nil
	}
	counts := resp.DeviceOneTimeKeysCount
	if counts == nil {
		// The server said nothing about one-time keys: assume they are fine.
		counts = map[string]int{device.AlgSignedCurve25519: device.MaxOneTimeKeys}
	}
	_, err := client.UploadDeviceKeys(ctx, ss.c, ss.dev, rand.Reader, saver{ss.st}, false,
		counts, resp.DeviceUnusedFallbackKeyTypes, resp.DeviceUnusedFallbackKeyTypes != nil)
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	return err
}

func dedupeStrings(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// retryWait is how long watch waits before trying a lost server again.
const retryWait = 5 * time.Second

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
