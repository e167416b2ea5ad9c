package graph_test

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
	"vouch/trust/graph"
)

// hostileIDs are user and device IDs a malicious server or user could
// choose, aimed at each format's syntax.
var hostileIDs = []string{
	`"]; n0 -> n1 [label="pwned`,
	"two\nlines",
	"cr\rreturn",
	`back\slash\`,
	`\N\G\n\l`,
	`}} digraph evil {`,
	`<b>html</b> & <script>`,
	`{braces} [brackets] (parens)`,
	`|pipes| --> n0`,
	"`backtick` **md**",
	`#quot; #35; #lt;`,
	"esc\x1b[31mred",
	"line\u2028sep\u2029para",
	"rtl\u202eoverride",
	"bad\xffutf8",
	"end",
	`click n0 "javascript:alert(1)"`,
	"%%{init: {'theme':'dark'}}%%",
}

// hostileGraph builds a graph in which every ID is hostile: the user,
// their device, and an unknown signer's entity and key ID.
func hostileGraph(id string) *graph.Graph {
	dev := &keys.DeviceKeys{
		UserID: id, DeviceID: id,
		Keys:       map[string]string{"ed25519:" + id: "not a key"},
		Signatures: signedjson.Signatures{id: {"ed25519:" + id: "sig"}, "@" + id: {"ed25519:" + id: "sig"}},
	}
	users := map[string]*trust.UserKeys{id: {UserID: id, Devices: map[string]*keys.DeviceKeys{id: dev}}}
	g := graph.Build(id, users)
	g.Highlight([]trust.Step{{UserID: id, Kind: trust.KindDevice, KeyID: "ed25519:" + id}})
	return g
}

func TestHostileLabels(t *testing.T) {
	for i, id := range hostileIDs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			g := hostileGraph(id)
			if len(g.Nodes) != 2 || len(g.Edges) != 2 {
				t.Fatalf("%d nodes, %d edges", len(g.Nodes), len(g.Edges))
			}
			var dot, mmd, txt bytes.Buffer
			if err := graph.WriteDOT(&dot, g); err != nil {
				t.Fatal(err)
			}
			if err := graph.WriteMermaid(&mmd, g); err != nil {
				t.Fatal(err)
			}
			if err := graph.WriteText(&txt, g); err != nil {
				t.Fatal(err)
			}
			if err := checkDOT(dot.String()); err != nil {
				t.Errorf("DOT: %v\n%s", err, dot.String())
			}
			// Two clusters, two nodes, two edges: nothing more was made.
			if n := strings.Count(dot.String(), "\n"); n != 15 {
				t.Errorf("DOT has %d lines, want 15:\n%s", n, dot.String())
			}
			if err := checkMermaid(mmd.String()); err != nil {
				t.Errorf("Mermaid: %v\n%s", err, mmd.String())
			}
			if n := strings.Count(mmd.String(), "\n"); n != 15 {
				t.Errorf("Mermaid has %d lines, want 15:\n%s", n, mmd.String())
			}
			if err := checkText(txt.String()); err != nil {
				t.Errorf("text: %v\n%s", err, txt.String())
			}
			// Header, device, its two signatures.
			if n := strings.Count(txt.String(), "\n"); n != 4 {
				t.Errorf("text has %d lines, want 4:\n%s", n, txt.String())
			}
		})
	}
}

var (
	dotDeviceLabel     = regexp.MustCompile(`n[0-9]+ \[label="device ((?:[^"\\]|\\.)*)\\n`)
	mermaidDeviceLabel = regexp.MustCompile(`n[0-9]+\["device ([^"]*)<br/>`)
	entity             = regexp.MustCompile(`#([0-9]+);`)
)

// TestHostileLabelsReadBack checks that a label reads back as the ID it
// was made from, for IDs with no invisible characters.
func TestHostileLabelsReadBack(t *testing.T) {
	for _, id := range []string{`"]; x [label="y`, `a\b`, `<b>{x}</b> | #quot; ` + "`t`", `é 日本`} {
		g := hostileGraph(id)
		var dot, mmd, txt bytes.Buffer
		_ = graph.WriteDOT(&dot, g)
		_ = graph.WriteMermaid(&mmd, g)
		_ = graph.WriteText(&txt, g)

		m := dotDeviceLabel.FindStringSubmatch(dot.String())
		if m == nil {
			t.Fatalf("no device label in\n%s", dot.String())
		}
		// DOT unescaping: \x stands for x. The writer doubled the input's
		// backslashes before DOT escaping, so a\b reads back as a\\b.
		got := regexp.MustCompile(`\\(.)`).ReplaceAllString(m[1], "$1")
		if want := strings.ReplaceAll(id, `\`, `\\`); got != want {
			t.Errorf("DOT label reads %q, want %q", got, want)
		}

		m = mermaidDeviceLabel.FindStringSubmatch(mmd.String())
		if m == nil {
			t.Fatalf("no device label in\n%s", mmd.String())
		}
		got = entity.ReplaceAllStringFunc(m[1], func(s string) string {
			n, _ := strconv.Atoi(entity.FindStringSubmatch(s)[1])
			return string(rune(n))
		})
		if want := strings.ReplaceAll(id, `\`, `\\`); got != want {
			t.Errorf("Mermaid label reads %q, want %q", got, want)
		}
		if !strings.Contains(txt.String(), "device "+strings.ReplaceAll(id, `\`, `\\`)) {
			t.Errorf("text lacks the device ID:\n%s", txt.String())
		}
	}
}
