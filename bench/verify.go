package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"vouch/internal/edcomb"
)

// Baseline is the bare ed25519 verification rate of this machine: the bound
// for signatures-upload, where the server verifies one signature per request.
type Baseline struct {
	Kind         string  `json:"kind"` // "baseline"
	What         string  `json:"what"`
	Goroutines   int     `json:"goroutines"`
	Verifies     int64   `json:"verifies"`
	DurationS    float64 `json:"duration_s"`
	VerifiesPerS float64 `json:"verifies_per_s"`
	MicrosPerOp  float64 `json:"us_per_verify_per_core"`
	// PreparedVerifiesPerS is the same loop's rate with the key prepared
	// once (internal/edcomb), the verifier the server uses for a key that
	// has many signatures in one upload; measured for half the duration,
	// right after the bare rate. Informational: the bound is the
	// bare rate.
	PreparedVerifiesPerS float64 `json:"prepared_verifies_per_s,omitempty"`
	// Samples is the number of measurements pooled into this baseline:
	// vouch bench measures before the first signature scenario and after
	// each, and the rates are over all of them together.
	Samples int `json:"samples"`
	// preparedVerifies and preparedS are the pooled prepared-verifier
	// counts behind PreparedVerifiesPerS.
	preparedVerifies int64
	preparedS        float64
}

// merge pools o's measurement into b: the rates become total
// verifications over total time.
func (b *Baseline) merge(o Baseline) {
	b.Verifies += o.Verifies
	b.DurationS = round3(b.DurationS + o.DurationS)
	b.preparedVerifies += o.preparedVerifies
	b.preparedS += o.preparedS
	b.Samples += o.Samples
	b.setRates()
}

// setRates computes the rates from the pooled counts.
func (b *Baseline) setRates() {
	if b.Verifies > 0 && b.DurationS > 0 {
		b.VerifiesPerS = round3(float64(b.Verifies) / b.DurationS)
		b.MicrosPerOp = round3(b.DurationS * float64(b.Goroutines) / float64(b.Verifies) * 1e6)
	}
	if b.preparedVerifies > 0 && b.preparedS > 0 {
		b.PreparedVerifiesPerS = round3(float64(b.preparedVerifies) / b.preparedS)
	}
}

// MeasureVerify runs ed25519.Verify over a fixed 300-byte message (about
// the size of the signed part of a master key) in a loop on GOMAXPROCS
// goroutines for d and returns the rate.
func MeasureVerify(ctx context.Context, d time.Duration) (Baseline, error) {
	if d <= 0 || d > time.Minute {
		return Baseline{}, fmt.Errorf("%w: verify baseline duration %v", ErrConfig, d)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Baseline{}, fmt.Errorf("bench: baseline key: %w", err)
	}
	msg := make([]byte, 300)
	if _, err := rand.Read(msg); err != nil {
		return Baseline{}, fmt.Errorf("bench: baseline message: %w", err)
	}
	sig := ed25519.Sign(priv, msg)
	prepared, err := edcomb.NewPublicKey(pub)
	if err != nil {
		return Baseline{}, fmt.Errorf("bench: baseline key: %w", err)
	}
	procs := runtime.GOMAXPROCS(0)
	verifies, elapsed, err := verifyRate(ctx, d, procs, func() bool { return ed25519.Verify(pub, msg, sig) })
	if err != nil {
		return Baseline{}, err
	}
	b := Baseline{
		Kind:       "baseline",
		What:       "bare ed25519.Verify on GOMAXPROCS goroutines",
		Goroutines: procs,
		Verifies:   verifies,
		DurationS:  elapsed.Seconds(),
		Samples:    1,
	}
	pv, pElapsed, err := verifyRate(ctx, d/2, procs, func() bool { return prepared.Verify(msg, sig) })
	if err != nil {
		return Baseline{}, err
	}
	b.preparedVerifies, b.preparedS = pv, pElapsed.Seconds()
	b.setRates()
	b.DurationS = round3(b.DurationS)
	return b, nil
}

// verifyRate runs verify in a loop on procs goroutines for d and returns
// how many verifications ran and how long they took.
func verifyRate(ctx context.Context, d time.Duration, procs int, verify func() bool) (int64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		total atomic.Int64
		bad   atomic.Bool
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range procs {
		wg.Go(func() {
			var n int64
			for ctx.Err() == nil {
				for range 64 {
					if !verify() {
						bad.Store(true)
					}
				}
				n += 64
			}
			total.Add(n)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if bad.Load() {
		return 0, 0, fmt.Errorf("bench: baseline signature did not verify")
	}
	return total.Load(), elapsed, nil
}
