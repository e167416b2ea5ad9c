package bench

import (
	"context"
	"testing"
	"time"
)

// TestRunAgainstServer runs every scenario against the ceiling and the real
// key server, in-process over real HTTP, with a few users and small bounds:
// zero errors and well-formed results. It asserts no throughput.
func TestRunAgainstServer(t *testing.T) {
	ctx := context.Background()
	srv, err := StartInProcessServer(ctx, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	cfg := DefaultConfig()
	cfg.ServerURL = srv.URL
	cfg.ServerInProcess = true
	cfg.WriterStats = srv.WriterStats
	cfg.Users, cfg.Devices, cfg.QueryUsers, cfg.Clients = 6, 2, 3, 3
	cfg.SignaturesPerRequest = 4
	cfg.Duration = 150 * time.Millisecond
	cfg.MaxRequests = 200
	cfg.VerifyDuration = 100 * time.Millisecond
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	batchTarget := false
	for _, tg := range rep.Targets {
		batchTarget = batchTarget || tg.Name == "signatures-upload-batch (4 signatures) throughput / (bare ed25519 verifications per s / 4) >= 0.6"
	}
	if !batchTarget {
		t.Errorf("no signatures-upload-batch target in %+v", rep.Targets)
	}
	if len(rep.Results) != 2*len(AllScenarios()) {
		t.Fatalf("%d results", len(rep.Results))
	}
	for i, r := range rep.Results {
		checkResult(t, r)
		if i%2 == 1 {
			if r.Against != "server" || r.RSSOf != cfg.rssOf("server") {
				t.Errorf("result %d: %+v", i, r)
			}
			// Every upload is a write: the writer's figures are there
			// and make sense.
			if r.Scenario == string(KeysUpload) || r.Scenario == string(SignaturesUpload) {
				if r.WriterBusy == nil || *r.WriterBusy <= 0 || *r.WriterBusy > 1.5 || *r.WriterBatchSize < 1 || *r.WriterQueueMs < 0 {
					t.Errorf("%s: writer busy %v, batch size %v, queue %v ms", r.Scenario, r.WriterBusy, r.WriterBatchSize, r.WriterQueueMs)
				}
			}
			if r.Scenario == string(SignaturesUpload) && r.RatioToVerifyBound == nil {
				t.Error("signatures-upload without its verification bound")
			}
			if r.Scenario == string(SignaturesUploadBatch) &&
				(r.RatioToVerifyBound == nil || r.RatioToCeilingPlusVerify == nil || r.SignaturesPerRequest != 4) {
				t.Errorf("signatures-upload-batch without its ratios or K: %+v", r)
			}
		}
	}
}

// testLog sends the server's warnings to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("server: %s", p)
	return len(p), nil
}
