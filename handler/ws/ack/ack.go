package ack

import (
	"sort"
	"time"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the Tracker in the presets.
const Name = "ack"

// Config configures a Tracker; zero values mean the defaults.
type Config struct {
	// Timeout before a message is sent again; default 5 s.
	Timeout time.Duration
	// MaxRetries is how many times a message is sent again before giving
	// up; default 3.
	MaxRetries int
	// MaxPending bounds unacknowledged messages per channel; beyond it
	// the oldest is given up. Default 1024.
	MaxPending int
	// Write sends encoded bytes; default a WebSocket text message.
	Write func(ctx *pipeline.Context, data []byte)
}

// GaveUp is the user event fired when a message was never acknowledged.
type GaveUp struct {
	Group    string
	ID       uint64
	Attempts int
}

type key struct {
	group string
	id    uint64
}

type entry struct {
	data     []byte
	attempts int
	timer    pipeline.Timer
}

// Tracker keeps one channel's unacknowledged messages.
type Tracker struct {
	cfg     Config
	ctx     *pipeline.Context
	pending map[key]*entry
}

var trackerKey = pipeline.NewAttrKey[*Tracker]("ack.tracker")

// FromChannel returns the channel's Tracker, or nil.
func FromChannel(ch *pipeline.Channel) *Tracker {
	t, _ := trackerKey.Get(ch)
	return t
}

// New returns a tracker for one channel.
func New(cfg Config) *Tracker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	} else if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1024
	}
	if cfg.Write == nil {
		cfg.Write = func(ctx *pipeline.Context, data []byte) {
			ctx.WriteAndFlush(wsframe.AcquireMessage(ws.OpText, data))
		}
	}
	return &Tracker{cfg: cfg, pending: map[key]*entry{}}
}

// HandlerAdded records the context and publishes the tracker on the
// channel.
func (t *Tracker) HandlerAdded(ctx *pipeline.Context) {
	t.ctx = ctx
	trackerKey.Set(ctx.Channel(), t)
}

// HandlerRemoved frees everything pending.
func (t *Tracker) HandlerRemoved(ctx *pipeline.Context) {
	t.free()
	trackerKey.Delete(ctx.Channel())
}

// HandleInactive frees everything pending.
func (t *Tracker) HandleInactive(ctx *pipeline.Context) {
	t.free()
	ctx.FireInactive()
}

func (t *Tracker) free() {
	for k, e := range t.pending {
		e.timer.Stop()
		delete(t.pending, k)
	}
}

// Send writes data (which carries id) and keeps it until acknowledged.
// Sending an ID that is already pending replaces it.
func (t *Tracker) Send(group string, id uint64, data []byte) {
	if e := t.keep(group, id, append([]byte(nil), data...)); e != nil {
		t.cfg.Write(t.ctx, e.data)
	}
}

// Track keeps data pending under (group, id) without sending it: for a
// message that already went out another way (a broadcast encoded once).
func (t *Tracker) Track(group string, id uint64, data []byte) { t.keep(group, id, data) }

// keep makes data the pending entry of (group, id), its retry timer
// running; nil when the channel is gone.
func (t *Tracker) keep(group string, id uint64, data []byte) *entry {
	if t.ctx == nil || !t.ctx.Channel().IsActive() {
		return nil
	}
	k := key{group, id}
	if old := t.pending[k]; old != nil {
		old.timer.Stop()
	}
	if len(t.pending) >= t.cfg.MaxPending {
		t.giveUpOldest()
	}
	e := &entry{data: data, attempts: 1}
	t.pending[k] = e
	e.timer = t.ctx.EventLoop().Schedule(t.cfg.Timeout, func() { t.retry(k, e) })
	return e
}

func (t *Tracker) retry(k key, e *entry) {
	if t.pending[k] != e || !t.ctx.Channel().IsActive() {
		return
	}
	if e.attempts > t.cfg.MaxRetries {
		delete(t.pending, k)
		t.ctx.FireUserEvent(GaveUp{Group: k.group, ID: k.id, Attempts: e.attempts})
		return
	}
	e.attempts++
	t.cfg.Write(t.ctx, e.data)
	e.timer = t.ctx.EventLoop().Schedule(t.cfg.Timeout, func() { t.retry(k, e) })
}

func (t *Tracker) giveUpOldest() {
	var oldest *key
	for k := range t.pending {
		if oldest == nil || k.id < oldest.id {
			kk := k
			oldest = &kk
		}
	}
	if oldest != nil {
		e := t.pending[*oldest]
		e.timer.Stop()
		delete(t.pending, *oldest)
		t.ctx.FireUserEvent(GaveUp{Group: oldest.group, ID: oldest.id, Attempts: e.attempts})
	}
}

// Ack acknowledges one message; it reports whether it was pending.
func (t *Tracker) Ack(group string, id uint64) bool {
	k := key{group, id}
	e := t.pending[k]
	if e == nil {
		return false
	}
	e.timer.Stop()
	delete(t.pending, k)
	return true
}

// AckUpTo acknowledges every pending message of group with an ID up to
// id, and returns how many it freed.
func (t *Tracker) AckUpTo(group string, id uint64) int {
	n := 0
	for k, e := range t.pending {
		if k.group == group && k.id <= id {
			e.timer.Stop()
			delete(t.pending, k)
			n++
		}
	}
	return n
}

// Pending returns the IDs pending for group, in order.
func (t *Tracker) Pending(group string) []uint64 {
	var ids []uint64
	for k := range t.pending {
		if k.group == group {
			ids = append(ids, k.id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
