package wsframe_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func run(t *testing.T, chunks ...[]byte) string {
	// A ping's or pong's payload points into the read buffer: it is the
	// handler's while the event is handled, so it is written down then.
	var events strings.Builder
	logEvents := pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
		events.WriteString(fmt.Sprintf("|%v", ev))
	})
	ch := pipelinetest.New(wsframe.New(wsframe.Config{MaxMessageSize: 512, Deflate: &wsframe.Deflate{Threshold: 1 << 30}}), echo, logEvents)
	for _, c := range chunks {
		if ch.IsClosed() {
			break
		}
		ch.WriteInbound(append([]byte(nil), c...)) // the codec unmasks in place
	}
	var b strings.Builder
	b.WriteString(fmt.Sprintf("%q", ch.ReadOutboundBytes()))
	b.WriteString(events.String())
	for err := ch.ReadError(); err != nil; err = ch.ReadError() {
		b.WriteString("|" + err.Error())
	}
	b.WriteString(fmt.Sprintf("|closed=%v", ch.IsClosed()))
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	return b.String()
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(clientFrame(true, 0, ws.OpText, []byte("hello")))
	f.Add(slices(clientFrame(false, 0, ws.OpText, []byte("a")), clientFrame(true, 0, ws.OpPing, []byte("p")), clientFrame(true, 0, ws.OpContinuation, []byte("b"))))
	f.Add(clientFrame(true, 0, ws.OpClose, closeBody(1000, "bye")))
	f.Add(clientFrame(true, 4, ws.OpText, deflateBody(nil, []byte("compressed text"))))
	f.Add(clientFrame(false, 0, ws.OpText, []byte("\xe2\x82")))
	f.Fuzz(func(t *testing.T, in []byte) {
		whole := run(t, in)
		for i := 0; i <= len(in); i++ {
			if got := run(t, in[:i], in[i:]); got != whole {
				t.Fatalf("split at %d of %q:\n%s\nwhole:\n%s", i, in, got, whole)
			}
		}
	})
}
