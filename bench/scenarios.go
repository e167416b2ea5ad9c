package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
)

// Scenario names one load the bench can drive.
type Scenario string

// The scenarios, in the order "all" runs them.
const (
	// KeysQuery: POST /keys/query for QueryUsers users per request.
	KeysQuery Scenario = "keys-query"
	// SignaturesUpload: POST /keys/signatures/upload, each request the
	// caller's user-signing key's signature over another user's master key.
	SignaturesUpload Scenario = "signatures-upload"
	// SignaturesUploadBatch: POST /keys/signatures/upload, each request
	// Config.SignaturesPerRequest signatures by the caller's user-signing
	// key over as many other users' master keys.
	SignaturesUploadBatch Scenario = "signatures-upload-batch"
	// KeysUpload: POST /keys/upload with OTKsPerUpload fresh signed
	// one-time keys.
	KeysUpload Scenario = "keys-upload"
	// SyncWake: the delay from a watched user's change to its watcher's
	// long-polling /sync returning with that user; each change concerns one
	// of the parked watchers.
	SyncWake Scenario = "sync-wake"
	// SyncWakeFanout: the same with every watcher interested in the one
	// user that changes, so each change wakes all of them.
	SyncWakeFanout Scenario = "sync-wake-fanout"
)

// AllScenarios returns every scenario in the order "all" runs them.
func AllScenarios() []Scenario {
	return []Scenario{KeysQuery, SignaturesUpload, SignaturesUploadBatch, KeysUpload, SyncWake, SyncWakeFanout}
}

// ParseScenarios parses a --scenario value: "all" or a comma-separated list
// of scenario names.
func ParseScenarios(s string) ([]Scenario, error) {
	if s == "" || s == "all" {
		return AllScenarios(), nil
	}
	var out []Scenario
	for name := range strings.SplitSeq(s, ",") {
		sc := Scenario(strings.TrimSpace(name))
		known := false
		for _, k := range AllScenarios() {
			known = known || k == sc
		}
		if !known {
			return nil, fmt.Errorf("%w: unknown scenario %q (want all, keys-query, signatures-upload, signatures-upload-batch, keys-upload, sync-wake or sync-wake-fanout)", ErrConfig, name)
		}
		out = append(out, sc)
	}
	return out, nil
}

// keysUploadPoolRate is the request rate the keys-upload pool of
// precomputed one-time keys is sized for: duration × this many uploads, at
// most MaxRequests. A server faster than this ends the phase early when the
// pool is used up, which still gives a valid rate over the shorter time.
// It is above what the server reaches on the project's machine (about
// 4,000–6,500 uploads/s), so that the server's phase lasts as long as the
// ceiling's; the pool, about 0.6 KB per upload, is part of the phase's
// resident size.
const keysUploadPoolRate = 6000

// plan is one scenario's request generator, prepared before the timed
// phase and used unchanged against the ceiling and the server.
type plan struct {
	next nextFunc
	// nextCeiling, when not nil, replaces next against the ceiling: the
	// same requests, but allowed to repeat, because the ceiling stores
	// nothing (so that a fast ceiling does not end early for want of
	// fresh one-time keys).
	nextCeiling nextFunc
	check       checkFunc
	// probe checks one request's answer in depth against the server
	// before the timed phase; nil when there is nothing more to check than
	// the timed phase checks.
	probe func(ctx context.Context, e endpoint) error
}

// workerDevice is the user and device worker w sends as.
func workerDevice(p *population, w int) (*user, *device) {
	u := p.users[w%len(p.users)]
	return u, u.devices[(w/len(p.users))%len(u.devices)]
}

