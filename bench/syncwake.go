package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Sync-wake timing.
const (
	// syncPollTimeout is the long-poll timeout each watcher asks for.
	syncPollTimeout = 30 * time.Second
	// wakeDeadline is how long after a change's 200 a watcher may take to
	// return with the changed user before it counts as an error.
	wakeDeadline = 2 * time.Second
	// parkDeadline bounds the wait for every watcher to have a poll in
	// flight before the next change.
	parkDeadline = 5 * time.Second
	// parkSettle is the pause between every watcher having sent its poll
	// and the change, so that the server has parked the polls.
	parkSettle = 5 * time.Millisecond
)

// syncResponse is the part of a /sync answer the watchers read.
type syncResponse struct {
	NextBatch   string `json:"next_batch"`
	DeviceLists struct {
		Changed []string `json:"changed"`
	} `json:"device_lists"`
}

// wakeReport is one /sync answer received by a watcher.
type wakeReport struct {
	watcher int
	at      time.Time
	changed []string
	err     error
}

// wakeTarget is a watched user and the change that makes its device list
// change: its first device's signature over its master key, uploaded again.
type wakeTarget struct {
	userID string
	token  string
	body   []byte
}

// syncWakePlan is everything sync-wake needs, prepared before the timed
// phase.
type syncWakePlan struct {
	watchers []*user // one per client; the same user may appear twice
	targets  []wakeTarget
}

// maxWakeTargets is how many watched users the changes rotate over.
const maxWakeTargets = 4

// newSyncWakePlan picks clients watchers and up to maxWakeTargets targets
// (the last users, apart from the watchers when there are enough users) and
// precomputes the changes.
func newSyncWakePlan(p *population, clients int) (*syncWakePlan, error) {
	n := len(p.users)
	sp := &syncWakePlan{}
	for i := range clients {
		sp.watchers = append(sp.watchers, p.users[i%n])
	}
	m := min(maxWakeTargets, n)
	for i := range m {
		t := p.users[n-1-i]
		body, err := t.deviceSignsMasterBody(t.devices[0])
		if err != nil {
			return nil, err
		}
		sp.targets = append(sp.targets, wakeTarget{userID: t.id, token: t.devices[0].token, body: body})
	}
	return sp, nil
}

// targetIDs lists the targets' user IDs.
func (sp *syncWakePlan) targetIDs() []string {
	ids := make([]string, len(sp.targets))
	for i, t := range sp.targets {
		ids[i] = t.userID
	}
	return ids
}

// syncPath is the /sync path for since with the given long-poll timeout.
func syncPath(since string, timeout time.Duration) string {
	p := pathSync + "?timeout=" + strconv.FormatInt(timeout.Milliseconds(), 10)
	if since != "" {
		p += "&since=" + url.QueryEscape(since)
	}
	return p
}

// prepare makes every watcher interested in the targets (by querying their
// keys) and returns each watcher's first since token.
func (sp *syncWakePlan) prepare(ctx context.Context, e endpoint) ([]string, error) {
	query, err := keysQueryBody(sp.targetIDs())
	if err != nil {
		return nil, err
	}
	since := make([]string, len(sp.watchers))
	for i, w := range sp.watchers {
		tok := w.devices[0].token
		if err := e.call(ctx, http.MethodPost, pathKeysQuery, tok, query, nil); err != nil {
			return nil, fmt.Errorf("bench: sync-wake interest of %s: %w", w.id, err)
		}
		var sr syncResponse
		if err := e.call(ctx, http.MethodGet, syncPath("", 0), tok, nil, &sr); err != nil {
			return nil, fmt.Errorf("bench: initial sync of %s: %w", w.id, err)
		}
		if sr.NextBatch == "" {
			return nil, fmt.Errorf("%w: initial sync of %s has no next_batch", ErrBadResponse, w.id)
		}
		since[i] = sr.NextBatch
	}
	return since, nil
}

