// Package layer is a channel layer in the spirit of Django Channels: named
// groups of channels, sending to a group, and sending to one channel by
// its name, from any goroutine. Local keeps it in memory for one node and
// encodes a group message once, writing the same bytes to every member;
// the Layer interface is shaped around what Redis pub/sub offers (publish
// to a group channel, subscribe while a node has members), so a Redis
// backend can serve several nodes behind the same calls.
//
// # Redis: one server, Sentinel or Cluster
//
// Redis (NewRedis) runs on any go-redis client: one server, a Sentinel
// set (the client follows a failover to the promoted replica) or a Redis
// Cluster, where each group's channel is a sharded channel (SSUBSCRIBE,
// SPUBLISH) whose hash tag is the group's partition (HashTag), so a
// message goes through the one shard that owns it. DialRedis makes the
// client from one URL; TopologyOf and DescribeRedis name it; RedisHealth
// tells readiness checks and metrics whether it serves and counts
// failovers. After a failover, as after a restart, subscriptions come
// back by themselves and a Sequence reads what was missed from its log.
// Sends never wait for Redis: a goroutine of the layer publishes them.
//
// # Concurrency
//
// Every method is safe for concurrent use. Writes go through
// Channel.WriteAndFlush, queued on each member's own loop: a slow member
// never delays the sender or the others (pair it with handler/ws/slowconsumer).
package layer
