package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"vouch/server"
	"vouch/store"
	"vouch/store/sqlite"
)

// InProcessServer is a key server the bench started in its own process, on
// a temporary data directory and 127.0.0.1.
type InProcessServer struct {
	// URL is the server's base URL.
	URL     string
	local   *LocalServer
	closeDB func() error
	dir     string
	st      store.Store
}

// WriterStats reports the counters of the server's store writer
// (store.WriterStatsOf); Config.WriterStats takes it.
func (s *InProcessServer) WriterStats() (store.WriterStats, bool) {
	return store.WriterStatsOf(s.st)
}

// BenchServerConfig returns the configuration of the in-process server:
// the defaults of `vouch serve` (server name localhost, open registration,
// SQLite with synchronous commits) except that rate limits are off (the
// bench measures the server's capacity, not its limiter, and sends
// everything from one IP) and argon2id is cheap (the bench's random
// passwords are hashed only during the untimed set-up, and 64 MiB per hash
// on 16 parallel registrations would inflate the resident size reported
// for the timed phases).
func BenchServerConfig() server.Config {
	cfg := server.DefaultConfig()
	cfg.RateLimit = server.RateLimitConfig{}
	cfg.Argon2 = server.Argon2Config{Time: 1, MemoryKiB: 1024, Threads: 1}
	return cfg
}

// StartInProcessServer opens a SQLite store in a new temporary directory
// and serves the key server on 127.0.0.1:0. log receives the server's log
// lines (warnings and errors only); nil discards them.
func StartInProcessServer(ctx context.Context, log io.Writer) (*InProcessServer, error) {
	if log == nil {
		log = io.Discard
	}
	dir, err := os.MkdirTemp("", "vouch-bench-*")
	if err != nil {
		return nil, fmt.Errorf("bench: data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bench: opening store: %w", err), os.RemoveAll(dir))
	}
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(BenchServerConfig(), st, logger)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bench: starting server: %w", err), st.Close(), os.RemoveAll(dir))
	}
	ls, err := StartLocal(srv.Handler())
	if err != nil {
		srv.Close()
		return nil, errors.Join(err, st.Close(), os.RemoveAll(dir))
	}
	// The server's background expiry sweep stops before the store closes.
	closeAll := func() error {
		srv.Close()
		return st.Close()
	}
	return &InProcessServer{URL: ls.URL, local: ls, closeDB: closeAll, dir: dir, st: st}, nil
}

// Close stops the server, closes the store and removes the data directory.
func (s *InProcessServer) Close() error {
	err := errors.Join(s.local.Close(), s.closeDB(), os.RemoveAll(s.dir))
	if err != nil {
		return fmt.Errorf("bench: stopping the in-process server: %w", err)
	}
	return nil
}
