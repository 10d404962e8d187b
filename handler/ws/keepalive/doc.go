// Package keepalive keeps WebSocket connections honest: when nothing has
// arrived for PingInterval it sends a ping, and when neither a pong nor
// any other frame arrives within PongTimeout it fires a Timeout event,
// sends a close frame (1001, "ping timeout") and closes the connection.
// The defaults (25 s and 20 s) are in the range Socket.IO and Centrifugo
// use. Pings from the peer are answered by the frame codec itself; this
// handler counts them, every pong and every read from the peer as signs
// of life.
//
// Place it after the wsframe.Codec (upgrade.Config.Install does); one
// Handler per channel, run on its loop. Timers use the loop clock, so tests
// drive them with pipelinetest's fake clock. Its one deadline is a
// pipeline.Deadline, a record in the loop's timer heap that is re-armed
// without allocating. State is the same logic without a pipeline slot,
// for a handler that embeds it (the WebSocket preset's fused connection).
package keepalive
