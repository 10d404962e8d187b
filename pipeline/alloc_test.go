//go:build !race

package pipeline_test

import (
	"testing"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

type passThrough struct{}

func (passThrough) HandleRead(ctx *pipeline.Context, msg any) { ctx.FireRead(msg) }

type consume struct{ n int }

func (c *consume) HandleRead(ctx *pipeline.Context, msg any) {
	b := msg.(*pipeline.Bytes)
	c.n += b.Len()
	b.Skip(b.Len())
}

func newChain(tb testing.TB, n int) (*pipelinetest.Channel, *consume) {
	hs := make([]any, 0, n+1)
	for range n {
		hs = append(hs, passThrough{})
	}
	sink := &consume{}
	hs = append(hs, sink)
	return pipelinetest.New(tb, hs...), sink
}

func TestReadThroughPassThroughHandlersAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation test skipped with -short")
	}
	ch, sink := newChain(t, 10)
	data := []byte("hello, pipeline\n")
	allocs := testing.AllocsPerRun(1000, func() {
		if n := ch.Receive(data); n != len(data) {
			t.Fatalf("consumed %d", n)
		}
	})
	if allocs != 0 {
		t.Fatalf("a read through 10 handlers allocated %.1f times", allocs)
	}
	if sink.n == 0 {
		t.Fatal("nothing reached the sink")
	}
	ch.Finish()
}
