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
// # Concurrency
//
// The handler value serves every channel; it runs on each channel's loop.
package upgrade
