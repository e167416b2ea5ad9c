package bench

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url  string
		want error
	}{
		{"http://127.0.0.1:8008", nil},
		{"http://127.0.0.2:8008/", nil},
		{"http://[::1]:8008", nil},
		{"http://localhost:8008", nil},
		{"https://127.0.0.1", nil},
		{"http://10.0.0.1:8008", ErrNotLoopback},
		{"http://8.8.8.8", ErrNotLoopback},
		{"http://[2001:db8::1]:80", ErrNotLoopback},
		{"ftp://127.0.0.1", ErrConfig},
		{"127.0.0.1:8008", ErrConfig},
		{"http://", ErrConfig},
		{"http://%zz", ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := CheckLoopback(context.Background(), tt.url)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("CheckLoopback = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseScenarios(t *testing.T) {
	tests := []struct {
		in      string
		want    []Scenario
		wantErr bool
	}{
		{"all", AllScenarios(), false},
		{"", AllScenarios(), false},
		{"keys-query", []Scenario{KeysQuery}, false},
		{"sync-wake, keys-upload", []Scenario{SyncWake, KeysUpload}, false},
		{"signatures-upload,signatures-upload-batch", []Scenario{SignaturesUpload, SignaturesUploadBatch}, false},
		{"signatures-upload-batches", nil, true},
		{"keys-querry", nil, true},
		{"all,keys-query", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseScenarios(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%q: err %v, want ErrConfig", tt.in, err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Fatalf("%q: %v, %v", tt.in, got, err)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Mode = ModeCeiling
	tests := []struct {
		name   string
		change func(*Config)
		valid  bool
	}{
		{"defaults, ceiling only", func(*Config) {}, true},
		{"server needs a URL", func(c *Config) { c.Mode = ModeServer }, false},
		{"both with a URL", func(c *Config) { c.Mode = ModeBoth; c.ServerURL = "http://127.0.0.1:1" }, true},
		{"unknown mode", func(c *Config) { c.Mode = "fast" }, false},
		{"zero users", func(c *Config) { c.Users = 0 }, false},
		{"too many users", func(c *Config) { c.Users = MaxUsers + 1 }, false},
		{"zero devices", func(c *Config) { c.Devices = 0 }, false},
		{"query more users than exist", func(c *Config) { c.Users = 5; c.QueryUsers = 6 }, false},
		{"zero clients", func(c *Config) { c.Clients = 0 }, false},
		{"too many clients", func(c *Config) { c.Clients = MaxClients + 1 }, false},
		{"zero duration", func(c *Config) { c.Duration = 0 }, false},
		{"endless duration", func(c *Config) { c.Duration = 2 * MaxDuration }, false},
		{"zero max requests", func(c *Config) { c.MaxRequests = 0 }, false},
		{"no scenario", func(c *Config) { c.Scenarios = nil }, false},
		{"signatures need two users", func(c *Config) { c.Users, c.QueryUsers = 1, 1; c.Scenarios = []Scenario{SignaturesUpload} }, false},
		{"one user without signatures", func(c *Config) { c.Users, c.QueryUsers = 1, 1; c.Scenarios = []Scenario{KeysQuery} }, true},
		{"negative verify duration", func(c *Config) { c.VerifyDuration = -1 }, false},
		{"batch needs K+1 users", func(c *Config) { c.Users, c.QueryUsers = 16, 1 }, false},
		{"batch with exactly K+1 users", func(c *Config) { c.Users, c.QueryUsers = 17, 1 }, true},
		{"batch with a smaller K", func(c *Config) { c.Users, c.QueryUsers, c.SignaturesPerRequest = 5, 1, 4 }, true},
		{"few users without the batch", func(c *Config) { c.Users, c.QueryUsers = 5, 1; c.Scenarios = []Scenario{SignaturesUpload} }, true},
		{"zero signatures per request", func(c *Config) { c.SignaturesPerRequest = 0 }, false},
		{"too many signatures per request", func(c *Config) {
			c.SignaturesPerRequest = MaxSignaturesPerRequest + 1
			c.Users = MaxSignaturesPerRequest + 2
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Validate()
			if tt.valid != (err == nil) {
				t.Fatalf("Validate = %v, want valid %v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
		})
	}
}

func TestEvaluateTargets(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cfg := DefaultConfig()
	rep := &Report{Results: []Result{
		{Scenario: "keys-query", Against: "server", RatioToCeiling: f(0.6), P99Ms: 12},
		{Scenario: "signatures-upload", Against: "server", RatioToVerifyBound: f(0.5)},
		{Scenario: "signatures-upload-batch", Against: "server", SignaturesPerRequest: 16, RatioToVerifyBound: f(0.61)},
		{Scenario: "keys-upload", Against: "server", RatioToCeiling: f(0.3), Errors: 2},
		{Scenario: "sync-wake", Against: "server", P99Ms: 4.9},
		{Scenario: "sync-wake", Against: "ceiling", P99Ms: 99},
	}}
	want := map[string]bool{
		"keys-query throughput / ceiling >= 0.5":                                                              true,
		"keys-query p99 ms < 10":                                                                              false,
		"signatures-upload throughput / bare ed25519 verifications per s >= 0.6":                              false,
		"signatures-upload-batch (16 signatures) throughput / (bare ed25519 verifications per s / 16) >= 0.6": true,
		"keys-upload (5 one-time keys) throughput / ceiling >= 0.3":                                           true,
		"keys-upload errors == 0":                                                                             false,
		"sync-wake p99 ms < 5":                                                                                true,
	}
	got := evaluateTargets(cfg, rep)
	if len(got) != len(want) {
		t.Fatalf("targets %+v", got)
	}
	for _, tg := range got {
		pass, ok := want[tg.Name]
		if !ok || pass != tg.Pass || !tg.AsSpecified {
			t.Errorf("%+v: want pass %v (known %v)", tg, pass, ok)
		}
	}
	cfg.Clients = 4
	for _, tg := range evaluateTargets(cfg, rep) {
		if tg.Name == "keys-query p99 ms < 10" && tg.AsSpecified {
			t.Error("a 4-client run is reported as the specified shape")
		}
	}
}

func TestFillRatios(t *testing.T) {
	rep := &Report{
		Baseline: &Baseline{VerifiesPerS: 1000, PreparedVerifiesPerS: 1600},
		Results: []Result{
			{Scenario: "keys-query", Against: "ceiling", ThroughputRPS: 1000, P99Ms: 2},
			{Scenario: "keys-query", Against: "server", ThroughputRPS: 250, P99Ms: 8},
			{Scenario: "signatures-upload", Against: "ceiling", ThroughputRPS: 1000},
			{Scenario: "signatures-upload", Against: "server", ThroughputRPS: 700},
			{Scenario: "sync-wake", Against: "ceiling", ThroughputRPS: 10, P99Ms: 0},
			{Scenario: "sync-wake", Against: "server", ThroughputRPS: 10, P99Ms: 1},
			{Scenario: "signatures-upload-batch", Against: "ceiling", ThroughputRPS: 1000, SignaturesPerRequest: 4},
			{Scenario: "signatures-upload-batch", Against: "server", ThroughputRPS: 200, SignaturesPerRequest: 4},
		},
	}
	rep.fillRatios()
	kq := rep.Results[1]
	if kq.RatioToCeiling == nil || *kq.RatioToCeiling != 0.25 || kq.P99OverCeiling == nil || *kq.P99OverCeiling != 4 {
		t.Errorf("keys-query ratios %+v", kq)
	}
	if r := rep.Results[3].RatioToVerifyBound; r == nil || *r != 0.7 {
		t.Errorf("signatures-upload bound ratio %v", r)
	}
	// Ceiling 1000/s and 1000 verifications/s make 500/s together.
	if r := rep.Results[3].RatioToCeilingPlusVerify; r == nil || *r != 1.4 {
		t.Errorf("signatures-upload ceiling+verify ratio %v", r)
	}
	// K=4: the bound is 1000/4 = 250 requests/s; with the ceiling,
	// 1 / (1/1000 + 4/1000) = 200 requests/s.
	if r := rep.Results[7].RatioToVerifyBound; r == nil || *r != 0.8 {
		t.Errorf("signatures-upload-batch bound ratio %v", r)
	}
	if r := rep.Results[7].RatioToCeilingPlusVerify; r == nil || *r != 1 {
		t.Errorf("signatures-upload-batch ceiling+verify ratio %v", r)
	}
	// The prepared verifier's bound: 1600/4 = 400 requests/s.
	if r := rep.Results[7].RatioToPreparedVerifyBound; r == nil || *r != 0.5 {
		t.Errorf("signatures-upload-batch prepared bound ratio %v", r)
	}
	if rep.Results[3].RatioToPreparedVerifyBound != nil {
		t.Error("a prepared-verifier ratio for one signature per request")
	}
	if rep.Results[6].RatioToVerifyBound != nil || rep.Results[1].RatioToVerifyBound != nil {
		t.Error("a verification ratio outside the server's signature scenarios")
	}
	sw := rep.Results[5]
	if sw.RatioToCeiling != nil || sw.P99OverCeiling != nil {
		t.Errorf("sync-wake: paced rate or zero ceiling p99 gave a ratio: %+v", sw)
	}
	if rep.Results[0].RatioToCeiling != nil {
		t.Error("the ceiling got a ratio to itself")
	}
}

// TestBaselineMerge: pooled samples give total verifications over total
// time, for the bare and the prepared rate alike.
func TestBaselineMerge(t *testing.T) {
	a := Baseline{Goroutines: 2, Verifies: 30000, DurationS: 1, preparedVerifies: 60000, preparedS: 0.5, Samples: 1}
	a.setRates()
	b := Baseline{Goroutines: 2, Verifies: 10000, DurationS: 1, preparedVerifies: 20000, preparedS: 0.5, Samples: 1}
	b.setRates()
	a.merge(b)
	if a.VerifiesPerS != 20000 || a.PreparedVerifiesPerS != 80000 || a.Samples != 2 || a.DurationS != 2 {
		t.Fatalf("merged %+v, want 20000/s bare, 80000/s prepared, 2 samples over 2 s", a)
	}
	if a.MicrosPerOp != 100 {
		t.Fatalf("µs per verify per core %v, want 100", a.MicrosPerOp)
	}
}

func TestMeasureVerify(t *testing.T) {
	b, err := MeasureVerify(context.Background(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if b.Verifies <= 0 || b.VerifiesPerS <= 0 || b.PreparedVerifiesPerS <= 0 || b.Goroutines < 1 || b.Samples != 1 {
		t.Errorf("baseline %+v", b)
	}
	if _, err := MeasureVerify(context.Background(), 0); !errors.Is(err, ErrConfig) {
		t.Errorf("zero duration: %v", err)
	}
}

// checkResult asserts that a result is well formed and error-free; it never
// looks at how fast the machine was.
func checkResult(t *testing.T, r Result) {
	t.Helper()
	if r.Errors != 0 || r.FirstError != "" {
		t.Errorf("%s against %s: %d errors, first %q", r.Scenario, r.Against, r.Errors, r.FirstError)
	}
	if r.Requests <= 0 {
		t.Errorf("%s against %s: no requests", r.Scenario, r.Against)
	}
	if r.DurationS <= 0 || r.ThroughputRPS <= 0 {
		t.Errorf("%s against %s: duration %v, throughput %v", r.Scenario, r.Against, r.DurationS, r.ThroughputRPS)
	}
	if !(0 <= r.P50Ms && r.P50Ms <= r.P99Ms && r.P99Ms <= r.MaxMs) {
		t.Errorf("%s against %s: percentiles out of order: %v %v %v", r.Scenario, r.Against, r.P50Ms, r.P99Ms, r.MaxMs)
	}
	if r.RSSBytes <= 0 || r.RSSPeakBytes < r.RSSBytes || r.RSSOf == "" {
		t.Errorf("%s against %s: rss %d peak %d of %q", r.Scenario, r.Against, r.RSSBytes, r.RSSPeakBytes, r.RSSOf)
	}
	if (r.Against == "ceiling" || r.RSSOf == (Config{ServerInProcess: true}).rssOf("server")) && (r.CPUCores <= 0 || r.CPUMicrosPerRequest <= 0) {
		t.Errorf("%s against %s: cpu %v cores, %v µs per request", r.Scenario, r.Against, r.CPUCores, r.CPUMicrosPerRequest)
	}
	if isSyncWake(Scenario(r.Scenario)) {
		if r.P50FromSendMs == nil || r.P99FromSendMs == nil || *r.P50FromSendMs > *r.P99FromSendMs || *r.P50FromSendMs < 0 {
			t.Errorf("%s against %s: wake delays from send %v %v", r.Scenario, r.Against, *r.P50FromSendMs, *r.P99FromSendMs)
		}
	} else {
		if r.P50FromSendMs != nil {
			t.Errorf("%s: delays from send outside sync-wake", r.Scenario)
		}
		if r.AvgResponseBytes <= 0 {
			t.Errorf("%s against %s: average response %d bytes", r.Scenario, r.Against, r.AvgResponseBytes)
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Error(err)
	}
}

func TestRunCeilingOnly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeCeiling
	cfg.Users, cfg.QueryUsers, cfg.Clients = 12, 4, 4
	cfg.SignaturesPerRequest = 4
	cfg.Duration = 150 * time.Millisecond
	cfg.MaxRequests = 400
	cfg.VerifyDuration = 100 * time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(AllScenarios()) {
		t.Fatalf("%d results", len(rep.Results))
	}
	for i, r := range rep.Results {
		if r.Scenario != string(AllScenarios()[i]) || r.Against != "ceiling" || r.Kind != "result" {
			t.Errorf("result %d: %+v", i, r)
		}
		checkResult(t, r)
		if r.Requests > cfg.MaxRequests {
			t.Errorf("%s: %d requests beyond the bound %d", r.Scenario, r.Requests, cfg.MaxRequests)
		}
	}
	if rep.Baseline == nil || len(rep.Targets) != 0 {
		t.Errorf("baseline %v, targets %v (no server: no targets)", rep.Baseline, rep.Targets)
	}
	if n := len(rep.Objects()); n != 1+len(rep.Results) {
		t.Errorf("%d objects", n)
	}
}

// TestRunBothAgainstFake runs every scenario against the ceiling and a fake
// server in-process over real HTTP: the whole flow of a run (registration,
// uploads, probes, ratios, targets) with zero errors. The real server has
// its own test in server_test.go.
func TestRunBothAgainstFake(t *testing.T) {
	ls, err := StartLocal(newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	cfg := DefaultConfig()
	cfg.ServerURL = ls.URL
	cfg.Users, cfg.Devices, cfg.QueryUsers, cfg.Clients = 6, 2, 3, 3
	cfg.SignaturesPerRequest = 4
	cfg.Duration = 150 * time.Millisecond
	cfg.MaxRequests = 300
	cfg.VerifyDuration = 100 * time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2*len(AllScenarios()) {
		t.Fatalf("%d results", len(rep.Results))
	}
	for i, r := range rep.Results {
		checkResult(t, r)
		want := "ceiling"
		if i%2 == 1 {
			want = "server"
		}
		if r.Against != want {
			t.Errorf("result %d against %s, want %s", i, r.Against, want)
		}
		if want == "server" && !isSyncWake(Scenario(r.Scenario)) && r.RatioToCeiling == nil {
			t.Errorf("%s: no ratio to the ceiling", r.Scenario)
		}
	}
	if len(rep.Targets) == 0 {
		t.Error("no targets evaluated")
	}
}

func TestSoakAgainstFake(t *testing.T) {
	ls, err := StartLocal(newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	cfg := DefaultConfig()
	cfg.ServerURL = ls.URL
	cfg.Users, cfg.Devices, cfg.QueryUsers, cfg.Clients = 4, 1, 2, 2
	var samples []SoakSample
	sum, err := Soak(context.Background(), cfg, 400*time.Millisecond, func(s SoakSample) { samples = append(samples, s) })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 0 || sum.FirstError != "" || sum.Requests == 0 {
		t.Fatalf("summary %+v", sum)
	}
	if len(samples) != sum.Samples || len(samples) < 2 {
		t.Fatalf("%d samples, summary says %d", len(samples), sum.Samples)
	}
	last := samples[len(samples)-1]
	if last.Requests != sum.Requests || last.RSSBytes <= 0 || samples[0].TS > last.TS {
		t.Errorf("samples %+v", samples)
	}
	if sum.RSSMin > sum.RSSMax || sum.RSSMin <= 0 {
		t.Errorf("rss min %d max %d", sum.RSSMin, sum.RSSMax)
	}
	cfg.Mode = ModeCeiling
	if _, err := Soak(context.Background(), cfg, time.Second, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("soak against the ceiling: %v", err)
	}
	cfg.Mode = ModeBoth
	if _, err := Soak(context.Background(), cfg, 0, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("zero-length soak: %v", err)
	}
}

// TestOutOfProcessServerHasNoCPUFigures: with a server in another process
// (here the fake, not marked in-process) the CPU figures would describe the
// client alone and are left out.
func TestOutOfProcessServerHasNoCPUFigures(t *testing.T) {
	ls, err := StartLocal(newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	cfg := DefaultConfig()
	cfg.ServerURL = ls.URL
	cfg.Users, cfg.Devices, cfg.QueryUsers, cfg.Clients = 3, 1, 2, 2
	cfg.Duration = 100 * time.Millisecond
	cfg.Scenarios = []Scenario{KeysQuery}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		hasCPU := r.CPUCores != 0 || r.CPUMicrosPerRequest != 0 || r.CPUPerRequestOverCeiling != nil
		if want := r.Against == "ceiling"; hasCPU != want {
			t.Errorf("%s: CPU figures %v, want %v: %+v", r.Against, hasCPU, want, r)
		}
	}
}
