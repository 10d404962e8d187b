// Package slowconsumer protects a server from readers that do not keep up:
// when a channel's pending output (what it was sent but has not read)
// would pass a hard limit, the channel is closed, with a WebSocket close
// frame carrying a clear code and reason, and counted. Nothing waits for
// the slow reader, so it never delays delivery to others; Centrifugo does
// the same at 1 MiB.
//
// Place it right after the frame codec (on the application's side), so
// that every message written to the channel passes it before being
// framed: one Handler per channel, sharing a *Stats.
package slowconsumer
