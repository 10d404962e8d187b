package keepalive

import (
	"encoding/binary"
	"time"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the keepalive handler in the
// WebSocket preset (right after wsframe.Name).
const Name = "keepalive"

// Defaults.
const (
	DefaultPingInterval = 25 * time.Second
	DefaultPongTimeout  = 20 * time.Second
)

// Timeout is the user event fired before a silent connection is closed.
type Timeout struct{ Silent time.Duration }

// Pong is the user event fired when a pong answers our ping.
type Pong struct{ RTT time.Duration }

// Handler is the keepalive handler. It runs one timer at a time: at the
// end of the silence allowed, or, while a ping waits, at its deadline (64
// bytes and one timer per idle connection).
type Handler struct {
	interval, timeout time.Duration

	ctx      *pipeline.Context
	lastSeen int64 // loop clock, unix nanoseconds
	sentAt   int64
	waiting  bool
	timer    pipeline.Timer
}

// Config configures a Handler; zero durations mean the defaults.
type Config struct {
	// PingInterval is how long the connection may stay silent before a
	// ping is sent. Default DefaultPingInterval (25 s).
	PingInterval time.Duration
	// PongTimeout is how long after the ping a pong (or any frame) must
	// arrive. Default DefaultPongTimeout (20 s).
	PongTimeout time.Duration
}

// New returns a handler for one channel.
func New(cfg Config) *Handler {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = DefaultPongTimeout
	}
	return &Handler{interval: cfg.PingInterval, timeout: cfg.PongTimeout}
}

// HandlerAdded starts the timer when the channel is active (the handler
// is added after the upgrade); otherwise HandleActive does.
func (h *Handler) HandlerAdded(ctx *pipeline.Context) {
	h.ctx = ctx
	if ctx.Channel().IsActive() {
		h.arm(ctx)
	}
}

// HandleActive starts the timer of a handler added before the channel
// became active (a client's initializer, say).
func (h *Handler) HandleActive(ctx *pipeline.Context) {
	if h.timer == nil {
		h.arm(ctx)
	}
	ctx.FireActive()
}

func (h *Handler) arm(ctx *pipeline.Context) {
	h.lastSeen = ctx.EventLoop().Now().UnixNano()
	h.timer = ctx.EventLoop().Schedule(h.interval, h.tick)
}

// HandlerRemoved stops the timer.
func (h *Handler) HandlerRemoved(*pipeline.Context) { h.stop() }

// HandleInactive stops the timer.
func (h *Handler) HandleInactive(ctx *pipeline.Context) {
	h.stop()
	ctx.FireInactive()
}

func (h *Handler) stop() {
	if h.timer != nil {
		h.timer.Stop()
	}
}

// alive notes a sign of life. A waiting ping is answered: the timer moves
// from the ping's deadline to the end of the next silence.
func (h *Handler) alive() {
	loop := h.ctx.EventLoop()
	h.lastSeen = loop.Now().UnixNano()
	if h.waiting {
		h.waiting = false
		h.timer.Stop()
		h.timer = loop.Schedule(h.interval, h.tick)
	}
}

// HandleReadComplete counts every read as a sign of life: once a read,
// not once a message (the handler stays out of the per-message path), and
// also a read that brought only part of a large frame.
func (h *Handler) HandleReadComplete(ctx *pipeline.Context) {
	h.alive()
	ctx.FireReadComplete()
}

// HandleUserEvent counts pings and pongs.
func (h *Handler) HandleUserEvent(ctx *pipeline.Context, ev any) {
	switch ev.(type) {
	case wsframe.PongReceived:
		waited := h.waiting
		h.alive()
		if waited {
			ctx.FireUserEvent(ev)
			ctx.FireUserEvent(Pong{RTT: time.Duration(h.lastSeen - h.sentAt)})
			return
		}
	case wsframe.PingReceived:
		h.alive()
	}
	ctx.FireUserEvent(ev)
}

func (h *Handler) tick() {
	ctx := h.ctx
	if !ctx.Channel().IsActive() || ctx.IsRemoved() {
		return
	}
	loop := ctx.EventLoop()
	now := loop.Now().UnixNano()
	if h.waiting {
		if left := time.Duration(h.sentAt + int64(h.timeout) - now); left > 0 {
			h.timer = loop.Schedule(left, h.tick)
			return
		}
		h.expire(now)
		return
	}
	if idle := time.Duration(now - h.lastSeen); idle < h.interval {
		h.timer = loop.Schedule(h.interval-idle, h.tick)
		return
	}
	h.waiting, h.sentAt = true, now
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], uint64(now))
	ctx.WriteAndFlush(wsframe.Ping{Payload: payload[:]})
	h.timer = loop.Schedule(h.timeout, h.tick)
}

func (h *Handler) expire(now int64) {
	ctx := h.ctx
	ctx.FireUserEvent(Timeout{Silent: time.Duration(now - h.lastSeen)})
	ctx.WriteAndFlush(wsframe.Close{Code: ws.StatusGoingAway, Reason: "ping timeout"})
	ctx.Close()
}
