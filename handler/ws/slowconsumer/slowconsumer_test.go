package slowconsumer_test

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/slowconsumer"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestSlowReaderIsClosedWithACode(t *testing.T) {
	stats := &slowconsumer.Stats{}
	ch := pipelinetest.New(pipeline.Config{CloseTimeout: 1}, wsframe.New(wsframe.Config{}), slowconsumer.New(slowconsumer.Config{Limit: 1000, Stats: stats}))
	msg := bytes.Repeat([]byte("x"), 300)
	ch.WriteOutbound(wsframe.AcquireMessage(ws.OpBinary, msg))
	ch.ReadOutboundBytes()
	ch.SetBacklog(800) // the peer stopped reading
	ch.WriteOutbound(wsframe.AcquireMessage(ws.OpBinary, msg))
	out := ch.ReadOutboundBytes()
	if bytes.Contains(out, msg) {
		t.Fatal("message written past the limit")
	}
	if len(out) < 4 || out[0] != 0x88 || uint16(out[2])<<8|uint16(out[3]) != uint16(ws.StatusPolicyViolation) || !bytes.Contains(out, []byte("slow consumer")) {
		t.Fatalf("no close frame 1008 with a reason: %q", out)
	}
	if ev, ok := ch.ReadUserEvent().(slowconsumer.Disconnected); !ok || ev.Limit != 1000 {
		t.Fatalf("event %+v", ev)
	}
	if stats.Disconnected.Load() != 1 {
		t.Fatal("not counted")
	}
	ch.WriteOutbound(wsframe.AcquireMessage(ws.OpBinary, msg))
	if out := ch.ReadOutboundBytes(); len(out) != 0 {
		t.Fatalf("wrote after the disconnect: %q", out)
	}
	ch.SetBacklog(0)
	ch.Advance(1e9)
	if !ch.IsClosed() {
		t.Fatal("not closed")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestFastReaderIsUntouched(t *testing.T) {
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}), slowconsumer.New(slowconsumer.Config{Limit: 1000}))
	for range 100 {
		ch.WriteOutbound(wsframe.AcquireMessage(ws.OpBinary, bytes.Repeat([]byte("y"), 500)))
		ch.ReadOutboundBytes()
	}
	if ch.IsClosed() {
		t.Fatal("closed a reader that keeps up")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
