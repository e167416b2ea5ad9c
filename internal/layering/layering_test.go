package layering

import (
	"os/exec"
	"strings"
	"testing"
)

// pure lists the packages that must stay free of I/O layers.
var pure = []string{
	"vouch/canonicaljson",
	"vouch/signedjson",
	"vouch/keys",
	"vouch/trust",
	"vouch/trust/graph",
	"vouch/trust/tempered",
	"vouch/ssss",
	"vouch/backup",
	"vouch/verification/qr",
	"vouch/verification/sas",
}

// forbidden are imports a pure package may not reach, directly or not.
var forbidden = []string{
	"vouch/server",
	"vouch/store",
	"vouch/client",
	"vouch/cmd",
	"database/sql",
	"net/http",
}

func TestPurePackagesStayPure(t *testing.T) {
	for _, pkg := range pure {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, f := range forbidden {
					if dep == f || strings.HasPrefix(dep, f+"/") {
						t.Errorf("%s depends on %s", pkg, dep)
					}
				}
			}
		})
	}
}
