// Package nethttp mounts a standard net/http Handler on a gnetty route, so
// Prometheus metrics, pprof or an existing API can share the port:
//
//	r.Handle("", "/debug/pprof/{path...}", nethttp.Handler(http.DefaultServeMux))
//
// An http.Handler may block, so it never runs on the event loop. Each
// connection has its own ordered queue, run on a goroutine while it has
// work: requests of one connection are handled one at a time, in order
// (Netty's EventExecutorGroup), and their responses come back through the
// channel's thread-safe writes. The handler sees a complete *http.Request
// (the body read by http1.Aggregator), a context cancelled when the
// connection closes, and a ResponseWriter that also implements
// http.Flusher: a handler that flushes streams its response (chunked on
// HTTP/1.1). A panic in the handler is recovered and logged; the client
// gets 500 if nothing was sent yet, otherwise the connection closes.
// Hijacking is not supported.
package nethttp
