package frame

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gnetty/gnetty/pipeline"
)

// ErrInvalidUTF8 is raised by a StringCodec with ValidateUTF8 for a frame
// that is not valid UTF-8; the frame is dropped.
var ErrInvalidUTF8 = pipeline.PeerError(errors.New("frame: frame is not valid UTF-8"))

// StringConfig configures a StringCodec; the zero value writes strings as
// they are and does not check inbound UTF-8.
type StringConfig struct {
	// Delimiter is written after every outbound string ("\n" for a line
	// protocol; "" writes strings as they are).
	Delimiter string
	// ValidateUTF8 drops inbound frames that are not valid UTF-8 and raises
	// ErrInvalidUTF8 for each.
	ValidateUTF8 bool
}

// StringCodec turns inbound frames (*pipeline.Bytes or []byte) into
// strings, and writes outbound strings (and fmt.Stringer values) followed
// by the delimiter. It is stateless: one value can serve every channel.
type StringCodec struct {
	cfg   StringConfig
	delim any // Delimiter boxed once, so writing it allocates nothing
}

// NewStringCodec returns a codec configured by cfg.
func NewStringCodec(cfg StringConfig) *StringCodec {
	c := &StringCodec{cfg: cfg}
	if cfg.Delimiter != "" {
		c.delim = cfg.Delimiter
	}
	return c
}

var (
	_ pipeline.ReadHandler  = (*StringCodec)(nil)
	_ pipeline.WriteHandler = (*StringCodec)(nil)
)

// HandleRead fires frames as strings.
func (c *StringCodec) HandleRead(ctx *pipeline.Context, msg any) {
	var b []byte
	switch m := msg.(type) {
	case *pipeline.Bytes:
		b = m.Bytes()
		m.Skip(m.Len())
	case []byte:
		b = m
	default:
		ctx.FireRead(msg)
		return
	}
	if c.cfg.ValidateUTF8 && !utf8.Valid(b) {
		ctx.FireError(ErrInvalidUTF8)
		return
	}
	ctx.FireRead(string(b))
}

// HandleWrite writes strings and Stringers followed by the delimiter.
func (c *StringCodec) HandleWrite(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case string:
		ctx.Write(msg)
	case fmt.Stringer:
		ctx.Write(m.String())
	default:
		ctx.Write(msg)
		return
	}
	if c.delim != nil {
		ctx.Write(c.delim)
	}
}
