package canonicaljson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"
)

// oracle is a deliberately naive second implementation used to check the
// scanner: it decodes with encoding/json into a tree (numbers as
// json.Number), then writes the tree out with sorted keys, converting each
// number through math/big. It has no duplicate or UTF-8 checks of its own,
// so it is only consulted for inputs the package accepted.
func oracle(in []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := oracleWrite(&out, v); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func oracleWrite(out *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		fmt.Fprint(out, v)
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok && zeroMantissa(string(v)) {
			// math/big refuses exponents it cannot represent, but zero
			// times any power of ten is still zero (0E0100000020004000004001).
			r, ok = new(big.Rat), true
		}
		if !ok || !r.IsInt() {
			return fmt.Errorf("oracle: %s is not an integer", v)
		}
		limit := big.NewInt(1<<53 - 1)
		if r.Num().CmpAbs(limit) > 0 {
			return fmt.Errorf("oracle: %s out of range", v)
		}
		out.WriteString(r.Num().String())
	case string:
		oracleString(out, v)
	case []any:
		out.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := oracleWrite(out, e); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // Go string order is UTF-8 byte order, i.e. code point order
		out.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			oracleString(out, k)
			out.WriteByte(':')
			if err := oracleWrite(out, v[k]); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	default:
		return fmt.Errorf("oracle: unexpected %T", v)
	}
	return nil
}

// oracleString writes s following the spec's grammar literally.
func oracleString(out *bytes.Buffer, s string) {
	out.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			out.WriteString(`\"`)
		case r == '\\':
			out.WriteString(`\\`)
		case r == '\b':
			out.WriteString(`\b`)
		case r == '\t':
			out.WriteString(`\t`)
		case r == '\n':
			out.WriteString(`\n`)
		case r == '\f':
			out.WriteString(`\f`)
		case r == '\r':
			out.WriteString(`\r`)
		case r < 0x20:
			fmt.Fprintf(out, `\u%04x`, r)
		default:
			out.WriteRune(r)
		}
	}
	out.WriteByte('"')
}

