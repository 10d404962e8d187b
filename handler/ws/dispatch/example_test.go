package dispatch_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

type say struct {
	Type string `json:"type"`
	Msg  string `json:"msg"`
}

type said struct {
	Type string `json:"type"`
	Msg  string `json:"msg"`
}

// JSON text messages routed by their "type" to typed handlers, with a
// reply, a validation error and an unknown type: every failure is
// answered to the sender and the connection stays open.
func Example() {
	d := dispatch.New(dispatch.Config{Key: "type", Logger: slog.New(slog.DiscardHandler)})
	dispatch.On(d, "say", func(c *dispatch.Ctx, m *say) error {
		if m.Msg == "" {
			return errors.New("say needs a msg")
		}
		return c.Reply(said{Type: "said", Msg: strings.ToUpper(m.Msg)})
	})
	ch := pipelinetest.New(d)
	for _, in := range []string{
		`{"type":"say","msg":"hello"}`,
		`{"type":"say"}`,
		`{"type":"shout","msg":"?"}`,
		`not json`,
	} {
		ch.WriteInbound(&wsframe.Message{Op: ws.OpText, Data: []byte(in)})
		out := ch.ReadOutbound().(*wsframe.Message)
		fmt.Println(string(out.Data))
	}
	fmt.Println("open:", !ch.IsClosed())
	_ = ch.Finish()
	// Output:
	// {"type":"said","msg":"HELLO"}
	// {"type":"error","code":"handler_error","msg":"say needs a msg"}
	// {"type":"error","code":"unknown_event","msg":"unknown type \"shout\""}
	// {"type":"error","code":"invalid_json","msg":"message is not valid JSON"}
	// open: true
}
