package pipelinetest_test

import (
	"fmt"
	"time"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// A handler that closes the channel one minute after it became active,
// tested by advancing the fake clock.
func Example() {
	closer := pipeline.ActiveFunc(func(ctx *pipeline.Context) {
		ctx.EventLoop().Schedule(time.Minute, func() { ctx.Close() })
	})
	ch := pipelinetest.New(closer)
	ch.Advance(59 * time.Second)
	fmt.Println("closed after 59s:", ch.IsClosed())
	ch.Advance(time.Second)
	fmt.Println("closed after 60s:", ch.IsClosed())
	// Output:
	// closed after 59s: false
	// closed after 60s: true
}
