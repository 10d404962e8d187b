package pipelinetest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gnetty/gnetty/internal/goid"
	"github.com/gnetty/gnetty/internal/timerq"
	"github.com/gnetty/gnetty/pipeline"
)

// Epoch is the fake clock's starting time.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Loop is the test channel's event loop: tasks run when the test
// goroutine calls in, timers when Advance moves the fake clock past them.
type Loop struct {
	owner  uintptr
	now    int64 // nanoseconds since Epoch; owner only
	timers timerq.Queue
	mu     sync.Mutex
	tasks  []func()
	locals map[any]any // owner only
}

func newLoop() *Loop {
	l := &Loop{owner: goid.Current()}
	l.timers.SetOwner(l.owner)
	return l
}

// Locals is pipeline.LoopLocals: values the loop keeps for its
// handlers. Call it on the test goroutine.
func (l *Loop) Locals() map[any]any {
	if l.locals == nil {
		l.locals = make(map[any]any)
	}
	return l.locals
}

// Execute queues task to run at the test goroutine's next call. Safe for
// concurrent use.
func (l *Loop) Execute(task func()) {
	l.mu.Lock()
	l.tasks = append(l.tasks, task)
	l.mu.Unlock()
}

// Schedule runs task once the fake clock has advanced by delay. Safe for
// concurrent use.
func (l *Loop) Schedule(delay time.Duration, task func()) pipeline.Timer {
	if delay < 0 {
		delay = 0
	}
	if l.InLoop() {
		t := timerq.New(l.now+int64(delay), task)
		l.timers.Push(t)
		return t
	}
	// The deadline is fixed when the loop picks the timer up.
	t := &lateTimer{}
	l.Execute(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.stopped {
			return
		}
		t.t = timerq.New(l.now+int64(delay), task)
		l.timers.Push(t.t)
	})
	return t
}

// ArmTimer (re)queues a pipeline.Deadline's record on the fake clock. On
// the test goroutine only.
func (l *Loop) ArmTimer(t *timerq.Timer, delay time.Duration) {
	l.timers.Reset(t, l.now+int64(delay))
}

// CancelTimer takes a pipeline.Deadline's record out of the queue. On the
// test goroutine only.
func (l *Loop) CancelTimer(t *timerq.Timer) { l.timers.Cancel(t) }

type lateTimer struct {
	mu      sync.Mutex
	t       *timerq.Timer
	stopped bool
}

func (t *lateTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.stopped = true
	if t.t != nil {
		return t.t.Stop()
	}
	return true
}

// InLoop reports whether the caller is the test goroutine.
func (l *Loop) InLoop() bool { return goid.Current() == l.owner }

// Now returns the fake clock. Call it on the test goroutine.
func (l *Loop) Now() time.Time { return Epoch.Add(time.Duration(l.now)) }

// runTasks runs queued tasks until none are left.
func (l *Loop) runTasks() bool {
	ran := false
	for {
		l.mu.Lock()
		tasks := l.tasks
		l.tasks = nil
		l.mu.Unlock()
		if len(tasks) == 0 {
			return ran
		}
		ran = true
		for _, task := range tasks {
			task()
		}
	}
}

// Channel is a pipeline.Channel over an in-memory transport.
type Channel struct {
	*pipeline.Channel
	loop *Loop

	leftover []byte
	inbound  []any
	outbound []any
	errs     []error
	events   []any

	unflushed    []any
	flushUpTo    int
	pendingBytes int
	backlog      int
	closeReq     bool
	finished     bool
}

// Addr is the address the test channel reports for both ends.
var Addr net.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0}

// New returns an active test channel whose pipeline holds handlers in
// order, named by type. An argument of type pipeline.Config is taken as the
// channel's configuration instead of a handler. The channel belongs to the
// calling goroutine. An invalid configuration or a handler the pipeline
// refuses panics.
func New(handlers ...any) *Channel {
	var cfg pipeline.Config
	c := &Channel{loop: newLoop()}
	var hs []any
	for _, h := range handlers {
		if x, ok := h.(pipeline.Config); ok {
			cfg = x
			continue
		}
		hs = append(hs, h)
	}
	if err := cfg.Normalize(); err != nil {
		panic("pipelinetest: " + err.Error())
	}
	c.Channel = pipeline.NewChannel((*transport)(c), cfg)
	for _, h := range hs {
		if err := c.Pipeline().AddLast("", h); err != nil {
			panic(fmt.Sprintf("pipelinetest: adding %T: %v", h, err))
		}
	}
	c.Activate()
	c.settle()
	return c
}

