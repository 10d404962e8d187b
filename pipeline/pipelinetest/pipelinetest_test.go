package pipelinetest_test

import (
	"strings"
	"testing"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// recordingTB captures what Finish reports.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}
func (r *recordingTB) Helper() {}

func TestFinishReportsLeftovers(t *testing.T) {
	rec := &recordingTB{TB: t}
	ch := pipelinetest.New(rec, pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		ctx.WriteAndFlush(msg)
		ctx.FireRead(msg)
		ctx.FireError(errUnread)
		ctx.FireUserEvent("ev")
	}))
	ch.WriteInbound("m")
	ch.Finish()
	if len(rec.errs) != 4 {
		t.Fatalf("Finish reported %d problems, want 4 (inbound, outbound, error, event): %v", len(rec.errs), rec.errs)
	}
	for i, want := range []string{"inbound", "outbound", "error", "user event"} {
		if !strings.Contains(rec.errs[i], want) {
			t.Errorf("report %d = %q, want it to mention %s", i, rec.errs[i], want)
		}
	}
}

var errUnread = &unreadErr{}

type unreadErr struct{}

func (*unreadErr) Error() string { return "unread" }

func TestReadOutboundBytesAndUnconsumed(t *testing.T) {
	ch := pipelinetest.New(t)
	ch.WriteOutbound([]byte("a"), "b", pipeline.NewBytes([]byte("c")))
	if got := string(ch.ReadOutboundBytes()); got != "abc" {
		t.Fatalf("got %q", got)
	}
	ch.Finish()
	if !ch.IsClosed() {
		t.Fatal("Finish did not close")
	}
}
