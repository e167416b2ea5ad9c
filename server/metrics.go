package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vouch/store"
)

// metrics holds the server's Prometheus collectors in a registry of its own
// (never the process-wide default one), so that several servers in one
// process, as in tests, do not share counters.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// deleted counts rows removed by the expiry sweep, by kind.
	deleted *prometheus.CounterVec
	handler http.Handler
}

// Values of the kind label of vouch_expired_deleted_total.
const (
	expiredUIA   = "uia_session"
	expiredTxn   = "to_device_txn"
	expiredNonce = "registration_nonce"
)

// newMetrics registers request counts by route and status, a latency
// histogram by route, the rows deleted by the expiry sweep, the number of
// long-polling /sync requests (read from waiters when scraped), the store's
// write path when st reports it (store.WriterStatsOf), and the Go runtime
// and process collectors.
func newMetrics(waiters func() int, st store.Store) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vouch_http_requests_total",
			Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vouch_http_request_duration_seconds",
			Help:    "Request latency by route.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vouch_expired_deleted_total",
			Help: "Expired records deleted by the periodic sweep, by kind (uia_session, to_device_txn, registration_nonce).",
		}, []string{"kind"}),
	}
	// Every kind is exported from the start, at zero, rather than only
	// after its first deletion.
	m.deleted.WithLabelValues(expiredUIA)
	m.deleted.WithLabelValues(expiredTxn)
	m.deleted.WithLabelValues(expiredNonce)
	reg.MustRegister(
		m.requests,
		m.latency,
		m.deleted,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vouch_sync_waiters",
			Help: "Long-polling /sync requests.",
		}, func() float64 { return float64(waiters()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if _, ok := store.WriterStatsOf(st); ok {
		reg.MustRegister(newWriterCollector(func() store.WriterStats {
			s, _ := store.WriterStatsOf(st)
			return s
		}))
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// observe records one request.
func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// expired counts rows deleted by one expiry sweep.
func (m *metrics) expired(uia, txns, nonces int) {
	m.deleted.WithLabelValues(expiredUIA).Add(float64(uia))
	m.deleted.WithLabelValues(expiredTxn).Add(float64(txns))
	m.deleted.WithLabelValues(expiredNonce).Add(float64(nonces))
}

// writerCollector exports the store's write path (store.WriterStats), read
// when scraped: group commits and the write transactions in them, groups
// rerun because one of their transactions failed, the time transactions
// waited for the writer and the time the writer was busy, and how many
// wait now. Rates of these give the mean group size, the mean wait and how
// close the single writer is to saturation (busy seconds per second).
type writerCollector struct {
	stats                                    func() store.WriterStats
	batches, jobs, reruns, queue, busy, wait *prometheus.Desc
}

func newWriterCollector(stats func() store.WriterStats) *writerCollector {
	return &writerCollector{
		stats:   stats,
		batches: prometheus.NewDesc("vouch_store_write_batches_total", "Group commits run by the store's writer (one database transaction each).", nil, nil),
		jobs:    prometheus.NewDesc("vouch_store_write_transactions_total", "Write transactions run in group commits.", nil, nil),
		reruns:  prometheus.NewDesc("vouch_store_write_reruns_total", "Group commits run again, with a savepoint per write transaction, because one of them failed.", nil, nil),
		queue:   prometheus.NewDesc("vouch_store_write_queue_seconds_total", "Time write transactions waited for the writer, summed.", nil, nil),
		busy:    prometheus.NewDesc("vouch_store_write_busy_seconds_total", "Time the writer spent running group commits.", nil, nil),
		wait:    prometheus.NewDesc("vouch_store_write_waiting", "Write transactions waiting for the writer.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *writerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.batches, c.jobs, c.reruns, c.queue, c.busy, c.wait} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *writerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.batches, prometheus.CounterValue, float64(s.Batches))
	ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.CounterValue, float64(s.Jobs))
	ch <- prometheus.MustNewConstMetric(c.reruns, prometheus.CounterValue, float64(s.Reruns))
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.CounterValue, s.QueueSeconds)
	ch <- prometheus.MustNewConstMetric(c.busy, prometheus.CounterValue, s.BatchSeconds)
	ch <- prometheus.MustNewConstMetric(c.wait, prometheus.GaugeValue, float64(s.Waiting))
}
