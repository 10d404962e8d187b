//go:build !race

package pipeline_test

import "testing"

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