// Loop returns the channel's fake event loop.
func (c *Channel) Loop() *Loop { return c.loop }

// Now returns the fake clock.
func (c *Channel) Now() time.Time { return c.loop.Now() }

// WriteInbound fires msgs through the pipeline as received messages, one
// read each: a []byte is delivered as *pipeline.Bytes after any bytes left
// unconsumed before, anything else as it is. It reports whether any message
// reached the tail. Writing to a closed channel panics.
func (c *Channel) WriteInbound(msgs ...any) bool {
	for _, m := range msgs {
		if c.IsClosed() {
			panic("pipelinetest: WriteInbound on a closed channel")
		}
		if b, ok := m.([]byte); ok {
			c.receive(b)
		} else {
			c.fire(func() {
				c.Pipeline().FireRead(m)
				c.Pipeline().FireReadComplete()
			})
		}
		c.settle()
	}
	return len(c.inbound) > 0
}

func (c *Channel) receive(b []byte) {
	data := b
	if len(c.leftover) > 0 {
		data = append(append([]byte(nil), c.leftover...), b...)
	}
	n := c.Receive(data)
	c.leftover = append(c.leftover[:0], data[n:]...)
}

func (c *Channel) fire(f func()) {
	defer c.Recover()
	f()
}

// FireUserEvent fires ev through the pipeline from the head.
func (c *Channel) FireUserEvent(ev any) {
	c.fire(func() { c.Pipeline().FireUserEvent(ev) })
	c.settle()
}

// WriteOutbound writes msgs from the tail and flushes. It reports whether
// anything reached the head.
func (c *Channel) WriteOutbound(msgs ...any) bool {
	c.fire(func() {
		for _, m := range msgs {
			c.Pipeline().Write(m)
		}
		c.Pipeline().Flush()
	})
	c.settle()
	return len(c.outbound) > 0
}

// ReadInbound returns the oldest message that reached the tail, or nil.
// Bytes that reached the tail as *pipeline.Bytes are returned as a []byte
// copy.
func (c *Channel) ReadInbound() any { return pop(&c.inbound) }

// ReadOutbound returns the oldest message flushed to the transport, as it
// reached the head, or nil.
func (c *Channel) ReadOutbound() any { return pop(&c.outbound) }

// ReadOutboundBytes drains every flushed message and returns their bytes
// concatenated ([]byte, string, *pipeline.Bytes and pipeline.Appender are
// understood; anything else panics).
func (c *Channel) ReadOutboundBytes() []byte {
	var out []byte
	for m := c.ReadOutbound(); m != nil; m = c.ReadOutbound() {
		switch x := m.(type) {
		case []byte:
			out = append(out, x...)
		case string:
			out = append(out, x...)
		case pipeline.Appender:
			out = x.AppendTo(out)
		default:
			panic(fmt.Sprintf("pipelinetest: outbound message %T is not bytes", m))
		}
		pipeline.Release(m)
	}
	return out
}

// ReadError returns the oldest error that reached the tail, or nil.
func (c *Channel) ReadError() error {
	e := pop(&c.errs)
	if e == nil {
		return nil
	}
	return e.(error)
}

// ReadUserEvent returns the oldest user event that reached the tail, or nil.
func (c *Channel) ReadUserEvent() any { return pop(&c.events) }

// Unconsumed returns the inbound bytes no handler has consumed yet.
func (c *Channel) Unconsumed() []byte { return c.leftover }

// SetBacklog pretends that n flushed bytes are still waiting for a slow
// peer, so that water marks and graceful close can be tested.
func (c *Channel) SetBacklog(n int) {
	c.backlog = n
	c.UpdateWritability()
	c.settle()
}

// Advance moves the fake clock forward by d, running every timer that
// falls due in deadline order (with the clock set to each deadline) and the
// tasks they submit.
func (c *Channel) Advance(d time.Duration) {
	end := c.loop.now + int64(d)
	for {
		c.settle()
		when, ok := c.loop.timers.Next()
		if !ok || when > end {
			break
		}
		if when > c.loop.now {
			c.loop.now = when
		}
		for t := c.loop.timers.PopDue(c.loop.now); t != nil; t = c.loop.timers.PopDue(c.loop.now) {
			c.fire(t.Run)
		}
	}
	c.loop.now = end
	c.settle()
}

// RunPendingTasks runs tasks submitted with Execute (from any goroutine)
// and timers already due.
func (c *Channel) RunPendingTasks() { c.Advance(0) }

