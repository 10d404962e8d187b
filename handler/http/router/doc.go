// Package router routes whole HTTP requests (after http1.Aggregator) by
// method and path pattern to handler functions.
//
// Patterns are split at '/'. A segment is a literal, a parameter
// "{name}" matching one segment, or, as the last segment, a wildcard
// "{name...}" matching the rest of the path (possibly empty). Literals win
// over parameters, parameters over wildcards. Matched parameters are
// percent-decoded and stored in Request.Params.
//
//	r := router.New()
//	r.Handle("GET", "/ws/chat/{room}", chat)
//	r.Handle("GET", "/static/{path...}", files)
//
// A path no pattern matches is answered 404, or passed to the next handler
// when PassUnmatched is set (to fall through to, say, a WebSocket
// handshake). A path that matches only under other methods is answered
// 405 with an Allow header. HEAD is served by GET routes (the codec drops
// the body).
//
// # Concurrency
//
// Register every route before the router handles its first request; from
// then on a Router is read-only and one value serves every channel.
// Handlers run on the channel's loop: one that blocks must hand its work
// to a goroutine and answer with ctx.Channel().WriteAndFlush(resp) using
// http1.NewResponse(req), which keeps pipelined responses in order.
package router
