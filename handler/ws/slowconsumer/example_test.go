package slowconsumer_test

import (
	"fmt"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/slowconsumer"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
	"github.com/gobwas/ws"
)

// A reader that lets its output pile up past the limit is closed with a
// close frame that says why; it never holds up anyone else.
func ExampleNew() {
	stats := &slowconsumer.Stats{}
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}), slowconsumer.New(slowconsumer.Config{Limit: 1 << 10, Code: 1013, Stats: stats}))
	ch.WriteOutbound(wsframe.AcquireMessage(ws.OpText, []byte("read me")))
	fmt.Println("sent:", len(ch.ReadOutboundBytes()) > 0, "closed:", ch.IsClosed())
	ch.SetBacklog(4 << 10) // the peer stopped reading: 4 KiB wait in the kernel
	ch.WriteOutbound(wsframe.AcquireMessage(ws.OpText, []byte("and this")))
	out := ch.ReadOutboundBytes()
	ch.SetBacklog(0)
	for ch.ReadUserEvent() != nil {
	}
	fmt.Printf("close %d %q, disconnected %d\n", int(out[2])<<8|int(out[3]), out[4:], stats.Disconnected.Load())
	// Output:
	// sent: true closed: false
	// close 1013 "slow consumer: over 1024 bytes queued", disconnected 1
}
