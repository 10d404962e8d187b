package frame

import (
	"bytes"

	"github.com/gnetty/gnetty/codec"
	"github.com/gnetty/gnetty/pipeline"
)

// LineConfig configures a line decoder. The zero value strips delimiters,
// allows lines of up to DefaultMaxLineLength bytes and fails fast.
type LineConfig struct {
	// MaxLength is the longest line accepted, delimiter excluded. 0 means
	// DefaultMaxLineLength.
	MaxLength int
	// KeepDelimiter keeps "\n" or "\r\n" at the end of each frame.
	KeepDelimiter bool
	// FailLate raises the TooLongError only once the end of the over-long
	// line has arrived, instead of as soon as MaxLength is passed.
	FailLate bool
}

// DefaultMaxLineLength is the line decoder's default maximum.
const DefaultMaxLineLength = 8 << 10

// NewLineDecoder returns a decoder that cuts the stream at "\n" (a
// preceding "\r" belongs to the delimiter). A line over MaxLength raises a
// *TooLongError and is discarded up to its end; decoding carries on with
// the next line.
func NewLineDecoder(cfg LineConfig) *codec.Decoder {
	if cfg.MaxLength <= 0 {
		cfg.MaxLength = DefaultMaxLineLength
	}
	return codec.NewDecoder(&lineStep{cfg: cfg})
}

type lineStep struct {
	cfg        LineConfig
	out        pipeline.Bytes
	discarding bool
	discarded  int64
}

func (s *lineStep) Decode(ctx *pipeline.Context, in []byte) (int, error) {
	i := bytes.IndexByte(in, '\n')
	if s.discarding {
		if i < 0 {
			s.discarded += int64(len(in))
			return len(in), nil
		}
		n := i + 1
		length := s.discarded + int64(i)
		s.discarding, s.discarded = false, 0
		if s.cfg.FailLate {
			if i > 0 && in[i-1] == '\r' {
				length--
			}
			return n, &TooLongError{Length: length, Max: s.cfg.MaxLength}
		}
		return n, nil
	}
	if i >= 0 {
		eol := i
		if i > 0 && in[i-1] == '\r' {
			eol = i - 1
		}
		if eol > s.cfg.MaxLength {
			return i + 1, &TooLongError{Length: int64(eol), Max: s.cfg.MaxLength}
		}
		end := eol
		if s.cfg.KeepDelimiter {
			end = i + 1
		}
		s.out.Reset(in[:end])
		ctx.FireRead(&s.out)
		return i + 1, nil
	}
	content := len(in)
	if content > 0 && in[content-1] == '\r' {
		content--
	}
	if content > s.cfg.MaxLength {
		s.discarding = true
		s.discarded = int64(len(in))
		if s.cfg.FailLate {
			return len(in), nil
		}
		return len(in), &TooLongError{Length: int64(content), Max: s.cfg.MaxLength}
	}
	return 0, nil
}
