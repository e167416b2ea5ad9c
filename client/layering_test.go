package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNoServer checks the layering rule: a Go program importing
// client (or client/device) links neither the server, nor its store, nor a
// database driver.
func TestClientLinksNoServer(t *testing.T) {
	for _, pkg := range []string{"vouch/client", "vouch/client/device"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range []string{"vouch/server", "vouch/store", "database/sql", "modernc.org/sqlite", "vouch/cmd"} {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
