//go:build !race

package wsframe_test

import (
	"testing"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestTextMessageRoundTripAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation test skipped with -short")
	}
	ch := pipelinetest.New(dropWrites{}, wsframe.New(wsframe.Config{}), echo)
	frame := clientFrame(true, 0, ws.OpText, []byte(`{"type":"user","msg":"hi"}`))
	buf := make([]byte, len(frame))
	for range 10 {
		copy(buf, frame)
		ch.Receive(buf)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, frame) // the codec unmasks in place
		if n := ch.Receive(buf); n != len(buf) {
			t.Fatalf("consumed %d", n)
		}
	})
	if allocs != 0 {
		t.Fatalf("read -> echo -> write allocated %.2f times", allocs)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
