package pipeline_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestTimersWithFakeClock(t *testing.T) {
	ch := pipelinetest.New()
	var fired []string
	loop := ch.EventLoop()
	loop.Schedule(10*time.Second, func() { fired = append(fired, "10s") })
	loop.Schedule(5*time.Second, func() {
		fired = append(fired, "5s")
		// a timer scheduled from a timer counts from the timer's deadline
		loop.Schedule(time.Second, func() { fired = append(fired, "6s") })
	})
	stopped := loop.Schedule(7*time.Second, func() { fired = append(fired, "7s") })
	ch.Advance(4 * time.Second)
	if len(fired) != 0 {
		t.Fatalf("fired early: %v", fired)
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	ch.Advance(2 * time.Second)
	if !slices.Equal(fired, []string{"5s", "6s"}) {
		t.Fatalf("fired %v", fired)
	}
	ch.Advance(4 * time.Second)
	if !slices.Equal(fired, []string{"5s", "6s", "10s"}) {
		t.Fatalf("fired %v", fired)
	}
	if got := ch.Now().Sub(pipelinetest.Epoch); got != 10*time.Second {
		t.Fatalf("clock at %v", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestThousandsOfTimersCheapToAddAndCancel(t *testing.T) {
	ch := pipelinetest.New()
	n := 0
	var timers []pipeline.Timer
	for i := range 5000 {
		timers = append(timers, ch.EventLoop().Schedule(time.Duration(i)*time.Millisecond, func() { n++ }))
	}
	for i, tm := range timers {
		if i%2 == 0 {
			tm.Stop()
		}
	}
	ch.Advance(5 * time.Second)
	if n != 2500 {
		t.Fatalf("%d timers fired, want 2500", n)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestWritesFromOtherGoroutinesKeepOrderBeforeClose(t *testing.T) {
	ch := pipelinetest.New()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			ch.Channel.Write([]byte{byte(i)})
		}
		ch.Channel.Flush()
		ch.Channel.WriteAndFlush([]byte("last"))
		ch.Channel.Close()
		ch.Channel.WriteAndFlush([]byte("after close"))
	}()
	wg.Wait()
	if ch.ReadOutbound() != nil {
		t.Fatal("off-loop writes ran before the loop picked them up")
	}
	ch.RunPendingTasks()
	got := ch.ReadOutboundBytes()
	want := make([]byte, 0, 104)
	for i := range 100 {
		want = append(want, byte(i))
	}
	want = append(want, "last"...)
	if string(got) != string(want) {
		t.Fatalf("got %q", got)
	}
	if !ch.IsClosed() {
		t.Fatal("close not applied")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestExecuteIsOrderedWithWrites(t *testing.T) {
	ch := pipelinetest.New()
	var order []string
	done := make(chan struct{})
	go func() {
		ch.Channel.WriteAndFlush([]byte("a"))
		ch.Channel.Execute(func() { order = append(order, "task") })
		close(done)
	}()
	<-done
	ch.RunPendingTasks()
	if got := string(ch.ReadOutboundBytes()); got != "a" || !slices.Equal(order, []string{"task"}) {
		t.Fatalf("out %q order %v", got, order)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

type writabilityLog struct{ got []bool }

func (w *writabilityLog) HandleWritabilityChanged(ctx *pipeline.Context, writable bool) {
	w.got = append(w.got, writable)
}

func TestWaterMarks(t *testing.T) {
	wl := &writabilityLog{}
	ch := pipelinetest.New(pipeline.Config{HighWaterMark: 100, LowWaterMark: 50}, wl)
	ch.WriteOutbound(make([]byte, 60))
	if !ch.IsWritable() {
		t.Fatal("unwritable under the high mark")
	}
	ch.SetBacklog(60)
	ch.WriteOutbound(make([]byte, 50)) // 110 pending before the flush: over the high mark
	ch.SetBacklog(101)
	if ch.IsWritable() || !slices.Equal(wl.got, []bool{false}) {
		t.Fatalf("writable %v events %v", ch.IsWritable(), wl.got)
	}
	ch.SetBacklog(70) // between the marks: still unwritable
	ch.Advance(10 * time.Millisecond)
	if ch.IsWritable() {
		t.Fatal("turned writable above the low mark")
	}
	ch.SetBacklog(10)
	if !ch.IsWritable() || !slices.Equal(wl.got, []bool{false, true}) {
		t.Fatalf("writable %v events %v", ch.IsWritable(), wl.got)
	}
	ch.ReadOutboundBytes()
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestGracefulCloseWaitsForDrainThenTimesOut(t *testing.T) {
	ch := pipelinetest.New(pipeline.Config{CloseTimeout: time.Second})
	ch.SetBacklog(10)
	ch.Close()
	if ch.IsClosed() {
		t.Fatal("closed with output pending")
	}
	ch.SetBacklog(0)
	ch.Advance(2 * time.Millisecond)
	if !ch.IsClosed() {
		t.Fatal("not closed after drain")
	}

	stuck := pipelinetest.New(pipeline.Config{CloseTimeout: time.Second})
	stuck.SetBacklog(10)
	stuck.Close()
	stuck.Advance(900 * time.Millisecond)
	if stuck.IsClosed() {
		t.Fatal("closed before the timeout")
	}
	stuck.Advance(200 * time.Millisecond)
	if !stuck.IsClosed() {
		t.Fatal("close timeout not honoured")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	if err := stuck.Finish(); err != nil {
		t.Error(err)
	}
}

// PendingBytes counts what was written and not yet taken by the kernel:
// the unflushed batch and the transport's backlog; nothing once closed.
func TestPendingBytes(t *testing.T) {
	ch := pipelinetest.New()
	if n := ch.PendingBytes(); n != 0 {
		t.Fatalf("a new channel has %d pending", n)
	}
	ch.SetBacklog(100)
	if n := ch.PendingBytes(); n != 100 {
		t.Fatalf("pending %d, want the transport's 100", n)
	}
	ch.SetBacklog(0)
	ch.Close()
	ch.SetBacklog(50)
	if n := ch.PendingBytes(); n != 0 {
		t.Fatalf("a closed channel has %d pending", n)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// A negative CloseTimeout is refused by Normalize, which names it.
func TestNegativeCloseTimeoutIsRefused(t *testing.T) {
	cfg := pipeline.Config{CloseTimeout: -time.Second}
	if err := cfg.Normalize(); err == nil || !strings.Contains(err.Error(), "negative CloseTimeout") {
		t.Fatalf("error %v", err)
	}
}
