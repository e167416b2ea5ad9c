package server

import (
	"math"
	"net/http"
	"sync"
	"time"

	"vouch/api"
)

// limiter is a token bucket per key (client IP or user ID). A rate of zero
// disables it.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if burst < 1 {
		burst = 1
	}
	return &limiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token for key or returns 429 M_LIMIT_EXCEEDED with the time
// until the next token.
func (l *limiter) allow(key string) error {
	if l.rate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget full buckets now and then so the map does not grow forever.
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := int64(math.Ceil((1 - b.tokens) / l.rate * 1000))
	return &api.Error{Status: http.StatusTooManyRequests, Code: api.CodeLimitExceeded, Msg: "too many requests", RetryAfterMs: wait}
}
