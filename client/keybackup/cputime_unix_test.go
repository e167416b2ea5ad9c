//go:build unix

package keybackup_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the test process has
// used so far: server and client both run in it, so the difference over a
// restore is its total CPU cost, independent of how loaded the machine is.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
