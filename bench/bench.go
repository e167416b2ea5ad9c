package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"vouch/store"
)

// Mode says what a run measures.
type Mode string

// Modes.
const (
	// ModeBoth runs every scenario against the ceiling, then against the
	// server, and reports the server's figures as ratios to the ceiling's.
	ModeBoth Mode = "both"
	// ModeCeiling runs only the bare handler; no server is needed.
	ModeCeiling Mode = "ceiling"
	// ModeServer runs only the server.
	ModeServer Mode = "server"
)

// Bounds on the configuration, so that a typo cannot start an endless or
// enormous run.
const (
	MaxUsers       = 100_000     // most users a run registers
	MaxDevices     = 100         // most devices per user
	MaxClients     = 1024        // most concurrent clients
	MaxDuration    = time.Hour   // longest timed phase
	MaxRequestsCap = 100_000_000 // largest --max-requests
	// MaxSignaturesPerRequest is the largest --signatures-per-request: the
	// server's default cap on the objects of one signatures upload.
	MaxSignaturesPerRequest = 1000
)

// Config is one bench run.
type Config struct {
	// ServerURL is the key server's base URL; it must be on a loopback
	// address. Required unless Mode is ModeCeiling.
	ServerURL string
	// ServerInProcess says the server runs in this process, so the
	// resident size read from /proc/self is the server's (plus the
	// bench's own, which is small next to it).
	ServerInProcess bool
	Mode            Mode          // what runs: ceiling, server or both
	Users           int           // users registered
	Devices         int           // devices per user
	QueryUsers      int           // users per /keys/query
	Clients         int           // concurrent clients
	Duration        time.Duration // per timed phase
	MaxRequests     int64         // per timed phase
	Scenarios       []Scenario    // run in this order
	// SignaturesPerRequest is the number of signatures in each
	// signatures-upload-batch request (K); the scenario needs K+1 users.
	SignaturesPerRequest int
	// VerifyDuration is how long the ed25519 baseline runs (0: 1.5 s).
	VerifyDuration time.Duration
	// WriterStats, when the server runs in this process, reads its
	// store's writer counters (InProcessServer.WriterStats); each server
	// phase then reports how busy the single writer was. Nil otherwise.
	WriterStats func() (store.WriterStats, bool)
	// Progress receives one human-readable line per step; nil for none.
	Progress io.Writer
}

// DefaultConfig returns the defaults of `vouch bench`.
func DefaultConfig() Config {
	return Config{
		Mode:        ModeBoth,
		Users:       100,
		Devices:     2,
		QueryUsers:  10,
		Clients:     16,
		Duration:    10 * time.Second,
		MaxRequests: 200_000,
		Scenarios:   AllScenarios(),

		SignaturesPerRequest: 16,
	}
}

// Validate checks every field against its bounds.
func (c Config) Validate() error {
	switch c.Mode {
	case ModeBoth, ModeCeiling, ModeServer:
	default:
		return fmt.Errorf("%w: mode %q", ErrConfig, c.Mode)
	}
	if c.Mode != ModeCeiling && c.ServerURL == "" {
		return fmt.Errorf("%w: a server URL is needed unless only the ceiling runs", ErrConfig)
	}
	checks := []struct {
		name      string
		v, lo, hi int64
	}{
		{"users", int64(c.Users), 1, MaxUsers},
		{"devices", int64(c.Devices), 1, MaxDevices},
		{"query-users", int64(c.QueryUsers), 1, int64(c.Users)},
		{"clients", int64(c.Clients), 1, MaxClients},
		{"max-requests", c.MaxRequests, 1, MaxRequestsCap},
		{"signatures-per-request", int64(c.SignaturesPerRequest), 1, MaxSignaturesPerRequest},
	}
	for _, k := range checks {
		if k.v < k.lo || k.v > k.hi {
			return fmt.Errorf("%w: %s is %d, want %d to %d", ErrConfig, k.name, k.v, k.lo, k.hi)
		}
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		return fmt.Errorf("%w: duration %v, want more than 0 and at most %v", ErrConfig, c.Duration, MaxDuration)
	}
	if c.VerifyDuration < 0 || c.VerifyDuration > time.Minute {
		return fmt.Errorf("%w: verify duration %v", ErrConfig, c.VerifyDuration)
	}
	if len(c.Scenarios) == 0 {
		return fmt.Errorf("%w: no scenario", ErrConfig)
	}
	for _, s := range c.Scenarios {
		if s == SignaturesUpload && c.Users < 2 {
			return fmt.Errorf("%w: signatures-upload needs at least 2 users", ErrConfig)
		}
		if s == SignaturesUploadBatch && c.Users < c.SignaturesPerRequest+1 {
			return fmt.Errorf("%w: signatures-upload-batch with %d signatures per request needs at least %d users (one signer and %d others), --users is %d: raise --users or lower --signatures-per-request",
				ErrConfig, c.SignaturesPerRequest, c.SignaturesPerRequest+1, c.SignaturesPerRequest, c.Users)
		}
	}
	return nil
}

