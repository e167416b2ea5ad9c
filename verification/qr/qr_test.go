package qr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"testing"

	"vouch/internal/testvectors"

	"github.com/makiuchi-d/gozxing"
	zxcommon "github.com/makiuchi-d/gozxing/common"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	zxdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
)

func key(tb testing.TB, s string) [KeyLen]byte {
	tb.Helper()
	b := testvectors.Base64(tb, s)
	if len(b) != KeyLen {
		tb.Fatalf("key %q has %d bytes", s, len(b))
	}
	return [KeyLen]byte(b)
}

// vectorCode is the Code a valid vector describes.
func vectorCode(tb testing.TB, v testvectors.QRValid) Code {
	return Code{
		Mode:          Mode(v.Mode),
		TransactionID: v.TransactionID,
		Key1:          key(tb, v.Key1),
		Key2:          key(tb, v.Key2),
		Secret:        testvectors.Base64(tb, v.Secret),
	}
}

func equalCode(a, b Code) bool {
	return a.Mode == b.Mode && a.TransactionID == b.TransactionID && a.Key1 == b.Key1 &&
		a.Key2 == b.Key2 && bytes.Equal(a.Secret, b.Secret)
}

func TestVectorsValid(t *testing.T) {
	for _, v := range testvectors.LoadQR(t).Valid {
		t.Run(v.TransactionID[:min(len(v.TransactionID), 20)], func(t *testing.T) {
			raw, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			want := vectorCode(t, v)
			got, err := Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !equalCode(got, want) {
				t.Fatalf("Decode = %+v, want %+v", got, want)
			}
			enc, err := want.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if hex.EncodeToString(enc) != v.Hex {
				t.Fatalf("Encode = %x, want %s", enc, v.Hex)
			}
		})
	}
}

// invalidReasons maps each invalid vector's reason to the sentinel we give.
var invalidReasons = map[string]error{
	"wrong magic":  ErrBadPrefix,
	"version 0x01": ErrBadVersion,
	"version 0x03 (that is the sign-in QR of MSC4388, not verification)": ErrBadVersion,
	"mode 0x03":                          ErrUnknownMode,
	"empty input":                        ErrEmpty,
	"only the magic":                     ErrTruncatedHeader,
	"length longer than the data":        ErrTruncatedID,
	"second key truncated":               ErrTruncatedKey,
	"no shared secret":                   ErrSecretTooShort,
	"shared secret shorter than 8 bytes": ErrSecretTooShort,
	"transaction ID not UTF-8":           ErrIDNotUTF8,
	"empty transaction ID":               ErrEmptyID,
}

func TestVectorsInvalid(t *testing.T) {
	for _, v := range testvectors.LoadQR(t).Invalid {
		t.Run(v.Reason, func(t *testing.T) {
			want, ok := invalidReasons[v.Reason]
			if !ok {
				t.Fatalf("new invalid vector %q: add its sentinel to invalidReasons", v.Reason)
			}
			raw, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(raw)
			if !errors.Is(err, want) {
				t.Fatalf("Decode error = %v, want %v", err, want)
			}
			if !equalCode(got, Code{}) {
				t.Fatalf("Decode returned %+v alongside an error", got)
			}
		})
	}
}

