// Package timerq is the per-event-loop timer queue: a binary min-heap of
// deadlines with O(log n) insert and cancel, driven by whoever owns the loop
// (a gnet worker loop, or a test channel's fake clock).
//
// # Concurrency
//
// A Queue belongs to one goroutine (its loop): Push, PopDue, Next and Len
// may be called only there. Timer.Stop is safe for concurrent use: on the
// owner goroutine it removes the timer at once; elsewhere it marks the timer
// stopped and the owner drops it when it reaches the top of the heap (or
// when more than half the heap is stopped timers).
package timerq

import (
	"sync/atomic"

	"github.com/gnetty/gnetty/internal/goid"
)

const (
	statePending int32 = iota
	stateFired
	stateStopped
)

// Task is what a timer runs. A handler that embeds a Timer as a reusable
// record (see Init and Queue.Reset) is its own Task, so arming it again
// allocates nothing.
type Task interface{ RunTask() }

// funcTask runs a function: a func value fits an interface's data word,
// so converting one allocates nothing.
type funcTask func()

func (f funcTask) RunTask() { f() }

// Timer is one scheduled task.
type Timer struct {
	when  int64 // deadline in the owner's clock, nanoseconds
	seq   uint64
	index int32 // position in the heap; -1 when not queued
	state atomic.Int32
	task  Task
	q     atomic.Pointer[Queue] // set by Push; read by Stop on any goroutine
}

// New returns a timer that runs fn at when (nanoseconds on the owner's
// clock). It is not queued until Push.
func New(when int64, fn func()) *Timer {
	return &Timer{when: when, task: funcTask(fn), index: -1}
}

// Init prepares a Timer embedded in a larger struct as a reusable record
// that runs task each time it fires: arm it with Queue.Reset and cancel
// it with Queue.Cancel, both on the owner goroutine only.
func (t *Timer) Init(task Task) {
	t.task, t.index = task, -1
	t.state.Store(stateStopped)
}

// Armed reports whether the record waits in a queue. Owner goroutine only.
func (t *Timer) Armed() bool { return t.index >= 0 }

// When returns the deadline the timer was created with.
func (t *Timer) When() int64 { return t.when }

// Stop prevents the timer from running. It returns true if it stopped the
// timer, false if the timer already ran or was already stopped. Safe for
// concurrent use.
func (t *Timer) Stop() bool {
	if !t.state.CompareAndSwap(statePending, stateStopped) {
		return false
	}
	if q := t.q.Load(); q != nil {
		if q.owner == goid.Current() {
			if t.index >= 0 {
				q.remove(int(t.index))
			}
		} else {
			q.stopped.Add(1)
		}
	}
	return true
}

// Queue is a min-heap of timers ordered by deadline, then by insertion.
type Queue struct {
	h       []*Timer
	seq     uint64
	owner   uintptr
	stopped atomic.Int64 // timers stopped off-loop and still in the heap
}

// SetOwner records the goroutine that drives the queue (see goid.Current).
// Call it from that goroutine before the queue is shared.
func (q *Queue) SetOwner(g uintptr) { q.owner = g }

// Len returns the number of queued timers, stopped ones included.
func (q *Queue) Len() int { return len(q.h) }

// Push queues t. A timer can be pushed once.
func (q *Queue) Push(t *Timer) {
	if t.state.Load() != statePending {
		return
	}
	q.seq++
	t.seq = q.seq
	q.insert(t)
	if n := q.stopped.Load(); n > 0 && int(n) > len(q.h)/2 {
		q.compact()
	}
}

// Next returns the earliest deadline among live timers and true, or false
// when the queue holds none.
func (q *Queue) Next() (int64, bool) {
	for len(q.h) > 0 {
		t := q.h[0]
		if t.state.Load() == statePending {
			return t.when, true
		}
		q.remove(0)
		q.stopped.Add(-1)
	}
	return 0, false
}

// PopDue removes and returns the earliest timer whose deadline is at or
// before now, marking it fired, or nil when none is due. The caller runs
// t.Run().
func (q *Queue) PopDue(now int64) *Timer {
	for len(q.h) > 0 {
		t := q.h[0]
		if t.state.Load() != statePending {
			q.remove(0)
			q.stopped.Add(-1)
			continue
		}
		if t.when > now {
			return nil
		}
		q.remove(0)
		if !t.state.CompareAndSwap(statePending, stateFired) {
			q.stopped.Add(-1)
			continue
		}
		return t
	}
	return nil
}

// Run runs the timer's task.
func (t *Timer) Run() { t.task.RunTask() }

// Reset (re)arms the record t (see Timer.Init) for when: a queued record
// moves to its new place, an idle one is queued again. Owner goroutine
// only; nothing is allocated once the heap has room.
func (q *Queue) Reset(t *Timer, when int64) {
	q.seq++
	t.when, t.seq = when, q.seq
	if t.index >= 0 { // records are only ever cancelled on the owner (Cancel)
		t.state.Store(statePending)
		if !q.down(int(t.index)) {
			q.up(int(t.index))
		}
		return
	}
	t.state.Store(statePending)
	q.insert(t)
}

// insert adds t, its deadline and sequence set, to the heap.
func (q *Queue) insert(t *Timer) {
	t.q.Store(q)
	t.index = int32(len(q.h))
	q.h = append(q.h, t)
	q.up(int(t.index))
}

// Cancel takes the record t out of the queue (a no-op when it is not
// queued). Owner goroutine only.
func (q *Queue) Cancel(t *Timer) {
	if t.index >= 0 {
		q.remove(int(t.index))
	}
	t.state.Store(stateStopped)
}

func (q *Queue) compact() {
	live := q.h[:0]
	for _, t := range q.h {
		if t.state.Load() == statePending {
			live = append(live, t)
		} else {
			t.index = -1
		}
	}
	for i := len(live); i < len(q.h); i++ {
		q.h[i] = nil
	}
	q.h = live
	q.stopped.Store(0)
	for i := range q.h {
		q.h[i].index = int32(i)
	}
	for i := len(q.h)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

func (q *Queue) less(i, j int) bool {
	a, b := q.h[i], q.h[j]
	if a.when != b.when {
		return a.when < b.when
	}
	return a.seq < b.seq
}

func (q *Queue) swap(i, j int) {
	q.h[i], q.h[j] = q.h[j], q.h[i]
	q.h[i].index = int32(i)
	q.h[j].index = int32(j)
}

func (q *Queue) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		j = i
	}
}

func (q *Queue) down(i int) bool {
	i0 := i
	n := len(q.h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && q.less(r, l) {
			j = r
		}
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		i = j
	}
	return i > i0
}

func (q *Queue) remove(i int) {
	n := len(q.h) - 1
	t := q.h[i]
	if i != n {
		q.swap(i, n)
	}
	q.h[n] = nil
	q.h = q.h[:n]
	if i != n {
		if !q.down(i) {
			q.up(i)
		}
	}
	t.index = -1
}
