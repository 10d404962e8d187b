package idle_test

import (
	"testing"
	"time"

	"github.com/gnetty/gnetty/handler/idle"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func events(ch *pipelinetest.Channel) []idle.Event {
	var out []idle.Event
	for ev := ch.ReadUserEvent(); ev != nil; ev = ch.ReadUserEvent() {
		out = append(out, ev.(idle.Event))
	}
	return out
}

func TestReaderIdleRepeatsAndResets(t *testing.T) {
	ch := pipelinetest.New(idle.New(idle.Config{ReaderIdle: 10 * time.Second}), pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {}))
	ch.Advance(9 * time.Second)
	if ev := events(ch); len(ev) != 0 {
		t.Fatalf("early %v", ev)
	}
	ch.Advance(time.Second)
	if ev := events(ch); len(ev) != 1 || ev[0] != (idle.Event{State: idle.ReaderIdle, First: true}) {
		t.Fatalf("at 10s %v", ev)
	}
	ch.Advance(10 * time.Second)
	if ev := events(ch); len(ev) != 1 || ev[0].First {
		t.Fatalf("at 20s %v", ev)
	}
	ch.WriteInbound("activity") // at 20s: counts from the end of this read
	ch.Advance(9 * time.Second)
	if ev := events(ch); len(ev) != 0 {
		t.Fatalf("fired %v 9s after a read", ev)
	}
	ch.Advance(time.Second)
	if ev := events(ch); len(ev) != 1 || !ev[0].First {
		t.Fatalf("after activity %v", ev)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestWriterAndAllIdle(t *testing.T) {
	ch := pipelinetest.New(idle.New(idle.Config{WriterIdle: 5 * time.Second, AllIdle: 8 * time.Second}))
	ch.Advance(4 * time.Second)
	ch.WriteOutbound("out") // flushed at 4s
	ch.ReadOutbound()
	ch.Advance(4 * time.Second) // 8s: writer idle since 4s is 4s; all idle since 4s too
	if ev := events(ch); len(ev) != 0 {
		t.Fatalf("at 8s %v", ev)
	}
	ch.Advance(time.Second) // 9s: writer idle 5s
	if ev := events(ch); len(ev) != 1 || ev[0].State != idle.WriterIdle {
		t.Fatalf("at 9s %v", ev)
	}
	ch.Advance(3 * time.Second) // 12s: all idle 8s
	if ev := events(ch); len(ev) != 1 || ev[0].State != idle.AllIdle || !ev[0].First {
		t.Fatalf("at 12s %v", ev)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestTimersStopWhenRemovedOrClosed(t *testing.T) {
	ch := pipelinetest.New()
	if err := ch.Pipeline().AddLast(idle.Name, idle.New(idle.Config{ReaderIdle: time.Second})); err != nil {
		t.Fatal(err)
	}
	ch.Advance(time.Second)
	if ev := events(ch); len(ev) != 1 {
		t.Fatalf("added to an active channel: %v", ev)
	}
	if _, err := ch.Pipeline().Remove("idle"); err != nil {
		t.Fatal(err)
	}
	ch.Advance(10 * time.Second)
	if ev := events(ch); len(ev) != 0 {
		t.Fatalf("fired after removal: %v", ev)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
