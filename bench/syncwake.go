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
	watchers []*user
	targets  []wakeTarget
	// watches[i] is the index in targets of the one target watcher i
	// queries, and so is interested in.
	watches []int
}

// newSyncWakePlan pairs the population's clients wake watchers with
// targets. With fanout false, watcher i watches target i alone, so each
// change concerns exactly one parked /sync (the others stay parked); with
// fanout true, every watcher watches one target, so each change concerns
// all of them.
func newSyncWakePlan(p *population, clients int, fanout bool) (*syncWakePlan, error) {
	if len(p.wake) < wakeUsers(clients) {
		return nil, fmt.Errorf("%w: %d sync-wake users for %d clients", ErrConfig, len(p.wake), clients)
	}
	sp := &syncWakePlan{watchers: p.wake[:clients], watches: make([]int, clients)}
	targets := p.wake[clients : 2*clients]
	if fanout {
		targets = p.wake[2*clients : 2*clients+1]
	}
	for i := range clients {
		sp.watches[i] = i % len(targets)
	}
	for _, t := range targets {
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

// prepare makes every watcher interested in its target (by querying its
// keys) and returns each watcher's first since token.
func (sp *syncWakePlan) prepare(ctx context.Context, e endpoint) ([]string, error) {
	since := make([]string, len(sp.watchers))
	for i, w := range sp.watchers {
		query, err := keysQueryBody([]string{sp.targets[sp.watches[i]].userID})
		if err != nil {
			return nil, err
		}
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
// change's 200 to each watcher of that user having its /sync return with the
// user in device_lists.changed. One sample per concerned watcher and change;
// requests counts samples, errors counts failed changes, failed polls and
// missed wakes. Answers to watchers the change does not concern (the
// ceiling wakes every poll) are read and ignored.
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

	cpu0, cpuErr := processCPU()
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

		ti := k % len(sp.targets)
		t := sp.targets[ti]
		tSend := time.Now()
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
		nseen, concerned := 0, 0
		for i := range nw {
			if sp.watches[i] == ti {
				concerned++
			}
		}
		timeout := time.NewTimer(wakeDeadline)
		for nseen < concerned {
			select {
			case r := <-reports:
				take(r)
				// An answer from before the change was sent is a late one
				// to an earlier change (the ceiling lists every target in
				// every answer), not this wake.
				if r.err == nil && sp.watches[r.watcher] == ti && !seen[r.watcher] && !r.at.Before(tSend) && slices.Contains(r.changed, t.userID) {
					seen[r.watcher] = true
					nseen++
					res.latency = append(res.latency, max(0, r.at.Sub(t0)))
					res.fromSend = append(res.fromSend, r.at.Sub(tSend))
				}
			case <-timeout.C:
				fail(fmt.Errorf("%w: %d of %d watchers missed the change of %s", ErrWakeTimeout, concerned-nseen, concerned, t.userID), int64(concerned-nseen))
				nseen = concerned
			case <-ctx.Done():
				timeout.Stop()
				break events
			}
		}
		timeout.Stop()
	}
	res.elapsed = time.Since(start)
	if cpu1, err := processCPU(); err == nil && cpuErr == nil {
		res.cpu = cpu1 - cpu0
	}
	close(stopRSS)
	// Let the parked polls end normally: one more change of every target
	// wakes them and they stop; whatever is still parked after
	// wakeDeadline is cancelled.
	stop.Store(true)
	for _, t := range sp.targets {
		_, _, _ = e.send(ctx, http.MethodPost, pathSigsUpload, t.token, t.body)
	}
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
