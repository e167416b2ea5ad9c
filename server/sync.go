package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"vouch/api"
)

// toDeviceLimit is the most to-device messages one /sync returns.
const toDeviceLimit = 100

// syncToken renders a stream position as an opaque since token.
func syncToken(pos int64) string { return "v" + strconv.FormatInt(pos, 10) }

// parseToken reads a since token ("" is the start of the stream).
func parseToken(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(tok, "v")
	pos, err := strconv.ParseInt(rest, 10, 64)
	if !ok || err != nil || pos < 0 || strconv.FormatInt(pos, 10) != rest {
		return 0, api.InvalidParam("invalid stream token %q", tok)
	}
	return pos, nil
}

func (s *Server) syncWaiters() int { return int(s.waiting.Load()) }

// sync answers GET /sync: device-list changes of the users the caller is
// interested in, one-time key counts, unused fallback key types, to-device
// messages and global account data since the token. With a timeout and
// nothing new it waits until a relevant change is notified.
func (s *Server) sync(r *http.Request, c *caller) (any, error) {
	q := r.URL.Query()
	since, err := parseToken(q.Get("since"))
	if err != nil {
		return nil, err
	}
	initial := q.Get("since") == ""
	var timeout time.Duration
	if t := q.Get("timeout"); t != "" {
		ms, err := strconv.ParseInt(t, 10, 64)
		if err != nil || ms < 0 {
			return nil, api.InvalidParam("invalid timeout %q", t)
		}
		timeout = min(time.Duration(ms)*time.Millisecond, s.cfg.MaxSyncTimeout.Duration)
	}
	ctx := r.Context()
	wake, unsubscribe := s.notifier.Subscribe(c.UserID)
	defer unsubscribe()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		resp, empty, err := s.syncOnce(ctx, c, since, initial)
		if err != nil {
			return nil, err
		}
		if !empty || initial || timeout == 0 || s.isClosing() {
			return resp, nil
		}
		s.waiting.Add(1)
		select {
		case <-wake:
			s.waiting.Add(-1)
			continue
		case <-deadline.C:
			s.waiting.Add(-1)
		case <-s.closing:
			s.waiting.Add(-1)
		case <-ctx.Done():
			s.waiting.Add(-1)
			return nil, ctx.Err()
		}
		resp, _, err = s.syncOnce(ctx, c, since, initial)
		return resp, err
	}
}

func (s *Server) syncOnce(ctx context.Context, c *caller, since int64, initial bool) (*api.SyncResponse, bool, error) {
	to, err := s.st.CurrentPosition(ctx)
	if err != nil {
		return nil, false, err
	}
	if to < since {
		// A token from the future (e.g. the database was reset): answer from
		// the current position rather than wait forever.
		since = to
	}
	msgs, err := s.st.ToDeviceMessages(ctx, c.UserID, c.DeviceID, since, to, toDeviceLimit)
	if err != nil {
		return nil, false, err
	}
	if len(msgs) == toDeviceLimit {
		to = msgs[len(msgs)-1].Position
	}
	resp := &api.SyncResponse{NextBatch: syncToken(to), ToDevice: api.EventList{Events: []api.Event{}}, AccountData: api.EventList{Events: []api.Event{}}}
	for _, m := range msgs {
		resp.ToDevice.Events = append(resp.ToDevice.Events, api.Event{Type: m.Type, Sender: m.Sender, Content: json.RawMessage(m.Content)})
	}
	if !initial {
		changed, err := s.st.ChangedUsers(ctx, c.UserID, since, to)
		if err != nil {
			return nil, false, err
		}
		resp.DeviceLists.Changed = changed
	}
	ad, err := s.st.AccountDataSince(ctx, c.UserID, since, to)
	if err != nil {
		return nil, false, err
	}
	for _, typ := range sortedKeys(ad) {
		resp.AccountData.Events = append(resp.AccountData.Events, api.Event{Type: typ, Content: json.RawMessage(ad[typ])})
	}
	if resp.DeviceOneTimeKeysCount, err = s.st.OneTimeKeyCounts(ctx, c.UserID, c.DeviceID); err != nil {
		return nil, false, err
	}
	if _, ok := resp.DeviceOneTimeKeysCount["signed_curve25519"]; !ok {
		resp.DeviceOneTimeKeysCount["signed_curve25519"] = 0
	}
	if resp.DeviceUnusedFallbackKeyTypes, err = s.st.UnusedFallbackKeyTypes(ctx, c.UserID, c.DeviceID); err != nil {
		return nil, false, err
	}
	empty := len(msgs) == 0 && len(resp.DeviceLists.Changed) == 0 && len(ad) == 0
	return resp, empty, nil
}

func (s *Server) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}
