package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ReadRSS returns the resident set size of this process in bytes, read from
// the VmRSS line of /proc/self/status.
func ReadRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoRSS, err)
	}
	return ParseVmRSS(b)
}

// ParseVmRSS extracts VmRSS, in bytes, from the text of a /proc/PID/status
// file ("VmRSS:	   12345 kB").
func ParseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: malformed VmRSS line %q", ErrNoRSS, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("%w: malformed VmRSS value %q", ErrNoRSS, f[0])
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%w: no VmRSS line", ErrNoRSS)
}
