package layer_test

import (
	"bytes"
	"fmt"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// text decodes the WebSocket frames a channel was sent.
func text(ch *pipelinetest.Channel) []string {
	var out []string
	ch.RunPendingTasks() // what the loop does after a task: flush
	r := bytes.NewReader(ch.ReadOutboundBytes())
	for r.Len() > 0 {
		f, err := ws.ReadFrame(r)
		if err != nil {
			panic(err)
		}
		out = append(out, string(f.Payload))
	}
	return out
}

// A group send is encoded once and written to every member; a send by
// name reaches one channel. The same calls work on layer.Redis, across
// nodes.
func Example() {
	l := layer.NewLocal()
	alice, bob, carol := pipelinetest.New(), pipelinetest.New(), pipelinetest.New()
	for _, ch := range []*pipelinetest.Channel{alice, bob, carol} {
		l.Register(ch.Channel)
	}
	_ = l.GroupAdd("lobby", alice.Channel)
	_ = l.GroupAdd("lobby", bob.Channel)

	_ = l.GroupSend("lobby", layer.Message{Text: true, Data: []byte("hi lobby")})
	_ = l.Send(l.Name(carol.Channel), layer.Message{Text: true, Data: []byte("psst, carol")})
	_ = l.GroupDiscard("lobby", bob.Channel)
	_ = l.GroupSend("lobby", layer.Message{Text: true, Data: []byte("bob left")})

	fmt.Println("alice:", text(alice))
	fmt.Println("bob:  ", text(bob))
	fmt.Println("carol:", text(carol))
	fmt.Println("lobby members:", l.Members("lobby"))
	// Output:
	// alice: [hi lobby bob left]
	// bob:   [hi lobby]
	// carol: [psst, carol]
	// lobby members: 1
}
