// Package testserver starts the real vouch key server (package server on an
// SQLite store in a temporary directory) inside a test process, over real
// HTTP or as a bare handler, so that tests across vouch share one set-up.
//
// It is test support only: nothing but _test.go files may import it (a test
// in this package checks that). It is not a fake: requests reach the same
// handlers and storage as in production, with only the password hashing cut
// to its cheapest setting so that registering users stays fast.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"vouch/server"
	"vouch/store"
	"vouch/store/sqlite"
)

// Config returns server.DefaultConfig with Argon2 at its cheapest setting
// (one pass, 64 KiB, one thread). Everything else, rate limits included,
// keeps its default.
func Config() server.Config {
	cfg := server.DefaultConfig()
	cfg.Argon2 = server.Argon2Config{Time: 1, MemoryKiB: 64, Threads: 1}
	return cfg
}

// Server is a key server running over real HTTP from the test process.
type Server struct {
	// URL is the base URL of the HTTP server.
	URL string
	// HTTP is the underlying test HTTP server.
	HTTP *httptest.Server
	// Store is the SQLite store the server runs on.
	Store store.Store
	// Dir is the store's data directory.
	Dir string

	srv  *server.Server
	once sync.Once
}

// Start serves a fresh store in a new temporary directory over HTTP. Each
// mod, in order, adjusts Config() before the server is built. The server
// and store are closed when tb ends.
func Start(tb testing.TB, mod ...func(*server.Config)) *Server {
	tb.Helper()
	return StartIn(tb, filepath.Join(tb.TempDir(), "data"), mod...)
}

// StartIn is Start on the data directory dir, which may already hold a
// store (to test a restart).
func StartIn(tb testing.TB, dir string, mod ...func(*server.Config)) *Server {
	tb.Helper()
	st, srv := open(tb, dir, mod)
	s := &Server{HTTP: httptest.NewServer(srv.Handler()), Store: st, Dir: dir, srv: srv}
	s.URL = s.HTTP.URL
	tb.Cleanup(s.Close)
	return s
}

// Close stops the HTTP server, then closes the store. It may be called
// more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.HTTP.Close()
		s.srv.Close() // its background sweep, before the store goes
		s.Store.Close()
	})
}

// URL starts a server as Start does and returns only its base URL.
func URL(tb testing.TB, mod ...func(*server.Config)) string {
	tb.Helper()
	return Start(tb, mod...).URL
}

// Handler builds the server on a fresh store in a new temporary directory
// and returns its HTTP handler, for tests that call it without a network
// (fuzz targets). The store is closed when tb ends.
func Handler(tb testing.TB, mod ...func(*server.Config)) http.Handler {
	tb.Helper()
	st, srv := open(tb, filepath.Join(tb.TempDir(), "data"), mod)
	tb.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return srv.Handler()
}

// open opens the store in dir and builds the server on it; on failure it
// closes what it opened and fails tb.
func open(tb testing.TB, dir string, mod []func(*server.Config)) (store.Store, *server.Server) {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		tb.Fatalf("testserver: open store: %v", err)
	}
	cfg := Config()
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := server.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		st.Close()
		tb.Fatalf("testserver: new server: %v", err)
	}
	return st, srv
}
