package pipeline

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Transport is what a Channel needs from the network: Netty's
// Channel.Unsafe. The gnet server in package bootstrap and the test channel
// in pipelinetest implement it; applications do not.
//
// Every method is called only on the channel's event loop, except
// EventLoop, LocalAddr and RemoteAddr, which any goroutine may call and
// which always return the same values.
type Transport interface {
	EventLoop() EventLoop
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	// Write adds msg, as it reached the head, to the outbound batch. It
	// returns ErrUnsupportedMessage (or another error) when msg cannot be
	// written; the transport owns msg either way.
	Write(msg any) error
	// Flush marks everything written so far for sending. The transport
	// sends it at the end of the current loop callback and then calls
	// Channel.UpdateWritability.
	Flush()
	// Pending returns the bytes written but not yet accepted by the kernel.
	Pending() int
	// Close closes the connection at once, dropping pending output. The
	// transport calls Channel.Deactivate later, never from inside Close.
	Close()
	// Wake asks the transport to deliver unconsumed inbound bytes again
	// without waiting for new data.
	Wake()
}

// Sink may be implemented by a Transport to receive what reaches the tail
// of the pipeline instead of having it dropped and logged. The test channel
// uses it to collect inbound messages.
type Sink interface {
	TailRead(msg any)
	TailUserEvent(ev any)
	TailError(err error)
}

// Config holds a channel's settings. The zero value means the defaults.
type Config struct {
	// HighWaterMark is the number of pending outbound bytes above which
	// IsWritable turns false and a writability event fires. Default 64 KiB.
	HighWaterMark int
	// LowWaterMark is the number of pending outbound bytes below which an
	// unwritable channel turns writable again. Default 32 KiB.
	LowWaterMark int
	// CloseTimeout bounds how long a graceful close waits for pending
	// output to drain before closing anyway. Default 30 s.
	CloseTimeout time.Duration
	// Logger receives the tail's reports. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultHighWaterMark = 64 << 10
	DefaultLowWaterMark  = 32 << 10
	DefaultCloseTimeout  = 30 * time.Second
)

// drainPoll is how often a channel that waits for its output to drain
// (unwritable, or closing) looks at the transport again: gnet writes its
// buffered output on its own and says nothing when it is done.
const drainPoll = time.Millisecond