// Close closes the channel from the tail of the pipeline and runs what that
// sets off (the inactive event, HandlerRemoved hooks).
func (c *Channel) Close() {
	c.fire(func() { c.Pipeline().Close() })
	c.settle()
}

// IsClosed reports whether the channel has been deactivated.
func (c *Channel) IsClosed() bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// Finish closes the channel and returns an error naming what reached
// either end and was left unread (messages, errors, user events), and
// what was written but never flushed (a Write without a Flush sends
// nothing), or nil (Netty's EmbeddedChannel.finish). Calling it again
// returns nil.
func (c *Channel) Finish() error {
	if c.finished {
		return nil
	}
	c.finished = true
	c.backlog = 0
	var errs []error
	if n := len(c.unflushed) - c.flushUpTo; n > 0 {
		errs = append(errs, fmt.Errorf("pipelinetest: %d message(s) written and never flushed, first %s", n, describe(c.unflushed[c.flushUpTo])))
	}
	c.Close()
	if len(c.inbound) > 0 {
		errs = append(errs, fmt.Errorf("pipelinetest: %d inbound message(s) left unread, first %s", len(c.inbound), describe(c.inbound[0])))
	}
	if len(c.outbound) > 0 {
		errs = append(errs, fmt.Errorf("pipelinetest: %d outbound message(s) left unread, first %s", len(c.outbound), describe(c.outbound[0])))
	}
	if len(c.errs) > 0 {
		errs = append(errs, fmt.Errorf("pipelinetest: %d error(s) left unread, first: %w", len(c.errs), c.errs[0].(error)))
	}
	if len(c.events) > 0 {
		errs = append(errs, fmt.Errorf("pipelinetest: %d user event(s) left unread, first %s", len(c.events), describe(c.events[0])))
	}
	return errors.Join(errs...)
}

func describe(m any) string {
	if b, ok := m.([]byte); ok {
		return fmt.Sprintf("[]byte %q", b)
	}
	return fmt.Sprintf("%T %+v", m, m)
}

// settle does what a loop does at the end of a callback: flush, then run
// queued tasks (each followed by a flush) until nothing is left.
func (c *Channel) settle() {
	for {
		c.flushNow()
		if !c.loop.runTasks() {
			c.flushNow()
			return
		}
	}
}

func (c *Channel) flushNow() {
	if c.flushUpTo == 0 {
		return
	}
	for _, m := range c.unflushed[:c.flushUpTo] {
		c.pendingBytes -= pipeline.Size(m)
		c.outbound = append(c.outbound, m)
	}
	c.unflushed = append(c.unflushed[:0], c.unflushed[c.flushUpTo:]...)
	c.flushUpTo = 0
	c.UpdateWritability()
}

func pop[T any](q *[]T) any {
	if len(*q) == 0 {
		return nil
	}
	v := (*q)[0]
	var zero T
	(*q)[0] = zero
	*q = (*q)[1:]
	return v
}

// transport is the Channel seen as a pipeline.Transport and pipeline.Sink.
type transport Channel

func (t *transport) EventLoop() pipeline.EventLoop { return t.loop }
func (t *transport) LocalAddr() net.Addr           { return Addr }
func (t *transport) RemoteAddr() net.Addr          { return Addr }

func (t *transport) Write(msg any) error {
	if b, ok := msg.(*pipeline.Bytes); ok {
		msg = append([]byte(nil), b.Bytes()...)
		b.Skip(b.Len())
	}
	t.unflushed = append(t.unflushed, msg)
	t.pendingBytes += pipeline.Size(msg)
	return nil
}

func (t *transport) Flush()       { t.flushUpTo = len(t.unflushed) }
func (t *transport) Pending() int { return t.pendingBytes + t.backlog }

func (t *transport) Close() {
	if t.closeReq {
		return
	}
	t.closeReq = true
	t.loop.Execute(func() { t.Deactivate(nil) })
}

func (t *transport) Wake() {
	t.loop.Execute(func() {
		if !(*Channel)(t).IsClosed() {
			(*Channel)(t).receive(nil) // like gnet: a read event even with nothing new
		}
	})
}

func (t *transport) TailRead(msg any) {
	if b, ok := msg.(*pipeline.Bytes); ok {
		t.inbound = append(t.inbound, append([]byte(nil), b.Bytes()...))
		b.Skip(b.Len())
		return
	}
	t.inbound = append(t.inbound, msg)
}

func (t *transport) TailUserEvent(ev any) { t.events = append(t.events, ev) }
func (t *transport) TailError(err error)  { t.errs = append(t.errs, err) }
