// Package fanout compares room fan-out end to end over loopback: gnetty
// (preset/websocket, a Group per room, fused connections with
// Config.SlowConsumer: the frame encoded once, written to every member's
// channel, the writes of one loop pass coalesced), gorilla
// (the hub of its chat example: a writer goroutine per client fed by a
// buffered channel, one PreparedMessage per broadcast) and nbio (rooms
// of *websocket.Conn, WriteMessage per member on its event loop).
//
// Each server runs alone in its own process on CPU 0 with GOMAXPROCS=1;
// the load is another process on CPU 1: members in rooms of 100, one
// publisher per room sending timestamped 128-byte messages at a fixed
// rate so that the offered deliveries per second are set (-fan.offered is
// overridden by the benchmark's cases: 100k, 300k, and 500k without
// stalled readers, which finds each server's capacity). Near a server's
// capacity its loop coalesces more frames per member into one write, so
// at 300k a server may use a whole core and still have room: the 500k row
// and the latencies say how much. Figures: deliveries
// per second and per server CPU-second, the publish-to-delivery latency's
// p50/p99 over the members that read, and, in the stalled cases, how many
// of the 1% members that never read were disconnected by the server's
// slow-consumer rule (each server closes a member whose pending output
// passes 256 KiB) and whether the others' p99 moved.
//
// Server CPU is read from /proc by the load process over the measured
// window only (connection set-up left out, the drain in).
//
//	cd benchmarks && go test -run '^$' -bench . -benchtime 1x ./fanout
package fanout
