package bootstrap

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/gnetty/gnetty/internal/goid"
	"github.com/gnetty/gnetty/internal/timerq"
	"github.com/gnetty/gnetty/pipeline"
)

// loop is one gnet event loop seen as a pipeline.EventLoop. It is created
// on the loop's own goroutine, at the first connection the loop opens.
type loop struct {
	e     *engine
	el    gnet.EventLoop
	owner uintptr

	// loop-only
	timers      timerq.Queue
	armed       int64 // deadline the driver is set for, 0 when idle
	dirty       []*conn
	flushing    bool
	conns       map[*conn]struct{}
	spare       spares[byte] // empty batch buffers, lent to connections as they write
	spareSegs   spares[seg]  // empty segment lists, lent likewise
	batches     []*batch     // empty batches, lent likewise
	iov         [][]byte     // the writev list of the connection being flushed
	now         time.Time    // the clock, read once per callback (valid while nowSet)
	nowSet      bool
	current     *conn   // the connection whose callback runs (nil in tasks and timers)
	deferred    []*conn // other connections written this pass, flushed after it
	queuedFlush bool    // a flushDeferred task is queued
	locals      map[any]any

	driver   *time.Timer // runs on a runtime goroutine: only submits runTimers
	timerRun gnet.Runnable
	stopped  atomic.Bool
}

func newLoop(e *engine, el gnet.EventLoop) *loop {
	l := &loop{e: e, el: el, owner: goid.Current(), conns: make(map[*conn]struct{})}
	l.timers.SetOwner(l.owner)
	l.timerRun = gnet.RunnableFunc(func(context.Context) error {
		l.runTimers()
		return nil
	})
	return l
}

// task is a pipeline task submitted to gnet.
type task struct {
	l  *loop
	fn func()
}

func (t task) Run(context.Context) error {
	t.l.run(t.fn)
	return nil
}

// run runs fn on the loop as one callback: a panic is logged, not fatal
// to the loop, and writes made by fn are flushed at the end.
func (l *loop) run(fn func()) {
	l.begin()
	defer l.flushDirty()
	defer func() {
		if r := recover(); r != nil {
			pipeline.LogPanic(l.e.logger, "bootstrap: panic in a loop task", r, debug.Stack())
		}
	}()
	fn()
}

// Execute queues fn on the loop. Safe for concurrent use; dropped after
// the engine stopped.
func (l *loop) Execute(fn func()) {
	if l.stopped.Load() {
		return
	}
	if err := l.el.Execute(context.Background(), task{l: l, fn: fn}); err != nil {
		l.e.logger.Debug("bootstrap: task dropped: event loop stopped", "err", err)
	}
}

// Locals is pipeline.LoopLocals: values the loop keeps for its handlers.
func (l *loop) Locals() map[any]any {
	if l.locals == nil {
		l.locals = make(map[any]any)
	}
	return l.locals
}

// InLoop reports whether the caller runs on this loop's goroutine.
func (l *loop) InLoop() bool { return goid.Current() == l.owner }

// Now returns the wall clock; on the loop, as read once at the start of
// the current callback (a read, a task, a timer), so that handlers that
// stamp every message (keepalive, idle) share one clock read per pass.
func (l *loop) Now() time.Time {
	if l.InLoop() && l.nowSet {
		return l.now
	}
	return time.Now()
}

// begin starts a callback on the loop: the clock is read for it.
func (l *loop) begin() { l.now, l.nowSet = time.Now(), true }

func (l *loop) nanotime() int64 { return int64(time.Since(l.e.epoch)) }

// Schedule runs fn on the loop after delay. Safe for concurrent use.
func (l *loop) Schedule(delay time.Duration, fn func()) pipeline.Timer {
	if delay < 0 {
		delay = 0
	}
	t := timerq.New(l.nanotime()+int64(delay), fn)
	if l.InLoop() {
		l.timers.Push(t)
		l.arm()
	} else {
		l.Execute(func() {
			l.timers.Push(t)
			l.arm()
		})
	}
	return t
}

// ArmTimer (re)queues a pipeline.Deadline's record. On the loop only.
func (l *loop) ArmTimer(t *timerq.Timer, delay time.Duration) {
	l.timers.Reset(t, l.nanotime()+int64(delay))
	l.arm()
}

// CancelTimer takes a pipeline.Deadline's record out of the heap. On the
// loop only.
func (l *loop) CancelTimer(t *timerq.Timer) { l.timers.Cancel(t) }

