package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// SoakInterval is how often a soak samples the resident size.
const SoakInterval = 10 * time.Second

// soakMaxRequests bounds the request count of a soak whatever its length.
const soakMaxRequests = 1_000_000_000

// soakPoolUploads is how many keys-upload requests a soak worker signs at a
// time; it signs the next batch (with new key IDs) when one is used up.
const soakPoolUploads = 64

// SoakSample is one resident-size sample of a soak.
type SoakSample struct {
	Kind     string  `json:"kind"` // "soak-sample"
	TS       float64 `json:"t_s"`
	RSSBytes int64   `json:"rss_bytes"`
	// RSSAfterGCBytes is the resident size right after a forced garbage
	// collection that returns freed memory to the system; only with an
	// in-process server, and then the figure the summary uses.
	RSSAfterGCBytes int64 `json:"rss_after_gc_bytes,omitempty"`
	// GoHeapInuseBytes is the Go heap in use after that collection (only
	// with an in-process server): RSS growth outside it is memory the Go
	// runtime does not manage, such as SQLite's page cache.
	GoHeapInuseBytes int64 `json:"go_heap_inuse_bytes,omitempty"`
	Requests         int64 `json:"requests"`
	Errors           int64 `json:"errors"`
	// IntervalRPS is the rate of successful requests since the previous
	// sample.
	IntervalRPS float64 `json:"interval_rps"`
}

