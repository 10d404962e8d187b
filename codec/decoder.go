package codec

import (
	"errors"

	"github.com/gnetty/gnetty/pipeline"
)

// Step decodes messages from the front of in, firing each with
// ctx.FireRead, and returns how many bytes it consumed.
//
//   - n == 0 and err == nil: in holds no complete message; Decoder waits
//     for more bytes without consuming anything.
//   - err != nil and n > 0: a recoverable error (a frame too long, say):
//     Decoder fires err and carries on after the n bytes.
//   - err != nil and n == 0: the stream cannot be decoded any further;
//     Decoder fires err, drops what it holds and discards all later input.
//
// Step is called only on the channel's loop; in is valid only during the
// call.
type Step interface {
	Decode(ctx *pipeline.Context, in []byte) (n int, err error)
}

// StepFunc adapts a function to a Step.
type StepFunc func(ctx *pipeline.Context, in []byte) (int, error)

// Decode calls f(ctx, in).
func (f StepFunc) Decode(ctx *pipeline.Context, in []byte) (int, error) { return f(ctx, in) }

// ErrStreamFailed is fired, once, for input that arrives after a Step has
// reported an unrecoverable error; that input is discarded.
var ErrStreamFailed = pipeline.PeerError(errors.New("codec: input discarded after an unrecoverable decode error"))

// keepCap is the largest cumulation buffer kept while empty: bigger ones
// are dropped so that idle connections hold no memory for past bursts.
const keepCap = 4 << 10

// Decoder is a pipeline handler that runs a Step over received bytes. It
// takes *pipeline.Bytes messages; anything else passes through untouched.
type Decoder struct {
	step     Step
	cum      []byte
	off      int // start of unread bytes in cum
	decoding bool
	failed   bool
	reported bool
}

// NewDecoder returns a decoder running step. Use one per channel.
func NewDecoder(step Step) *Decoder { return &Decoder{step: step} }

// Init prepares a Decoder embedded by value in a larger handler (one
// allocation for the handler's whole state) to run step. Call it once,
// before the handler is added; do not copy the Decoder afterwards.
func (d *Decoder) Init(step Step) { d.step = step }

// Buffered returns the number of bytes held for an incomplete message.
func (d *Decoder) Buffered() int { return len(d.cum) - d.off }

var (
	_ pipeline.ReadHandler    = (*Decoder)(nil)
	_ pipeline.RemovedHandler = (*Decoder)(nil)
)

// HandleRead decodes b, firing every message it holds.
func (d *Decoder) HandleRead(ctx *pipeline.Context, msg any) {
	b, ok := msg.(*pipeline.Bytes)
	if !ok {
		ctx.FireRead(msg)
		return
	}
	if d.failed {
		b.Skip(b.Len())
		if !d.reported {
			d.reported = true
			ctx.FireError(ErrStreamFailed)
		}
		return
	}
	d.decoding = true
	if d.Buffered() == 0 {
		d.decodeDirect(ctx, b)
	} else {
		d.cum = append(d.cum, b.Bytes()...)
		b.Skip(b.Len())
		d.decodeCumulation(ctx)
	}
	d.decoding = false
}

// decodeDirect decodes straight from the transport's buffer and copies
// only an incomplete tail.
func (d *Decoder) decodeDirect(ctx *pipeline.Context, b *pipeline.Bytes) {
	for b.Len() > 0 {
		n, err := d.step.Decode(ctx, b.Bytes())
		b.Skip(n)
		if !d.after(ctx, n, err) {
			break
		}
	}
	if ctx.IsRemoved() {
		if b.Len() > 0 {
			ctx.FireRead(b) // the rest belongs to whoever follows us
		}
		return
	}
	if d.failed {
		b.Skip(b.Len())
		return
	}
	if b.Len() > 0 {
		d.cum = append(d.cum[:0], b.Bytes()...)
		d.off = 0
		b.Skip(b.Len())
	}
}

func (d *Decoder) decodeCumulation(ctx *pipeline.Context) {
	for d.off < len(d.cum) {
		n, err := d.step.Decode(ctx, d.cum[d.off:])
		d.off += n
		if !d.after(ctx, n, err) {
			break
		}
	}
	if ctx.IsRemoved() {
		d.handOver(ctx)
		return
	}
	if d.failed {
		d.reset()
		return
	}
	d.compact()
}

// after handles one Step result and reports whether to go on.
func (d *Decoder) after(ctx *pipeline.Context, n int, err error) bool {
	if err != nil {
		if n == 0 {
			d.failed = true
		}
		ctx.FireError(err)
		return n > 0 && !d.failed && !ctx.IsRemoved()
	}
	return n > 0 && !ctx.IsRemoved()
}

func (d *Decoder) compact() {
	switch {
	case d.off == len(d.cum):
		d.reset()
	case d.off > 0 && d.off >= len(d.cum)/2:
		d.cum = d.cum[:copy(d.cum, d.cum[d.off:])]
		d.off = 0
	}
}

func (d *Decoder) reset() {
	if cap(d.cum) > keepCap {
		d.cum = nil
	} else {
		d.cum = d.cum[:0]
	}
	d.off = 0
}

// handOver fires the bytes still held to the handler after this one.
func (d *Decoder) handOver(ctx *pipeline.Context) {
	if d.Buffered() == 0 {
		return
	}
	rest := pipeline.NewBytes(d.cum[d.off:])
	d.cum, d.off = nil, 0
	ctx.FireRead(rest)
}

// HandlerRemoved passes bytes held for an incomplete message on to the next
// handler (unless the removal happened while decoding, in which case
// HandleRead does it once the current message has been fired).
func (d *Decoder) HandlerRemoved(ctx *pipeline.Context) {
	if !d.decoding && ctx.Channel().IsActive() {
		d.handOver(ctx)
		return
	}
	if !d.decoding {
		d.cum, d.off = nil, 0
	}
}