// checkNoFailures accepts a JSON body whose "failures" member (matched
// exactly, as the API names it), if any, is an empty object or null.
func checkNoFailures(body []byte) error {
	if !bytes.Contains(body, []byte(`"failures"`)) {
		if !json.Valid(body) {
			return fmt.Errorf("%w: not JSON: %.200q", ErrBadResponse, body)
		}
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	var failures map[string]json.RawMessage
	if raw, ok := obj["failures"]; ok {
		if err := json.Unmarshal(raw, &failures); err != nil {
			return fmt.Errorf("%w: failures is not an object: %.200s", ErrBadResponse, raw)
		}
	}
	if len(failures) != 0 {
		return fmt.Errorf("%w: failures %.300s", ErrBadResponse, body)
	}
	return nil
}

// keysQueryPlan queries q consecutive users per request, starting at a
// different user each time.
func keysQueryPlan(p *population, q, devices int) (*plan, error) {
	n := len(p.users)
	bodies := make([][]byte, n)
	for i := range n {
		b, err := keysQueryBody(p.userIDs(i, q))
		if err != nil {
			return nil, err
		}
		bodies[i] = b
	}
	next := func(w, seq int, _ *[]byte) (request, bool, error) {
		_, d := workerDevice(p, w)
		return request{method: http.MethodPost, path: pathKeysQuery, token: d.token, body: bodies[(w*7+seq)%n]}, true, nil
	}
	probe := func(ctx context.Context, e endpoint) error {
		_, d := workerDevice(p, 0)
		var r struct {
			DeviceKeys map[string]map[string]json.RawMessage `json:"device_keys"`
			MasterKeys map[string]json.RawMessage            `json:"master_keys"`
			SSKs       map[string]json.RawMessage            `json:"self_signing_keys"`
		}
		if err := e.call(ctx, http.MethodPost, pathKeysQuery, d.token, bodies[0], &r); err != nil {
			return err
		}
		for _, id := range p.userIDs(0, q) {
			if got := len(r.DeviceKeys[id]); got != devices {
				return fmt.Errorf("%w: keys-query returned %d devices for %s, want %d", ErrBadResponse, got, id, devices)
			}
			if r.MasterKeys[id] == nil || r.SSKs[id] == nil {
				return fmt.Errorf("%w: keys-query returned no master or self-signing key for %s", ErrBadResponse, id)
			}
		}
		return nil
	}
	return &plan{next: next, probe: probe}, nil
}

// signaturesUploadPlan gives each worker's user the signatures of its
// user-signing key over every other user's master key, signed now, and sends
// them in turn (again from the start once all were sent: an identical
// signature is stored again and verified again).
func signaturesUploadPlan(p *population, clients int) (*plan, error) {
	n := len(p.users)
	if n < 2 {
		return nil, fmt.Errorf("%w: signatures-upload needs at least 2 users", ErrConfig)
	}
	bodies, err := buildBodies(min(clients, n), func(c int) ([][]byte, error) {
		u := p.users[c]
		mine := make([][]byte, 0, n-1)
		for j := 1; j < n; j++ {
			b, err := u.signOtherMasterBody(p.users[(c+j)%n])
			if err != nil {
				return nil, err
			}
			mine = append(mine, b)
		}
		return mine, nil
	})
	if err != nil {
		return nil, err
	}
	return signaturesPlan(p, bodies, n, string(SignaturesUpload)), nil
}

// signaturesUploadBatchPlan gives each worker's user its user-signing key's
// signatures over every other user's master key, signed now, and sends them
// k to a request: request r of a caller carries the signatures over the
// others at offsets r·k+1 … r·k+k (modulo the n−1 others), so k distinct
// users per request and, over the caller's cycle of requests, every other
// user as often as any. After the cycle the same requests are sent again.
// Only the n−1 signed objects of each caller are kept; each request's body
// is assembled from them when it is sent (a few microseconds for k = 16),
// so memory grows with the users and not with the cycle, which is
// lcm(n−1, k)/k requests long.
func signaturesUploadBatchPlan(p *population, clients, k int) (*plan, error) {
	return signaturesUploadBatchPlanUpTo(p, clients, k, maxPrebuiltBatchBytes)
}

// signaturesUploadBatchPlanUpTo is signaturesUploadBatchPlan building the
// bodies up front only when they take at most prebuiltLimit bytes.
func signaturesUploadBatchPlanUpTo(p *population, clients, k, prebuiltLimit int) (*plan, error) {
	n := len(p.users)
	if k < 1 || n < k+1 {
		return nil, fmt.Errorf("%w: signatures-upload-batch with %d signatures per request needs at least %d users, have %d", ErrConfig, k, k+1, n)
	}
	others := n - 1
	// The cycle: the smallest number of requests after which the offsets
	// come back to the start, others / gcd(others, k).
	requests := others / gcd(others, k)
	// entries[c][j-1] is `"<user c+j>":{"<their master key>":<signed object>}`.
	entries, err := buildBodies(min(clients, n), func(c int) ([][]byte, error) {
		u := p.users[c]
		mine := make([][]byte, others)
		for j := 1; j < n; j++ {
			o := p.users[(c+j)%n]
			obj, err := u.signOtherMaster(o)
			if err != nil {
				return nil, err
			}
			e, err := json.Marshal(map[string]map[string]json.RawMessage{o.id: {o.master.b64: obj}})
			if err != nil {
				return nil, fmt.Errorf("bench: batch body: %w", err)
			}
			mine[j-1] = e[1 : len(e)-1] // the one member, without the braces
		}
		return mine, nil
	})
	if err != nil {
		return nil, err
	}
	body := func(c, r int, dst []byte) []byte {
		dst = append(dst, '{')
		for i := range k {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, entries[c][((r%requests)*k+i)%others]...)
		}
		return append(dst, '}')
	}
	if size := len(entries) * requests * k * len(entries[0][0]); size <= prebuiltLimit {
		// Small enough to build every body now, as the bench always did:
		// see maxPrebuiltBatchBytes.
		bodies := make([][][]byte, len(entries))
		for c := range entries {
			bodies[c] = make([][]byte, requests)
			for r := range requests {
				bodies[c][r] = body(c, r, nil)
			}
		}
		return signaturesPlan(p, bodies, n, string(SignaturesUploadBatch)), nil
	}
	next := func(w, seq int, scratch *[]byte) (request, bool, error) {
		u := p.users[w%n]
		*scratch = body(w%n, seq, (*scratch)[:0])
		return request{method: http.MethodPost, path: pathSigsUpload, token: u.devices[0].token, body: *scratch}, true, nil
	}
	return signaturesPlanWith(p, next, body(0, 0, nil), string(SignaturesUploadBatch)), nil
}

