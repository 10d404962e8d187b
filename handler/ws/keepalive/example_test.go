package keepalive_test

import (
	"fmt"
	"time"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/keepalive"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// After PingInterval of silence the server pings; with no answer within
// PongTimeout it closes with 1001. The fake clock stands in for the wait.
func ExampleNew() {
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}), keepalive.New(keepalive.Config{PingInterval: 25 * time.Second, PongTimeout: 20 * time.Second}))
	frames := func() {
		out := ch.ReadOutboundBytes()
		for len(out) >= 2 {
			op, n := out[0]&0x0f, int(out[1]&0x7f)
			switch op {
			case 0x9:
				fmt.Println("ping")
			case 0x8:
				fmt.Println("close", int(out[2])<<8|int(out[3]), string(out[4:2+n]))
			}
			out = out[2+n:]
		}
	}
	ch.Advance(25 * time.Second)
	frames()
	ch.Advance(20 * time.Second)
	frames()
	for ch.ReadUserEvent() != nil { // the Timeout event, for handlers after it
	}
	ch.Advance(5 * time.Second) // wsframe.Config.CloseTimeout: the peer gets that long to answer the close
	fmt.Println("closed:", ch.IsClosed())
	// Output:
	// ping
	// close 1001 ping timeout
	// closed: true
}
