package http1_test

import (
	"testing"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// The request timeout runs from the connection's start and from each
// final response, never while a complete request waits for its answer,
// and closes a connection that sends nothing in time.
func TestRequestTimeoutClock(t *testing.T) {
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewRequestTimeout(10*time.Second))
	ch.Advance(9 * time.Second)
	ch.WriteInbound([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	req, ok := ch.ReadInbound().(*http1.Request)
	if !ok {
		t.Fatal("no request")
	}
	ch.Advance(time.Minute) // the application takes its time: no timeout
	if ch.IsClosed() {
		t.Fatal("closed while a request waited for its answer")
	}
	ch.Pipeline().WriteAndFlush(http1.NewResponse(req))
	req.Release()
	ch.ReadOutboundBytes()
	ch.Advance(9 * time.Second)
	if ch.IsClosed() {
		t.Fatal("closed 9 s after the response, with a 10 s timeout")
	}
	ch.Advance(2 * time.Second)
	if !ch.IsClosed() {
		t.Fatal("still open 11 s after the response")
	}
}
