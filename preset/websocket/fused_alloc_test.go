//go:build !race

package websocket

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/keepalive"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// countWrites counts the frames that reach the head and drops them.
type countWrites struct{ n *int }

func (w countWrites) HandleWrite(_ *pipeline.Context, msg any) {
	*w.n++
	pipeline.Release(msg)
}

func maskedFrame(op ws.OpCode, payload []byte) []byte {
	f := ws.MaskFrameInPlace(ws.NewFrame(op, true, append([]byte(nil), payload...)))
	b, err := ws.CompileFrame(f)
	if err != nil {
		panic(err)
	}
	return b
}

// A message through a fused connection, echoed from OnMessage the way
// the README teaches (WriteMessage), allocates nothing: read, unmask,
// validate, OnMessage, frame the answer, write.
func TestFusedEchoAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation test skipped with -short")
	}
	echo := Funcs{Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) }}
	r := &route{h: echo}
	r.ka.Normalize()
	f := newFusedConn(r, wsframe.Config{}, &upgrade.Handshake{})
	var written int
	ch := pipelinetest.New(countWrites{&written}, f)
	ch.Pipeline().FireUserEvent(&upgrade.Handshake{})
	for _, m := range []struct {
		op   ws.OpCode
		data string
	}{{ws.OpText, `{"type":"user","msg":"héllo"}`}, {ws.OpBinary, "\x00\x01\x02\xff"}} {
		frame := maskedFrame(m.op, []byte(m.data))
		buf := make([]byte, len(frame))
		for range 10 {
			copy(buf, frame)
			ch.Receive(buf)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			copy(buf, frame) // the codec unmasks in place
			if n := ch.Receive(buf); n != len(buf) {
				t.Fatalf("consumed %d of %d", n, len(buf))
			}
		})
		if written < 1000 {
			t.Fatalf("%v message: %d answers written, want one a message", m.op, written)
		}
		written = 0
		if allocs != 0 {
			t.Fatalf("%v message: read -> OnMessage -> WriteMessage allocated %.2f times", m.op, allocs)
		}
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// BenchmarkEcho runs one masked message through an upgraded connection
// and back (read, unmask, validate, OnMessage, WriteMessage, framing), on
// the fused connection and on the general chain (codec, keepalive,
// adapter as three handlers), without sockets.
func BenchmarkEcho(b *testing.B) {
	echo := Funcs{Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) }}
	for _, general := range []bool{false, true} {
		for _, size := range []int{64, 1024} {
			name := map[bool]string{false: "fused", true: "general"}[general]
			b.Run(fmt.Sprintf("%s/size=%d", name, size), func(b *testing.B) {
				r := &route{h: echo}
				r.ka.Normalize()
				var written int
				var ch *pipelinetest.Channel
				if general {
					a := &adapter{app: app{r: r}}
					a.Inbound = pipeline.InboundOf[*wsframe.Message](a)
					ch = pipelinetest.New(countWrites{&written}, wsframe.New(wsframe.Config{}), keepalive.New(r.ka), a)
				} else {
					ch = pipelinetest.New(countWrites{&written}, newFusedConn(r, wsframe.Config{}, &upgrade.Handshake{}))
				}
				ch.Pipeline().FireUserEvent(&upgrade.Handshake{})
				frame := maskedFrame(ws.OpText, bytes.Repeat([]byte("x"), size))
				buf := make([]byte, len(frame))
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					copy(buf, frame)
					ch.Receive(buf)
				}
				if written == 0 {
					b.Fatal("nothing echoed")
				}
			})
		}
	}
}
