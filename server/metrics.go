package server

import (
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// metrics is a small Prometheus text-format registry: request counts by
// route and status, and a latency histogram by route. It is written by hand
// to keep the dependency set small (see docs/server.md).
type metrics struct {
	mu     sync.Mutex
	counts map[routeStatus]uint64
	hist   map[string]*histogram
	start  time.Time
}

type routeStatus struct {
	route  string
	status int
}

type histogram struct {
	buckets []uint64 // cumulative counts are computed when written
	sum     float64
	count   uint64
}

var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newMetrics() *metrics {
	return &metrics{counts: map[routeStatus]uint64{}, hist: map[string]*histogram{}, start: time.Now()}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	sec := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts[routeStatus{route, status}]++
	h := m.hist[route]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(latencyBuckets))}
		m.hist[route] = h
	}
	for i, b := range latencyBuckets {
		if sec <= b {
			h.buckets[i]++
			break
		}
	}
	h.sum += sec
	h.count++
}

func (m *metrics) write(w http.ResponseWriter, waiters int) {
	var b strings.Builder
	m.mu.Lock()
	keys := make([]routeStatus, 0, len(m.counts))
	for k := range m.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].status < keys[j].status
	})
	b.WriteString("# HELP vouch_http_requests_total HTTP requests by route and status.\n# TYPE vouch_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "vouch_http_requests_total{route=%q,status=\"%d\"} %d\n", k.route, k.status, m.counts[k])
	}
	routes := make([]string, 0, len(m.hist))
	for r := range m.hist {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	b.WriteString("# HELP vouch_http_request_duration_seconds Request latency by route.\n# TYPE vouch_http_request_duration_seconds histogram\n")
	for _, r := range routes {
		h := m.hist[r]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.buckets[i]
			fmt.Fprintf(&b, "vouch_http_request_duration_seconds_bucket{route=%q,le=\"%g\"} %d\n", r, le, cum)
		}
		fmt.Fprintf(&b, "vouch_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, h.count)
		fmt.Fprintf(&b, "vouch_http_request_duration_seconds_sum{route=%q} %g\n", r, h.sum)
		fmt.Fprintf(&b, "vouch_http_request_duration_seconds_count{route=%q} %d\n", r, h.count)
	}
	uptime := time.Since(m.start).Seconds()
	m.mu.Unlock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(&b, "# HELP vouch_sync_waiters Long-polling /sync requests.\n# TYPE vouch_sync_waiters gauge\nvouch_sync_waiters %d\n", waiters)
	fmt.Fprintf(&b, "# HELP go_goroutines Goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	fmt.Fprintf(&b, "# HELP go_memstats_heap_inuse_bytes Heap in use.\n# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes %d\n", ms.HeapInuse)
	fmt.Fprintf(&b, "# HELP vouch_uptime_seconds Seconds since start.\n# TYPE vouch_uptime_seconds gauge\nvouch_uptime_seconds %g\n", uptime)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(b.String())) //nolint:errcheck // client went away
}
