package graph

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"vouch/trust"
)

// ErrNilGraph is returned by the writers when given no graph.
var ErrNilGraph = errors.New("graph: nil graph")

// visible makes attacker-chosen text printable on one line: every rune
// that is not graphic (control characters, line and paragraph separators,
// bidirectional overrides, invalid UTF-8) becomes a visible \xNN or \uNNNN
// escape, and a backslash becomes two, so an escape in the input cannot
// pass for one made here. Each format then escapes the result its own way.
func visible(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x80 && !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && !unicode.IsGraphic(r), unicode.Is(unicode.Cf, r), unicode.IsSpace(r) && r != ' ':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// kindLabel is the short name of a key's kind in pictures.
func kindLabel(n Node) string {
	switch n.Kind {
	case trust.KindMaster:
		return "master"
	case trust.KindSelfSigning:
		return "self-signing"
	case trust.KindUserSigning:
		return "user-signing"
	case trust.KindPublicUserSigning:
		return "public user-signing"
	case trust.KindDevice:
		return "device " + n.DeviceID
	}
	return "unknown signer " + n.KeyID
}

// nodeLines is a node's label as lines of raw (unescaped) text.
func nodeLines(n Node) []string {
	lines := []string{kindLabel(n)}
	if n.Kind != trust.KindUnknown {
		fp := n.Fingerprint()
		if fp == "" {
			fp = "(no key)"
		}
		lines = append(lines, fp)
	}
	return lines
}

// edgeLabel is an edge's label as raw text.
func edgeLabel(e Edge) string {
	l := e.Kind.String()
	if e.Status != Valid {
		l += " (" + e.Status.String() + ")"
	}
	if e.Private {
		l += " (private)"
	}
	if e.Ambiguous {
		l += " (ambiguous key ID)"
	}
	return l
}

func userLabel(g *Graph, user string) string {
	if user == g.Viewer {
		return user + " (you)"
	}
	return user
}

// byUser groups node indices by user, in the order of g.Users (nodes are
// sorted by user, so each group is contiguous).
func byUser(g *Graph) [][]int {
	var groups [][]int
	for i, n := range g.Nodes {
		if i == 0 || g.Nodes[i-1].UserID != n.UserID {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], i)
	}
	return groups
}

// dotString quotes s for a DOT double-quoted string: the text is made
// visible, then backslashes and quotes are escaped, so nothing in s can end
// the string or form a DOT escape (\n, \l, \N, ...).
func dotString(s string) string {
	v := visible(s)
	v = strings.ReplaceAll(v, `\`, `\\`)
	v = strings.ReplaceAll(v, `"`, `\"`)
	return `"` + v + `"`
}

// dotLines joins raw lines into one quoted DOT label with \n breaks.
func dotLines(lines ...string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = strings.TrimSuffix(strings.TrimPrefix(dotString(l), `"`), `"`)
	}
	return `"` + strings.Join(q, `\n`) + `"`
}

// WriteDOT writes g as a Graphviz digraph: one cluster per user, keys
// labelled with their kind and fingerprint, valid signatures solid, invalid
// ones dashed red, signatures by unknown signers dotted grey, highlighted
// keys and signatures bold (blue), private ones labelled "(private)".
func WriteDOT(w io.Writer, g *Graph) error {
	if g == nil {
		return ErrNilGraph
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "digraph trust {")
	fmt.Fprintln(bw, `  graph [rankdir=LR, fontname="Helvetica", label=`+dotString("trust graph seen by "+g.Viewer)+`];`)
	fmt.Fprintln(bw, `  node [shape=box, style=rounded, fontname="Helvetica"];`)
	fmt.Fprintln(bw, `  edge [fontname="Helvetica", fontsize=10];`)
	for ci, group := range byUser(g) {
		user := g.Nodes[group[0]].UserID
		fmt.Fprintf(bw, "  subgraph cluster_%d {\n", ci)
		fmt.Fprintf(bw, "    label=%s;\n", dotString(userLabel(g, user)))
		for _, i := range group {
			n := g.Nodes[i]
			attrs := "label=" + dotLines(nodeLines(n)...)
			switch {
			case n.Kind == trust.KindUnknown:
				attrs += `, style="rounded,dotted", color=grey`
			case n.Highlighted:
				attrs += `, style="rounded,bold", color=blue, penwidth=2`
			}
			fmt.Fprintf(bw, "    n%d [%s];\n", i, attrs)
		}
		fmt.Fprintln(bw, "  }")
	}
	for _, e := range g.Edges {
		var style []string
		switch e.Status {
		case Valid:
			style = append(style, "solid")
		case Invalid:
			style = append(style, "dashed")
		default:
			style = append(style, "dotted")
		}
		attrs := "label=" + dotString(edgeLabel(e))
		switch e.Status {
		case Invalid:
			attrs += ", color=red, fontcolor=red"
		case SignerUnknown:
			attrs += ", color=grey"
		}
		if e.Highlighted {
			style = append(style, "bold")
			attrs += ", penwidth=2.5"
			if e.Status == Valid {
				attrs += ", color=blue"
			}
		}
		if e.Private {
			attrs += ", arrowhead=odot"
		}
		fmt.Fprintf(bw, "  n%d -> n%d [%s, style=%s];\n", e.From, e.To, attrs, dotString(strings.Join(style, ",")))
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

// mermaidText escapes raw text for a double-quoted Mermaid label: the text
// is made visible, then every character outside a small safe set becomes a
// Mermaid entity code (#<decimal>;), so quotes, brackets, pipes, HTML, the
// '#' of entity codes and markdown backticks cannot end or change a label.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range visible(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == ' ', r == '@', r == ':', r == '.', r == '_', r == '-', r == '+', r == '/', r == '=', r == ',', r == '(', r == ')':
			b.WriteRune(r)
		default:
			b.WriteString("#" + strconv.Itoa(int(r)) + ";")
		}
	}
	return b.String()
}

