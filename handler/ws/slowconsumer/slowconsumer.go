package slowconsumer

import (
	"fmt"
	"sync/atomic"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the handler (add it right after
// wsframe.Name).
const Name = "slow"

// DefaultLimit is the default hard limit of pending output.
const DefaultLimit = 1 << 20

// Stats counts disconnections across channels. Safe for concurrent use.
type Stats struct{ Disconnected atomic.Uint64 }

// Disconnected is the user event fired before a slow channel is closed.
type Disconnected struct {
	Pending int
	Limit   int
}

// Handler enforces the limit on one channel.
type Handler struct {
	cfg    Config
	closed bool
}

var _ pipeline.WriteHandler = (*Handler)(nil)

// Config configures a Handler; the zero value means the defaults.
type Config struct {
	// Limit is the most pending output bytes a channel may have; a write
	// that would pass it closes the channel. Default DefaultLimit (1 MiB).
	Limit int
	// Code is the close code sent to the slow reader. Default 1008 (policy
	// violation); the chat sends 1013 (try again later).
	Code ws.StatusCode
	// Stats, when set, counts disconnections (shared by many channels).
	Stats *Stats
}

// Normalize fills in the defaults.
func (c *Config) Normalize() {
	if c.Limit <= 0 {
		c.Limit = DefaultLimit
	}
	if c.Code == 0 {
		c.Code = ws.StatusPolicyViolation
	}
}

// Admit reports whether msg fits under the limit on ctx's channel. When
// it does not, msg is released, the disconnection is counted and logged,
// and Disconnected is fired from ctx: the caller then sends CloseFrame
// and closes the channel, and drops whatever is written after. The
// Handler does this in a pipeline slot of its own; the WebSocket preset's
// fused connection calls it from its own write path (Config normalized).
// Call it on the channel's loop.
func (c *Config) Admit(ctx *pipeline.Context, msg any) bool {
	pending := ctx.Channel().PendingBytes()
	if pending+pipeline.Size(msg) <= c.Limit {
		return true
	}
	pipeline.Release(msg)
	if c.Stats != nil {
		c.Stats.Disconnected.Add(1)
	}
	ctx.Channel().Logger().Info("slowconsumer: closing a channel that does not read",
		"channel", ctx.Channel().ID(), "remote", ctx.Channel().RemoteAddr(), "pending", pending, "limit", c.Limit)
	ctx.FireUserEvent(Disconnected{Pending: pending, Limit: c.Limit})
	return false
}

// CloseFrame is the close frame a slow reader gets.
func (c *Config) CloseFrame() wsframe.Close {
	return wsframe.Close{Code: c.Code, Reason: fmt.Sprintf("slow consumer: over %d bytes queued", c.Limit)}
}

// New returns a handler for one channel.
func New(cfg Config) *Handler {
	cfg.Normalize()
	return &Handler{cfg: cfg}
}

// HandleWrite passes msg on, or drops it and closes the channel when it
// would take pending output over the limit.
func (h *Handler) HandleWrite(ctx *pipeline.Context, msg any) {
	if h.closed {
		pipeline.Release(msg)
		return
	}
	if h.cfg.Admit(ctx, msg) {
		ctx.Write(msg)
		return
	}
	h.closed = true
	ctx.Write(h.cfg.CloseFrame())
	ctx.Flush()
	ctx.Close()
}