func TestDecodeMoreMalformed(t *testing.T) {
	good, err := Code{Mode: ModeSelfTrusted, TransactionID: "t", Secret: make([]byte, 8)}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"prefix prefix", []byte("MAT"), ErrTruncatedHeader},
		{"wrong short prefix", []byte("MAX"), ErrBadPrefix},
		{"lower-case magic", append([]byte("matrix"), good[6:]...), ErrBadPrefix},
		{"no mode", good[:7], ErrTruncatedHeader},
		{"half length", good[:9], ErrTruncatedHeader},
		{"no ID", good[:10], ErrTruncatedID},
		{"first key truncated", good[:11+20], ErrTruncatedKey},
		{"mode 0xff", append(append([]byte{}, good[:7]...), append([]byte{0xff}, good[8:]...)...), ErrUnknownMode},
		{"seven-byte secret", good[:len(good)-1], ErrSecretTooShort},
		{"ok", good, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Decode(%x) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	ok := Code{Mode: ModeVerifyOtherUser, TransactionID: "txn", Secret: []byte("12345678")}
	tests := []struct {
		name string
		edit func(*Code)
		want error
	}{
		{"unknown mode", func(c *Code) { c.Mode = 3 }, ErrUnknownMode},
		{"empty ID", func(c *Code) { c.TransactionID = "" }, ErrEmptyID},
		{"ID not UTF-8", func(c *Code) { c.TransactionID = "\xff\xfe" }, ErrIDNotUTF8},
		{"ID too long", func(c *Code) { c.TransactionID = strings.Repeat("x", MaxTransactionIDLen+1) }, ErrIDTooLong},
		{"nil secret", func(c *Code) { c.Secret = nil }, ErrSecretTooShort},
		{"7-byte secret", func(c *Code) { c.Secret = c.Secret[:7] }, ErrSecretTooShort},
		{"longest ID", func(c *Code) { c.TransactionID = strings.Repeat("x", MaxTransactionIDLen) }, nil},
		{"ok", func(*Code) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			b, err := c.Encode()
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Encode error = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			back, err := Decode(b)
			if err != nil || !equalCode(back, c) {
				t.Fatalf("Decode(Encode(c)) = %+v, %v", back, err)
			}
		})
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	raw, err := hex.DecodeString(testvectors.LoadQR(t).Valid[0].Hex)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(c.Secret)
	for i := range raw {
		raw[i] ^= 0xff
	}
	if !bytes.Equal(c.Secret, before) {
		t.Fatal("Decode's Secret aliases its input")
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{0: "verify-other-user", 1: "self-trusted", 2: "self-untrusted", 7: "unknown(0x07)"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", m, got, want)
		}
	}
}

// allBytesCode carries every byte value 0..255 in its secret.
func allBytesCode() Code {
	secret := make([]byte, 256)
	for i := range secret {
		secret[i] = byte(i)
	}
	return Code{Mode: ModeSelfUntrusted, TransactionID: "all-bytes-\u00e9\u2603", Key1: [32]byte{0: 0xff, 31: 0x80}, Key2: [32]byte{1: 0x7f}, Secret: secret}
}

func TestPNGRoundTrip(t *testing.T) {
	codes := map[string]Code{"all 256 byte values": allBytesCode()}
	for _, v := range testvectors.LoadQR(t).Valid {
		codes[v.TransactionID[:min(len(v.TransactionID), 20)]] = vectorCode(t, v)
	}
	for name, c := range codes {
		t.Run(name, func(t *testing.T) {
			img, err := PNG(c, 400)
			if err != nil {
				t.Fatalf("PNG: %v", err)
			}
			if !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatalf("PNG output is not a PNG: %x", img[:min(len(img), 8)])
			}
			got, err := DecodePNG(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("DecodePNG: %v", err)
			}
			if !equalCode(got, c) {
				t.Fatalf("round trip = %+v, want %+v", got, c)
			}
		})
	}
}

// encodeAndRender returns c's payload and c drawn by PNG at one pixel a
// module, decoded back to an image. It serves TestPNGLossless and
// TestPNGPlainByteMode.
func encodeAndRender(t *testing.T, c Code) ([]byte, image.Image) {
	t.Helper()
	payload, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	img, err := PNG(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	return payload, decoded
}

// TestPNGLossless checks that every byte value survives payload -> symbol
// -> scanned byte segment.
func TestPNGLossless(t *testing.T) {
	payload, decoded := encodeAndRender(t, allBytesCode())
	raw, err := scan(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, payload) {
		t.Fatalf("byte segment differs from payload:\n got %x\nwant %x", raw, payload)
	}
}

func TestPNGRefuses(t *testing.T) {
	ok := allBytesCode()
	tests := []struct {
		name string
		c    Code
		size int
		want error
	}{
		{"size 0", ok, 0, ErrImageSize},
		{"negative size", ok, -5, ErrImageSize},
		{"huge size", ok, MaxImageSize + 1, ErrImageSize},
		{"invalid code", Code{}, 100, ErrEmptyID},
		{"payload too large for any QR version", Code{TransactionID: strings.Repeat("x", 4000), Secret: make([]byte, 8)}, 100, ErrRender},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := PNG(tt.c, tt.size); !errors.Is(err, tt.want) {
				t.Fatalf("PNG error = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Terminal(Code{}, false); !errors.Is(err, ErrEmptyID) {
		t.Fatalf("Terminal error = %v, want ErrEmptyID", err)
	}
}

func TestDecodePNGRefuses(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range blank.Pix {
		blank.Pix[i] = 0xff
	}
	var blankPNG bytes.Buffer
	if err := png.Encode(&blankPNG, blank); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"not a PNG", []byte("hello"), ErrImage},
		{"empty", nil, ErrImage},
		{"blank image", blankPNG.Bytes(), ErrNoCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodePNG(bytes.NewReader(tt.in)); !errors.Is(err, tt.want) {
				t.Fatalf("DecodePNG error = %v, want %v", err, tt.want)
			}
		})
	}
}

