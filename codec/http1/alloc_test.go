//go:build !race

package http1_test

import (
	"testing"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestDecodeSimpleGETAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation test skipped with -short")
	}
	rel := &releaser{answer: true}
	ch := pipelinetest.New(dropWrites{}, http1.NewServerCodec(http1.Config{}), rel)
	req := []byte(browserGET)
	for range 10 { // warm the pools
		ch.Receive(req)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if n := ch.Receive(req); n != len(req) {
			t.Fatalf("consumed %d", n)
		}
	})
	if allocs != 0 {
		t.Fatalf("decoding a GET allocated %.1f times", allocs)
	}
	if rel.hosts < 1000 {
		t.Fatalf("header lookup failed: %d", rel.hosts)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
