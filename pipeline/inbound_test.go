package pipeline_test

import (
	"testing"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

type request struct{ path string }

// paths is a struct handler built on Inbound: it takes *request reads and
// also handles user events, which must keep working beside the embedding.
type paths struct {
	pipeline.Inbound[*request]
	seen   []string
	events []any
}

func newPaths() *paths {
	p := &paths{}
	p.Inbound = pipeline.InboundOf[*request](p)
	return p
}

func (p *paths) HandleMessage(ctx *pipeline.Context, r *request) {
	p.seen = append(p.seen, r.path)
}

func (p *paths) HandleUserEvent(ctx *pipeline.Context, ev any) {
	p.events = append(p.events, ev)
	ctx.FireUserEvent(ev)
}

func TestInboundTakesItsTypeAndPassesTheRestOn(t *testing.T) {
	h := newPaths()
	ch := pipelinetest.New(h)
	ch.WriteInbound(&request{"/a"}, "not a request", 7, &request{"/b"})
	if len(h.seen) != 2 || h.seen[0] != "/a" || h.seen[1] != "/b" {
		t.Fatalf("handled %v, want [/a /b]", h.seen)
	}
	for _, want := range []any{"not a request", 7} {
		if got := ch.ReadInbound(); got != want {
			t.Fatalf("passed on %v, want %v", got, want)
		}
	}
	if got := ch.ReadInbound(); got != nil {
		t.Fatalf("a handled message reached the tail: %v", got)
	}
	ch.FireUserEvent("ev")
	if len(h.events) != 1 || ch.ReadUserEvent() != "ev" {
		t.Fatalf("user events of the embedding struct: %v", h.events)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestZeroInboundPassesEverythingOn(t *testing.T) {
	ch := pipelinetest.New(&struct{ pipeline.Inbound[*request] }{})
	r := &request{"/x"}
	ch.WriteInbound(r)
	if got := ch.ReadInbound(); got != r {
		t.Fatalf("tail got %v, want the request", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestMessageFunc(t *testing.T) {
	var got []string
	ch := pipelinetest.New(pipeline.MessageFunc[string](func(ctx *pipeline.Context, s string) {
		got = append(got, s)
		ctx.WriteAndFlush(s + "!")
	}))
	ch.WriteInbound("hi", []byte("raw"))
	if len(got) != 1 || got[0] != "hi" {
		t.Fatalf("handled %v", got)
	}
	if out := ch.ReadOutbound(); out != "hi!" {
		t.Fatalf("reply %v", out)
	}
	if b, _ := ch.ReadInbound().([]byte); string(b) != "raw" {
		t.Fatalf("bytes were not passed on")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
