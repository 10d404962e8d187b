// Package bootstrap runs pipelines over gnet v2's event loops: a Server
// that accepts connections and a Client that dials them. It is the only
// package of gnetty that imports gnet.
//
//	s, err := bootstrap.New(bootstrap.Config{
//		Addrs: []string{"tcp://127.0.0.1:7000"},
//		Initializer: func(ch *pipeline.Channel) {
//			ch.Pipeline().AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
//			...
//		},
//	})
//	err = s.Serve(ctx) // until ctx is done, then a graceful shutdown
//
// # Boss and workers (how the settings map onto gnet)
//
//   - ReusePort off (the default): gnet's main reactor is the boss. It
//     alone accepts, on every listen address, and hands each connection to
//     one of Workers loops (gnet WithNumEventLoop) chosen by LoadBalancing
//     (gnet WithLoadBalancing: round robin, least connections, source
//     address hash). There is always exactly one acceptor; gnet offers no
//     way to run more, and no listen backlog setting (it uses the system
//     maximum).
//   - ReusePort on (gnet WithReusePort): there is no boss. Every worker
//     loop opens its own SO_REUSEPORT listener on each address and accepts
//     for itself; the kernel spreads connections and LoadBalancing has no
//     effect. Port 0 is refused in this mode, since each loop would get a
//     different port.
//   - SO_REUSEADDR is always on (gnet WithReuseAddr) so a server restarts
//     at once on the same port. TCPDelay, TCPKeepAlive, SocketRecvBuffer
//     and SocketSendBuffer map to gnet's socket options; ReadBufferCap and
//     WriteBufferCap to its per-loop read buffer and per-connection static
//     write buffer.
//
// # Inbound
//
// gnet calls OnTraffic with bytes that live in the loop's reused read
// buffer. The bootstrap fires them through the pipeline as one
// *pipeline.Bytes without copying and tells gnet how many the handlers
// consumed; gnet keeps the rest and hands it back, in front of the next
// bytes, on the next read or after Channel.Wake. More than MaxUnreadBytes
// left unconsumed closes the channel.
//
// # Outbound
//
// Writes made on the loop are added to the channel's batch: small
// messages copied into one buffer, large owned []byte referenced. Flush
// marks the batch. The channel whose read (or open) callback runs is
// written with one gnet Writev when that callback ends; every other
// flushed channel (written by another channel's callback, a task or a
// timer) once the loop has run the callbacks and tasks ready in this pass,
// so a broadcast's members get one Writev per pass however many
// publishers wrote to them, and nothing waits for a timer. Writes,
// closes and tasks from other goroutines are queued per channel and applied
// on its loop in call order. gnet has no write water marks: the bootstrap
// counts its batch plus gnet's OutboundBuffered against the channel's high
// and low marks, fires writability events when they are crossed, and while
// a channel is unwritable or closing looks again every millisecond (gnet
// reports no drain). A graceful close waits until the output has drained
// (up to CloseTimeout), because gnet's own close may drop pending output.
//
// # TLS
//
// The bootstrap knows no handler, as Netty's knows no SslHandler: TLS is
// a handler the initializer puts first. tlsh.Initializer wraps an
// Initializer (or a Client.Dial's init) so that every channel starts with
// the TLS handler and the handlers after it see plaintext; the presets
// take a TLS setting and do that for their users.
//
// # Timers and tasks
//
// gnet's EventLoop.Schedule is not implemented, so each loop keeps its own
// timer heap; one runtime timer per loop wakes it when the earliest
// deadline is due, by submitting a task. EventLoop.Execute submits a task
// through gnet's loop queue.
//
// # Lifecycle
//
// Start listens and returns when the server accepts; Serve runs until its
// context ends; Shutdown stops accepting (new connections are closed at
// once), fires pipeline.ShutdownEvent through every pipeline, waits for
// the channels to close or its context to end, closes the rest and stops
// gnet. They may race: a Shutdown that comes before Start wins (Start and
// Serve then return ErrServerClosed), and one during Start waits for the
// listeners before stopping them.
//
// # Concurrency
//
// Server and Client methods are safe for concurrent use. Channels follow
// the rules of package pipeline.
package bootstrap
