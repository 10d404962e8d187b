// Package chat is the chat preset: a real multi-room chat service in one
// call on the WebSocket preset, speaking the protocol in PROTOCOL.md
// beside this file: guest logins, accounts with passwords, or JWT
// connection tokens; rooms with presence; direct messages between
// identities; typing notices; per-room sequence numbers; client message
// IDs that make a resend harmless; cumulative acks with retry; history on
// join and on request (recovery after a reconnect); a publish API for
// backends; limits; a page served from the binary; Prometheus metrics and
// graceful shutdown. Running it (flags, accounts and security, several
// nodes on Redis) is docs/chat.md at the repository's root.
//
//	srv, err := chat.New(chat.Config{Addr: "127.0.0.1:8080", Store: store})
//	err = srv.Serve(ctx)
//
// # Redis: one server, Sentinel or Cluster
//
// Config.Redis takes any go-redis client (layer.DialRedis makes one from
// a URL): one server, a Sentinel set or a Redis Cluster, where a room's
// keys and its sharded channel share a hash tag. During a failover
// posts are answered "unavailable" and resume by themselves. Redis
// replicates asynchronously: without Config.RedisWaitReplicas a primary
// that dies can lose the posts it acknowledged in its last moments; with
// it, a post is acknowledged once the replicas have it (Redis's WAIT, a
// replication round trip per post), and a failover loses no acknowledged
// post. docs/chat.md has the table.
//
// # Files
//
// Each file holds one idea:
//
//   - chat.go: the configuration and the server's life (New, Serve,
//     Shutdown).
//   - backends.go: where the state lives (memory, bbolt or Redis), chosen
//     once; store.go and redis.go the message stores, boltsessions.go the
//     sessions and directory in the bbolt file.
//   - conn.go: a connection's life; routes.go every client message
//     (events: name, rate cost, room rule, handler); protocol.go the
//     wire types; limits.go rate limits and refusals.
//   - rooms.go membership and presence; presence.go presence across nodes;
//     post.go numbering, storing and fanning out (one backend interface,
//     a local and a Redis implementation); history.go; acks.go retries and
//     the logout message (the layer's Tap).
//   - dm.go direct messages and typing; directory.go identities and the
//     name directory (memory and Redis; bbolt in boltsessions.go);
//     names.go name preparation (PRECIS, confusable skeletons);
//     login.go and password.go logins, accounts and Argon2id;
//     sessions.go the logout; token.go connection tokens; publish.go the
//     publish API.
//   - http.go the HTTP routes and the page; metrics.go Prometheus and the
//     /metrics guard.
//
// # Concurrency
//
// Message handlers run on the connection's event loop; everything that
// touches the stores runs on an executor, in order per room, so a room's
// sequence numbers, its stored history and its broadcasts agree. Logins
// (password hashing included) run on goroutines of their own. Rooms are
// shared between loops under a mutex.
package chat
