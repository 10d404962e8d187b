package pipeline_test

import (
	"fmt"
	"strings"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// upper is an inbound handler that transforms strings and passes them on.
type upper struct{}

func (upper) HandleRead(ctx *pipeline.Context, msg any) {
	if s, ok := msg.(string); ok {
		msg = strings.ToUpper(s)
	}
	ctx.FireRead(msg)
}

// A pipeline of two handlers; a reply written from the last one travels
// back towards the head.
func Example() {
	reply := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		ctx.WriteAndFlush(fmt.Sprintf("got %v", msg))
	})
	ch := pipelinetest.New(upper{}, reply)
	ch.WriteInbound("hello")
	fmt.Println(ch.ReadOutbound())
	// Output: got HELLO
}

// Handlers can change the pipeline while an event is passing.
func ExamplePipeline_Replace() {
	var once pipeline.ReadFunc = func(ctx *pipeline.Context, msg any) {
		fmt.Println("first:", msg)
		_, _ = ctx.Pipeline().Replace(ctx.Name(), "rest", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			fmt.Println("then:", msg)
		}))
	}
	ch := pipelinetest.New()
	_ = ch.Pipeline().AddLast("once", once)
	ch.WriteInbound("a", "b", "c")
	fmt.Println(ch.Pipeline().Names())
	// Output:
	// first: a
	// then: b
	// then: c
	// [rest]
}

// Typed per-channel attributes.
func ExampleAttrKey() {
	user := pipeline.NewAttrKey[string]("user")
	ch := pipelinetest.New()
	user.Set(ch.Channel, "ann")
	name, ok := user.Get(ch.Channel)
	fmt.Println(name, ok)
	// Output: ann true
}