// Normalize fills in defaults and checks the settings.
func (c *Config) Normalize() error {
	if c.HighWaterMark == 0 {
		c.HighWaterMark = DefaultHighWaterMark
	}
	if c.LowWaterMark == 0 {
		c.LowWaterMark = min(DefaultLowWaterMark, c.HighWaterMark/2)
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HighWaterMark < 0 || c.LowWaterMark < 0 || c.LowWaterMark > c.HighWaterMark {
		return fmt.Errorf("pipeline: water marks must satisfy 0 <= low (%d) <= high (%d)", c.LowWaterMark, c.HighWaterMark)
	}
	if c.CloseTimeout < 0 {
		return errors.New("pipeline: negative CloseTimeout")
	}
	return nil
}

var channelIDs atomic.Uint64

// Channel is one connection and its pipeline.
//
// # Concurrency
//
// Methods documented "safe for concurrent use" may be called from any
// goroutine: called on the channel's loop they act at once; called
// elsewhere they are queued and applied on the loop in call order, so a
// Write issued before a Close is sent before the connection closes. All
// other methods, and everything reached through Pipeline(), may be called
// only on the loop.
type Channel struct {
	id  uint64
	tr  Transport // its EventLoop is the channel's (not kept twice: 16 bytes)
	cfg *Config   // shared by the channels of one server
	p   Pipeline

	inbound Bytes

	active   atomic.Bool
	writable atomic.Bool

	// loop-only state
	closing  bool
	closed   bool
	polling  bool
	notified bool // writability last reported to handlers

	mu  sync.Mutex // guards ext's creation and its ops, done and attrs
	ext atomic.Pointer[channelExt]
}

// channelExt holds what few channels use, allocated on first use: an idle
// connection has no attributes, no off-loop queue, no Done channel and no
// close under way, and its Channel stays small (see TestChannelSize).
type channelExt struct {
	sink          Sink          // set at creation (a test channel)
	ops           opQueue       // off-loop submits
	done          chan struct{} // Done
	attrs         []attr        // AttrKey
	closeDeadline int64         // a graceful close's limit, unix nanoseconds (loop-only)
}

// extLocked returns the channel's extension, making it; ch.mu is held.
func (ch *Channel) extLocked() *channelExt {
	e := ch.ext.Load()
	if e == nil {
		e = &channelExt{}
		ch.ext.Store(e)
	}
	return e
}

// sink returns the transport's Sink, or nil.
func (ch *Channel) sink() Sink {
	if e := ch.ext.Load(); e != nil {
		return e.sink
	}
	return nil
}

// opQueue holds what other goroutines asked of a channel, until its loop
// runs them.
type opQueue struct {
	ops, spare []op
	scheduled  bool
	run        func()
}

// NewChannel creates a channel over tr. Transports call it on the loop
// that will own the channel, before running the initializer; cfg must have
// been normalized.
func NewChannel(tr Transport, cfg Config) *Channel {
	if cfg.Logger == nil {
		_ = cfg.Normalize()
	}
	return NewChannelShared(tr, &cfg)
}

// NewChannelShared is NewChannel with a configuration that the channels
// of one server share (8 bytes a channel instead of a copy): cfg must be
// normalized and must not change while a channel uses it. Like
// NewChannel, call it on the loop that will own the channel.
func NewChannelShared(tr Transport, cfg *Config) *Channel {
	ch := &Channel{}
	InitChannel(ch, tr, cfg)
	return ch
}

// InitChannel is NewChannelShared for a Channel embedded in the
// transport's own struct: one allocation for both, and one object fewer
// for the loop to touch on each read (the bootstrap connection is built
// this way). ch must be a zero Channel that is never copied afterwards;
// call it on the loop that will own the channel.
func InitChannel(ch *Channel, tr Transport, cfg *Config) {
	ch.id, ch.tr, ch.cfg = channelIDs.Add(1), tr, cfg
	if sink, ok := tr.(Sink); ok {
		ch.extLocked().sink = sink // not shared yet
	}
	ch.writable.Store(true)
	ch.notified = true
	ch.p.init(ch)
}

// ID returns the channel's process-unique identifier. Safe for concurrent use.
func (ch *Channel) ID() uint64 { return ch.id }

// LocalAddr returns the local address. Safe for concurrent use.
func (ch *Channel) LocalAddr() net.Addr { return ch.tr.LocalAddr() }

// RemoteAddr returns the peer's address. Safe for concurrent use.
func (ch *Channel) RemoteAddr() net.Addr { return ch.tr.RemoteAddr() }

// Pipeline returns the channel's pipeline (use it only on the loop).
func (ch *Channel) Pipeline() *Pipeline { return &ch.p }

// EventLoop returns the loop that owns the channel. Safe for concurrent use.
func (ch *Channel) EventLoop() EventLoop { return ch.tr.EventLoop() }

// Logger returns the channel's logger. Safe for concurrent use.
func (ch *Channel) Logger() *slog.Logger { return ch.cfg.Logger }

// IsActive reports whether the channel is connected. Safe for concurrent use.
func (ch *Channel) IsActive() bool { return ch.active.Load() }

// PendingBytes returns the bytes written to the channel but not yet taken
// by the kernel (the batch plus the transport's buffer). Call it on the
// channel's loop.
func (ch *Channel) PendingBytes() int {
	if ch.closed {
		return 0
	}
	return ch.tr.Pending()
}

// IsWritable reports whether pending output is under the high water mark
// (or, once it went over, back under the low one). Safe for concurrent use.
func (ch *Channel) IsWritable() bool { return ch.writable.Load() }

// Done returns a channel that is closed once the channel has closed and its
// inactive event has run. Safe for concurrent use.
func (ch *Channel) Done() <-chan struct{} {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	e := ch.extLocked()
	if e.done == nil {
		e.done = make(chan struct{})
		if ch.closed { // Deactivate sets closed under mu too
			close(e.done)
		}
	}
	return e.done
}

func (ch *Channel) String() string {
	return fmt.Sprintf("[id: %d, L:%v - R:%v]", ch.id, ch.tr.LocalAddr(), ch.tr.RemoteAddr())
}

// Write writes msg from the tail of the pipeline; like Context.Write it
// sends nothing until a Flush (WriteAndFlush does both). Safe for
// concurrent use.
func (ch *Channel) Write(msg any) {
	if ch.tr.EventLoop().InLoop() {
		ch.p.Write(msg)
		return
	}
	ch.submit(op{kind: opWrite, msg: msg})
}

// Flush flushes from the tail of the pipeline. Safe for concurrent use.
func (ch *Channel) Flush() {
	if ch.tr.EventLoop().InLoop() {
		ch.p.Flush()
		return
	}
	ch.submit(op{kind: opFlush})
}

// WriteAndFlush writes msg from the tail and flushes. Safe for concurrent
// use.
func (ch *Channel) WriteAndFlush(msg any) {
	if ch.tr.EventLoop().InLoop() {
		ch.p.WriteAndFlush(msg)
		return
	}
	ch.submit(op{kind: opWriteAndFlush, msg: msg})
}

// Close closes the channel from the tail of the pipeline: everything
// written before is flushed, the close waits (up to CloseTimeout) for the
// output to drain, then the connection closes. Safe for concurrent use.
func (ch *Channel) Close() {
	if ch.tr.EventLoop().InLoop() {
		ch.p.Close()
		return
	}
	ch.submit(op{kind: opClose})
}

// Execute runs task on the channel's loop, in order with the Write, Flush
// and Close calls made before it from the same goroutine. It runs even if
// the channel has closed in the meantime. Safe for concurrent use.
func (ch *Channel) Execute(task func()) { ch.submit(op{kind: opTask, fn: task}) }

// Schedule runs task on the channel's loop after delay. Safe for concurrent
// use.
func (ch *Channel) Schedule(delay time.Duration, task func()) Timer {
	return ch.tr.EventLoop().Schedule(delay, task)
}

// Wake delivers inbound bytes that no handler consumed again, without
// waiting for new data: a decoder that stopped early calls it. Safe for
// concurrent use.
func (ch *Channel) Wake() {
	if ch.tr.EventLoop().InLoop() {
		if !ch.closed {
			ch.tr.Wake()
		}
		return
	}
	ch.submit(op{kind: opWake})
}

type opKind uint8

const (
	opWrite opKind = iota + 1
	opWriteAndFlush
	opFlush
	opClose
	opTask
	opWake
)

type op struct {
	kind opKind
	msg  any
	fn   func()
}

func (ch *Channel) submit(o op) {
	ch.mu.Lock()
	q := &ch.extLocked().ops
	if q.run == nil {
		q.run = ch.runOps
	}
	q.ops = append(q.ops, o)
	sched := !q.scheduled
	q.scheduled = true
	run := q.run
	ch.mu.Unlock()
	if sched {
		ch.tr.EventLoop().Execute(run)
	}
}

func (ch *Channel) runOps() {
	ch.mu.Lock()
	q := &ch.ext.Load().ops
	ops := q.ops
	q.ops = q.spare[:0]
	q.spare = nil
	q.scheduled = false
	ch.mu.Unlock()
	for i := range ops {
		o := ops[i]
		ops[i] = op{}
		ch.apply(o)
	}
	ch.mu.Lock()
	q.spare = ops[:0]
	ch.mu.Unlock()
}

func (ch *Channel) apply(o op) {
	defer func() {
		if r := recover(); r != nil {
			ch.handlePanic(r)
		}
	}()
	switch o.kind {
	case opTask:
		o.fn()
		return
	case opWake:
		if !ch.closed {
			ch.tr.Wake()
		}
		return
	}
	if ch.closed {
		Release(o.msg)
		return
	}
	switch o.kind {
	case opWrite:
		ch.p.Write(o.msg)
	case opWriteAndFlush:
		ch.p.WriteAndFlush(o.msg)
	case opFlush:
		ch.p.Flush()
	case opClose:
		ch.p.Close()
	}
}

// Activate marks the channel connected and fires the active event. For
// transports; call on the loop after the initializer has run.
func (ch *Channel) Activate() {
	defer func() {
		if r := recover(); r != nil {
			ch.handlePanic(r)
		}
	}()
	ch.active.Store(true)
	ch.p.FireActive()
}

// Receive fires p through the pipeline as a *Bytes, then fires read
// complete, and returns how many bytes the handlers consumed; the transport
// keeps the rest and delivers it again in front of the next bytes. p need
// only be valid until Receive returns. For transports; call on the loop.
func (ch *Channel) Receive(p []byte) (n int) {
	defer func() {
		if r := recover(); r != nil {
			ch.handlePanic(r)
			n = len(p)
		}
	}()
	ch.inbound.Reset(p)
	ch.p.FireRead(&ch.inbound)
	n = ch.inbound.off
	if !ch.closed {
		ch.p.FireReadComplete()
	}
	ch.inbound.Reset(nil)
	return n
}

// Deactivate records that the connection has closed: cause, when not nil,
// is fired as an error first; then the inactive event fires and every
// handler is removed (running their RemovedHandler hooks). For transports;
// call once, on the loop.
func (ch *Channel) Deactivate(cause error) {
	if ch.closed {
		return
	}
	ch.mu.Lock()
	ch.closed = true
	var done chan struct{}
	if e := ch.ext.Load(); e != nil {
		done = e.done
	}
	ch.mu.Unlock()
	ch.active.Store(false)
	ch.writable.Store(false)
	ch.safely(func() {
		if cause != nil {
			ch.p.FireError(cause)
		}
	})
	ch.safely(ch.p.FireInactive)
	ch.safely(ch.p.removeAll)
	if done != nil {
		close(done)
	}
}

func (ch *Channel) safely(f func()) {
	defer func() {
		if r := recover(); r != nil {
			LogPanic(ch.cfg.Logger, "pipeline: handler panic while closing", r, debug.Stack(), "channel", ch.id)
		}
	}()
	f()
}

// Recover is a transport's last line of defence: deferred around work on
// the loop that may call handlers outside Receive/Activate, it turns a
// panic into a *PanicError and closes the channel.
func (ch *Channel) Recover() {
	if r := recover(); r != nil {
		ch.handlePanic(r)
	}
}

func (ch *Channel) handlePanic(r any) {
	err := &PanicError{Value: r, Stack: debug.Stack()}
	LogPanic(ch.cfg.Logger, "pipeline: handler panic; closing the channel", r, err.Stack,
		"channel", ch.id, "remote", ch.tr.RemoteAddr())
	if !ch.closed {
		ch.safely(func() { ch.p.FireError(err) })
		ch.closing = true
		ch.tr.Close()
	}
}

func (ch *Channel) transportWrite(msg any) {
	if ch.closed || ch.closing {
		Release(msg)
		return
	}
	if err := ch.tr.Write(msg); err != nil {
		ch.p.FireError(err)
		return
	}
	ch.checkHighWater()
}

func (ch *Channel) transportFlush() {
	if !ch.closed {
		ch.tr.Flush()
	}
}

func (ch *Channel) closeGracefully() {
	if ch.closed || ch.closing {
		return
	}
	ch.closing = true
	ch.mu.Lock()
	ch.extLocked().closeDeadline = ch.tr.EventLoop().Now().Add(ch.cfg.CloseTimeout).UnixNano()
	ch.mu.Unlock()
	ch.tr.Flush()
	if ch.tr.Pending() == 0 {
		ch.tr.Close()
		return
	}
	ch.startPolling()
}

func (ch *Channel) checkHighWater() {
	if ch.writable.Load() && ch.tr.Pending() > ch.cfg.HighWaterMark {
		ch.setWritable(false)
		ch.startPolling()
	}
}

// UpdateWritability compares pending output with the water marks, fires a
// writability event when it crossed one, and completes a graceful close
// once the output has drained. For transports: call on the loop after
// sending.
func (ch *Channel) UpdateWritability() {
	if ch.closed {
		return
	}
	pending := ch.tr.Pending()
	if ch.closing {
		if pending == 0 || ch.closeDue() {
			ch.tr.Close()
			return
		}
		ch.startPolling()
		return
	}
	if ch.writable.Load() {
		if pending > ch.cfg.HighWaterMark {
			ch.setWritable(false)
			ch.startPolling()
		}
		return
	}
	if pending < ch.cfg.LowWaterMark {
		ch.setWritable(true)
		return
	}
	ch.startPolling()
}

// closeDue reports whether a closing channel's wait for its output is
// over: its graceful close's deadline has passed, or it is closing after
// a panic, which set none.
func (ch *Channel) closeDue() bool {
	e := ch.ext.Load()
	return e == nil || e.closeDeadline == 0 || ch.tr.EventLoop().Now().UnixNano() >= e.closeDeadline
}

func (ch *Channel) startPolling() {
	if !ch.polling {
		ch.polling = true
		ch.tr.EventLoop().Schedule(drainPoll, ch.poll)
	}
}

func (ch *Channel) poll() {
	ch.polling = false
	ch.UpdateWritability()
}

// setWritable records a crossing of a water mark and queues its event.
// Events run after the current handler returns (a write inside a handler
// must not re-enter handlers), one task per crossing and in order, so a
// state that flips back before its event runs still reports both edges:
// a handler that saw IsWritable false always hears true afterwards, and
// events alternate (Netty's contract).
func (ch *Channel) setWritable(w bool) {
	ch.writable.Store(w)
	if w {
		ch.tr.EventLoop().Execute(ch.fireWritable)
	} else {
		ch.tr.EventLoop().Execute(ch.fireUnwritable)
	}
}

func (ch *Channel) fireWritable()   { ch.fireWritability(true) }
func (ch *Channel) fireUnwritable() { ch.fireWritability(false) }

func (ch *Channel) fireWritability(w bool) {
	if ch.closed || w == ch.notified {
		return
	}
	ch.notified = w
	defer ch.Recover()
	ch.p.FireWritabilityChanged(w)
}
