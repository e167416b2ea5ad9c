package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

const (
	// MaxImageSize is the largest PNG side PNG accepts, in pixels.
	MaxImageSize = 4096
	// QuietZone is the width of the light border around every rendering, in
	// modules (ISO/IEC 18004 asks for four).
	QuietZone = 4
)

// grid is a rendered symbol: side x side pixels, of which dark reports the
// dark ones (the quiet zone and any centring margin are light).
type grid struct {
	side int
	dark func(x, y int) bool
}

// matrix encodes c and returns the QR symbol at one pixel per module with the
// quiet zone, or scaled by a whole factor and centred in size x size pixels
// when size is larger.
func matrix(c Code, size int) (grid, error) {
	payload, err := c.Encode()
	if err != nil {
		return grid{}, err
	}
	m, err := symbol(payload)
	if err != nil {
		return grid{}, err
	}
	dim := m.GetWidth()
	full := dim + 2*QuietZone
	side := max(size, full)
	scale := side / full
	margin := (side-full*scale)/2 + QuietZone*scale
	return grid{side: side, dark: func(x, y int) bool {
		mx, my := x-margin, y-margin
		if mx < 0 || my < 0 {
			return false
		}
		mx, my = mx/scale, my/scale
		return mx < dim && my < dim && m.Get(mx, my) == 1
	}}, nil
}

// PNG renders c as a black-on-white PNG image of at least size x size pixels
// (larger if the symbol with its quiet zone needs more). The payload goes in a
// single plain BYTE-mode segment, with no ECI designator.
func PNG(c Code, size int) ([]byte, error) {
	if size < 1 || size > MaxImageSize {
		return nil, fmt.Errorf("qr png: size %d not in 1..%d: %w", size, MaxImageSize, ErrImageSize)
	}
	m, err := matrix(c, size)
	if err != nil {
		return nil, fmt.Errorf("qr png: %w", err)
	}
	w, h := m.side, m.side
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.White, color.Black})
	for y := range h {
		for x := range w {
			if m.dark(x, y) {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr png: %w: %v", ErrRender, err)
	}
	return buf.Bytes(), nil
}

// Terminal renders c as text for a terminal, two modules per character cell
// with the half-block characters "▀", "▄", "█" and space, with a quiet zone.
// By default a block is drawn for each light module, which looks right on the
// usual light-on-dark terminal; darkOnLight draws the dark modules instead,
// for terminals with a light background.
func Terminal(c Code, darkOnLight bool) (string, error) {
	m, err := matrix(c, 0)
	if err != nil {
		return "", fmt.Errorf("qr terminal: %w", err)
	}
	w, h := m.side, m.side
	ink := func(x, y int) bool {
		if y >= h {
			// The odd last row's lower half belongs to the quiet zone.
			return !darkOnLight
		}
		return m.dark(x, y) == darkOnLight
	}
	var sb strings.Builder
	for y := 0; y < h; y += 2 {
		for x := range w {
			top, bottom := ink(x, y), ink(x, y+1)
			switch {
			case top && bottom:
				sb.WriteString("█")
			case top:
				sb.WriteString("▀")
			case bottom:
				sb.WriteString("▄")
			default:
				sb.WriteString(" ")
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String(), nil
}

// DecodePNG reads a PNG image, finds a QR code in it and decodes the raw bytes
// of its single byte-mode segment as a verification payload.
func DecodePNG(r io.Reader) (Code, error) {
	img, err := png.Decode(r)
	if err != nil {
		return Code{}, fmt.Errorf("qr decode png: %w: %v", ErrImage, err)
	}
	raw, err := scan(img)
	if err != nil {
		return Code{}, fmt.Errorf("qr decode png: %w", err)
	}
	c, err := Decode(raw)
	if err != nil {
		return Code{}, fmt.Errorf("qr decode png: %w", err)
	}
	return c, nil
}

// scan finds a QR code in img and returns the bytes of its only byte segment.
func scan(img image.Image) ([]byte, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	reader := zxqr.NewQRCodeReader()
	res, err := reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		// A clean computer-made image can fail the finder-pattern search;
		// try reading it as a pure barcode before giving up.
		var err2 error
		res, err2 = reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err2 != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoCode, err)
		}
	}
	// The decoded text went through a character-set guess; the byte segments
	// are the raw bytes as they were in the symbol.
	segs, ok := res.GetResultMetadata()[gozxing.ResultMetadataType_BYTE_SEGMENTS].([][]byte)
	if !ok || len(segs) != 1 {
		return nil, fmt.Errorf("%w (found %d)", ErrNotSingleByteSegment, len(segs))
	}
	return bytes.Clone(segs[0]), nil
}
