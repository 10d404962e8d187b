package keepalive_test

import (
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/keepalive"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func mask(op ws.OpCode, payload []byte) []byte {
	out := []byte{0x80 | byte(op), 0x80 | byte(len(payload)), 1, 2, 3, 4}
	p := append([]byte(nil), payload...)
	ws.Cipher(p, [4]byte{1, 2, 3, 4}, 0)
	return append(out, p...)
}

func opcodes(b []byte) []ws.OpCode {
	var ops []ws.OpCode
	for len(b) >= 2 {
		n := int(b[1] & 0x7F)
		ops = append(ops, ws.OpCode(b[0]&0x0F))
		b = b[2+n:]
	}
	return ops
}

func setup(t *testing.T) *pipelinetest.Channel {
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}))
	if err := ch.Pipeline().AddLast(keepalive.Name, keepalive.New(keepalive.Config{PingInterval: 10 * time.Second, PongTimeout: 5 * time.Second})); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestPingsWhenIdleAndStaysOpenOnPong(t *testing.T) {
	ch := setup(t)
	ch.Advance(9 * time.Second)
	if ops := opcodes(ch.ReadOutboundBytes()); len(ops) != 0 {
		t.Fatalf("pinged early: %v", ops)
	}
	ch.WriteInbound(mask(ws.OpText, []byte("hi"))) // activity at 9s
	ch.ReadInbound()
	ch.Advance(10 * time.Second) // 19s: idle 10s since 9s
	out := ch.ReadOutboundBytes()
	if ops := opcodes(out); len(ops) != 1 || ops[0] != ws.OpPing {
		t.Fatalf("no ping at 19s: %v", ops)
	}
	ch.Advance(2 * time.Second)
	ch.WriteInbound(mask(ws.OpPong, out[2:10]))
	var rtt time.Duration
	for ev := ch.ReadUserEvent(); ev != nil; ev = ch.ReadUserEvent() {
		if p, ok := ev.(keepalive.Pong); ok {
			rtt = p.RTT
		}
	}
	if rtt != 2*time.Second {
		t.Fatalf("RTT %v", rtt)
	}
	ch.Advance(5 * time.Second)
	if ch.IsClosed() {
		t.Fatal("closed although the pong came")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// Pings keep their interval when the pong timeout is longer than it: the
// next ping is due a silence after the pong, not after the ping's deadline.
func TestPingIntervalShorterThanPongTimeout(t *testing.T) {
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}))
	if err := ch.Pipeline().AddLast(keepalive.Name, keepalive.New(keepalive.Config{PingInterval: 10 * time.Second, PongTimeout: 20 * time.Second})); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ch.Advance(10 * time.Second)
		out := ch.ReadOutboundBytes()
		if ops := opcodes(out); len(ops) != 1 || ops[0] != ws.OpPing {
			t.Fatalf("ping %d: %v", i, ops)
		}
		ch.WriteInbound(mask(ws.OpPong, out[2:10])) // answered at once
		for ch.ReadUserEvent() != nil {
		}
	}
	if ch.IsClosed() {
		t.Fatal("closed although every pong came")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// Bytes count as life before they make a message: a large frame that is
// still arriving holds the ping back.
func TestPartOfAFrameCountsAsLife(t *testing.T) {
	ch := setup(t)
	frame := mask(ws.OpBinary, make([]byte, 100))
	ch.Advance(9 * time.Second)
	ch.WriteInbound(frame[:40]) // at 9s, part of a frame
	ch.Advance(2 * time.Second) // 11s: 2s since the bytes
	if ops := opcodes(ch.ReadOutboundBytes()); len(ops) != 0 {
		t.Fatalf("pinged a connection whose frame is arriving: %v", ops)
	}
	ch.WriteInbound(frame[40:])
	if m := ch.ReadInbound(); m == nil {
		t.Fatal("the frame did not arrive whole")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestClosesWhenPongNeverComes(t *testing.T) {
	ch := setup(t)
	ch.Advance(10 * time.Second) // ping
	ch.Advance(5 * time.Second)  // no pong
	var timeout bool
	for ev := ch.ReadUserEvent(); ev != nil; ev = ch.ReadUserEvent() {
		if _, ok := ev.(keepalive.Timeout); ok {
			timeout = true
		}
	}
	ops := opcodes(ch.ReadOutboundBytes())
	if !timeout || len(ops) != 2 || ops[0] != ws.OpPing || ops[1] != ws.OpClose {
		t.Fatalf("timeout %v frames %v", timeout, ops)
	}
	if !ch.IsClosed() {
		t.Fatal("not closed")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestPeerPingCountsAsLife(t *testing.T) {
	ch := setup(t)
	for range 5 {
		ch.Advance(8 * time.Second)
		ch.WriteInbound(mask(ws.OpPing, []byte("x")))
	}
	ops := opcodes(ch.ReadOutboundBytes())
	for _, op := range ops {
		if op != ws.OpPong {
			t.Fatalf("server sent %v while the peer pinged every 8s", ops)
		}
	}
	for ch.ReadUserEvent() != nil {
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
