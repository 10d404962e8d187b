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

// Config configures a Handler; zero durations mean the defaults.
type Config struct {
	// PingInterval is how long the connection may stay silent before a
	// ping is sent. Default DefaultPingInterval (25 s).
	PingInterval time.Duration
	// PongTimeout is how long after the ping a pong (or any frame) must
	// arrive. Default DefaultPongTimeout (20 s).
	PongTimeout time.Duration
}

// Normalize fills in the defaults.
func (c *Config) Normalize() {
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongTimeout <= 0 {
		c.PongTimeout = DefaultPongTimeout
	}
}

// State is the keepalive bookkeeping of one connection without a pipeline
// slot of its own: the Handler wraps it, and a fused connection (the
// WebSocket preset's, where codec, keepalive and application are one
// handler) embeds it. It runs one pipeline.Deadline, embedded too: at the
// end of the silence allowed, or, while a ping waits, at its deadline.
// Nothing is allocated after Start.
//
// # Concurrency
//
// Every method runs on the connection's loop.
type State struct {
	cfg      *Config // normalized; shared by the connections of a route
	lastSeen int64   // loop clock, unix nanoseconds
	sentAt   int64
	waiting  bool
	started  bool
	dl       pipeline.Deadline
}

// Init sets the normalized configuration (shared, not copied) and the
// task the deadline runs: the embedding handler, whose RunTask calls Tick.
func (s *State) Init(cfg *Config, task pipeline.DeadlineTask) {
	s.cfg = cfg
	s.dl.Init(task)
}

// Start arms the deadline (the connection has become active). A second
// Start does nothing.
func (s *State) Start(loop pipeline.EventLoop) {
	if s.started {
		return
	}
	s.started = true
	s.lastSeen = loop.Now().UnixNano()
	s.dl.Arm(loop, s.cfg.PingInterval)
}

// Started reports whether Start has run.
func (s *State) Started() bool { return s.started }

// Stop cancels the deadline.
func (s *State) Stop(loop pipeline.EventLoop) {
	if s.started {
		s.dl.Stop(loop)
	}
}

// Seen notes a sign of life (a read). A waiting ping counts as answered:
// the deadline moves from the ping's to the end of the next silence.
func (s *State) Seen(loop pipeline.EventLoop) {
	s.lastSeen = loop.Now().UnixNano()
	if s.waiting {
		s.waiting = false
		s.dl.Arm(loop, s.cfg.PingInterval)
	}
}

// Pong notes a pong; answered is true when it answered our ping, with the
// round trip.
func (s *State) Pong(loop pipeline.EventLoop) (rtt time.Duration, answered bool) {
	answered = s.waiting
	s.Seen(loop)
	return time.Duration(s.lastSeen - s.sentAt), answered
}

// Tick runs when the deadline fires: it sends a ping after a silence of
// PingInterval, and fires Timeout, sends close 1001 and closes when the
// ping went unanswered for PongTimeout. Outbound frames go to w (the frame
// codec of a fused connection) from ctx, or, with w nil, from ctx towards
// the head.
func (s *State) Tick(ctx *pipeline.Context, w pipeline.WriteHandler) {
	if !ctx.Channel().IsActive() || ctx.IsRemoved() {
		return
	}
	loop := ctx.EventLoop()
	now := loop.Now().UnixNano()
	if s.waiting {
		if left := time.Duration(s.sentAt + int64(s.cfg.PongTimeout) - now); left > 0 {
			s.dl.Arm(loop, left)
			return
		}
		ctx.FireUserEvent(Timeout{Silent: time.Duration(now - s.lastSeen)})
		s.write(ctx, w, wsframe.Close{Code: ws.StatusGoingAway, Reason: "ping timeout"})
		ctx.Close()
		return
	}
	if idle := time.Duration(now - s.lastSeen); idle < s.cfg.PingInterval {
		s.dl.Arm(loop, s.cfg.PingInterval-idle)
		return
	}
	s.waiting, s.sentAt = true, now
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], uint64(now))
	s.write(ctx, w, wsframe.Ping{Payload: payload[:]})
	s.dl.Arm(loop, s.cfg.PongTimeout)
}

func (s *State) write(ctx *pipeline.Context, w pipeline.WriteHandler, msg any) {
	if w == nil {
		ctx.WriteAndFlush(msg)
		return
	}
	w.HandleWrite(ctx, msg)
	ctx.Flush()
}

// Handler is the keepalive handler: State in a pipeline slot of its own,
// after the frame codec. It counts every read, ping and pong as a sign of
// life, once a read and not once a message (the handler stays out of the
// per-message path).
type Handler struct {
	State
	cfg Config
	ctx *pipeline.Context
}

// New returns a handler for one channel.
func New(cfg Config) *Handler {
	cfg.Normalize()
	h := &Handler{cfg: cfg}
	h.State.Init(&h.cfg, h)
	return h
}

// RunTask is the deadline's task (on the loop).
func (h *Handler) RunTask() { h.State.Tick(h.ctx, nil) }

// HandlerAdded starts the deadline when the channel is active (the
// handler is added after the upgrade); otherwise HandleActive does.
func (h *Handler) HandlerAdded(ctx *pipeline.Context) {
	h.ctx = ctx
	if ctx.Channel().IsActive() {
		h.Start(ctx.EventLoop())
	}
}

// HandleActive starts the deadline of a handler added before the channel
// became active (a client's initializer, say).
func (h *Handler) HandleActive(ctx *pipeline.Context) {
	h.Start(ctx.EventLoop())
	ctx.FireActive()
}

// HandlerRemoved stops the deadline.
func (h *Handler) HandlerRemoved(ctx *pipeline.Context) { h.Stop(ctx.EventLoop()) }

// HandleInactive stops the deadline.
func (h *Handler) HandleInactive(ctx *pipeline.Context) {
	h.Stop(ctx.EventLoop())
	ctx.FireInactive()
}

// HandleReadComplete counts a read as a sign of life (also a read that
// brought only part of a large frame).
func (h *Handler) HandleReadComplete(ctx *pipeline.Context) {
	h.Seen(ctx.EventLoop())
	ctx.FireReadComplete()
}

// HandleUserEvent counts pings and pongs; a pong that answers our ping is
// followed by a Pong event with the round trip.
func (h *Handler) HandleUserEvent(ctx *pipeline.Context, ev any) {
	switch ev.(type) {
	case wsframe.PongReceived:
		rtt, answered := h.Pong(ctx.EventLoop())
		ctx.FireUserEvent(ev)
		if answered {
			ctx.FireUserEvent(Pong{RTT: rtt})
		}
		return
	case wsframe.PingReceived:
		h.Seen(ctx.EventLoop())
	}
	ctx.FireUserEvent(ev)
}
