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
	procs := runtime.GOMAXPROCS(0)
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
					if !ed25519.Verify(pub, msg, sig) {
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
		return Baseline{}, fmt.Errorf("bench: baseline signature did not verify")
	}
	b := Baseline{
		Kind:       "baseline",
		What:       "bare ed25519.Verify on GOMAXPROCS goroutines",
		Goroutines: procs,
		Verifies:   total.Load(),
		DurationS:  round3(elapsed.Seconds()),
	}
	if b.Verifies > 0 {
		b.VerifiesPerS = round3(float64(b.Verifies) / elapsed.Seconds())
		b.MicrosPerOp = round3(elapsed.Seconds() * float64(procs) / float64(b.Verifies) * 1e6)
	}
	return b, nil
}