// watch long-polls /sync for watcher i until ctx ends or, after an answer,
// stop is set, reporting every answer. polls counts the polls it has sent.
func watch(ctx context.Context, e endpoint, i int, token, since string, polls *atomic.Int64, stop *atomic.Bool, reports chan<- wakeReport) {
	for ctx.Err() == nil && !stop.Load() {
		polls.Add(1)
		var sr syncResponse
		err := e.call(ctx, http.MethodGet, syncPath(since, syncPollTimeout), token, nil, &sr)
		at := time.Now()
		if ctx.Err() != nil {
			return
		}
		r := wakeReport{watcher: i, at: at, err: err}
		if err == nil {
			if sr.NextBatch == "" {
				r.err = fmt.Errorf("%w: sync without next_batch", ErrBadResponse)
			} else {
				since = sr.NextBatch
				r.changed = sr.DeviceLists.Changed
			}
		}
		select {
		case reports <- r:
		case <-ctx.Done():
			return
		}
		if r.err != nil {
			select { // do not spin on a failing server
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
	}
}

// runSyncWake measures, for each change of a watched user, the time from the
// change's 200 to each watcher's /sync returning with that user in
// device_lists.changed. One sample per watcher and change; requests counts
// samples, errors counts failed changes, failed polls and missed wakes.
func runSyncWake(ctx context.Context, e endpoint, sp *syncWakePlan, dur time.Duration, maxSamples int64) (loadResult, error) {
	since, err := sp.prepare(ctx, e)
	if err != nil {
		return loadResult{}, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nw := len(sp.watchers)
	reports := make(chan wakeReport, nw*4)
	polls := make([]atomic.Int64, nw)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i, w := range sp.watchers {
		wg.Go(func() { watch(wctx, e, i, w.devices[0].token, since[i], &polls[i], &stop, reports) })
	}

	var res loadResult
	fail := func(err error, n int64) {
		res.errors += n
		if res.firstErr == nil {
			res.firstErr = err
		}
	}
	received := make([]int64, nw)
	take := func(r wakeReport) {
		received[r.watcher]++
		if r.err != nil {
			fail(r.err, 1)
		}
	}
	stopRSS := make(chan struct{})
	rssPeak := make(chan int64, 1)
	go func() { rssPeak <- sampleRSSPeak(stopRSS, 100*time.Millisecond) }()

	start := time.Now()
	deadline := start.Add(dur)
events:
	for k := 0; time.Now().Before(deadline) && int64(len(res.latency))+res.errors < maxSamples && ctx.Err() == nil; k++ {
		// Wait until every watcher has a poll in flight.
		parkBy := time.Now().Add(parkDeadline)
		for {
			parked := true
			for i := range nw {
				if polls[i].Load() <= received[i] {
					parked = false
					break
				}
			}
			if parked {
				break
			}
			if time.Now().After(parkBy) {
				fail(fmt.Errorf("%w: watchers did not re-poll within %v", ErrWakeTimeout, parkDeadline), 1)
				break events
			}
			select {
			case r := <-reports:
				take(r)
			case <-time.After(time.Millisecond):
			case <-ctx.Done():
				break events
			}
		}
		time.Sleep(parkSettle)

		t := sp.targets[k%len(sp.targets)]
		status, body, err := e.send(ctx, http.MethodPost, pathSigsUpload, t.token, t.body)
		t0 := time.Now()
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("%w: change of %s: HTTP %d: %.200q", ErrHTTPStatus, t.userID, status, body)
		}
		if err == nil {
			err = checkNoFailures(body)
		}
		if err != nil {
			fail(err, 1)
			continue
		}
		seen := make([]bool, nw)
		nseen := 0
		timeout := time.NewTimer(wakeDeadline)
		for nseen < nw {
			select {
			case r := <-reports:
				take(r)
				if r.err == nil && !seen[r.watcher] && slices.Contains(r.changed, t.userID) {
					seen[r.watcher] = true
					nseen++
					res.latency = append(res.latency, max(0, r.at.Sub(t0)))
				}
			case <-timeout.C:
				fail(fmt.Errorf("%w: %d of %d watchers missed the change of %s", ErrWakeTimeout, nw-nseen, nw, t.userID), int64(nw-nseen))
				nseen = nw
			case <-ctx.Done():
				timeout.Stop()
				break events
			}
		}
		timeout.Stop()
	}
	res.elapsed = time.Since(start)
	close(stopRSS)
	// Let the parked polls end normally: one more change wakes them and
	// they stop; whatever is still parked after wakeDeadline is cancelled.
	stop.Store(true)
	t := sp.targets[0]
	_, _, _ = e.send(ctx, http.MethodPost, pathSigsUpload, t.token, t.body)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	drain := time.NewTimer(wakeDeadline)
	for waiting := true; waiting; {
		select {
		case <-reports:
		case <-finished:
			waiting = false
		case <-drain.C:
			cancel()
		}
	}
	drain.Stop()
	res.requests = int64(len(res.latency)) + res.errors
	res.rssEnd, _ = ReadRSS()
	res.rssPeak = max(<-rssPeak, res.rssEnd)
	return res, nil
}
