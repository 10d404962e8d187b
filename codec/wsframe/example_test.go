package wsframe_test

import (
	"bytes"
	"fmt"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// maskedFrame is what a browser sends: a masked frame.
func maskedFrame(op ws.OpCode, payload []byte) []byte {
	var buf bytes.Buffer
	f := ws.MaskFrameInPlace(ws.NewFrame(op, true, append([]byte(nil), payload...)))
	if err := ws.WriteFrame(&buf, f); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// serverFrames parses what the codec wrote.
func serverFrames(wire []byte) {
	r := bytes.NewReader(wire)
	for r.Len() > 0 {
		f, err := ws.ReadFrame(r)
		if err != nil {
			panic(err)
		}
		if f.Header.OpCode == ws.OpClose {
			code, reason := ws.ParseCloseFrameData(f.Payload)
			fmt.Printf("server sent close %d %q\n", code, reason)
			continue
		}
		fmt.Printf("server sent %s %q (masked: %v)\n", opName(f.Header.OpCode), f.Payload, f.Header.Masked)
	}
}

func opName(op ws.OpCode) string {
	switch op {
	case ws.OpText:
		return "text"
	case ws.OpBinary:
		return "binary"
	case ws.OpPong:
		return "pong"
	}
	return fmt.Sprint(op)
}

// The frame codec after a handshake: masked client frames in, whole
// messages to the handler, unmasked server frames out. Pings are answered
// by the codec itself.
func Example() {
	echo := pipeline.MessageFunc[*wsframe.Message](func(ctx *pipeline.Context, m *wsframe.Message) {
		fmt.Printf("handler got %q\n", m.Data)
		ctx.WriteAndFlush(wsframe.AcquireMessage(m.Op, m.Data)) // m.Data is valid only until we return
	})
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}), echo)

	ch.WriteInbound(maskedFrame(ws.OpText, []byte("hello")))
	ch.WriteInbound(maskedFrame(ws.OpPing, []byte("are you there?")))
	serverFrames(ch.ReadOutboundBytes())
	fmt.Printf("event: %T\n", ch.ReadUserEvent()) // keepalive handlers count pings as signs of life
	if err := ch.Finish(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// handler got "hello"
	// server sent text "hello" (masked: false)
	// server sent pong "are you there?" (masked: false)
	// event: wsframe.PingReceived
}

// A protocol violation is answered with the right close code: here an
// unmasked client frame (1002) and invalid UTF-8 in a text frame (1007).
func Example_closeCodes() {
	for _, in := range [][]byte{
		func() []byte {
			var b bytes.Buffer
			_ = ws.WriteFrame(&b, ws.NewTextFrame([]byte("unmasked")))
			return b.Bytes()
		}(),
		maskedFrame(ws.OpText, []byte{0xff, 0xfe}),
	} {
		ch := pipelinetest.New(wsframe.New(wsframe.Config{}))
		ch.WriteInbound(in)
		serverFrames(ch.ReadOutboundBytes())
		fmt.Println("error:", ch.ReadError())
		_ = ch.Finish()
	}
	// Output:
	// server sent close 1002 "frames from client to server must be masked"
	// error: wsframe: close 1002: frames from client to server must be masked
	// server sent close 1007 "invalid UTF-8 in text message"
	// error: wsframe: close 1007: invalid UTF-8 in text message
}
