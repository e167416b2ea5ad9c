//go:build !linux

package sqldb

import "os"

// syncData flushes f to disk (fsync where fdatasync is not available).
func syncData(f *os.File) error { return f.Sync() }
