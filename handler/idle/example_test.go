package idle_test

import (
	"fmt"
	"time"

	"github.com/gnetty/gnetty/handler/idle"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// A connection that reads nothing for a minute is closed; the test
// channel's fake clock stands in for the minute.
func ExampleNew() {
	closeIdle := pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
		if e, ok := ev.(idle.Event); ok && e.State == idle.ReaderIdle {
			fmt.Println("reader idle, first:", e.First)
			ctx.Close()
			return
		}
		ctx.FireUserEvent(ev)
	})
	ch := pipelinetest.New(idle.New(idle.Config{ReaderIdle: time.Minute}), closeIdle)
	ch.Advance(59 * time.Second)
	fmt.Println("closed after 59 s:", ch.IsClosed())
	ch.Advance(time.Second)
	fmt.Println("closed after 60 s:", ch.IsClosed())
	// Output:
	// closed after 59 s: false
	// reader idle, first: true
	// closed after 60 s: true
}
