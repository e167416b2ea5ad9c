package qr

import (
	"fmt"
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common/reedsolomon"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// This file assembles the QR symbol of a payload as ONE plain BYTE-mode
// segment, with no ECI designator: gozxing's high-level writer adds an ECI
// whenever a character set is named, and without one it would pass the
// bytes through a UTF-8 encoder that replaces invalid sequences. Only the
// data codewords are built here (ISO/IEC 18004 sections 7.4 and 7.5); the
// Reed-Solomon arithmetic, the function patterns, the masks and their
// penalty scores come from gozxing's exported building blocks.

// Bit-stream constants of ISO/IEC 18004.
const (
	modeIndicatorBits = 4
	terminatorBits    = 4
	padByteA          = 0xEC
	padByteB          = 0x11
	numMaskPatterns   = 8
)

// ecLevels are tried in order: M, then L for payloads too large for M.
var ecLevels = [...]decoder.ErrorCorrectionLevel{decoder.ErrorCorrectionLevel_M, decoder.ErrorCorrectionLevel_L}

// symbol returns the module matrix (without quiet zone) of the smallest QR
// symbol that holds payload as one BYTE-mode segment.
func symbol(payload []byte) (*encoder.ByteMatrix, error) {
	for _, ec := range ecLevels {
		for n := 1; n <= 40; n++ {
			v, err := decoder.Version_GetVersionForNumber(n)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrRender, err)
			}
			blocks := v.GetECBlocksForLevel(ec)
			dataBytes := v.GetTotalCodewords() - blocks.GetTotalECCodewords()
			countBits := decoder.Mode_BYTE.GetCharacterCountBits(v)
			if len(payload) >= 1<<countBits || modeIndicatorBits+countBits+8*len(payload) > 8*dataBytes {
				continue
			}
			return place(codewords(payload, countBits, dataBytes, blocks), ec, v)
		}
	}
	return nil, fmt.Errorf("%w: a %d-byte payload does not fit any QR version", ErrRender, len(payload))
}

// codewords builds the data codewords (mode, count, bytes, terminator,
// padding), adds each block's error-correction codewords and interleaves
// them into the final bit sequence.
func codewords(payload []byte, countBits, dataBytes int, blocks *decoder.ECBlocks) *gozxing.BitArray {
	bits := gozxing.NewEmptyBitArray()
	_ = bits.AppendBits(decoder.Mode_BYTE.GetBits(), modeIndicatorBits)
	_ = bits.AppendBits(len(payload), countBits)
	for _, b := range payload {
		_ = bits.AppendBits(int(b), 8)
	}
	_ = bits.AppendBits(0, min(terminatorBits, 8*dataBytes-bits.GetSize()))
	if r := bits.GetSize() % 8; r != 0 {
		_ = bits.AppendBits(0, 8-r)
	}
	for i := 0; bits.GetSizeInBytes() < dataBytes; i++ {
		_ = bits.AppendBits([2]int{padByteA, padByteB}[i%2], 8)
	}
	data := make([]byte, dataBytes)
	bits.ToBytes(0, data, 0, dataBytes)

	// Split into blocks (the short blocks first), each with its own
	// error-correction codewords, then interleave column by column.
	ecPer := blocks.GetECCodewordsPerBlock()
	rs := reedsolomon.NewReedSolomonEncoder(reedsolomon.GenericGF_QR_CODE_FIELD_256)
	var dataBlocks, ecBlocks [][]int
	off := 0
	for _, group := range blocks.GetECBlocks() {
		for range group.GetCount() {
			n := group.GetDataCodewords()
			block := make([]int, n+ecPer)
			for i := range n {
				block[i] = int(data[off+i])
			}
			off += n
			// Encode cannot fail here: the block has data and ecPer > 0.
			_ = rs.Encode(block, ecPer)
			dataBlocks, ecBlocks = append(dataBlocks, block[:n]), append(ecBlocks, block[n:])
		}
	}
	out := gozxing.NewEmptyBitArray()
	for _, set := range [2][][]int{dataBlocks, ecBlocks} {
		longest := 0
		for _, b := range set {
			longest = max(longest, len(b))
		}
		for i := range longest {
			for _, b := range set {
				if i < len(b) {
					_ = out.AppendBits(b[i], 8)
				}
			}
		}
	}
	return out
}

// place lays bits into the symbol of version v with the mask pattern of the
// lowest penalty score.
func place(bits *gozxing.BitArray, ec decoder.ErrorCorrectionLevel, v *decoder.Version) (*encoder.ByteMatrix, error) {
	dim := v.GetDimensionForVersion()
	best, bestPenalty := -1, math.MaxInt
	m := encoder.NewByteMatrix(dim, dim)
	for mask := range numMaskPatterns {
		if err := encoder.MatrixUtil_buildMatrix(bits, ec, v, mask, m); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRender, err)
		}
		p := encoder.MaskUtil_applyMaskPenaltyRule1(m) + encoder.MaskUtil_applyMaskPenaltyRule2(m) +
			encoder.MaskUtil_applyMaskPenaltyRule3(m) + encoder.MaskUtil_applyMaskPenaltyRule4(m)
		if p < bestPenalty {
			best, bestPenalty = mask, p
		}
	}
	if err := encoder.MatrixUtil_buildMatrix(bits, ec, v, best, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRender, err)
	}
	return m, nil
}
