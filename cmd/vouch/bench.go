package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"vouch/bench"
)

func newBenchCmd(s stdio) *cobra.Command {
	def := bench.DefaultConfig()
	var (
		serverURL   string
		scenario    string
		ceilingOnly bool
		both        bool
		soak        time.Duration
		quiet       bool
		cpuProfile  string
	)
	cfg := def
	c := &cobra.Command{
		Use:   "bench",
		Short: "Load generator: throughput and latency of the key server, as ratios to the machine's HTTP+JSON ceiling",
		Long: `Register --users users with --devices devices each, device keys and
cross-signing keys, then drive one scenario at a time with --clients
concurrent clients for --duration (and at most --max-requests requests):

  keys-query         POST /keys/query for --query-users users per request
  signatures-upload  POST /keys/signatures/upload: the caller's user-signing
                     key over another user's master key (signed beforehand)
  signatures-upload-batch
                     the same with --signatures-per-request (K) signatures
                     over K other users' master keys per request (needs at
                     least K+1 users)
  keys-upload        POST /keys/upload with 5 fresh signed one-time keys
                     (signed beforehand)
  sync-wake          the delay from a watched user's change (its HTTP 200)
                     to its watcher's long-polling /sync returning with it;
                     each change concerns one of the --clients parked polls
  sync-wake-fanout   the same with all watchers on the one changing user

By default (--both) each scenario runs first against a bare net/http handler
that only parses the JSON body and answers a fixed object (the ceiling: the
HTTP+JSON floor of this machine), then against the server, and the server's
figures are reported as ratios to the ceiling measured in the same run.
signatures-upload and signatures-upload-batch are also compared with bare
ed25519 verification measured in the same run (K verifications per request
for the batch). --ceiling runs only the ceiling; --both=false only the server.

Without --server an in-process server is started on a temporary data
directory and 127.0.0.1; --server URL uses a running server, which must be on
a loopback address and allow open registration (server_name localhost).

Output: one JSON object per line on standard output (kind "baseline",
"result", "target"); progress on standard error unless --quiet. Targets are
printed with a pass flag and never make the command fail.

--soak DURATION instead drives a mixed load (6 keys-query, 2
signatures-upload, 1 keys-upload of 5 one-time keys and 1 keys/claim of 5
in 10) for DURATION and prints the resident size every 10 s ("soak-sample")
and a "soak-summary": flat RSS means no per-request growth.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			scs, err := bench.ParseScenarios(scenario)
			if err != nil {
				return failf("%v", err)
			}
			cfg.Scenarios = scs
			switch {
			case ceilingOnly && cmd.Flags().Changed("both") && both:
				return failf("--ceiling and --both exclude each other")
			case ceilingOnly:
				cfg.Mode = bench.ModeCeiling
			case both:
				cfg.Mode = bench.ModeBoth
			default:
				cfg.Mode = bench.ModeServer
			}
			if soak > 0 && ceilingOnly {
				return failf("--soak runs against the server, not the ceiling")
			}
			if !quiet {
				cfg.Progress = cmd.ErrOrStderr()
			}
			ctx := cmd.Context()
			if cfg.Mode != bench.ModeCeiling {
				if serverURL == "" {
					log := io.Discard
					if !quiet {
						log = cmd.ErrOrStderr()
					}
					srv, stop, err := startBenchServer(ctx, log)
					if err != nil {
						return err
					}
					defer stop()
					serverURL = srv.URL
					cfg.ServerInProcess = true
					cfg.WriterStats = srv.WriterStats
				}
				cfg.ServerURL = serverURL
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			out := cmd.OutOrStdout()
			if soak > 0 {
				sum, err := bench.Soak(ctx, cfg, soak, func(s bench.SoakSample) { _ = printJSONLine(out, s) })
				if err != nil {
					return benchError(err)
				}
				return printJSONLine(out, sum)
			}
			rep, err := bench.Run(ctx, cfg)
			if err != nil {
				return benchError(err)
			}
			for _, o := range rep.Objects() {
				if err := printJSONLine(out, o); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&serverURL, "server", "", "base URL of a running key server on a loopback address (default: start one in-process)")
	f.IntVar(&cfg.Users, "users", def.Users, "users to register")
	f.IntVar(&cfg.Devices, "devices", def.Devices, "devices per user")
	f.IntVar(&cfg.QueryUsers, "query-users", def.QueryUsers, "users per /keys/query")
	f.IntVar(&cfg.Clients, "clients", def.Clients, "concurrent clients")
	f.DurationVar(&cfg.Duration, "duration", def.Duration, "length of each timed phase")
	f.Int64Var(&cfg.MaxRequests, "max-requests", def.MaxRequests, "most requests of each timed phase")
	f.IntVar(&cfg.SignaturesPerRequest, "signatures-per-request", def.SignaturesPerRequest, "signatures per signatures-upload-batch request (K; needs at least K+1 --users)")
	f.StringVar(&scenario, "scenario", "all", "all, or a comma-separated list of keys-query, signatures-upload, signatures-upload-batch, keys-upload, sync-wake, sync-wake-fanout")
	f.BoolVar(&ceilingOnly, "ceiling", false, "run only the bare HTTP+JSON handler (no server needed)")
	f.BoolVar(&both, "both", true, "run the ceiling, then the server, and report ratios (--both=false: server only)")
	f.DurationVar(&soak, "soak", 0, "run a mixed load for this long, sampling RSS every 10 s")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on standard error")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (with the in-process server: of the server too) to this file")
	return c
}

// startCPUProfile starts a CPU profile into path and returns the function
// that stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, failf("%v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, failf("cpu profile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// benchError turns a configuration error into a user-input failure.
func benchError(err error) error {
	if errors.Is(err, bench.ErrConfig) || errors.Is(err, bench.ErrNotLoopback) {
		return failf("%v", err)
	}
	return err
}

// printJSONLine writes v as one line of JSON.
func printJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// startBenchServer starts a key server in this process on a temporary data
// directory and 127.0.0.1:0 and returns it and a function that stops it and
// removes the directory. The server's warnings go to log.
func startBenchServer(ctx context.Context, log io.Writer) (*bench.InProcessServer, func(), error) {
	srv, err := bench.StartInProcessServer(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintf(log, "vouch: %v\n", err)
		}
	}
	return srv, stop, nil
}
