package http1

import (
	"time"

	"github.com/gnetty/gnetty/pipeline"
)

// RequestTimeout is a server's HTTP read timeout: it closes a connection
// that takes longer than d to deliver a complete request (head and body),
// counted from when the connection opened or from when the previous
// response was written. While a request is being answered the clock does
// not run, so a busy keep-alive connection is never cut, however long it
// lives; a silent one, or one trickling a request byte by byte
// (slowloris), is closed d after it fell idle. A protocol upgrade removes
// it (the WebSocket upgrade does, by TimeoutName); removed, it stops.
//
// Place it right after the ServerCodec (it reads *Request and *Content
// and sees the responses written back). One per channel, run on its loop.
type RequestTimeout struct {
	d       time.Duration
	ctx     *pipeline.Context
	dl      pipeline.Deadline // re-armed per request without allocating
	reading bool              // a request head has arrived, its body has not ended
	pending int               // complete requests whose final response is not written yet
	stream  int               // streamed responses whose last piece is not written yet
}

// TimeoutName is the pipeline slot name of the RequestTimeout in the
// presets (the WebSocket upgrade removes it by this name).
const TimeoutName = "request-timeout"

// DefaultRequestTimeout is NewRequestTimeout's d for 0.
const DefaultRequestTimeout = 10 * time.Second

// NewRequestTimeout returns a request read timeout of d (0: the default;
// one per channel).
func NewRequestTimeout(d time.Duration) *RequestTimeout {
	if d <= 0 {
		d = DefaultRequestTimeout
	}
	t := &RequestTimeout{d: d}
	t.dl.Init(t)
	return t
}

var (
	_ pipeline.ReadHandler  = (*RequestTimeout)(nil)
	_ pipeline.WriteHandler = (*RequestTimeout)(nil)
)

// HandleActive starts the clock.
func (t *RequestTimeout) HandleActive(ctx *pipeline.Context) {
	t.ctx = ctx
	t.arm()
	ctx.FireActive()
}

// HandlerAdded starts the clock when the channel is already active.
func (t *RequestTimeout) HandlerAdded(ctx *pipeline.Context) {
	t.ctx = ctx
	if ctx.Channel().IsActive() {
		t.arm()
	}
}

// HandleRead stops the clock once a request is complete.
func (t *RequestTimeout) HandleRead(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *Request:
		if m.Chunked || m.ContentLength > 0 {
			t.reading = true // complete at the body's last piece
		} else {
			t.complete()
		}
	case *Content:
		if m.Last && t.reading {
			t.reading = false
			t.complete()
		}
	}
	ctx.FireRead(msg)
}

// HandleWrite starts the clock again once every complete request has had
// its final response (an interim 1xx, or the head of a streamed response,
// does not count until its last piece).
func (t *RequestTimeout) HandleWrite(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *Response:
		switch {
		case m.Stream:
			t.stream++
		case m.Status >= 200:
			t.answered()
		}
	case *Content:
		if m.Last && t.stream > 0 {
			t.stream--
			t.answered()
		}
	}
	ctx.Write(msg)
}

func (t *RequestTimeout) complete() {
	t.pending++
	t.stop()
}

func (t *RequestTimeout) answered() {
	if t.pending > 0 {
		t.pending--
	}
	if t.pending == 0 && !t.reading {
		t.arm()
	}
}

func (t *RequestTimeout) arm() { t.dl.Arm(t.ctx.EventLoop(), t.d) }

// RunTask is the deadline: no complete request in time (on the loop).
func (t *RequestTimeout) RunTask() {
	ctx := t.ctx
	if ctx.IsRemoved() {
		return
	}
	ctx.Channel().Logger().Debug("http1: no complete request in time", "timeout", t.d, "remote", ctx.Channel().RemoteAddr())
	ctx.Close()
}

// HandlerRemoved stops the clock.
func (t *RequestTimeout) HandlerRemoved(*pipeline.Context) { t.stop() }

func (t *RequestTimeout) stop() {
	if t.ctx != nil {
		t.dl.Stop(t.ctx.EventLoop())
	}
}
