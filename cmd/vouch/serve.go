package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"vouch/server"
	"vouch/server/pgnotify"
	"vouch/store"
	"vouch/store/postgres"
	"vouch/store/sqlite"
)

// serveConfig is the whole `vouch serve` configuration: where to listen and
// store, plus the server's own settings, as read from the TOML file.
type serveConfig struct {
	Listen  string `toml:"listen"`
	DataDir string `toml:"data_dir"`
	// DatabaseURL, when set, selects PostgreSQL instead of SQLite in DataDir.
	DatabaseURL string `toml:"database_url"`
	LogLevel    string `toml:"log_level"`
	server.Config
}

// serveFlags are the command-line values that override the file and env.
type serveFlags struct {
	listen, dataDir, serverName, config, databaseURL string
}

func defaultServeConfig() serveConfig {
	return serveConfig{Listen: "127.0.0.1:8008", DataDir: "./vouch-data", LogLevel: "info", Config: server.DefaultConfig()}
}

// loadServeConfig resolves the configuration: defaults, then the TOML file
// (--config or VOUCH_CONFIG), then VOUCH_* environment variables, then flags.
func loadServeConfig(cmd *cobra.Command, f serveFlags) (serveConfig, error) {
	cfg := defaultServeConfig()
	path := f.config
	if path == "" {
		path = os.Getenv("VOUCH_CONFIG")
	}
	if path != "" {
		if err := decodeConfigFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	env := func(name string, dst *string) {
		if v, ok := os.LookupEnv(name); ok {
			*dst = v
		}
	}
	env("VOUCH_LISTEN", &cfg.Listen)
	env("VOUCH_DATA_DIR", &cfg.DataDir)
	env("VOUCH_DATABASE_URL", &cfg.DatabaseURL)
	env("VOUCH_SERVER_NAME", &cfg.ServerName)
	env("VOUCH_LOG_LEVEL", &cfg.LogLevel)
	env("VOUCH_REGISTRATION_SHARED_SECRET", &cfg.Registration.SharedSecret)
	if v, ok := os.LookupEnv("VOUCH_TRUSTED_PROXIES"); ok {
		cfg.TrustedProxies = nil
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				cfg.TrustedProxies = append(cfg.TrustedProxies, p)
			}
		}
	}
	if v, ok := os.LookupEnv("VOUCH_OPEN_REGISTRATION"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, failf("VOUCH_OPEN_REGISTRATION: %q is not true or false", v)
		}
		cfg.Registration.Open = &b
	}
	if cmd.Flags().Changed("listen") {
		cfg.Listen = f.listen
	}
	if cmd.Flags().Changed("data-dir") {
		cfg.DataDir = f.dataDir
	}
	if cmd.Flags().Changed("database-url") {
		cfg.DatabaseURL = f.databaseURL
	}
	if cmd.Flags().Changed("server-name") {
		cfg.ServerName = f.serverName
	}
	if err := cfg.Config.Validate(); err != nil {
		return cfg, failf("%v", err)
	}
	if cfg.DataDir == "" {
		return cfg, failf("data_dir must not be empty")
	}
	return cfg, nil
}

// decodeConfigFile reads a TOML file, or a YAML file when its name ends in
// .yaml or .yml, into cfg. Both formats use the same setting names (the
// toml tags): YAML is turned into TOML first, so there is one set of names,
// one decoder and one check for unknown settings.
func decodeConfigFile(path string, cfg *serveConfig) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return failf("config: %v", err)
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return failf("config %s: %v", path, err)
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
			return failf("config %s: %v", path, err)
		}
		raw = buf.Bytes()
	}
	md, err := toml.Decode(string(raw), cfg)
	if err != nil {
		return failf("config %s: %v", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return failf("config %s: unknown setting %q", path, und[0].String())
	}
	return nil
}

func addServeFlags(c *cobra.Command, f *serveFlags) {
	c.Flags().StringVar(&f.databaseURL, "database-url", "", "PostgreSQL URL (postgres://user:pass@host/db); when set, used instead of --data-dir [VOUCH_DATABASE_URL, database_url]")
	c.Flags().StringVar(&f.dataDir, "data-dir", "./vouch-data", "directory of the SQLite database (created 0700) [VOUCH_DATA_DIR, data_dir]")
	c.Flags().StringVar(&f.serverName, "server-name", "localhost", "server name: the domain of user IDs [VOUCH_SERVER_NAME, server_name]")
	c.Flags().StringVar(&f.config, "config", "", "configuration file, TOML (or YAML when named *.yaml / *.yml) [VOUCH_CONFIG]")
}

