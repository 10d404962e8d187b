// Package siobench compares Socket.IO servers end to end over loopback:
// gnetty's preset/socketio against the official Node socket.io server
// (tests/interop/sio_bench_server.mjs, socket.io 4.8.1 on Node's own
// event loop) and github.com/zishang520/socket.io v2.5.0 (a Go port of
// it on net/http, a goroutine per connection), with the same events.
//
// Each server runs in its own process pinned to CPU 0 (gnetty with
// GOMAXPROCS=1 and one event loop); the load is another process pinned to
// CPU 1, speaking Engine.IO v4 over WebSocket. Two loads:
//
//   - echo with acks: connections keep acknowledged emits in flight
//     (socket.emit("echo", payload, ack)); figures are acks per second,
//     per server CPU-second, and the ack round trip's p50/p99;
//
//   - room broadcast: members join one room and a publisher emits at a
//     fixed rate; the server broadcasts each to the room (io.to(room)
//     .emit). Figures are deliveries per second, per server CPU-second,
//     and the publish-to-delivery latency's p50/p99.
//
// Server CPU is read from /proc by the load process over the measured
// window only: connection set-up (the handshakes and joins) is left out,
// the drain until the last delivery is in.
//
//	cd benchmarks && go test -run '^$' -bench . -benchtime 1x ./siobench
package siobench
