package frame

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gnetty/gnetty/codec"
	"github.com/gnetty/gnetty/pipeline"
)

// LengthFieldConfig configures a length-field decoder, with Netty's
// LengthFieldBasedFrameDecoder semantics. The zero value reads a 4-byte
// big-endian length at offset 0 that counts the bytes after it, strips
// nothing and allows frames of up to DefaultMaxFrameLength bytes.
type LengthFieldConfig struct {
	// Order is the byte order of the length field; nil means big endian.
	Order binary.ByteOrder
	// Offset is where the length field starts.
	Offset int
	// Size is the length field's size in bytes: 1, 2, 3, 4 or 8; 0 means 4.
	Size int
	// Adjustment is added to the field's value to get the number of bytes
	// that follow the field (negative when the length counts the header).
	Adjustment int
	// Strip is the number of bytes to remove from the front of each frame
	// (Offset+Size strips the header).
	Strip int
	// MaxFrameLength is the largest whole frame accepted (header included);
	// 0 means DefaultMaxFrameLength.
	MaxFrameLength int
	// FailLate raises the TooLongError only once the whole over-long frame
	// has been discarded.
	FailLate bool
}

// DefaultMaxFrameLength is the length-field decoder's default maximum.
const DefaultMaxFrameLength = 1 << 20

func (c *LengthFieldConfig) normalize() error {
	if c.Order == nil {
		c.Order = binary.BigEndian
	}
	if c.Size == 0 {
		c.Size = 4
	}
	if c.MaxFrameLength <= 0 {
		c.MaxFrameLength = DefaultMaxFrameLength
	}
	switch c.Size {
	case 1, 2, 3, 4, 8:
	default:
		return fmt.Errorf("frame: length field size %d, want 1, 2, 3, 4 or 8", c.Size)
	}
	if c.Offset < 0 || c.Strip < 0 {
		return fmt.Errorf("frame: negative offset (%d) or strip (%d)", c.Offset, c.Strip)
	}
	return nil
}

// NewLengthFieldDecoder returns a decoder that cuts frames by a length
// field. A frame longer than MaxFrameLength raises a *TooLongError and is
// skipped; a length that cannot be right raises ErrCorruptFrame and the
// header is skipped. It returns an error for an invalid configuration.
func NewLengthFieldDecoder(cfg LengthFieldConfig) (*codec.Decoder, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	return codec.NewDecoder(&lengthStep{cfg: cfg, end: cfg.Offset + cfg.Size}), nil
}

type lengthStep struct {
	cfg     LengthFieldConfig
	end     int // offset just past the length field
	out     pipeline.Bytes
	discard int64 // bytes of an over-long frame still to skip
	tooLong int64 // length of the frame being discarded (FailLate)
}

func readLength(order binary.ByteOrder, b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(order.Uint16(b))
	case 3:
		if order == binary.LittleEndian {
			return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16
		}
		return uint64(b[2]) | uint64(b[1])<<8 | uint64(b[0])<<16
	case 4:
		return uint64(order.Uint32(b))
	default:
		return order.Uint64(b)
	}
}

func (s *lengthStep) Decode(ctx *pipeline.Context, in []byte) (int, error) {
	if s.discard > 0 {
		n := int64(len(in))
		if n > s.discard {
			n = s.discard
		}
		s.discard -= n
		if s.discard == 0 && s.cfg.FailLate {
			return int(n), &TooLongError{Length: s.tooLong, Max: s.cfg.MaxFrameLength}
		}
		return int(n), nil
	}
	if len(in) < s.end {
		return 0, nil
	}
	raw := readLength(s.cfg.Order, in[s.cfg.Offset:s.end])
	var frameLen int64
	if raw > math.MaxInt64/2 {
		frameLen = math.MaxInt64 / 2
	} else {
		frameLen = int64(raw) + int64(s.cfg.Adjustment) + int64(s.end)
	}
	if frameLen < int64(s.end) {
		return s.end, fmt.Errorf("%w: frame length %d is shorter than its header (%d)", ErrCorruptFrame, frameLen, s.end)
	}
	if frameLen > int64(s.cfg.MaxFrameLength) {
		n := int64(len(in))
		if n > frameLen {
			n = frameLen
		}
		s.discard = frameLen - n
		if s.discard > 0 && s.cfg.FailLate {
			s.tooLong = frameLen
			return int(n), nil
		}
		return int(n), &TooLongError{Length: frameLen, Max: s.cfg.MaxFrameLength}
	}
	if int64(len(in)) < frameLen {
		return 0, nil
	}
	if int64(s.cfg.Strip) > frameLen {
		return int(frameLen), fmt.Errorf("%w: strip %d is longer than the frame (%d)", ErrCorruptFrame, s.cfg.Strip, frameLen)
	}
	s.out.Reset(in[s.cfg.Strip:frameLen])
	ctx.FireRead(&s.out)
	return int(frameLen), nil
}
