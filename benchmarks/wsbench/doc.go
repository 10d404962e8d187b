// Package wsbench compares WebSocket echo servers end to end over
// loopback: gnetty (preset/websocket), gorilla/websocket (a goroutine per
// connection), gobwas/ws on net (a goroutine per connection), lesismal/nbio
// (an event loop) and raw gnet echoing the same bytes without WebSocket
// framing (the floor).
//
// Every server runs in its own process pinned to CPU 0 with GOMAXPROCS=1;
// the load client is another process pinned to CPU 1. The figures: messages
// per second, the server's CPU use and messages per server CPU-second (the
// fair figure when the client saturates its core; counted over the
// measured window only, after every connection is open, so a TLS
// handshake, measured on its own in BenchmarkTLSHandshake, is not charged
// to the echo), p50/p99 round-trip
// latency, the server's resident memory; and, in BenchmarkIdle, resident
// memory per idle upgraded connection at 10,000 connections; in
// BenchmarkHeartbeat, 19,000 gnetty connections held for a minute with
// every ping answered, their memory slope and the kernel's share.
//
//	cd benchmarks && go test -run '^$' -bench . -benchtime 1x ./wsbench
//	go test -run '^$' -bench Heartbeat -benchtime 1x ./wsbench -args -hb.conns=19000 -hb.duration=1m
package wsbench
