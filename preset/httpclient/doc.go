// Package httpclient is an HTTP/1.1 client on gnetty's event loops: the
// client side of codec/http1 (ClientCodec and ResponseAggregator), with
// https:// through handler/tlsh in client mode, and keep-alive
// connections pooled per host.
//
//	c, err := httpclient.New(httpclient.Config{})
//	resp, err := c.Get(ctx, "https://example.com/health")
//	resp, err = c.Post(ctx, "http://127.0.0.1:8080/hook", "application/json", body)
//
// Each connection's chain is
//
//	[tlsh, https://] -> http1 client codec -> response aggregator -> pool handler
//
// A connection carries one request at a time; after a response that
// allows it (keep-alive, the whole body read) it goes back to its host's
// pool, or straight to a request waiting for one, and closes after
// Config.IdleTimeout of idleness. Requests beyond MaxConnsPerHost wait
// in order. A request with ExpectContinue holds its body until the
// server's 100; a final answer that comes first means the body is never
// sent. Responses are read whole (MaxResponseBytes at most), by
// Content-Length, chunked with trailers (Response.Trailer) or until the
// close; HEAD, 204 and 304 carry none. A malformed, oversized or cut
// response is an error for its request and its connection closes; the
// other connections go on. An idempotent request that finds a reused
// connection closed by the server before any answer is sent again on
// another, as net/http does. Redirects are answers, not followed.
//
// # Concurrency
//
// A Client is safe for concurrent use. Do blocks until the response and
// must not be called on an event loop; Go never blocks and calls its
// callback once, on an event loop or on the goroutine that dialled, so
// the callback must not block either. An idle connection holds no
// goroutine; a dial runs on a goroutine of its own until it connects.
package httpclient
