package bench

import (
	"math"
	"slices"
	"time"
)

// Summary is the latency distribution of a set of samples.
type Summary struct {
	Count int           // number of samples
	P50   time.Duration // median (nearest rank)
	P99   time.Duration // 99th percentile (nearest rank)
	Max   time.Duration // largest sample
}

// Summarize sorts samples in place and returns their distribution. An empty
// slice gives the zero Summary.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	slices.Sort(samples)
	return Summary{
		Count: len(samples),
		P50:   Percentile(samples, 50),
		P99:   Percentile(samples, 99),
		Max:   samples[len(samples)-1],
	}
}

// Percentile returns the p-th percentile of sorted samples by the nearest
// rank method: the smallest sample such that at least p% of the samples are
// less than or equal to it. p is clamped to [0, 100]; an empty slice gives 0.
// sorted must be in ascending order.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if math.IsNaN(p) || p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// ms converts a duration to milliseconds with microsecond resolution.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// round3 rounds x to three decimal places for printing.
func round3(x float64) float64 {
	return math.Round(x*1000) / 1000
}
