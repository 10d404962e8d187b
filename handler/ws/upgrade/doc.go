// Package upgrade upgrades HTTP requests to WebSocket connections inside
// a gnetty pipeline. New returns a router handler, so routing, path
// parameters ("/ws/chat/{room}"), 404 and 405 come from handler/http/router:
//
//	r.Handle("GET", "/ws/chat/{room}", upgrade.New(upgrade.Config{...}))
//
// The handler checks the request (GET, HTTP/1.1, Host, "Upgrade:
// websocket", "Connection: upgrade", a Sec-WebSocket-Key of 16 bytes: 400
// with a reason otherwise; Sec-WebSocket-Version 13: 426 with
// "Sec-WebSocket-Version: 13" otherwise), the Origin (403), and the
// application's Authorize hook (which can read the session and answer
// 401 or 403). It selects a subprotocol, negotiates permessage-deflate,
// answers 101, and then rebuilds the pipeline on the loop: the HTTP codec
// is replaced by a wsframe.Codec (bytes that arrived right behind the
// upgrade request go to it), the HTTP-only handlers are removed, Install
// adds the application's handlers, and a Handshake user event travels the
// pipeline with the request's path, parameters, headers, subprotocol and
// session.
//
// The HTTP read timeout until the upgrade is http1.RequestTimeout, which
// the upgrade removes (DefaultRemove) with the other HTTP-only handlers.
//
// # The client side
//
// NewClient is the client's handshaker (Netty's
// WebSocketClientHandshaker), put after an http1.ClientCodec: when the
// channel is active it sends the upgrade request (a fresh 16-byte key,
// version 13, Origin, subprotocols in order of preference, the
// permessage-deflate offer, the caller's header fields) and checks the
// answer as RFC 6455 4.1 asks: a 101 with "Upgrade: websocket",
// "Connection: upgrade", the right Sec-WebSocket-Accept, a subprotocol
// that was offered and an extension answer that fits the offer. Then the
// HTTP codec is replaced by a client wsframe.Codec (masked frames; bytes
// that came right behind the 101 go to it), ClientConfig.Install adds the
// application's handlers and a ClientHandshake user event travels the
// pipeline. Anything else (a refusal with its status, header and the
// first 4 KiB of its body, a bad 101, no answer within Timeout, the
// connection closing first) is fired as a *HandshakeError and the
// channel is closed. preset/websocket's Dial assembles all of this.
//
// # Concurrency
//
// The handler value of New serves every channel; it runs on each
// channel's loop. A Client (NewClient) belongs to one channel and runs on
// its loop.
package upgrade
