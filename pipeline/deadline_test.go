package pipeline_test

import (
	"testing"
	"time"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// ticker is a handler with an embedded deadline that re-arms itself.
type ticker struct {
	ctx   *pipeline.Context
	dl    pipeline.Deadline
	fired []time.Duration
	every time.Duration
	times int
}

func (t *ticker) HandlerAdded(ctx *pipeline.Context) {
	t.ctx = ctx
	t.dl.Init(t)
	t.dl.Arm(ctx.EventLoop(), t.every)
}

func (t *ticker) HandlerRemoved(ctx *pipeline.Context) { t.dl.Stop(ctx.EventLoop()) }

func (t *ticker) RunTask() {
	t.fired = append(t.fired, t.ctx.EventLoop().Now().Sub(pipelinetest.Epoch))
	if len(t.fired) < t.times {
		t.dl.Arm(t.ctx.EventLoop(), t.every)
	}
}

func TestDeadlineRearmsAndStops(t *testing.T) {
	tk := &ticker{every: 10 * time.Second, times: 3}
	ch := pipelinetest.New(tk)
	ch.Advance(5 * time.Second)
	tk.dl.Arm(ch.EventLoop(), 10*time.Second) // moved: due at 15 s, not 10 s
	ch.Advance(60 * time.Second)
	want := []time.Duration{15 * time.Second, 25 * time.Second, 35 * time.Second}
	if len(tk.fired) != len(want) {
		t.Fatalf("fired at %v, want %v", tk.fired, want)
	}
	for i := range want {
		if tk.fired[i] != want[i] {
			t.Fatalf("fired at %v, want %v", tk.fired, want)
		}
	}
	tk.times = 10
	tk.dl.Arm(ch.EventLoop(), time.Second)
	if _, err := ch.Pipeline().Remove(ch.Pipeline().Names()[0]); err != nil {
		t.Fatal(err)
	}
	ch.Advance(time.Minute)
	if len(tk.fired) != 3 {
		t.Fatalf("a stopped deadline fired: %v", tk.fired)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// scheduleLoop is an EventLoop from outside the module: a Deadline falls
// back to Schedule on it.
type scheduleLoop struct {
	pipeline.EventLoop
	scheduled, stopped int
	last               func()
}

type stopCounter struct{ l *scheduleLoop }

func (s stopCounter) Stop() bool { s.l.stopped++; return true }

func (l *scheduleLoop) Schedule(_ time.Duration, task func()) pipeline.Timer {
	l.scheduled++
	l.last = task
	return stopCounter{l}
}

func TestDeadlineOnAForeignLoop(t *testing.T) {
	l := &scheduleLoop{}
	tk := &ticker{times: 1}
	tk.dl.Init(tk)
	tk.ctx = nil
	tk.dl.Arm(l, time.Second)
	tk.dl.Arm(l, time.Second) // the first is stopped
	if l.scheduled != 2 || l.stopped != 1 {
		t.Fatalf("scheduled %d, stopped %d; want 2 and 1", l.scheduled, l.stopped)
	}
	tk.dl.Stop(l)
	if l.stopped != 2 {
		t.Fatalf("Stop stopped %d timers, want 2", l.stopped)
	}
}
