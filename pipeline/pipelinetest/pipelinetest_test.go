package pipelinetest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestFinishReportsLeftovers(t *testing.T) {
	ch := pipelinetest.New(pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		ctx.WriteAndFlush(msg)
		ctx.FireRead(msg)
		ctx.FireError(errUnread)
		ctx.FireUserEvent("ev")
	}))
	ch.WriteInbound("m")
	err := ch.Finish()
	if err == nil {
		t.Fatal("Finish reported nothing, want inbound, outbound, error and event leftovers")
	}
	for _, want := range []string{"inbound", "outbound", "error", "user event"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Finish = %q, want it to mention %s", err, want)
		}
	}
	if !errors.Is(err, errUnread) {
		t.Errorf("Finish = %v, want it to wrap the unread error", err)
	}
	if err := ch.Finish(); err != nil {
		t.Errorf("second Finish = %v, want nil", err)
	}
}

func TestFinishIsNilWhenEverythingWasRead(t *testing.T) {
	ch := pipelinetest.New(pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) { ctx.WriteAndFlush(msg) }))
	ch.WriteInbound("m")
	if got := ch.ReadOutbound(); got != "m" {
		t.Fatalf("outbound = %v", got)
	}
	if err := ch.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestMisusePanicsWithAMessage(t *testing.T) {
	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			if s, _ := r.(string); !strings.Contains(s, want) {
				t.Errorf("%s: panic %v, want one mentioning %q", name, r, want)
			}
		}()
		f()
	}
	mustPanic("bad config", "pipelinetest", func() {
		pipelinetest.New(pipeline.Config{HighWaterMark: 10, LowWaterMark: 20})
	})
	mustPanic("not a handler", "adding int", func() { pipelinetest.New(42) })
	mustPanic("closed", "closed channel", func() {
		ch := pipelinetest.New()
		ch.Close()
		ch.WriteInbound("late")
	})
	mustPanic("not bytes", "is not bytes", func() {
		ch := pipelinetest.New()
		ch.WriteOutbound(42)
		ch.ReadOutboundBytes()
	})
}

var errUnread = &unreadErr{}

type unreadErr struct{}

func (*unreadErr) Error() string { return "unread" }

func TestReadOutboundBytesAndUnconsumed(t *testing.T) {
	ch := pipelinetest.New()
	ch.WriteOutbound([]byte("a"), "b", pipeline.NewBytes([]byte("c")))
	if got := string(ch.ReadOutboundBytes()); got != "abc" {
		t.Fatalf("got %q", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	if !ch.IsClosed() {
		t.Fatal("Finish did not close")
	}
}