// terminalImage turns a Terminal rendering back into pixels (scale pixels per
// module), so that the QR reader can check what the text shows.
func terminalImage(t *testing.T, text string, darkOnLight bool, scale int) image.Image {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	width := len([]rune(lines[0]))
	img := image.NewGray(image.Rect(0, 0, width*scale, 2*len(lines)*scale))
	for row, line := range lines {
		runes := []rune(line)
		if len(runes) != width {
			t.Fatalf("line %d has %d cells, want %d", row, len(runes), width)
		}
		for x, r := range runes {
			var top, bottom bool
			switch r {
			case '█':
				top, bottom = true, true
			case '▀':
				top = true
			case '▄':
				bottom = true
			case ' ':
			default:
				t.Fatalf("unexpected rune %q", r)
			}
			for half, ink := range []bool{top, bottom} {
				dark := ink == darkOnLight
				v := color.Gray{Y: 0xff}
				if dark {
					v = color.Gray{Y: 0}
				}
				for dy := range scale {
					for dx := range scale {
						img.SetGray(x*scale+dx, (2*row+half)*scale+dy, v)
					}
				}
			}
		}
	}
	return img
}

func TestTerminalRoundTrip(t *testing.T) {
	c := vectorCode(t, testvectors.LoadQR(t).Valid[0])
	payload, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, darkOnLight := range []bool{false, true} {
		text, err := Terminal(c, darkOnLight)
		if err != nil {
			t.Fatal(err)
		}
		first := strings.SplitN(text, "\n", 2)[0]
		quiet := " "
		if !darkOnLight {
			quiet = "█"
		}
		if first != strings.Repeat(quiet, len([]rune(first))) {
			t.Fatalf("darkOnLight=%v: first line is not quiet zone: %q", darkOnLight, first)
		}
		raw, err := scan(terminalImage(t, text, darkOnLight, 4))
		if err != nil {
			t.Fatalf("darkOnLight=%v: scanning the terminal rendering: %v", darkOnLight, err)
		}
		if !bytes.Equal(raw, payload) {
			t.Fatalf("darkOnLight=%v: terminal rendering holds %x, want %x", darkOnLight, raw, payload)
		}
	}
}

