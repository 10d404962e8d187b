// Package wskeepalive keeps WebSocket connections honest: when nothing has
// arrived for PingInterval it sends a ping, and when neither a pong nor
// any other frame arrives within PongTimeout it fires a Timeout event,
// sends a close frame (1001, "ping timeout") and closes the connection.
// The defaults (25 s and 20 s) are in the range Socket.IO and Centrifugo
// use. Pings from the peer are answered by the frame codec itself; this
// handler counts them, and every pong, as signs of life.
//
// Place it after the wsframe.Codec (wsupgrade.Config.Install does); one
// Handler per channel, run on its loop. Timers use the loop clock, so tests
// drive them with pipelinetest's fake clock.
package wskeepalive

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

// Handler is the keepalive handler.
type Handler struct {
	interval, timeout time.Duration

	ctx      *pipeline.Context
	lastSeen time.Time
	sentAt   time.Time
	waiting  bool
	check    pipeline.Timer
	deadline pipeline.Timer
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

// HandlerAdded starts the timers (the handler is added after the upgrade,
// on an active channel).
func (h *Handler) HandlerAdded(ctx *pipeline.Context) {
	h.ctx = ctx
	if ctx.Channel().IsActive() {
		h.lastSeen = ctx.EventLoop().Now()
		h.check = ctx.EventLoop().Schedule(h.interval, h.tick)
	}
}

// HandlerRemoved stops the timers.
func (h *Handler) HandlerRemoved(*pipeline.Context) { h.stop() }

// HandleInactive stops the timers.
func (h *Handler) HandleInactive(ctx *pipeline.Context) {
	h.stop()
	ctx.FireInactive()
}

func (h *Handler) stop() {
	if h.check != nil {
		h.check.Stop()
	}
	if h.deadline != nil {
		h.deadline.Stop()
	}
}

func (h *Handler) alive() {
	h.lastSeen = h.ctx.EventLoop().Now()
	if h.waiting {
		h.waiting = false
		h.deadline.Stop()
	}
}

// HandleRead counts a message as a sign of life.
func (h *Handler) HandleRead(ctx *pipeline.Context, msg any) {
	h.alive()
	ctx.FireRead(msg)
}

// HandleUserEvent counts pings and pongs.
func (h *Handler) HandleUserEvent(ctx *pipeline.Context, ev any) {
	switch ev.(type) {
	case wsframe.PongReceived:
		waited := h.waiting
		h.alive()
		if waited {
			ctx.FireUserEvent(ev)
			ctx.FireUserEvent(Pong{RTT: ctx.EventLoop().Now().Sub(h.sentAt)})
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
	now := ctx.EventLoop().Now()
	if idle := now.Sub(h.lastSeen); idle < h.interval {
		h.check = ctx.EventLoop().Schedule(h.interval-idle, h.tick)
		return
	}
	h.check = ctx.EventLoop().Schedule(h.interval, h.tick)
	if h.waiting {
		return
	}
	h.waiting, h.sentAt = true, now
	payload := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
	ctx.WriteAndFlush(wsframe.Ping{Payload: payload})
	h.deadline = ctx.EventLoop().Schedule(h.timeout, h.expire)
}

func (h *Handler) expire() {
	ctx := h.ctx
	if !h.waiting || !ctx.Channel().IsActive() {
		return
	}
	silent := ctx.EventLoop().Now().Sub(h.lastSeen)
	ctx.FireUserEvent(Timeout{Silent: silent})
	ctx.WriteAndFlush(wsframe.Close{Code: ws.StatusGoingAway, Reason: "ping timeout"})
	ctx.Close()
}
