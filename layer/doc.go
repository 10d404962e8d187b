// Package layer is a channel layer in the spirit of Django Channels: named
// groups of channels, sending to a group, and sending to one channel by
// its name, from any goroutine. Local keeps it in memory for one node and
// encodes a group message once, writing the same bytes to every member;
// the Layer interface is shaped around what Redis pub/sub offers (publish
// to a group channel, subscribe while a node has members), so a Redis
// backend can serve several nodes behind the same calls.
//
// # Concurrency
//
// Every method is safe for concurrent use. Writes go through
// Channel.WriteAndFlush, queued on each member's own loop: a slow member
// never delays the sender or the others (pair it with handler/ws/slowconsumer).
package layer
