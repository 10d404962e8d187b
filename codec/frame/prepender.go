package frame

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/gnetty/gnetty/pipeline"
)

// PrependerConfig configures a length-field prepender. The zero value
// writes a 4-byte big-endian length counting the bytes after it.
type PrependerConfig struct {
	// Order of the length field; nil means big endian.
	Order binary.ByteOrder
	// Size of the length field: 1, 2, 3, 4 or 8; 0 means 4.
	Size int
	// Adjustment is added to the body length before it is written.
	Adjustment int
	// IncludeHeader makes the length count the length field too.
	IncludeHeader bool
}

// Prepender is an outbound handler that writes each message behind a
// length field, the counterpart of the length-field decoder. It takes
// []byte, string, *pipeline.Bytes and pipeline.Appender messages and hands
// the transport one pooled pipeline.Appender per message: no allocation,
// one copy into the outbound batch.
type Prepender struct{ cfg PrependerConfig }

var _ pipeline.WriteHandler = (*Prepender)(nil)

// NewPrepender returns a prepender, or an error for an invalid
// configuration.
func NewPrepender(cfg PrependerConfig) (*Prepender, error) {
	if cfg.Order == nil {
		cfg.Order = binary.BigEndian
	}
	if cfg.Size == 0 {
		cfg.Size = 4
	}
	switch cfg.Size {
	case 1, 2, 3, 4, 8:
	default:
		return nil, fmt.Errorf("frame: length field size %d, want 1, 2, 3, 4 or 8", cfg.Size)
	}
	return &Prepender{cfg: cfg}, nil
}

// ErrFrameTooLarge is raised when a body does not fit the length field.
var ErrFrameTooLarge = fmt.Errorf("frame: body does not fit the length field")

// HandleWrite wraps msg in a length-prefixed frame.
func (p *Prepender) HandleWrite(ctx *pipeline.Context, msg any) {
	switch msg.(type) {
	case []byte, string, *pipeline.Bytes, pipeline.Appender:
	default:
		ctx.Write(msg)
		return
	}
	if n := pipeline.Size(msg); n > 0 && !p.fits(n) {
		pipeline.Release(msg)
		ctx.FireError(fmt.Errorf("%w: %d bytes in a %d-byte field", ErrFrameTooLarge, n, p.cfg.Size))
		return
	}
	f := framedPool.Get().(*framed)
	f.p, f.body = p, msg
	ctx.Write(f)
}

func (p *Prepender) fits(body int) bool {
	n := int64(body) + int64(p.cfg.Adjustment)
	if p.cfg.IncludeHeader {
		n += int64(p.cfg.Size)
	}
	return n >= 0 && (p.cfg.Size == 8 || n < 1<<(8*p.cfg.Size))
}

type framed struct {
	p    *Prepender
	body any
}

var framedPool = sync.Pool{New: func() any { return new(framed) }}

// Size reports the frame's size for water marks (0 when the body is an
// Appender of unknown size).
func (f *framed) Size() int {
	if n := pipeline.Size(f.body); n > 0 {
		return n + f.p.cfg.Size
	}
	return 0
}

// AppendTo writes the header and the body.
func (f *framed) AppendTo(dst []byte) []byte {
	cfg := &f.p.cfg
	start := len(dst)
	dst = append(dst, make([]byte, cfg.Size)...)
	switch b := f.body.(type) {
	case []byte:
		dst = append(dst, b...)
	case string:
		dst = append(dst, b...)
	case *pipeline.Bytes:
		dst = b.AppendTo(dst)
	case pipeline.Appender:
		dst = b.AppendTo(dst)
	}
	body := len(dst) - start - cfg.Size
	if !f.p.fits(body) {
		// Only an Appender of unknown size gets here; the channel recovers
		// the panic and closes rather than send a corrupt frame.
		panic(fmt.Errorf("%w: %d bytes in a %d-byte field", ErrFrameTooLarge, body, cfg.Size))
	}
	n := int64(body) + int64(cfg.Adjustment)
	if cfg.IncludeHeader {
		n += int64(cfg.Size)
	}
	h := dst[start : start+cfg.Size]
	switch cfg.Size {
	case 1:
		h[0] = byte(n)
	case 2:
		cfg.Order.PutUint16(h, uint16(n))
	case 3:
		if cfg.Order == binary.LittleEndian {
			h[0], h[1], h[2] = byte(n), byte(n>>8), byte(n>>16)
		} else {
			h[0], h[1], h[2] = byte(n>>16), byte(n>>8), byte(n)
		}
	case 4:
		cfg.Order.PutUint32(h, uint32(n))
	default:
		cfg.Order.PutUint64(h, uint64(n))
	}
	return dst
}

// Release returns the frame to its pool, releasing the body.
func (f *framed) Release() {
	pipeline.Release(f.body)
	f.p, f.body = nil, nil
	framedPool.Put(f)
}
