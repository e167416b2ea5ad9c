package graph_test

import (
	"fmt"
	"regexp"
	"strings"
)

// dotWords are the only bare words a drawing may contain outside quoted
// strings: anything else there came from the input.
var dotWords = regexp.MustCompile(`^(digraph|trust|graph|node|edge|subgraph|cluster_[0-9]+|n[0-9]+|label|style|color|fontcolor|penwidth|arrowhead|odot|rankdir|LR|fontname|fontsize|shape|box|rounded|blue|red|grey|[0-9.]+)$`)

// checkDOT lexes a DOT drawing: every quoted string ends on its line,
// braces and brackets balance outside strings, and every bare word is
// one the writer uses.
func checkDOT(out string) error {
	depth, brackets := 0, 0
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case c == '"':
			j := i + 1
			for ; j < len(out) && out[j] != '"'; j++ {
				if out[j] == '\n' {
					return fmt.Errorf("newline inside a string at %d", i)
				}
				if out[j] == '\\' {
					j++
					if j < len(out) && out[j] == '\n' {
						return fmt.Errorf("escaped newline inside a string at %d", i)
					}
				}
			}
			if j >= len(out) {
				return fmt.Errorf("unterminated string at %d", i)
			}
			i = j
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth < 0 {
				return fmt.Errorf("unbalanced } at %d", i)
			}
		case c == '[':
			brackets++
		case c == ']':
			brackets--
			if brackets != 0 {
				return fmt.Errorf("unbalanced ] at %d", i)
			}
		case c == ' ' || c == '\n' || c == ';' || c == ',' || c == '=':
		case c == '-' && i+1 < len(out) && out[i+1] == '>':
			i++
		default:
			j := i
			for j < len(out) && strings.IndexByte(" \n;,=[]{}\"", out[j]) < 0 {
				j++
			}
			if w := out[i:j]; !dotWords.MatchString(w) {
				return fmt.Errorf("unexpected bare word %q", w)
			}
			i = j - 1
		}
	}
	if depth != 0 || brackets != 0 {
		return fmt.Errorf("unbalanced: braces %d, brackets %d", depth, brackets)
	}
	return nil
}

// mermaidLabel is the content of a label the writer made: safe characters,
// entity codes and <br/> only.
const mermaidLabel = `"(?:[A-Za-z0-9 @:._\-+/=,()]|#[0-9]+;|<br/>)*"`

var mermaidLine = regexp.MustCompile(`^(flowchart LR|  subgraph u[0-9]+ \[` + mermaidLabel + `\]|    n[0-9]+\[` + mermaidLabel + `\]|  end|  n[0-9]+ (-->|==>|-\.->)\|` + mermaidLabel + `\| n[0-9]+|  classDef (chain|unknown) [a-z:#0-9,\- ]+|  class (n[0-9]+,)*n[0-9]+ (chain|unknown)|  linkStyle ([0-9]+,)*[0-9]+ [a-z:#0-9,]+)$`)

// checkMermaid checks that every line of a Mermaid drawing is a statement
// the writer makes, with labels that cannot hold a newline or a quote.
func checkMermaid(out string) error {
	if !strings.HasSuffix(out, "\n") {
		return fmt.Errorf("no final newline")
	}
	depth := 0
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !mermaidLine.MatchString(l) {
			return fmt.Errorf("unexpected line %q", l)
		}
		if strings.HasPrefix(l, "  subgraph") {
			depth++
		}
		if l == "  end" {
			depth--
		}
	}
	if depth != 0 {
		return fmt.Errorf("unbalanced subgraphs")
	}
	return nil
}

// checkText checks that a text drawing has no control characters but
// newlines.
func checkText(out string) error {
	for _, r := range out {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || r == '\u202e') {
			return fmt.Errorf("control character %U in text output", r)
		}
	}
	return nil
}