// arm sets the driver for the earliest live timer.
func (l *loop) arm() {
	next, ok := l.timers.Next()
	if !ok || l.stopped.Load() {
		return
	}
	if l.armed != 0 && l.armed <= next {
		return
	}
	l.armed = next
	d := time.Duration(next - l.nanotime())
	if l.driver == nil {
		l.driver = time.AfterFunc(d, l.fire)
	} else {
		l.driver.Reset(d)
	}
}

// fire runs on a runtime timer goroutine and hands over to the loop.
func (l *loop) fire() {
	if l.stopped.Load() {
		return
	}
	_ = l.el.Execute(context.Background(), l.timerRun)
}

func (l *loop) runTimers() {
	l.armed = 0
	now := l.nanotime()
	for t := l.timers.PopDue(now); t != nil; t = l.timers.PopDue(now) {
		l.run(t.Run)
	}
	l.arm()
}

func (l *loop) stop() {
	l.stopped.Store(true)
	if l.driver != nil {
		l.driver.Stop()
	}
}

// markDirty queues c to be flushed at the end of the current callback.
// markDirty queues c's flushed batch for sending. The connection whose
// callback runs (a read, an open) sends its own writes as the callback
// ends, so a reply never waits. Every other connection (a broadcast to
// members, tasks submitted from other goroutines, timers) is sent once
// the loop has run the callbacks and tasks that are ready now: what
// several of them write to one connection goes out in one writev, and a
// lone write waits for nothing but the end of the current pass (no
// timer).
func (l *loop) markDirty(c *conn) {
	if c.queued {
		return
	}
	c.queued = true
	if c == l.current {
		l.dirty = append(l.dirty, c)
		return
	}
	l.deferred = append(l.deferred, c)
	if !l.queuedFlush {
		l.queuedFlush = true
		l.Execute(l.flushDeferred) // behind the tasks already queued: after this pass
	}
}

// flushDeferred sends the connections markDirty deferred. Writes made
// while it runs (writability events) join the same round.
func (l *loop) flushDeferred() {
	sendQueued(&l.deferred)
	l.queuedFlush = false
}

// flushDirty sends the batches of the connections whose own callback
// wrote them (see markDirty), as the callback ends. A write error closes
// a connection inside gnet, which runs OnClose (and handlers)
// re-entrantly; that may queue more channels, which this loop picks up
// too.
func (l *loop) flushDirty() {
	if l.flushing {
		return
	}
	l.flushing = true
	sendQueued(&l.dirty)
	l.flushing = false
	l.nowSet = false // the callback ends: the next one reads the clock again
}

// sendQueued flushes every connection in *list, including those added
// while it runs, and empties the list.
func sendQueued(list *[]*conn) {
	for i := 0; i < len(*list); i++ {
		c := (*list)[i]
		(*list)[i] = nil
		c.queued = false
		c.flush()
	}
	*list = (*list)[:0]
}

// maxSpare bounds the loop's spare batch buffers.
const maxSpare = 64

// spares is a loop's free list of empty slices (loop only).
type spares[T any] [][]T

// take lends an empty slice, made with capacity size when none is spare.
func (sp *spares[T]) take(size int) []T {
	if n := len(*sp); n > 0 {
		b := (*sp)[n-1]
		(*sp)[n-1] = nil
		*sp = (*sp)[:n-1]
		return b
	}
	return make([]T, 0, size)
}

// give takes an emptied slice back unless it is too big or the list full.
func (sp *spares[T]) give(b []T, maxCap int) {
	if cap(b) == 0 || cap(b) > maxCap || len(*sp) >= maxSpare {
		return
	}
	*sp = append(*sp, b[:0])
}

// batchBuf lends a connection an empty batch buffer (loop only): an idle
// connection holds none.
func (l *loop) batchBuf() []byte { return l.spare.take(4 << 10) }

// returnBuf takes a connection's emptied batch buffer back (loop only).
func (l *loop) returnBuf(b []byte) { l.spare.give(b, keepBatchCap) }

// takeBatch lends a connection an empty batch (loop only).
func (l *loop) takeBatch() *batch {
	if n := len(l.batches); n > 0 {
		b := l.batches[n-1]
		l.batches[n-1] = nil
		l.batches = l.batches[:n-1]
		return b
	}
	return &batch{}
}

// giveBatch takes a connection's emptied batch back (loop only).
func (l *loop) giveBatch(b *batch) {
	if len(l.batches) < maxSpare {
		*b = batch{}
		l.batches = append(l.batches, b)
	}
}

// segList lends a connection an empty segment list (loop only).
func (l *loop) segList() []seg { return l.spareSegs.take(4) }

// returnSegs takes a connection's emptied segment list back (loop only).
func (l *loop) returnSegs(s []seg) { l.spareSegs.give(s, iovMax) }
