//go:build !race

package pipeline_test

import (
	"testing"

	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

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
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestTypedInboundAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation test skipped with -short")
	}
	h := newPaths()
	ch := pipelinetest.New(h)
	req := &request{"/a"}
	allocs := testing.AllocsPerRun(1000, func() {
		h.seen = h.seen[:0]
		ch.Pipeline().FireRead(req)
	})
	if allocs != 0 {
		t.Fatalf("a typed read allocated %.1f times", allocs)
	}
	if len(h.seen) != 1 {
		t.Fatal("the typed handler did not see the request")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
