// Package pipelinetest runs a pipeline without sockets or goroutines, with
// a fake clock: Netty's EmbeddedChannel for gnetty. Every handler in this
// module is tested with it.
//
//	ch := pipelinetest.New(frame.NewLineDecoder(frame.LineConfig{}), echo)
//	ch.WriteInbound([]byte("hello\n"))
//	got := ch.ReadOutboundBytes()
//	ch.Advance(time.Minute) // fires due timers
//	if err := ch.Finish(); err != nil { // anything left unread
//		t.Error(err)
//	}
//
// Like net/http/httptest it needs no *testing.T, so Examples use it too.
// Misuse that no test means to do (an invalid pipeline.Config, a handler
// the pipeline refuses, WriteInbound after the channel closed, a
// non-bytes message read as bytes) panics with a message saying so.
//
// The test channel behaves like the gnet transport: bytes written inbound
// are delivered as *pipeline.Bytes, unconsumed bytes are kept and delivered
// again in front of the next ones, writes are batched and flushed at the end
// of each call, Close takes effect after the current call, and the inactive
// event, HandlerRemoved hooks and writability events run as they would on a
// loop.
//
// # Concurrency
//
// A Channel belongs to the goroutine that created it (the test goroutine),
// which plays the event loop: call its methods there. Execute and Schedule
// on its EventLoop, and the pipeline.Channel methods documented safe for
// concurrent use, may be called from other goroutines; what they submit
// runs on the test goroutine at its next call (RunPendingTasks, Advance,
// WriteInbound, ...).
package pipelinetest
