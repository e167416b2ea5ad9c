package graph_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"vouch/trust/graph"
)

// TestDOTParsesWithGraphviz hands the golden world and every hostile
// drawing to Graphviz itself, when installed: each must parse without a
// warning, with exactly the nodes the writer drew, and a device label must
// read back as the ID it came from.
func TestDOTParsesWithGraphviz(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Graphviz (dot) is not installed; .ci/run installs it")
		}
		t.Skip("Graphviz (dot) is not installed")
	}
	parse := func(t *testing.T, src string) []string {
		t.Helper()
		cmd := exec.Command(dot, "-Tjson")
		cmd.Stdin = strings.NewReader(src)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil || errb.Len() > 0 {
			t.Fatalf("dot: %v %s\n%s", err, errb.String(), src)
		}
		var j struct {
			Objects []struct {
				Name  string `json:"name"`
				Label string `json:"label"`
			} `json:"objects"`
		}
		if err := json.Unmarshal(out.Bytes(), &j); err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, o := range j.Objects {
			if !strings.HasPrefix(o.Name, "cluster_") {
				labels = append(labels, o.Label)
			}
		}
		return labels
	}
	w := newWorld(t)
	var b bytes.Buffer
	g := graph.Build(w.alice.UserID, w.users)
	if err := graph.WriteDOT(&b, g); err != nil {
		t.Fatal(err)
	}
	if n := len(parse(t, b.String())); n != len(g.Nodes) {
		t.Errorf("Graphviz sees %d nodes, drawn %d", n, len(g.Nodes))
	}
	for _, id := range hostileIDs {
		b.Reset()
		if err := graph.WriteDOT(&b, hostileGraph(id)); err != nil {
			t.Fatal(err)
		}
		labels := parse(t, b.String())
		if len(labels) != 2 {
			t.Errorf("%q: Graphviz sees %d nodes, want 2", id, len(labels))
		}
	}
	// Graphviz's own rendering shows the text as drawn.
	svgText := func(t *testing.T, src string) []string {
		t.Helper()
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = strings.NewReader(src)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		dec := xml.NewDecoder(bytes.NewReader(out))
		dec.Strict = false
		in := false
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			switch tk := tok.(type) {
			case xml.StartElement:
				in = tk.Name.Local == "text"
			case xml.CharData:
				if in {
					texts = append(texts, string(tk))
				}
			case xml.EndElement:
				in = false
			}
		}
		return texts
	}
	for _, id := range []string{`"]; x [label="y`, `a\b`, `\N\G\l`, `<b>{x}</b> | #quot;`} {
		b.Reset()
		_ = graph.WriteDOT(&b, hostileGraph(id))
		texts := svgText(t, b.String())
		want := "device " + strings.ReplaceAll(id, `\`, `\\`)
		if !slices.Contains(texts, want) || !slices.Contains(texts, "(no key)") {
			t.Errorf("Graphviz draws %q for %q, want the line %q", texts, id, want)
		}
	}
}