func FuzzDecode(f *testing.F) {
	v := testvectors.LoadQR(f)
	for _, c := range v.Valid {
		raw, _ := hex.DecodeString(c.Hex)
		f.Add(raw)
	}
	for _, c := range v.Invalid {
		raw, _ := hex.DecodeString(c.Hex)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Decode(in)
		if err != nil {
			if !equalCode(c, Code{}) {
				t.Fatalf("non-zero Code with error %v", err)
			}
			return
		}
		out, err := c.Encode()
		if err != nil {
			t.Fatalf("Decode accepted %x but Encode refuses it: %v", in, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("malleable: Decode(%x) re-encodes to %x", in, out)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	raw, err := hex.DecodeString(testvectors.LoadQR(b).Valid[0].Hex)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	c := vectorCode(b, testvectors.LoadQR(b).Valid[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPNG(b *testing.B) {
	c := vectorCode(b, testvectors.LoadQR(b).Valid[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PNG(c, 256); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPNGPlainByteMode checks that the symbol holds one plain BYTE-mode
// segment with no ECI designator in front of it: the reader reports the
// symbology identifier "]Q1" (an ECI would make it "]Q2"), and the byte
// segment is the payload unchanged, for every valid vector and every byte value.
func TestPNGPlainByteMode(t *testing.T) {
	codes := map[string]Code{"all 256 byte values": allBytesCode()}
	for _, v := range testvectors.LoadQR(t).Valid {
		codes[v.TransactionID[:min(len(v.TransactionID), 20)]] = vectorCode(t, v)
	}
	for name, c := range codes {
		t.Run(name, func(t *testing.T) {
			payload, decoded := encodeAndRender(t, c)
			bmp, err := gozxing.NewBinaryBitmapFromImage(decoded)
			if err != nil {
				t.Fatal(err)
			}
			res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			md := res.GetResultMetadata()
			if id := md[gozxing.ResultMetadataType_SYMBOLOGY_IDENTIFIER]; id != "]Q1" {
				t.Errorf("symbology identifier = %v, want ]Q1 (no ECI, no FNC1)", id)
			}
			segs, _ := md[gozxing.ResultMetadataType_BYTE_SEGMENTS].([][]byte)
			if len(segs) != 1 || !bytes.Equal(segs[0], payload) {
				t.Fatalf("byte segments = %x, want one segment %x", segs, payload)
			}
		})
	}
}

// TestSymbolExact decodes the module matrix of payloads of many sizes
// (versions 1 to 40, levels M and L, one and two block groups) with the
// reader's low-level decoder and requires the payload back with no error
// corrected: a wrong padding, block split or interleaving would show up as
// corrected errors even where Reed-Solomon could hide it.
func TestSymbolExact(t *testing.T) {
	for _, n := range []int{1, 14, 15, 16, 30, 60, 100, 150, 213, 300, 500, 1000, 1500, 2331, 2332, 2953} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			payload := make([]byte, n)
			for i := range payload {
				payload[i] = byte(i*7 + n)
			}
			res := readSymbol(t, payload)
			if res.GetErrorsCorrected() != 0 {
				t.Errorf("errors corrected = %d, want 0", res.GetErrorsCorrected())
			}
			if res.GetSymbologyModifier() != 1 {
				t.Errorf("symbology modifier = %d, want 1 (no ECI)", res.GetSymbologyModifier())
			}
			if segs := res.GetByteSegments(); len(segs) != 1 || !bytes.Equal(segs[0], payload) {
				t.Fatalf("byte segments differ from the payload")
			}
		})
	}
	if _, err := symbol(make([]byte, 2954)); !errors.Is(err, ErrRender) {
		t.Fatalf("2954 bytes: err = %v, want ErrRender", err)
	}
}

// readSymbol draws payload with symbol and reads the modules back with the
// reader's low-level decoder. It serves TestSymbolExact and
// FuzzSymbol.
func readSymbol(t *testing.T, payload []byte) *zxcommon.DecoderResult {
	t.Helper()
	m, err := symbol(payload)
	if err != nil {
		t.Fatalf("symbol(%d bytes): %v", len(payload), err)
	}
	grid := make([][]bool, m.GetHeight())
	for y := range grid {
		grid[y] = make([]bool, m.GetWidth())
		for x := range grid[y] {
			grid[y][x] = m.Get(x, y) == 1
		}
	}
	res, err := zxdecoder.NewDecoder().DecodeBoolMap(grid, nil)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res
}

// FuzzSymbol: any payload that fits a QR symbol comes back from the
// reader's low-level decoder byte for byte, in one segment, with nothing to
// correct and no ECI.
func FuzzSymbol(f *testing.F) {
	for _, v := range testvectors.LoadQR(f).Valid {
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) == 0 || len(payload) > 2953 {
			t.Skip()
		}
		res := readSymbol(t, payload)
		if segs := res.GetByteSegments(); len(segs) != 1 || !bytes.Equal(segs[0], payload) || res.GetErrorsCorrected() != 0 || res.GetSymbologyModifier() != 1 {
			t.Fatalf("round trip of %x failed", payload)
		}
	})
}