// Result is one timed phase of one scenario against one target.
type Result struct {
	Kind          string  `json:"kind"` // "result"
	Scenario      string  `json:"scenario"`
	Against       string  `json:"against"` // "ceiling" or "server"
	Clients       int     `json:"clients"`
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"`
	DurationS     float64 `json:"duration_s"`
	ThroughputRPS float64 `json:"throughput_rps"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	// P50FromSendMs and P99FromSendMs are, for sync-wake, the wake delays
	// measured from sending the change instead of from its 200: never
	// negative, and including the change's own processing.
	P50FromSendMs *float64 `json:"p50_from_send_ms,omitempty"`
	P99FromSendMs *float64 `json:"p99_from_send_ms,omitempty"`
	// CPUCores is the CPU time the process used over the phase's wall time
	// (user and system, all threads): below the machine's core count, the
	// phase waited on something other than this process's CPU (other
	// processes' load, fsync, locks). It covers the client and the target,
	// which is why it is left out for a server in another process.
	CPUCores float64 `json:"cpu_cores,omitempty"`
	// CPUMicrosPerRequest is that CPU time per completed request: less
	// sensitive to other processes' load than throughput.
	CPUMicrosPerRequest float64 `json:"cpu_us_per_request,omitempty"`
	// CPUPerRequestOverCeiling is, for the server, its CPU per request over
	// the ceiling's.
	CPUPerRequestOverCeiling *float64 `json:"cpu_per_request_over_ceiling,omitempty"`
	// AvgResponseBytes is the mean size of the response bodies (not for
	// sync-wake): the client reads them in the same process, so larger
	// answers cost the server's figure some client time too.
	AvgResponseBytes int64  `json:"avg_response_bytes,omitempty"`
	RSSBytes         int64  `json:"rss_bytes"`
	RSSPeakBytes     int64  `json:"rss_peak_bytes"`
	RSSOf            string `json:"rss_of"`
	// WriterBusy, WriterBatchSize and WriterQueueMs describe the server's
	// store writer over the phase, when Config.WriterStats reads it: the
	// share of the phase it spent on group commits (near 1: the writer is
	// the bound), the mean number of write transactions per group commit,
	// and the mean time a write transaction waited for it. Absent for
	// phases that wrote nothing.
	WriterBusy      *float64 `json:"writer_busy,omitempty"`
	WriterBatchSize *float64 `json:"writer_batch_size,omitempty"`
	WriterQueueMs   *float64 `json:"writer_queue_ms,omitempty"`
	// RatioToCeiling is this throughput over the ceiling's, for the
	// server when the ceiling ran in the same run.
	RatioToCeiling *float64 `json:"ratio_to_ceiling,omitempty"`
	// P99OverCeiling is this p99 latency over the ceiling's (a multiple).
	P99OverCeiling *float64 `json:"p99_over_ceiling,omitempty"`
	// SignaturesPerRequest is, for signatures-upload-batch, the number of
	// signatures in each request (K).
	SignaturesPerRequest int `json:"signatures_per_request,omitempty"`
	// RatioToVerifyBound is, for signatures-upload against the server,
	// the throughput over the bare ed25519 verification rate; for
	// signatures-upload-batch, over that rate divided by
	// SignaturesPerRequest.
	RatioToVerifyBound *float64 `json:"ratio_to_verify_bound,omitempty"`
	// RatioToCeilingPlusVerify is, for signatures-upload against the
	// server, the throughput over the rate of a handler that would do the
	// ceiling's work plus one verification per request:
	// 1 / (1/ceiling + 1/verifications per s); for signatures-upload-batch,
	// plus K verifications: 1 / (1/ceiling + K/verifications per s). Informational: on a machine
	// where one verification costs more than an HTTP round trip, the bound
	// of RatioToVerifyBound is above the HTTP ceiling itself.
	RatioToCeilingPlusVerify *float64 `json:"ratio_to_ceiling_plus_verify,omitempty"`
	// RatioToPreparedVerifyBound is, for signatures-upload-batch, the
	// throughput over the baseline's prepared verification rate divided by
	// SignaturesPerRequest: how close the server comes to the bound of the
	// verifier it actually uses for a batch by one key. Informational.
	RatioToPreparedVerifyBound *float64 `json:"ratio_to_prepared_verify_bound,omitempty"`
	FirstError                 string   `json:"first_error,omitempty"`
}

// Target is one of the performance targets with its outcome. A
// failed target is reported, never an error.
type Target struct {
	Kind      string  `json:"kind"` // "target"
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Pass      bool    `json:"pass"`
	// AsSpecified is false when the run's shape differs from the one the
	// target is stated for (users per query, devices, clients).
	AsSpecified bool `json:"as_specified"`
}

// Report is everything a run measured, in the order it was measured.
type Report struct {
	Baseline *Baseline
	Results  []Result
	Targets  []Target
}

// Objects returns the report as the JSON objects `vouch bench` prints, one
// per line: baseline, results, targets.
func (r *Report) Objects() []any {
	var out []any
	if r.Baseline != nil {
		out = append(out, *r.Baseline)
	}
	for _, x := range r.Results {
		out = append(out, x)
	}
	for _, t := range r.Targets {
		out = append(out, t)
	}
	return out
}

func (c Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "bench: "+format+"\n", args...)
	}
}

// rssOf names whose resident size a result reports.
func (c Config) rssOf(against string) string {
	switch {
	case against == "ceiling":
		return "bench process (ceiling handler in-process)"
	case c.ServerInProcess:
		return "server (in-process, includes the bench client)"
	}
	return "bench process (server is out of process)"
}

// wakeUsers is the number of sync-wake users the run needs (none without a
// sync-wake scenario).
func (c Config) wakeUsers() int {
	for _, sc := range c.Scenarios {
		if isSyncWake(sc) {
			return wakeUsers(c.Clients)
		}
	}
	return 0
}

// uploadsBudget is the number of keys-upload requests whose keys are
// precomputed.
func (c Config) uploadsBudget() int64 {
	return min(c.MaxRequests, max(int64(c.Clients), int64(math.Ceil(c.Duration.Seconds()*keysUploadPoolRate))))
}

// Run sets up the population (registering it on the server unless only the
// ceiling runs), then runs every configured scenario against the ceiling
// and/or the server and evaluates the targets. Errors of individual requests
// are counted in the results; Run fails only when the run cannot go on.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var server endpoint
	var pop *population
	var err error
	if cfg.Mode != ModeCeiling {
		if err := CheckLoopback(ctx, cfg.ServerURL); err != nil {
			return nil, err
		}
		server = endpoint{base: trimSlash(cfg.ServerURL), hc: newHTTPClient(cfg.Clients)}
		cfg.progress("registering %d users with %d devices each and cross-signing on %s", cfg.Users, cfg.Devices, cfg.ServerURL)
		t0 := time.Now()
		if pop, err = setupPopulation(ctx, server, cfg.Users, cfg.Devices, cfg.wakeUsers(), cfg.Clients); err != nil {
			return nil, err
		}
		cfg.progress("set up in %.1f s", time.Since(t0).Seconds())
		server.hc.CloseIdleConnections()
	} else if pop, err = syntheticPopulation(cfg.Users, cfg.Devices, cfg.wakeUsers()); err != nil {
		return nil, err
	}

	rep := &Report{}
	verifyD := cfg.VerifyDuration
	if verifyD == 0 {
		verifyD = 1500 * time.Millisecond
	}
	sampleVerify := func(when string) error {
		cfg.progress("measuring bare ed25519 verification for %v (%s)", verifyD, when)
		b, err := MeasureVerify(ctx, verifyD)
		if err != nil {
			return err
		}
		if rep.Baseline == nil {
			rep.Baseline = &b
		} else {
			rep.Baseline.merge(b)
		}
		return nil
	}
	for _, sc := range cfg.Scenarios {
		signatures := sc == SignaturesUpload || sc == SignaturesUploadBatch
		if signatures && rep.Baseline == nil {
			if err := sampleVerify("before " + string(sc)); err != nil {
				return nil, err
			}
		}
		results, err := runScenario(ctx, cfg, sc, pop, server.base)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, results...)
		if signatures {
			// The bound is the machine's verification rate over the
			// signature phases, not at one instant before them: sampled
			// before the first and after each, and pooled.
			if err := sampleVerify("after " + string(sc)); err != nil {
				return nil, err
			}
		}
	}
	rep.fillRatios()
	rep.Targets = evaluateTargets(cfg, rep)
	return rep, nil
}

// trimSlash drops trailing slashes from a base URL.
func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// runScenario prepares sc and runs it against the ceiling and/or server.
func runScenario(ctx context.Context, cfg Config, sc Scenario, pop *population, serverBase string) ([]Result, error) {
	cfg.progress("%s: preparing", sc)
	var (
		pl  *plan
		sp  *syncWakePlan
		err error
	)
	switch sc {
	case KeysQuery:
		pl, err = keysQueryPlan(pop, cfg.QueryUsers, cfg.Devices)
	case SignaturesUpload:
		pl, err = signaturesUploadPlan(pop, cfg.Clients)
	case SignaturesUploadBatch:
		pl, err = signaturesUploadBatchPlan(pop, cfg.Clients, cfg.SignaturesPerRequest)
	case KeysUpload:
		pl, err = keysUploadPlan(pop, cfg.Clients, cfg.uploadsBudget())
	case SyncWake, SyncWakeFanout:
		sp, err = newSyncWakePlan(pop, cfg.Clients, sc == SyncWakeFanout)
	default:
		err = fmt.Errorf("%w: unknown scenario %q", ErrConfig, sc)
	}
	if err != nil {
		return nil, err
	}
	var out []Result
	if cfg.Mode != ModeServer {
		var changed []string
		if sp != nil {
			changed = sp.targetIDs()
		}
		ceil, err := NewCeiling(changed)
		if err != nil {
			return nil, err
		}
		ls, err := StartLocal(ceil)
		if err != nil {
			return nil, err
		}
		cfg.progress("%s: ceiling for up to %v", sc, cfg.Duration)
		r, err := runOnce(ctx, cfg, sc, pl, sp, endpoint{base: ls.URL, hc: newHTTPClient(cfg.Clients)}, false)
		cerr := ls.Close()
		if err != nil {
			return nil, err
		}
		if cerr != nil {
			return nil, cerr
		}
		out = append(out, r)
	}
	if cfg.Mode != ModeCeiling {
		e := endpoint{base: serverBase, hc: newHTTPClient(cfg.Clients)}
		if pl != nil && pl.probe != nil {
			if err := pl.probe(ctx, e); err != nil {
				return nil, fmt.Errorf("bench: %s: the server's answer is not right: %w", sc, err)
			}
		}
		cfg.progress("%s: server for up to %v", sc, cfg.Duration)
		r, err := runOnce(ctx, cfg, sc, pl, sp, e, true)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// runOnce runs one timed phase and turns it into a Result.
func runOnce(ctx context.Context, cfg Config, sc Scenario, pl *plan, sp *syncWakePlan, e endpoint, isServer bool) (Result, error) {
	defer e.hc.CloseIdleConnections()
	var lr loadResult
	var w0 store.WriterStats
	writerOK := false
	if isServer && cfg.WriterStats != nil {
		w0, writerOK = cfg.WriterStats()
	}
	if sp != nil {
		var err error
		if lr, err = runSyncWake(ctx, e, sp, cfg.Duration, cfg.MaxRequests); err != nil {
			return Result{}, err
		}
	} else {
		next := pl.next
		if !isServer && pl.nextCeiling != nil {
			next = pl.nextCeiling
		}
		lr = drive(ctx, e, cfg.Clients, cfg.Duration, cfg.MaxRequests, next, pl.check)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("bench: %s: %w", sc, err)
	}
	against := "ceiling"
	if isServer {
		against = "server"
	}
	s := Summarize(lr.latency)
	r := Result{
		Kind:         "result",
		Scenario:     string(sc),
		Against:      against,
		Clients:      cfg.Clients,
		Requests:     lr.requests,
		Errors:       lr.errors,
		DurationS:    round3(lr.elapsed.Seconds()),
		P50Ms:        ms(s.P50),
		P99Ms:        ms(s.P99),
		MaxMs:        ms(s.Max),
		RSSBytes:     lr.rssEnd,
		RSSPeakBytes: lr.rssPeak,
		RSSOf:        cfg.rssOf(against),
	}
	if sc == SignaturesUploadBatch {
		r.SignaturesPerRequest = cfg.SignaturesPerRequest
	}
	// CPU figures cover this process only: for a server in another
	// process they would describe the client alone, so they are left out.
	cpuMeaningful := lr.cpu > 0 && (!isServer || cfg.ServerInProcess)
	if lr.requests > 0 {
		r.AvgResponseBytes = lr.respBytes / lr.requests
		if cpuMeaningful {
			r.CPUMicrosPerRequest = round3(float64(lr.cpu.Microseconds()) / float64(lr.requests))
		}
	}
	if lr.elapsed > 0 && cpuMeaningful {
		r.CPUCores = round3(lr.cpu.Seconds() / lr.elapsed.Seconds())
	}
	if len(lr.fromSend) > 0 {
		fs := Summarize(lr.fromSend)
		p50, p99 := ms(fs.P50), ms(fs.P99)
		r.P50FromSendMs, r.P99FromSendMs = &p50, &p99
	}
	if lr.elapsed > 0 {
		r.ThroughputRPS = round3(float64(lr.requests-lr.errors) / lr.elapsed.Seconds())
	}
	if lr.firstErr != nil {
		r.FirstError = lr.firstErr.Error()
	}
	if writerOK {
		w1, _ := cfg.WriterStats()
		r.setWriter(w0, w1, lr.elapsed)
	}
	cfg.progress("%s against %s: %d requests, %d errors, %.0f/s, p50 %.3f ms, p99 %.3f ms", sc, against, r.Requests, r.Errors, r.ThroughputRPS, r.P50Ms, r.P99Ms)
	return r, nil
}

// setWriter fills the writer fields from the counters before (w0) and
// after (w1) a phase of length elapsed.
func (r *Result) setWriter(w0, w1 store.WriterStats, elapsed time.Duration) {
	batches, jobs := w1.Batches-w0.Batches, w1.Jobs-w0.Jobs
	if batches == 0 || jobs == 0 || elapsed <= 0 {
		return
	}
	busy := round3((w1.BatchSeconds - w0.BatchSeconds) / elapsed.Seconds())
	size := round3(float64(jobs) / float64(batches))
	queue := round3((w1.QueueSeconds - w0.QueueSeconds) * 1000 / float64(jobs))
	r.WriterBusy, r.WriterBatchSize, r.WriterQueueMs = &busy, &size, &queue
}

// ratio returns a/b rounded, or nil when b is zero.
func ratio(a, b float64) *float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return nil
	}
	v := round3(a / b)
	return &v
}

// fillRatios sets each server result's ratios to the ceiling result of the
// same scenario and, for signatures-upload and signatures-upload-batch, to
// the verification bound (K verifications per request for the batch).
func (r *Report) fillRatios() {
	ceil := map[string]Result{}
	for _, x := range r.Results {
		if x.Against == "ceiling" {
			ceil[x.Scenario] = x
		}
	}
	for i := range r.Results {
		x := &r.Results[i]
		if x.Against != "server" {
			continue
		}
		if c, ok := ceil[x.Scenario]; ok {
			if !isSyncWake(Scenario(x.Scenario)) { // sync-wake's rate is paced by the bench
				x.RatioToCeiling = ratio(x.ThroughputRPS, c.ThroughputRPS)
			}
			x.P99OverCeiling = ratio(x.P99Ms, c.P99Ms)
			if x.CPUMicrosPerRequest > 0 {
				x.CPUPerRequestOverCeiling = ratio(x.CPUMicrosPerRequest, c.CPUMicrosPerRequest)
			}
		}
		perRequest := 0 // verifications per request
		switch Scenario(x.Scenario) {
		case SignaturesUpload:
			perRequest = 1
		case SignaturesUploadBatch:
			perRequest = x.SignaturesPerRequest
		}
		if perRequest > 0 && r.Baseline != nil && r.Baseline.VerifiesPerS > 0 {
			k := float64(perRequest)
			x.RatioToVerifyBound = ratio(x.ThroughputRPS, r.Baseline.VerifiesPerS/k)
			if perRequest > 1 && r.Baseline.PreparedVerifiesPerS > 0 {
				x.RatioToPreparedVerifyBound = ratio(x.ThroughputRPS, r.Baseline.PreparedVerifiesPerS/k)
			}
			if c, ok := ceil[x.Scenario]; ok && c.ThroughputRPS > 0 {
				bound := 1 / (1/c.ThroughputRPS + k/r.Baseline.VerifiesPerS)
				x.RatioToCeilingPlusVerify = ratio(x.ThroughputRPS, bound)
			}
		}
	}
}

// evaluateTargets checks the targets against the server results.
func evaluateTargets(cfg Config, r *Report) []Target {
	var out []Target
	shape := cfg.Clients == 16
	for _, x := range r.Results {
		if x.Against != "server" {
			continue
		}
		switch Scenario(x.Scenario) {
		case KeysQuery:
			spec := shape && cfg.QueryUsers == 10 && cfg.Devices == 2
			if x.RatioToCeiling != nil {
				out = append(out, target("keys-query throughput / ceiling >= 0.5", *x.RatioToCeiling, 0.5, true, spec))
			}
			out = append(out, target("keys-query p99 ms < 10", x.P99Ms, 10, false, spec))
		case SignaturesUpload:
			if x.RatioToVerifyBound != nil {
				out = append(out, target("signatures-upload throughput / bare ed25519 verifications per s >= 0.6", *x.RatioToVerifyBound, 0.6, true, true))
			}
		case SignaturesUploadBatch:
			if x.RatioToVerifyBound != nil {
				k := x.SignaturesPerRequest
				out = append(out, target(fmt.Sprintf("signatures-upload-batch (%d signatures) throughput / (bare ed25519 verifications per s / %d) >= 0.6", k, k), *x.RatioToVerifyBound, 0.6, true, true))
			}
		case KeysUpload:
			if x.RatioToCeiling != nil {
				out = append(out, target("keys-upload (5 one-time keys) throughput / ceiling >= 0.3", *x.RatioToCeiling, 0.3, true, shape))
			}
		case SyncWake:
			out = append(out, target("sync-wake p99 ms < 5", x.P99Ms, 5, false, true))
		}
		if x.Errors > 0 {
			out = append(out, target(x.Scenario+" errors == 0", float64(x.Errors), 0, false, true))
		}
	}
	return out
}

// target builds a Target: value >= threshold when atLeast, else value <
// threshold (or == 0 for a zero threshold).
func target(name string, value, threshold float64, atLeast, asSpecified bool) Target {
	pass := value < threshold
	switch {
	case atLeast:
		pass = value >= threshold
	case threshold == 0:
		pass = value == 0
	}
	return Target{Kind: "target", Name: name, Value: value, Threshold: threshold, Pass: pass, AsSpecified: asSpecified}
}
