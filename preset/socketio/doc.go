// Package socketio is a Socket.IO v5 server over Engine.IO v4 on gnetty's
// pipeline, for the clients people already ship: the stock
// socket.io-client (4.x) in browsers and Node, and the mobile SDKs that
// speak the same protocol.
//
//	srv, _ := socketio.New(socketio.Config{Addrs: []string{"127.0.0.1:3000"}})
//	srv.Of("/").OnConnection(func(s *socketio.Socket) {
//		s.On("echo", func(s *socketio.Socket, e *socketio.Event) {
//			_ = e.Ack(e.Args.Values()...)
//		})
//	})
//	_ = srv.Serve(ctx)
//
// # Engine.IO
//
// Both transports and the upgrade between them, on one port with the
// application's other routes (Config.HTTP):
//   - HTTP long-polling: GET waits for packets (or the next ping), POST
//     carries packets; payloads are joined by the record separator, binary
//     as "b" + base64. Bodies over MaxHTTPBufferSize get 413. A second GET
//     while one waits ends the session (the client then reconnects), as
//     the Node server does; POSTs are handled in arrival order. CORS (Config.CORS) answers
//     preflights and marks polling responses.
//   - WebSocket, through the handshake and frame codec of the websocket
//     preset (text frames carry text packets, binary frames raw binary).
//   - The upgrade: the probe ("2probe"/"3probe"), a noop that releases the
//     waiting GET, then "5"; packets queued meanwhile go out on the
//     WebSocket in order, none lost or sent twice.
//   - Heartbeat: the server pings every PingInterval and closes a session
//     whose pong takes more than PingTimeout.
//   - Session IDs are 120 bits from crypto/rand. Unknown sid, transport or
//     protocol version, and bad requests, get 400 with Engine.IO's JSON
//     error codes (0-5); a refused AllowRequest gets 403.
//
// # Socket.IO
//
// Namespaces (Of) with middlewares (Use) that may refuse a connection with
// data for the client's connect_error; events with any JSON arguments
// (Args); acknowledgements both ways (Event.Ack, Socket.EmitWithAck with a
// timeout); binary attachments in both directions, anywhere in []any and
// map[string]any values; rooms (Join, Leave, To, Except, Broadcast), each
// broadcast encoded once for every socket and node; Socket.Data;
// disconnection with the Node server's reasons.
//
// Connection state recovery (Config.Recovery) is Socket.IO 4.6's: a client
// that comes back within MaxDisconnection gets its socket ID, rooms and
// Data back and every emit it missed, or Recovered false. As in the Node
// server, every emit then carries its offset as a last argument.
//
// # Scale-out
//
// With Config.Layer set to a layer.Redis, broadcasts reach the sockets of
// every node that shares the Redis (one pub/sub channel per namespace,
// like socket.io-redis-adapter), so two nodes behind a load balancer with
// sticky sessions serve one set of rooms. A socket's own emits and acks
// stay on its node. Recovery state is per node: every node logs every
// broadcast, so a client recovers on the node that holds its session.
// The Redis may be one server, a Sentinel set or a Redis Cluster
// (layer.DialRedis): on a Cluster each namespace's channel is a sharded
// channel, published to the one shard that owns it (SPUBLISH), as
// @socket.io/redis-adapter's sharded mode does.
//
// # TLS, write delay
//
// Config.TLS serves https:// polling and wss:// on the same port, the
// upgrade included (examples/socketio takes -tls-cert and -tls-key).
// Config.WriteDelay holds a client's output up to a bound so that a burst
// leaves in one write (off by default).
//
// # Tested against the stock client and the Node server
//
// One Node scenario (tests/interop/sio_scenario.mjs, the stock
// socket.io-client 4.8.1) runs against examples/socketio and against the
// official Node socket.io 4.8.1 server with the same events
// (tests/interop/sio_server.mjs), which proves the scenario right: polling
// only, WebSocket only and the upgrade (60 acknowledged emits across it,
// in order, none doubled); acks both ways; binary at the top level and
// nested; a 200 KB payload; rooms; a namespace whose middleware refuses
// and accepts; recovery with missed broadcasts replayed; garbage and
// unknown sids answered without harm to a bystander. Beside it run two
// nodes on a real redis-server, the chat page in headless Chromium, and
// Go tests with raw polling and WebSocket clients.
//
// # Concurrency
//
// A session (one client connection, all its namespaces) belongs to the
// event loop that received its first request. Its handlers (middlewares,
// connection handlers, events, acks, disconnects) run there, one at a
// time per client, and must not block: hand blocking work to a goroutine
// and emit or ack from there. Requests and frames that arrive on other
// loops (a POST on another keep-alive connection, the upgraded WebSocket)
// hop to the session's loop, so its state has no locks. Emit,
// EmitWithAck, Event.Ack, Join, Leave, broadcasts and Disconnect are safe
// from any goroutine; emits from one goroutine keep their order.
//
// # Limits
//
// A polling session's queued output is bounded by WriteBufferLimit, and a
// WebSocket's unread output by the same limit (handler/ws/slowconsumer): a
// client that does not keep up is disconnected, never buffered without
// bound. Not supported: Engine.IO v3 (socket.io-client 2.x), JSONP
// polling, WebTransport, and the msgpack parser.
package socketio
