package tempered_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsStayPure: tempered imports only the standard library and the
// pure packages keys, signedjson, canonicaljson, trust and ssss, and reaches
// no other vouch package through them.
func TestImportsStayPure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	direct, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, "vouch/trust/tempered").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v\n%s", err, direct)
	}
	out, err := exec.Command("go", "list", "-deps", "vouch/trust/tempered").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"vouch/trust/tempered": true, "vouch/keys": true, "vouch/signedjson": true,
		"vouch/canonicaljson": true, "vouch/trust": true, "vouch/ssss": true,
	}
	for _, dep := range strings.Fields(string(direct)) {
		if first, _, _ := strings.Cut(dep, "/"); strings.Contains(first, ".") {
			t.Errorf("imports third-party package %s", dep)
		}
	}
	for _, dep := range strings.Fields(string(out)) {
		if first, _, _ := strings.Cut(dep, "/"); first == "vouch" && !allowed[dep] {
			t.Errorf("depends on %s", dep)
		}
	}
}
