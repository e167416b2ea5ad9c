//go:build !unix

package sqlite

import (
	"fmt"
	"os"
)

// lockDataDir creates path but takes no lock: on this platform nothing
// stops a second server on the same data directory.
func lockDataDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock file: %w", err)
	}
	return f, nil
}
