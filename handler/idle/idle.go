package idle

import (
	"time"

	"github.com/gnetty/gnetty/pipeline"
)

// Name is the conventional pipeline slot name of the idle-state handler.
const Name = "idle"

// State is the kind of idleness.
type State int

const (
	ReaderIdle State = iota + 1
	WriterIdle
	AllIdle
)

func (s State) String() string {
	switch s {
	case ReaderIdle:
		return "reader-idle"
	case WriterIdle:
		return "writer-idle"
	case AllIdle:
		return "all-idle"
	}
	return "unknown"
}

// Event is the user event the handler fires.
type Event struct {
	State State
	First bool
}

// Handler is the idle-state handler.
type Handler struct {
	reader, writer, all time.Duration

	ctx       *pipeline.Context
	started   bool
	reading   bool
	lastRead  time.Time
	lastWrite time.Time
	firstR    bool
	firstW    bool
	firstA    bool
	timers    [3]pipeline.Timer
}

var (
	_ pipeline.ReadHandler         = (*Handler)(nil)
	_ pipeline.ReadCompleteHandler = (*Handler)(nil)
	_ pipeline.FlushHandler        = (*Handler)(nil)
	_ pipeline.ActiveHandler       = (*Handler)(nil)
	_ pipeline.InactiveHandler     = (*Handler)(nil)
	_ pipeline.AddedHandler        = (*Handler)(nil)
	_ pipeline.RemovedHandler      = (*Handler)(nil)
)

// Config holds the idle times; 0 disables a kind (the zero Config fires
// nothing).
type Config struct {
	ReaderIdle time.Duration // nothing read for that long
	WriterIdle time.Duration // nothing flushed for that long
	AllIdle    time.Duration // neither for that long
}

// New returns a handler for one channel.
func New(cfg Config) *Handler {
	return &Handler{reader: max(cfg.ReaderIdle, 0), writer: max(cfg.WriterIdle, 0), all: max(cfg.AllIdle, 0)}
}

// HandlerAdded starts the timers when the channel is already active (the
// handler was added after the connection opened).
func (h *Handler) HandlerAdded(ctx *pipeline.Context) {
	if ctx.Channel().IsActive() {
		h.start(ctx)
	}
}

// HandlerRemoved stops the timers.
func (h *Handler) HandlerRemoved(*pipeline.Context) { h.stop() }

// HandleActive starts the timers.
func (h *Handler) HandleActive(ctx *pipeline.Context) {
	h.start(ctx)
	ctx.FireActive()
}

// HandleInactive stops the timers.
func (h *Handler) HandleInactive(ctx *pipeline.Context) {
	h.stop()
	ctx.FireInactive()
}

// HandleRead records that a read is under way.
func (h *Handler) HandleRead(ctx *pipeline.Context, msg any) {
	if h.reader > 0 || h.all > 0 {
		h.reading = true
		h.firstR, h.firstA = true, true
	}
	ctx.FireRead(msg)
}

// HandleReadComplete records the end of a read.
func (h *Handler) HandleReadComplete(ctx *pipeline.Context) {
	if h.reading {
		h.lastRead = ctx.EventLoop().Now()
		h.reading = false
	}
	ctx.FireReadComplete()
}

// HandleFlush records output leaving for the transport.
func (h *Handler) HandleFlush(ctx *pipeline.Context) {
	if h.writer > 0 || h.all > 0 {
		h.lastWrite = ctx.EventLoop().Now()
		h.firstW, h.firstA = true, true
	}
	ctx.Flush()
}

func (h *Handler) start(ctx *pipeline.Context) {
	if h.started {
		return
	}
	h.started, h.ctx = true, ctx
	now := ctx.EventLoop().Now()
	h.lastRead, h.lastWrite = now, now
	h.firstR, h.firstW, h.firstA = true, true, true
	if h.reader > 0 {
		h.schedule(0, h.reader)
	}
	if h.writer > 0 {
		h.schedule(1, h.writer)
	}
	if h.all > 0 {
		h.schedule(2, h.all)
	}
}

func (h *Handler) stop() {
	for i, t := range h.timers {
		if t != nil {
			t.Stop()
			h.timers[i] = nil
		}
	}
	h.started = false
}

func (h *Handler) schedule(kind int, d time.Duration) {
	h.timers[kind] = h.ctx.EventLoop().Schedule(d, func() { h.check(kind) })
}

func (h *Handler) check(kind int) {
	if !h.started || !h.ctx.Channel().IsActive() {
		return
	}
	now := h.ctx.EventLoop().Now()
	var period time.Duration
	var last time.Time
	switch kind {
	case 0:
		period, last = h.reader, h.lastRead
		if h.reading {
			h.schedule(kind, period)
			return
		}
	case 1:
		period, last = h.writer, h.lastWrite
	default:
		period = h.all
		last = h.lastRead
		if h.lastWrite.After(last) {
			last = h.lastWrite
		}
		if h.reading {
			h.schedule(kind, period)
			return
		}
	}
	if left := period - now.Sub(last); left > 0 {
		h.schedule(kind, left)
		return
	}
	h.schedule(kind, period)
	ev := Event{State: State(kind + 1)}
	switch kind {
	case 0:
		ev.First, h.firstR = h.firstR, false
	case 1:
		ev.First, h.firstW = h.firstW, false
	default:
		ev.First, h.firstA = h.firstA, false
	}
	h.ctx.FireUserEvent(ev)
}
