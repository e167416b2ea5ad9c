//go:build !unix

package bench

import (
	"errors"
	"time"
)

// processCPU is not available on this system; CPU figures are left out.
func processCPU() (time.Duration, error) {
	return 0, errors.New("bench: process CPU time not available on this system")
}
