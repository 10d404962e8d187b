// Package pipeline implements gnetty's channel pipeline, Netty's model done
// the Go way: a Channel is one connection, and its Pipeline is an ordered
// list of named handlers that inbound events travel through head to tail
// and outbound operations tail to head.
//
//	inbound:   socket -> head -> decoder -> codec -> app handler -> tail
//	outbound:  socket <- head <- prepender <- codec <- ctx.Write   <- Channel.Write
//
//	head: bytes from the socket are fired as *Bytes; writes are batched and
//	      flushed once per loop callback (one writev).
//	tail: reads nobody handled are dropped; errors nobody handled are logged.
//
// Inbound events: read, read complete, active, inactive, user event, error,
// writability changed. Outbound operations: write, flush, close. A handler
// implements only the interfaces (ReadHandler, WriteHandler, ...) of the
// events it takes; adding it records a bit mask once and propagation skips
// it for the others at no cost (about 3 ns per pass-through handler and no
// allocation; see BenchmarkFireRead).
//
// ctx.Write starts at the handler before the current one; Channel.Write
// (and Pipeline.Write) starts at the tail, so every outbound handler sees
// it.
//
// The pipeline may be changed while events flow, from inside a handler:
// the WebSocket handshake replaces the HTTP codec with the frame codec in
// the middle of a read. See Pipeline for the guarantees.
//
// # Concurrency
//
// Each Channel belongs to exactly one EventLoop for its whole life. Every
// handler method, and every method of Context and Pipeline, runs on that
// loop's goroutine, one at a time, so handler state needs no locks. From
// other goroutines, a Channel is reached only through the methods
// documented "safe for concurrent use" (Write, Flush, WriteAndFlush,
// Close, Execute, Schedule, Wake, IsActive, IsWritable, attributes): they
// queue work onto the loop, in call order per channel. Blocking work never
// runs on a loop; hand it to a goroutine or an executor and reply through
// those methods.
//
// # Timers and memory
//
// EventLoop.Schedule runs a task later; a handler that re-arms one
// deadline again and again (keepalive, idle detection) embeds a Deadline
// instead: a record in the loop's timer heap, re-armed without allocating.
// A Channel keeps only what every connection needs (attributes, the
// off-loop queue and Done are made on first use), and a transport may
// embed it in its own struct (InitChannel), as the gnet transport does.
//
// # Buffer lifetime
//
// Bytes handed to a handler (*Bytes, and frames cut from them) are valid
// only until the handler returns: the transport reuses its read buffer.
// Copy what you keep. Messages passed to Write belong to the pipeline from
// then on.
//
// # Errors and panics
//
// A handler raises an error with ctx.FireError; it travels to the
// ErrorHandlers after that handler and, if none stops it, is logged at the
// tail while the channel stays open. A panic in a handler is recovered,
// fired as a *PanicError from the head, and closes that channel only.
//
// # Testing
//
// Package pipelinetest runs a pipeline without sockets, synchronously,
// with a fake clock.
package pipeline
