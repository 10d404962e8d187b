package pipeline_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// TestPanicsAreNoLogAmplifier: 2,000 channels whose handler panics on
// their first message write a bounded log (a few stacks, then one line
// each up to the rate, then counts), and every one of them is still
// closed and reported as a *PanicError.
func TestPanicsAreNoLogAmplifier(t *testing.T) {
	var out servertest.Log
	logger := slog.New(slog.NewTextHandler(&out, nil))
	boom := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) { panic("bad input " + strings.Repeat("x", 4096)) })
	start := time.Now()
	for i := range 2000 {
		ch := pipelinetest.New(pipeline.Config{Logger: logger}, boom)
		ch.WriteInbound("m")
		if !ch.IsClosed() {
			t.Fatalf("channel %d left open after a panic", i)
		}
		if _, ok := ch.ReadError().(*pipeline.PanicError); !ok {
			t.Fatalf("channel %d: no PanicError", i)
		}
		_ = ch.Finish()
	}
	seconds := int(time.Since(start)/time.Second) + 2 // the windows the loop touched
	log := out.String()
	if n := strings.Count(log, "stack="); n < 1 || n > pipeline.PanicStacksPerMinute {
		t.Fatalf("%d stacks logged, want 1..%d", n, pipeline.PanicStacksPerMinute)
	}
	// Bound: the stacks (8 KiB each at most), plus at most 10 lines a
	// second for as long as the loop took, each with the value cut to 512
	// bytes. Before the limiter: 2,000 stacks, about 6 MB.
	if bound := pipeline.PanicStacksPerMinute*8<<10 + seconds*pipeline.PanicLinesPerSecond*1<<10; len(log) > bound {
		t.Fatalf("2,000 panics wrote %d bytes of log (bound %d)", len(log), bound)
	}
	if strings.Contains(log, strings.Repeat("x", 600)) {
		t.Fatal("a panic value was logged in full")
	}
}
