package pipeline

import (
	"time"

	"github.com/gnetty/gnetty/internal/timerq"
)

// Deadline is a reusable timer record that a handler embeds in its own
// state: arming it again, as a keepalive or idle handler does after every
// sign of life, allocates nothing, where EventLoop.Schedule makes a timer
// and usually a closure each time. The record sits in the loop's timer
// heap as it is (no runtime timer and no closure per connection).
//
// # Concurrency
//
// Init, Arm, Stop and Armed may be called only on the loop that owns the
// channel (inside a handler, or in one of the loop's tasks and timers).
// The task runs on that loop.
type Deadline struct {
	t        timerq.Timer
	fallback Timer // an EventLoop from outside this module (Schedule)
}

// DeadlineTask is what a Deadline runs when it fires: usually the handler
// that embeds it, so that no closure is made.
type DeadlineTask interface{ RunTask() }

// timerLoop is implemented by the event loops of this module (bootstrap's
// and pipelinetest's): they queue a Deadline's record in their own heap.
type timerLoop interface {
	ArmTimer(t *timerq.Timer, delay time.Duration)
	CancelTimer(t *timerq.Timer)
}

// Init sets the task the deadline runs; call it once, before Arm.
func (d *Deadline) Init(task DeadlineTask) { d.t.Init(task) }

// Arm (re)sets the deadline to delay from now on loop's clock, replacing
// the previous one if it has not fired yet.
func (d *Deadline) Arm(loop EventLoop, delay time.Duration) {
	if delay < 0 {
		delay = 0
	}
	if tl, ok := loop.(timerLoop); ok {
		tl.ArmTimer(&d.t, delay)
		return
	}
	if d.fallback != nil {
		d.fallback.Stop()
	}
	d.fallback = loop.Schedule(delay, d.t.Run)
}

// Stop cancels the deadline if it is armed.
func (d *Deadline) Stop(loop EventLoop) {
	if tl, ok := loop.(timerLoop); ok {
		tl.CancelTimer(&d.t)
		return
	}
	if d.fallback != nil {
		d.fallback.Stop()
		d.fallback = nil
	}
}