// SoakSummary closes a soak: its samples' spread, to tell flat RSS from
// growth.
type SoakSummary struct {
	Kind      string  `json:"kind"` // "soak-summary"
	DurationS float64 `json:"duration_s"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	Samples   int     `json:"samples"`
	// The RSS figures are after a forced GC with an in-process server
	// (see SoakSample.RSSAfterGCBytes), raw otherwise.
	RSSFirst int64  `json:"rss_first_bytes"`
	RSSLast  int64  `json:"rss_last_bytes"`
	RSSMin   int64  `json:"rss_min_bytes"`
	RSSMax   int64  `json:"rss_max_bytes"`
	RSSOf    string `json:"rss_of"`
	// GoHeapFirst and GoHeapLast are the first and last samples' Go heap
	// in use (in-process server only).
	GoHeapFirst int64  `json:"go_heap_first_bytes,omitempty"`
	GoHeapLast  int64  `json:"go_heap_last_bytes,omitempty"`
	FirstError  string `json:"first_error,omitempty"`
	// GrowthPerMillion is (last - first sample after the first interval)
	// per million requests, in bytes: near zero for flat RSS.
	GrowthPerMillion float64 `json:"rss_growth_bytes_per_million_requests"`
}

// Soak registers the population on the server and then drives a mixed load
// with cfg.Clients clients for total, calling sample with the resident size
// every SoakInterval (and once at the start). Per ten requests: six
// keys-query, two signatures-upload, one keys-upload of OTKsPerUpload fresh
// one-time keys (signed as it goes) and one keys/claim taking one key from
// each of the next OTKsPerUpload workers' devices, so that the stored
// one-time keys stay level instead of growing for the whole soak.
func Soak(ctx context.Context, cfg Config, total time.Duration, sample func(SoakSample)) (SoakSummary, error) {
	if cfg.Mode == ModeCeiling {
		return SoakSummary{}, fmt.Errorf("%w: a soak runs against the server", ErrConfig)
	}
	cfg.Mode = ModeServer
	// The soak drives its own mix, not cfg.Scenarios: a scenario's needs
	// (signatures-upload-batch's K+1 users) do not apply to it.
	cfg.Scenarios = []Scenario{KeysQuery, SignaturesUpload, KeysUpload}
	if err := cfg.Validate(); err != nil {
		return SoakSummary{}, err
	}
	if total <= 0 || total > 24*time.Hour {
		return SoakSummary{}, fmt.Errorf("%w: soak duration %v", ErrConfig, total)
	}
	if cfg.Users < 2 {
		return SoakSummary{}, fmt.Errorf("%w: a soak needs at least 2 users", ErrConfig)
	}
	if err := CheckLoopback(ctx, cfg.ServerURL); err != nil {
		return SoakSummary{}, err
	}
	e := endpoint{base: trimSlash(cfg.ServerURL), hc: newHTTPClient(cfg.Clients)}
	defer e.hc.CloseIdleConnections()
	cfg.progress("soak: registering %d users with %d devices each", cfg.Users, cfg.Devices)
	pop, err := setupPopulation(ctx, e, cfg.Users, cfg.Devices, 0, cfg.Clients)
	if err != nil {
		return SoakSummary{}, err
	}
	kq, err := keysQueryPlan(pop, cfg.QueryUsers, cfg.Devices)
	if err != nil {
		return SoakSummary{}, err
	}
	su, err := signaturesUploadPlan(pop, cfg.Clients)
	if err != nil {
		return SoakSummary{}, err
	}
	claimBodies, claimTokens, err := soakClaims(pop, cfg.Clients)
	if err != nil {
		return SoakSummary{}, err
	}
	pools := make([]*otkPool, cfg.Clients)
	uploads := make([]int, cfg.Clients) // per worker, across phases: key IDs never repeat
	next := func(w, seq int, scratch *[]byte) (request, bool, error) {
		switch seq % 10 {
		case 6, 7:
			return su.next(w, seq/10*2+seq%10-6, scratch)
		case 9:
			return request{method: http.MethodPost, path: pathKeysClaim, token: claimTokens[w], body: claimBodies[w]}, true, nil
		case 8:
			u, d := workerDevice(pop, w)
			i := uploads[w]
			uploads[w]++
			p := pools[w]
			if p == nil || i >= p.base+p.uploads() {
				var err error
				if p, err = newOTKPool(u, d, w, i, soakPoolUploads); err != nil {
					return request{}, false, err
				}
				pools[w] = p
			}
			body, _ := p.appendKeysUploadBody((*scratch)[:0], i-p.base)
			*scratch = body
			return request{method: http.MethodPost, path: pathKeysUpload, token: d.token, body: body}, true, nil
		default:
			return kq.next(w, seq, scratch)
		}
	}
	check := func(body []byte) error {
		return checkNoFailures(body)
	}

	var (
		reqs, errs atomic.Int64
		firstErr   error
	)
	sum := SoakSummary{Kind: "soak-summary", RSSOf: cfg.rssOf("server"), RSSMin: math.MaxInt64}
	start := time.Now()
	var lastOK int64
	lastT := start
	take := func() {
		now := time.Now()
		rss, err := ReadRSS()
		if err != nil {
			rss = 0
		}
		r, e := reqs.Load(), errs.Load()
		s := SoakSample{Kind: "soak-sample", TS: round3(now.Sub(start).Seconds()), RSSBytes: rss, Requests: r, Errors: e}
		if cfg.ServerInProcess {
			// Return freed memory to the system first, so that the sample
			// shows what the process holds rather than when the
			// scavenger last ran.
			debug.FreeOSMemory()
			if after, err := ReadRSS(); err == nil {
				s.RSSAfterGCBytes = after
				rss = after
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			s.GoHeapInuseBytes = int64(ms.HeapInuse)
		}
		if dt := now.Sub(lastT).Seconds(); dt > 0 {
			s.IntervalRPS = round3(float64((r-e)-lastOK) / dt)
		}
		lastOK, lastT = r-e, now
		if sum.Samples == 0 {
			sum.RSSFirst = rss
			sum.GoHeapFirst = s.GoHeapInuseBytes
		}
		sum.GoHeapLast = s.GoHeapInuseBytes
		sum.Samples++
		sum.RSSLast = rss
		sum.RSSMin = min(sum.RSSMin, rss)
		sum.RSSMax = max(sum.RSSMax, rss)
		if sample != nil {
			sample(s)
		}
	}
	take()
	var afterWarmup struct {
		rss  int64
		reqs int64
		set  bool
	}
	// The soak runs as consecutive phases of SoakInterval, with a sample
	// after each.
	deadline := start.Add(total)
	for time.Now().Before(deadline) && ctx.Err() == nil && reqs.Load() < soakMaxRequests {
		phase := min(SoakInterval, time.Until(deadline))
		lr := drive(ctx, e, cfg.Clients, phase, soakMaxRequests-reqs.Load(), next, check)
		reqs.Add(lr.requests)
		errs.Add(lr.errors)
		if lr.firstErr != nil && firstErr == nil {
			firstErr = lr.firstErr
		}
		take()
		if !afterWarmup.set {
			afterWarmup.rss, afterWarmup.reqs, afterWarmup.set = sum.RSSLast, reqs.Load(), true
		}
	}
	sum.DurationS = round3(time.Since(start).Seconds())
	sum.Requests, sum.Errors = reqs.Load(), errs.Load()
	if firstErr != nil {
		sum.FirstError = firstErr.Error()
	}
	if afterWarmup.set && sum.Requests > afterWarmup.reqs {
		sum.GrowthPerMillion = round3(float64(sum.RSSLast-afterWarmup.rss) / float64(sum.Requests-afterWarmup.reqs) * 1e6)
	}
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("bench: soak: %w", err)
	}
	return sum, nil
}

// soakClaims builds each worker's keys/claim body: one signed_curve25519
// key from each of the devices of the next OTKsPerUpload workers (fewer with
// fewer workers), which balances one keys-upload of OTKsPerUpload keys per
// worker.
func soakClaims(pop *population, clients int) ([][]byte, []string, error) {
	bodies := make([][]byte, clients)
	tokens := make([]string, clients)
	for w := range clients {
		want := map[string]map[string]string{}
		for j := 1; j <= min(OTKsPerUpload, clients); j++ {
			u, d := workerDevice(pop, (w+j)%clients)
			if want[u.id] == nil {
				want[u.id] = map[string]string{}
			}
			want[u.id][d.id] = "signed_curve25519"
		}
		b, err := json.Marshal(map[string]any{"one_time_keys": want})
		if err != nil {
			return nil, nil, fmt.Errorf("bench: claim body: %w", err)
		}
		_, d := workerDevice(pop, w)
		bodies[w], tokens[w] = b, d.token
	}
	return bodies, tokens, nil
}
