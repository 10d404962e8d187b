package pipeline_test

import (
	"testing"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// producer is Netty's flow-controlled producer: it writes chunks while the
// channel is writable and resumes when it becomes writable again.
type producer struct {
	total, chunk, sent int
	events             []bool
}

func (p *producer) pump(ctx *pipeline.Context) {
	for p.sent < p.total && ctx.Channel().IsWritable() {
		n := min(p.chunk, p.total-p.sent)
		ctx.Write(make([]byte, n))
		p.sent += n
	}
	ctx.Flush()
}

func (p *producer) HandleActive(ctx *pipeline.Context) { p.pump(ctx); ctx.FireActive() }

func (p *producer) HandleWritabilityChanged(ctx *pipeline.Context, writable bool) {
	p.events = append(p.events, writable)
	if writable {
		p.pump(ctx)
	}
	ctx.FireWritabilityChanged(writable)
}

// TestProducerNeverStallsWhenTheStateFlipsBack: the transport drains at
// once (a large socket buffer), so the channel turns unwritable and back
// before either event has run. Both edges are still reported, in order,
// and the producer gets to the end. (Before: both events were dropped and
// the producer stopped after the first 64 KiB for good.)
func TestProducerNeverStallsWhenTheStateFlipsBack(t *testing.T) {
	for _, chunk := range []int{512, 4096, 16384} {
		p := &producer{total: 4 << 20, chunk: chunk}
		ch := pipelinetest.New(p)
		for range 10000 {
			if p.sent == p.total {
				break
			}
			ch.ReadOutboundBytes()
			ch.RunPendingTasks()
		}
		if p.sent != p.total {
			t.Fatalf("chunk %d: the producer stalled at %d of %d bytes; events %v", chunk, p.sent, p.total, p.events[:min(len(p.events), 6)])
		}
		for i, w := range p.events {
			if w != (i%2 == 1) {
				t.Fatalf("chunk %d: events do not alternate from false: %v", chunk, p.events[:min(len(p.events), 10)])
			}
		}
		ch.ReadOutboundBytes()
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
}

// TestWritabilityFollowsABacklog: with a slow peer (a backlog the test
// sets), writable=false fires above the high mark and writable=true once
// the backlog falls under the low mark, and the producer finishes.
func TestWritabilityFollowsABacklog(t *testing.T) {
	p := &producer{total: 1 << 20, chunk: 4096}
	ch := pipelinetest.New(pipeline.Config{HighWaterMark: 64 << 10, LowWaterMark: 32 << 10}, p)
	for steps := 0; p.sent < p.total; steps++ {
		if steps > 10000 {
			t.Fatalf("stalled at %d", p.sent)
		}
		ch.ReadOutboundBytes()
		ch.SetBacklog(100 << 10) // the peer has not read: unwritable
		if ch.IsWritable() {
			t.Fatal("writable above the high mark")
		}
		ch.SetBacklog(10 << 10) // the peer read: below the low mark
		ch.RunPendingTasks()
	}
	if len(p.events) < 2 || p.events[0] || !p.events[1] {
		t.Fatalf("events %v", p.events[:min(len(p.events), 6)])
	}
	ch.SetBacklog(0)
	ch.ReadOutboundBytes()
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
