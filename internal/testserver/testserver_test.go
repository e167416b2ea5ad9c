package testserver_test

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vouch/internal/testserver"
	"vouch/server"
)

func TestServes(t *testing.T) {
	for _, tc := range []struct {
		name string
		get  func(t *testing.T) int
	}{
		{"Start", func(t *testing.T) int {
			s := testserver.Start(t)
			resp, err := http.Get(s.URL + "/_matrix/client/versions")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}},
		{"Handler", func(t *testing.T) int {
			h := testserver.Handler(t)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/_matrix/client/versions", nil))
			return rec.Code
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.get(t); got != http.StatusOK {
				t.Fatalf("GET versions: status %d, want 200", got)
			}
		})
	}
}

func TestConfigKeepsDefaultsButArgon2(t *testing.T) {
	got, def := testserver.Config(), server.DefaultConfig()
	if got.Argon2 != (server.Argon2Config{Time: 1, MemoryKiB: 64, Threads: 1}) {
		t.Fatalf("Argon2 = %+v", got.Argon2)
	}
	if got.RateLimit != def.RateLimit {
		t.Fatalf("RateLimit = %+v, want the default %+v", got.RateLimit, def.RateLimit)
	}
}

func TestModAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	called := false
	s := testserver.StartIn(t, dir, func(c *server.Config) { called = true })
	if !called {
		t.Fatal("mod not applied")
	}
	if s.Dir != dir {
		t.Fatalf("Dir = %q, want %q", s.Dir, dir)
	}
	s.Close()
	s.Close() // idempotent
	if _, err := http.Get(s.URL + "/_matrix/client/versions"); err == nil {
		t.Fatal("server still answering after Close")
	}
	s2 := testserver.StartIn(t, dir)
	resp, err := http.Get(s2.URL + "/_matrix/client/versions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestOnlyTestsImport checks that no non-test package of the module imports
// a test-support package (testserver, testvectors): they are never part of
// a binary. It guards both, so it lives here only.
func TestOnlyTestsImport(t *testing.T) {
	support := []string{"vouch/internal/testserver", "vouch/internal/testvectors"}
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "vouch/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if slices.Contains(support, imp) {
				t.Errorf("%s imports %s outside its tests", f[0], imp)
			}
		}
	}
}
