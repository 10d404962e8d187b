package pipeline_test

import (
	"fmt"
	"testing"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

type passThrough struct{}

func (passThrough) HandleRead(ctx *pipeline.Context, msg any) { ctx.FireRead(msg) }

// consume ends a chain: it takes every byte it is given.
type consume struct{ n int }

func (c *consume) HandleRead(ctx *pipeline.Context, msg any) {
	b := msg.(*pipeline.Bytes)
	c.n += b.Len()
	b.Skip(b.Len())
}

// newChain is a test channel with n pass-through handlers before a sink.
func newChain(tb testing.TB, n int) (*pipelinetest.Channel, *consume) {
	hs := make([]any, 0, n+1)
	for range n {
		hs = append(hs, passThrough{})
	}
	sink := &consume{}
	hs = append(hs, sink)
	return pipelinetest.New(hs...), sink
}

// BenchmarkRead measures one read (Channel.Receive: the transport's entry,
// including read-complete) through n pass-through handlers. Subtract the
// n=0 figure and divide by n for the cost of one handler.
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{0, 1, 5, 10} {
		b.Run(fmt.Sprintf("handlers=%d", n), func(b *testing.B) {
			ch, _ := newChain(b, n)
			data := []byte("hello, pipeline\n")
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				ch.Receive(data)
			}
		})
	}
}

// BenchmarkFireRead measures the propagation alone: FireRead from the head
// through n pass-through handlers into a sink.
func BenchmarkFireRead(b *testing.B) {
	for _, n := range []int{1, 5, 10} {
		b.Run(fmt.Sprintf("handlers=%d", n), func(b *testing.B) {
			ch, _ := newChain(b, n)
			data := []byte("x")
			msg := pipeline.NewBytes(data)
			p := ch.Pipeline()
			b.ReportAllocs()
			for b.Loop() {
				msg.Reset(data)
				p.FireRead(msg)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/handler")
		})
	}
}

// BenchmarkTypedRead compares a read handled through pipeline.Inbound[T]
// (assert, then an interface call) with a plain ReadHandler doing the
// same assertion by hand.
func BenchmarkTypedRead(b *testing.B) {
	req := &request{"/a"}
	b.Run("inbound", func(b *testing.B) {
		h := newPaths()
		ch := pipelinetest.New(h)
		b.ReportAllocs()
		for range b.N {
			h.seen = h.seen[:0]
			ch.Pipeline().FireRead(req)
		}
	})
	b.Run("by-hand", func(b *testing.B) {
		var seen []string
		ch := pipelinetest.New(pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			r, ok := msg.(*request)
			if !ok {
				ctx.FireRead(msg)
				return
			}
			seen = append(seen[:0], r.path)
		}))
		b.ReportAllocs()
		for range b.N {
			ch.Pipeline().FireRead(req)
		}
	})
}
