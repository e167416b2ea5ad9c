package bench

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", durations(7), 50, 7 * time.Millisecond},
		{"one sample p99", durations(7), 99, 7 * time.Millisecond},
		{"two samples p50 is the lower", durations(1, 9), 50, 1 * time.Millisecond},
		{"two samples p51 is the upper", durations(1, 9), 51, 9 * time.Millisecond},
		{"four samples p50", durations(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"four samples p75", durations(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{"hundred p50", hundred, 50, 50 * time.Millisecond},
		{"hundred p99", hundred, 99, 99 * time.Millisecond},
		{"hundred p99.5", hundred, 99.5, 100 * time.Millisecond},
		{"p0 is the minimum", hundred, 0, 1 * time.Millisecond},
		{"negative p is the minimum", hundred, -3, 1 * time.Millisecond},
		{"NaN p is the minimum", hundred, math.NaN(), 1 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"p above 100 is the maximum", hundred, 250, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"unsorted", durations(5, 1, 4, 2, 3), Summary{Count: 5, P50: 3 * time.Millisecond, P99: 5 * time.Millisecond, Max: 5 * time.Millisecond}},
		{"duplicates", durations(2, 2, 2, 9), Summary{Count: 4, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Max: 9 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.in); got != tt.want {
				t.Errorf("Summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestPercentileRankProperty checks the defining property of the nearest
// rank on random data: at least p% of the samples are <= the result, and
// fewer than p% are < it.
func TestPercentileRankProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + r.IntN(500)
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(r.IntN(50))
		}
		Summarize(s) // sorts
		p := r.Float64() * 100
		if p == 0 {
			continue
		}
		v := Percentile(s, p)
		le, lt := 0, 0
		for _, x := range s {
			if x <= v {
				le++
			}
			if x < v {
				lt++
			}
		}
		if float64(le) < p/100*float64(n)-1e-9 || float64(lt) >= p/100*float64(n) {
			t.Fatalf("n=%d p=%v: value %v has %d <= and %d < it", n, p, v, le, lt)
		}
	}
}

func TestMs(t *testing.T) {
	if got := ms(1234567 * time.Nanosecond); got != 1.235 {
		t.Errorf("ms = %v, want 1.235", got)
	}
	if got := ms(0); got != 0 {
		t.Errorf("ms(0) = %v", got)
	}
}

func BenchmarkSummarize(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]time.Duration, 100_000)
	for i := range src {
		src[i] = time.Duration(r.Int64N(int64(10 * time.Millisecond)))
	}
	s := make([]time.Duration, len(src))
	b.ReportAllocs()
	for b.Loop() {
		copy(s, src)
		Summarize(s)
	}
}
