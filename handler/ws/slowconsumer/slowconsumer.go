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
	limit  int
	code   ws.StatusCode
	stats  *Stats
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

// New returns a handler for one channel.
func New(cfg Config) *Handler {
	if cfg.Limit <= 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.Code == 0 {
		cfg.Code = ws.StatusPolicyViolation
	}
	return &Handler{limit: cfg.Limit, code: cfg.Code, stats: cfg.Stats}
}

// HandleWrite passes msg on, or drops it and closes the channel when it
// would take pending output over the limit.
func (h *Handler) HandleWrite(ctx *pipeline.Context, msg any) {
	if h.closed {
		pipeline.Release(msg)
		return
	}
	pending := ctx.Channel().PendingBytes()
	if pending+pipeline.Size(msg) <= h.limit {
		ctx.Write(msg)
		return
	}
	pipeline.Release(msg)
	h.closed = true
	if h.stats != nil {
		h.stats.Disconnected.Add(1)
	}
	ctx.Channel().Logger().Info("slowconsumer: closing a channel that does not read",
		"channel", ctx.Channel().ID(), "remote", ctx.Channel().RemoteAddr(), "pending", pending, "limit", h.limit)
	ctx.FireUserEvent(Disconnected{Pending: pending, Limit: h.limit})
	ctx.Write(wsframe.Close{Code: h.code, Reason: fmt.Sprintf("slow consumer: over %d bytes queued", h.limit)})
	ctx.Flush()
	ctx.Close()
}
