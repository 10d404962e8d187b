package upgrade_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// An upgrade on a route: 101, then the same pipeline speaks WebSocket
// (the HTTP codec replaced by the frame codec, the HTTP-only handlers
// gone, the application's handlers installed), all in the middle of the
// read that carried the request.
func ExampleNew() {
	echo := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		if m, ok := msg.(*wsframe.Message); ok {
			ctx.WriteAndFlush(wsframe.AcquireMessage(m.Op, m.Data))
		}
	})
	r := router.New()
	_ = r.Handle("GET", "/ws", upgrade.New(upgrade.Config{
		Install: func(p *pipeline.Pipeline, hs *upgrade.Handshake) error { return p.AddLast("echo", echo) },
	}))
	ch := pipelinetest.New()
	_ = router.Front{Router: r}.Install(ch.Pipeline())
	ch.WriteInbound([]byte("GET /ws HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	br := bufio.NewReader(bytes.NewReader(ch.ReadOutboundBytes()))
	resp, _ := http.ReadResponse(br, nil)
	fmt.Println(resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	fmt.Println(ch.Pipeline().Names())
	// A masked text frame "hi" from the client, echoed unmasked.
	ch.WriteInbound([]byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2})
	fmt.Printf("%q\n", ch.ReadOutboundBytes())
	for ch.ReadUserEvent() != nil {
	}
	// Output:
	// 101 Switching Protocols s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// [ws echo]
	// "\x81\x02hi"
}