// maxPrebuiltBatchBytes bounds the signatures-upload-batch bodies built
// before the timed phase; a larger cycle (thousands of users) is assembled
// request by request instead. Below it the bodies are built up front, as in
// every earlier measurement: the ceiling and the server run in the bench's
// process and share its heap, so holding the bodies or not changes how often
// the garbage collector runs for both, and with it their CPU per request
// (assembling per request at the default 100 users measured 1.02–1.17× the
// CPU per server request and a 0.7–0.9× ceiling, 2026-11-23 21:58 UTC).
const maxPrebuiltBatchBytes = 64 << 20

// buildBodies runs build for callers 0 … callers-1, GOMAXPROCS at a time
// (signing is CPU-bound), and returns their bodies, or every caller's error
// joined.
func buildBodies(callers int, build func(c int) ([][]byte, error)) ([][][]byte, error) {
	bodies := make([][][]byte, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for c := range callers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			bodies[c], errs[c] = build(c)
		})
	}
	wg.Wait()
	return bodies, errors.Join(errs...)
}

// signaturesPlan sends worker w the precomputed bodies of user w%n in turn
// (w%n < callers: callers is min(clients, n) and w < clients), and probes
// with user 0's first body, which must be answered with an empty failures
// object. name is the scenario, for errors.
func signaturesPlan(p *population, bodies [][][]byte, n int, name string) *plan {
	next := func(w, seq int, _ *[]byte) (request, bool, error) {
		u := p.users[w%n]
		mine := bodies[w%n]
		return request{method: http.MethodPost, path: pathSigsUpload, token: u.devices[0].token, body: mine[seq%len(mine)]}, true, nil
	}
	return signaturesPlanWith(p, next, bodies[0][0], name)
}

// signaturesPlanWith is a signatures plan sending next's requests and
// probing with first, user 0's first body.
func signaturesPlanWith(p *population, next func(w, seq int, scratch *[]byte) (request, bool, error), first []byte, name string) *plan {
	probe := func(ctx context.Context, e endpoint) error {
		var r signatureUploadResponse
		if err := e.call(ctx, http.MethodPost, pathSigsUpload, p.users[0].devices[0].token, first, &r); err != nil {
			return err
		}
		if r.Failures == nil {
			return fmt.Errorf("%w: %s answer has no failures object", ErrBadResponse, name)
		}
		if len(r.Failures) != 0 {
			return fmt.Errorf("%w: %s failures %v", ErrBadResponse, name, r.Failures)
		}
		return nil
	}
	return &plan{next: next, check: checkNoFailures, probe: probe}
}

// gcd is the greatest common divisor of two positive integers.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// keysUploadPlan gives each worker a pool of one-time keys signed by its
// device, uploads of OTKsPerUpload fresh keys each.
func keysUploadPlan(p *population, clients int, uploads int64) (*plan, error) {
	perWorker := int((uploads + int64(clients) - 1) / int64(clients))
	pools := make([]*otkPool, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for w := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			u, d := workerDevice(p, w)
			pools[w], errs[w] = newOTKPool(u, d, w, 0, perWorker)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	build := func(w, i int, scratch *[]byte) (request, bool, error) {
		body, ok := pools[w].appendKeysUploadBody((*scratch)[:0], i)
		if !ok {
			return request{}, false, nil
		}
		*scratch = body
		_, d := workerDevice(p, w)
		return request{method: http.MethodPost, path: pathKeysUpload, token: d.token, body: body}, true, nil
	}
	next := func(w, seq int, scratch *[]byte) (request, bool, error) { return build(w, seq, scratch) }
	nextCeiling := func(w, seq int, scratch *[]byte) (request, bool, error) {
		if n := pools[w].uploads(); n > 0 {
			seq %= n
		}
		return build(w, seq, scratch)
	}
	probe := func(ctx context.Context, e endpoint) error {
		// A pool of its own, with key IDs no timed worker uses.
		u, d := workerDevice(p, 0)
		pool, err := newOTKPool(u, d, clients, 0, 1)
		if err != nil {
			return err
		}
		body, _ := pool.appendKeysUploadBody(nil, 0)
		var r struct {
			Counts map[string]int `json:"one_time_key_counts"`
		}
		if err := e.call(ctx, http.MethodPost, pathKeysUpload, d.token, body, &r); err != nil {
			return err
		}
		if r.Counts["signed_curve25519"] < OTKsPerUpload {
			return fmt.Errorf("%w: keys-upload counts %v after uploading %d keys", ErrBadResponse, r.Counts, OTKsPerUpload)
		}
		return nil
	}
	return &plan{next: next, nextCeiling: nextCeiling, probe: probe}, nil
}

// isSyncWake reports whether sc is one of the sync-wake scenarios.
func isSyncWake(sc Scenario) bool { return sc == SyncWake || sc == SyncWakeFanout }