// WriteMermaid writes g as a Mermaid flowchart (LR), for Markdown: one
// subgraph per user, valid signatures as solid arrows, invalid ones dotted
// and red, unknown signers' dotted and grey, highlighted ones thick (and
// their keys outlined), private ones labelled "(private)".
func WriteMermaid(w io.Writer, g *Graph) error {
	if g == nil {
		return ErrNilGraph
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "flowchart LR")
	var highlighted, unknown []string
	for ci, group := range byUser(g) {
		user := g.Nodes[group[0]].UserID
		fmt.Fprintf(bw, "  subgraph u%d [\"%s\"]\n", ci, mermaidText(userLabel(g, user)))
		for _, i := range group {
			n := g.Nodes[i]
			lines := nodeLines(n)
			for j := range lines {
				lines[j] = mermaidText(lines[j])
			}
			fmt.Fprintf(bw, "    n%d[\"%s\"]\n", i, strings.Join(lines, "<br/>"))
			if n.Highlighted {
				highlighted = append(highlighted, "n"+strconv.Itoa(i))
			}
			if n.Kind == trust.KindUnknown {
				unknown = append(unknown, "n"+strconv.Itoa(i))
			}
		}
		fmt.Fprintln(bw, "  end")
	}
	var red, grey []string
	for ei, e := range g.Edges {
		arrow := "-->"
		switch {
		case e.Highlighted:
			arrow = "==>"
		case e.Status != Valid:
			arrow = "-.->"
		}
		fmt.Fprintf(bw, "  n%d %s|\"%s\"| n%d\n", e.From, arrow, mermaidText(edgeLabel(e)), e.To)
		switch e.Status {
		case Invalid:
			red = append(red, strconv.Itoa(ei))
		case SignerUnknown:
			grey = append(grey, strconv.Itoa(ei))
		}
	}
	if len(highlighted) > 0 {
		fmt.Fprintln(bw, "  classDef chain stroke:#1f4fd1,stroke-width:3px")
		fmt.Fprintf(bw, "  class %s chain\n", strings.Join(highlighted, ","))
	}
	if len(unknown) > 0 {
		fmt.Fprintln(bw, "  classDef unknown stroke:#888,stroke-dasharray:3 3")
		fmt.Fprintf(bw, "  class %s unknown\n", strings.Join(unknown, ","))
	}
	if len(red) > 0 {
		fmt.Fprintf(bw, "  linkStyle %s stroke:red,color:red\n", strings.Join(red, ","))
	}
	if len(grey) > 0 {
		fmt.Fprintf(bw, "  linkStyle %s stroke:#888\n", strings.Join(grey, ","))
	}
	return bw.Flush()
}

// textMark is ✓ for a valid signature and ✗ otherwise, as vouch trust
// prints verdicts.
func textMark(s Status) string {
	if s == Valid {
		return "✓"
	}
	return "✗"
}

// WriteText writes g for terminals: per user, each key with the signatures
// on it indented below ("✓ signed by …" or "✗ …"); a '*' marks the keys
// and signatures of a highlighted chain. Attacker-chosen IDs are printed
// with control characters escaped, so they cannot forge lines or send
// terminal escapes.
func WriteText(w io.Writer, g *Graph) error {
	if g == nil {
		return ErrNilGraph
	}
	bw := bufio.NewWriter(w)
	incoming := make([][]int, len(g.Nodes))
	for ei, e := range g.Edges {
		incoming[e.To] = append(incoming[e.To], ei)
	}
	star := func(b bool) string {
		if b {
			return "*"
		}
		return " "
	}
	first := true
	for _, group := range byUser(g) {
		// Unknown signers are not keys of anyone's: they are drawn where
		// they sign.
		known := slices.DeleteFunc(slices.Clone(group), func(i int) bool { return g.Nodes[i].Kind == trust.KindUnknown })
		if len(known) == 0 {
			continue
		}
		if !first {
			fmt.Fprintln(bw)
		}
		first = false
		fmt.Fprintln(bw, visible(userLabel(g, g.Nodes[group[0]].UserID)))
		for _, i := range known {
			n := g.Nodes[i]
			fp := n.Fingerprint()
			if fp != "" {
				fp = " " + fp
			}
			fmt.Fprintf(bw, "%s %s%s\n", star(n.Highlighted), visible(kindLabel(n)), fp)
			for _, ei := range incoming[i] {
				e := g.Edges[ei]
				s := g.Nodes[e.From]
				var who string
				switch {
				case e.Kind == EdgeSelf:
					who = "itself"
				case s.UserID == n.UserID:
					who = visible(kindLabel(s)) + prefixSpace(s.Fingerprint())
				default:
					who = visible(s.UserID) + " " + visible(kindLabel(s)) + prefixSpace(s.Fingerprint())
				}
				fmt.Fprintf(bw, "%s   %s signed by %s [%s]\n", star(e.Highlighted), textMark(e.Status), who, edgeLabel(e))
			}
		}
	}
	return bw.Flush()
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}