func newServeCmd(s stdio) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the key server (Matrix client-server API on embedded SQLite or PostgreSQL)",
		Long: `Run the vouch key server: accounts, device keys, cross-signing keys,
signatures (each viewer sees only what the spec allows), device-list
changes, to-device messages and account data, over the Matrix
client-server API, stored in SQLite in the data directory, or in
PostgreSQL when database_url is set (then several vouch serve processes may
share the database; see docs/storage.md).

With no arguments it listens on 127.0.0.1:8008, stores in ./vouch-data and
uses server name localhost (open registration is on only for localhost).
Settings come from, lowest to highest precedence: defaults, the
configuration file (--config; TOML, or YAML when named *.yaml or *.yml, with
the same keys), VOUCH_* environment variables, flags.

Environment: VOUCH_LISTEN, VOUCH_DATA_DIR, VOUCH_DATABASE_URL,
VOUCH_SERVER_NAME, VOUCH_CONFIG, VOUCH_LOG_LEVEL (debug, info, warn, error),
VOUCH_OPEN_REGISTRATION (true or false), VOUCH_REGISTRATION_SHARED_SECRET.

TOML file (every key optional):

  listen = "127.0.0.1:8008"
  data_dir = "./vouch-data"
  database_url = ""                # postgres://user:pass@host/db instead of data_dir
  server_name = "localhost"
  log_level = "info"
  max_body_bytes = 1048576
  max_backup_body_bytes = 33554432  # key-backup uploads
  max_sync_timeout = "5m"
  max_signatures_per_upload = 1000
  max_query_users = 1000
  max_one_time_keys_per_upload = 1000
  max_unclaimed_one_time_keys = 100000  # per device; new keys beyond it are refused
  max_to_device_messages = 1000
  uia_session_lifetime = "15m"     # an older auth session is unknown
  to_device_txn_retention = "24h"  # a retried sendToDevice txn ID is deduplicated this long
  [registration]
  open = true                      # default: true only for localhost
  registration_shared_secret = ""  # enables /_synapse/admin/v1/register
  trusted_proxies = []             # e.g. ["10.0.0.0/8"]: their X-Forwarded-For names the client
  [rate_limit]                     # token buckets; 0 disables
  per_ip_per_second = 2000.0
  per_ip_burst = 4000
  per_user_per_second = 1000.0
  per_user_burst = 2000
  [argon2]                         # password hashing cost
  time = 3
  memory_kib = 65536
  threads = 4

It logs one line when ready, with the URL, and shuts down gracefully on
SIGTERM or SIGINT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServeConfig(cmd, f)
			if err != nil {
				return err
			}
			return runServe(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&f.listen, "listen", "127.0.0.1:8008", "address and port to listen on [VOUCH_LISTEN, listen]")
	addServeFlags(c, &f)
	return c
}

func logLevel(name string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return 0, failf("log level %q: use debug, info, warn or error", name)
	}
	return l, nil
}

// runServe serves until ctx is cancelled, then shuts down gracefully.
func runServe(ctx context.Context, cfg serveConfig, logOut io.Writer) error {
	level, err := logLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	st, opts, closeStore, err := openServeStore(ctx, cfg, log)
	if err != nil {
		return failf("%v", err)
	}
	defer closeStore()
	srv, err := server.New(cfg.Config, st, log, opts...)
	if err != nil {
		return failf("%v", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return failf("listen: %v", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	where := []any{"data_dir", cfg.DataDir}
	if cfg.DatabaseURL != "" {
		where = []any{"storage", "postgresql"} // the URL may hold a password
	}
	log.Info("vouch key server ready", append([]any{"url", "http://" + ln.Addr().String(), "server_name", cfg.ServerName}, where...)...)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// openStore opens the store the configuration names: PostgreSQL when
// database_url is set (several processes may share it, so no read cache),
// else SQLite in data_dir behind its cache.
func openStore(ctx context.Context, cfg serveConfig) (store.Store, error) {
	if cfg.DatabaseURL == "" {
		return sqlite.Open(ctx, cfg.DataDir)
	}
	return postgres.Open(ctx, cfg.DatabaseURL)
}

// openAccountStore opens the store for a process that only adds accounts
// beside a server that may be running: on SQLite without the read cache and
// without taking the data directory's lock, which the server holds (it
// neither caches nor indexes accounts); on PostgreSQL as openStore.
func openAccountStore(ctx context.Context, cfg serveConfig) (store.Store, error) {
	if cfg.DatabaseURL == "" {
		return sqlite.OpenUncached(ctx, cfg.DataDir)
	}
	return postgres.Open(ctx, cfg.DatabaseURL)
}

// openServeStore opens the store (openStore) and, for PostgreSQL, the
// LISTEN/NOTIFY notifier that lets several processes wake each other's
// /sync long-polls. The returned function closes what was opened.
func openServeStore(ctx context.Context, cfg serveConfig, log *slog.Logger) (store.Store, []server.Option, func(), error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.DatabaseURL == "" {
		return st, nil, func() { st.Close() }, nil
	}
	n, err := pgnotify.New(ctx, cfg.DatabaseURL, log)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, []server.Option{server.WithNotifier(n)}, func() { n.Close(); st.Close() }, nil
}
