package ack_test

import (
	"fmt"
	"time"

	"github.com/gnetty/gnetty/handler/ws/ack"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// A message is sent again with the same ID until it is acknowledged; the
// test channel's fake clock stands in for the retry timeout.
func ExampleTracker() {
	t := ack.New(ack.Config{Timeout: 5 * time.Second, Write: func(ctx *pipeline.Context, data []byte) {
		ctx.WriteAndFlush(data) // plain bytes here; a WebSocket text message by default
	}})
	ch := pipelinetest.New(t)
	sent := func() {
		for m := ch.ReadOutbound(); m != nil; m = ch.ReadOutbound() {
			fmt.Printf("sent %s\n", m)
		}
	}
	t.Send("lobby", 7, []byte(`{"id":7,"msg":"hello"}`))
	sent()
	ch.Advance(5 * time.Second) // no ack in time: sent again, same id
	sent()
	fmt.Println("pending:", t.Pending("lobby"))
	t.AckUpTo("lobby", 7) // cumulative: everything up to 7 arrived
	ch.Advance(time.Minute)
	sent()
	fmt.Println("pending:", t.Pending("lobby"))
	// Output:
	// sent {"id":7,"msg":"hello"}
	// sent {"id":7,"msg":"hello"}
	// pending: [7]
	// pending: []
}
