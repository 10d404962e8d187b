package pipeline

import (
	"log/slog"
	"testing"
)

// pendingTransport holds its output (a peer that reads nothing).
type pendingTransport struct {
	sizeTransport
	pending, closes int
}

func (t *pendingTransport) Write(msg any) error {
	t.pending += Size(msg)
	Release(msg)
	return nil
}
func (t *pendingTransport) Pending() int { return t.pending }
func (t *pendingTransport) Close()       { t.closes++ }

type panicOnRead struct{}

func (panicOnRead) HandleRead(ctx *Context, msg any) {
	ctx.WriteAndFlush([]byte("half an answer"))
	panic("boom")
}

// A channel closing after a panic has no graceful deadline (and so no
// extension): with output still pending, the transport's next writability
// update closes it instead of dereferencing a missing deadline.
func TestClosingAfterAPanicWithOutputPending(t *testing.T) {
	tr := &pendingTransport{}
	tr.loop = newSizeLoop()
	ch := NewChannel(tr, Config{Logger: slog.New(slog.DiscardHandler)})
	if err := ch.Pipeline().AddLast("p", panicOnRead{}); err != nil {
		t.Fatal(err)
	}
	ch.Activate()
	ch.Receive([]byte("x"))
	if tr.closes != 1 || tr.pending == 0 || ch.ext.Load() != nil {
		t.Fatalf("after the panic: closes %d, pending %d, extension %v", tr.closes, tr.pending, ch.ext.Load())
	}
	ch.UpdateWritability()
	if tr.closes != 2 {
		t.Fatalf("the update after the panic closed %d times, want once more", tr.closes-1)
	}
}
