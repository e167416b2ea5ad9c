package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// request is one request a load worker sends.
type request struct {
	method string
	path   string
	token  string
	body   []byte
}

// nextFunc returns worker's request number seq (0, 1, … per worker). A
// request whose body is built per request builds it in *scratch (the
// worker's own buffer, reused) and stores the grown buffer back. ok is false
// when the worker has nothing more to send.
type nextFunc func(worker, seq int, scratch *[]byte) (req request, ok bool, err error)

// checkFunc checks the body of a 200 response.
type checkFunc func(body []byte) error

// loadResult is what one timed phase measured.
type loadResult struct {
	requests int64 // completed requests, including errors
	errors   int64
	elapsed  time.Duration
	latency  []time.Duration // of successful requests
	// fromSend is, for sync-wake, each wake's delay from the moment the
	// change was sent (rather than from its 200).
	fromSend []time.Duration
	firstErr error
	rssEnd   int64
	rssPeak  int64
	// respBytes is the total size of the response bodies read.
	respBytes int64
	// cpu is the CPU time the process used during the phase (0 if unknown).
	cpu time.Duration
}

// drive runs clients workers against e until dur has passed, maxRequests
// requests were started or every worker ran out of requests, whichever comes
// first. Each worker sends one request at a time and waits for the whole
// response. Latency covers sending the request and reading the response.
// Requests in flight at the deadline are completed and counted rather than
// cancelled (a cancelled request would be a server error for no reason);
// the elapsed time includes them.
func drive(ctx context.Context, e endpoint, clients int, dur time.Duration, maxRequests int64, next nextFunc, check checkFunc) loadResult {
	deadline := time.Now().Add(dur)
	var (
		started  atomic.Int64
		done     atomic.Int64
		bytesIn  atomic.Int64
		errs     atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errs.Add(1)
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	stopRSS := make(chan struct{})
	rssPeak := make(chan int64, 1)
	go func() { rssPeak <- sampleRSSPeak(stopRSS, 100*time.Millisecond) }()

	cpu0, cpuErr := processCPU()
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 1024)
			var scratch []byte
			var resp bytes.Buffer
			var mineBytes int64
			for seq := 0; ; seq++ {
				if ctx.Err() != nil || time.Now().After(deadline) || started.Add(1) > maxRequests {
					break
				}
				req, ok, err := next(w, seq, &scratch)
				if err != nil {
					done.Add(1) // counted as a failed request
					fail(err)
					break
				}
				if !ok {
					break
				}
				t0 := time.Now()
				status, err := sendInto(ctx, e, req, &resp)
				d := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					break // the run was cancelled: not a server error
				}
				done.Add(1)
				mineBytes += int64(resp.Len())
				switch {
				case err != nil:
					fail(err)
				case status != http.StatusOK:
					fail(fmt.Errorf("%w: %s %s: HTTP %d: %.200q", ErrHTTPStatus, req.method, req.path, status, resp.Bytes()))
				default:
					if check != nil {
						if err := check(resp.Bytes()); err != nil {
							fail(fmt.Errorf("%s %s: %w", req.method, req.path, err))
							continue
						}
					}
					mine = append(mine, d)
				}
			}
			bytesIn.Add(mineBytes)
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var cpu time.Duration
	if cpu1, err := processCPU(); err == nil && cpuErr == nil {
		cpu = cpu1 - cpu0
	}
	close(stopRSS)
	rssEnd, _ := ReadRSS()
	return loadResult{
		cpu:       cpu,
		requests:  done.Load(),
		errors:    errs.Load(),
		elapsed:   elapsed,
		latency:   lat,
		firstErr:  firstErr,
		rssEnd:    rssEnd,
		rssPeak:   max(<-rssPeak, rssEnd),
		respBytes: bytesIn.Load(),
	}
}

// sendInto sends req and reads the response body into out.
func sendInto(ctx context.Context, e endpoint, req request, out *bytes.Buffer) (int, error) {
	out.Reset()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, e.base+req.path, body)
	if err != nil {
		return 0, fmt.Errorf("bench: %s %s: %w", req.method, req.path, err)
	}
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.token)
	}
	resp, err := e.hc.Do(hr)
	if err != nil {
		return 0, fmt.Errorf("bench: %s %s: %w", req.method, req.path, err)
	}
	defer resp.Body.Close()
	if _, err := out.ReadFrom(io.LimitReader(resp.Body, maxResponseBody)); err != nil {
		return resp.StatusCode, fmt.Errorf("bench: %s %s: reading response: %w", req.method, req.path, err)
	}
	return resp.StatusCode, nil
}

// sampleRSSPeak reads the resident set size every interval until stop is
// closed and returns the largest value seen (0 if none could be read).
func sampleRSSPeak(stop <-chan struct{}, interval time.Duration) int64 {
	t := time.NewTicker(interval)
	defer t.Stop()
	var peak int64
	for {
		if rss, err := ReadRSS(); err == nil {
			peak = max(peak, rss)
		}
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}
