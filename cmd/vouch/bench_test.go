package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchLines decodes vouch bench's output, one JSON object per line.
func benchLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		objs = append(objs, m)
	}
	return objs
}

func TestBenchCeilingCLI(t *testing.T) {
	code, out, errs := runCLI(t, "", "bench", "--ceiling", "--users", "8", "--query-users", "3", "--clients", "2", "--signatures-per-request", "4",
		"--duration", "200ms", "--max-requests", "200", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if errs != "" {
		t.Errorf("--quiet printed %q", errs)
	}
	results := map[string]bool{}
	for _, o := range benchLines(t, out) {
		switch o["kind"] {
		case "baseline":
			if o["verifies_per_s"].(float64) <= 0 {
				t.Errorf("baseline %v", o)
			}
		case "result":
			if o["against"] != "ceiling" || o["errors"].(float64) != 0 || o["requests"].(float64) <= 0 {
				t.Errorf("result %v", o)
			}
			for _, k := range []string{"duration_s", "throughput_rps", "p50_ms", "p99_ms", "max_ms", "rss_bytes"} {
				if _, ok := o[k].(float64); !ok {
					t.Errorf("result without %s: %v", k, o)
				}
			}
			results[o["scenario"].(string)] = true
		default:
			t.Errorf("unexpected object %v", o)
		}
	}
	for _, sc := range []string{"keys-query", "signatures-upload", "signatures-upload-batch", "keys-upload", "sync-wake", "sync-wake-fanout"} {
		if !results[sc] {
			t.Errorf("no result for %s", sc)
		}
	}
}

func TestBenchCLIErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown scenario", []string{"--ceiling", "--scenario", "nope"}, "unknown scenario"},
		{"not loopback", []string{"--server", "http://192.0.2.1:8008", "--scenario", "keys-query"}, "not on a loopback"},
		{"ceiling and both", []string{"--ceiling", "--both"}, "exclude each other"},
		{"zero users", []string{"--ceiling", "--users", "0"}, "users is 0"},
		{"batch without enough users", []string{"--ceiling", "--users", "8", "--query-users", "3"}, "needs at least 17 users"},
		{"zero signatures per request", []string{"--ceiling", "--signatures-per-request", "0"}, "signatures-per-request is 0"},
		{"soak against the ceiling", []string{"--ceiling", "--soak", "1s"}, "soak"},
		{"bad duration", []string{"--ceiling", "--duration", "forever"}, "invalid argument"},
		{"arguments", []string{"--ceiling", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", append([]string{"bench", "--quiet"}, tt.args...)...)
			if code != 1 || out != "" || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errs, tt.want)
			}
		})
	}
}

// TestBenchInProcessServerCLI runs one short scenario against the
// in-process server through the CLI: results for ceiling and server, with
// ratios and targets, and no errors.
func TestBenchInProcessServerCLI(t *testing.T) {
	code, out, errs := runCLI(t, "", "bench", "--scenario", "keys-query,sync-wake", "--users", "4", "--query-users", "2",
		"--clients", "2", "--duration", "200ms", "--max-requests", "100", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var server, targets int
	for _, o := range benchLines(t, out) {
		switch o["kind"] {
		case "result":
			if o["errors"].(float64) != 0 {
				t.Errorf("errors in %v", o)
			}
			if o["against"] == "server" {
				server++
				if o["scenario"] == "keys-query" && o["ratio_to_ceiling"] == nil {
					t.Errorf("no ratio: %v", o)
				}
			}
		case "target":
			targets++
			if _, ok := o["pass"].(bool); !ok {
				t.Errorf("target without pass: %v", o)
			}
		}
	}
	if server != 2 || targets == 0 {
		t.Errorf("%d server results, %d targets:\n%s", server, targets, out)
	}
}

func TestBenchCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	code, _, errs := runCLI(t, "", "bench", "--ceiling", "--scenario", "keys-query", "--users", "2", "--query-users", "1",
		"--clients", "1", "--duration", "100ms", "--quiet", "--cpuprofile", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("profile: %v", err)
	}
	code, _, errs = runCLI(t, "", "bench", "--ceiling", "--quiet", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir"))
	if code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("unwritable profile: exit %d, %q", code, errs)
	}
}