// gen writes random JSON texts. Values are valid for the package unless a
// mutation is asked for; the spelling (whitespace, escapes, member order,
// number forms) varies at random.
type gen struct {
	r *rand.Rand
	b strings.Builder
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

// keyPool holds keys chosen to stress ordering: prefixes, case, controls,
// quotes, BMP characters above the surrogate range and astral characters.
var keyPool = []string{
	"", "a", "aa", "ab", "B", "b", "z", "user_id", "device_id", "keys",
	"signatures", "ed25519:DEV", "curve25519:DEV", "\"", "\\", "\n", "\x00", "\x1f",
	"/", "~", "\x7f", "é", "e\u0301", "\u2028", "\ue000", "\ufb01", "\uffff",
	"\U0001F600", "\U0001F600a", "\U00010000", "日本", "本",
}

var stringPool = []string{
	"", "x", "Two", "@john.doe:example.com", "日本語", "\U0001F600", "a\"b\\c",
	"\b\f\n\r\t", "\x00\x01\x0b\x1f", "\x7f\u2028\u2029", "/", "</script>", "&amp;",
	"skH1jkxh96ZulRhRa9sxCt/V6LKCpOCkNlCRBA0i8b0", "\ufeff", "\U0010FFFF",
}

func (g *gen) ws() {
	if g.r.IntN(3) != 0 {
		return
	}
	for range g.r.IntN(3) + 1 {
		g.b.WriteByte(" \t\n\r"[g.r.IntN(4)])
	}
}

// str writes s as a JSON string, escaping characters at random.
func (g *gen) str(s string) {
	g.b.WriteByte('"')
	for _, r := range s {
		mustEscape := r < 0x20 || r == '"' || r == '\\'
		if !mustEscape && g.r.IntN(8) != 0 {
			g.b.WriteRune(r)
			continue
		}
		switch {
		case r == '"' && g.r.IntN(2) == 0:
			g.b.WriteString(`\"`)
		case r == '\\' && g.r.IntN(2) == 0:
			g.b.WriteString(`\\`)
		case r == '/' && g.r.IntN(2) == 0:
			g.b.WriteString(`\/`)
		case r == '\n' && g.r.IntN(2) == 0:
			g.b.WriteString(`\n`)
		case r >= 0x10000:
			hi, lo := utf16Pair(r)
			g.hexEscape(hi)
			g.hexEscape(lo)
		default:
			g.hexEscape(r)
		}
	}
	g.b.WriteByte('"')
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + r>>10, 0xdc00 + r&0x3ff
}

func (g *gen) hexEscape(r rune) {
	if g.r.IntN(2) == 0 {
		fmt.Fprintf(&g.b, `\u%04x`, r)
	} else {
		fmt.Fprintf(&g.b, `\u%04X`, r)
	}
}

// number writes an integer in the safe range, sometimes in an integral
// exponent or fraction form.
func (g *gen) number() {
	var n int64
	switch g.r.IntN(4) {
	case 0:
		n = int64(g.r.IntN(10))
	case 1:
		n = g.r.Int64N(1<<53) - g.r.Int64N(1<<53)
	case 2:
		n = []int64{1<<53 - 1, -(1<<53 - 1), 0, 100, -20, 10000000000}[g.r.IntN(6)]
	default:
		n = int64(g.r.IntN(2000)) - 1000
	}
	s := fmt.Sprint(n)
	switch g.r.IntN(10) {
	case 0: // trailing zeros as an exponent: 1200 -> 12e2
		t := strings.TrimRight(s, "0")
		if t != "" && t != "-" && t != s {
			s = fmt.Sprintf("%se%d", t, len(s)-len(t))
		}
	case 1:
		s += ".0"
	case 2:
		s += "E+0"
	case 3:
		if n == 0 {
			s = "-0"
		}
	}
	g.b.WriteString(s)
}

func (g *gen) value(depth int) {
	g.ws()
	k := g.r.IntN(10)
	if depth > 4 {
		k = 4 + g.r.IntN(6)
	}
	switch k {
	case 0, 1:
		n := g.r.IntN(6)
		keys := slices.Clone(keyPool)
		g.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		g.b.WriteByte('{')
		for i := range n {
			if i > 0 {
				g.b.WriteByte(',')
			}
			g.ws()
			g.str(keys[i])
			g.ws()
			g.b.WriteByte(':')
			g.value(depth + 1)
		}
		g.ws()
		g.b.WriteByte('}')
	case 2, 3:
		n := g.r.IntN(4)
		g.b.WriteByte('[')
		for i := range n {
			if i > 0 {
				g.b.WriteByte(',')
			}
			g.value(depth + 1)
		}
		g.ws()
		g.b.WriteByte(']')
	case 4, 5:
		g.str(stringPool[g.r.IntN(len(stringPool))])
	case 6, 7:
		g.number()
	default:
		g.b.WriteString([]string{"true", "false", "null"}[g.r.IntN(3)])
	}
	g.ws()
}

// valid returns a random JSON text the package must accept.
func (g *gen) valid() []byte {
	g.b.Reset()
	g.value(0)
	return []byte(g.b.String())
}

// mutated returns a random JSON text that is often invalid: a valid text
// with one random edit, or one of the constructs canonical JSON refuses
// spliced into it.
func (g *gen) mutated() []byte {
	in := g.valid()
	if len(in) == 0 {
		return in
	}
	at := g.r.IntN(len(in) + 1)
	splice := func(s string) []byte {
		return slices.Concat(in[:at], []byte(s), in[at:])
	}
	switch g.r.IntN(9) {
	case 0:
		return splice([]string{"1.5", "1e400", "9007199254740992", "-0.5e1"}[g.r.IntN(4)])
	case 1:
		return []byte(fmt.Sprintf(`{"k":1,"k":%s}`, in))
	case 2:
		return []byte(fmt.Sprintf(`{"\u006b":[%s],"k":0}`, in))
	case 3:
		return []byte(fmt.Sprintf(`["\ud800",%s]`, in))
	case 4:
		return splice(string([]byte{byte(g.r.IntN(256))}))
	case 5:
		return in[:at]
	case 6:
		return []byte(strings.Repeat("[", MaxDepth) + string(in) + strings.Repeat("]", MaxDepth))
	case 7:
		return []byte(fmt.Sprintf(`{"s":"%s"}`, []string{"\xff", "\xc0\xaf", "\xed\xa0\x80", "\x01"}[g.r.IntN(4)]))
	default:
		out := slices.Clone(in)
		out[g.r.IntN(len(out))] ^= byte(1 << g.r.IntN(8))
		if !utf8.Valid(out) && g.r.IntN(2) == 0 {
			return in
		}
		return out
	}
}

// zeroMantissa reports whether the number's digits before its exponent are
// all zeros.
func zeroMantissa(num string) bool {
	mant, _, _ := strings.Cut(strings.ToLower(num), "e")
	mant = strings.TrimPrefix(mant, "-")
	return mant != "" && strings.Trim(mant, "0.") == ""
}
