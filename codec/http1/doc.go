// Package http1 is an incremental HTTP/1.1 server codec for gnetty
// pipelines (Netty's HttpServerCodec and HttpObjectAggregator).
//
// ServerCodec decodes requests from bytes that arrive in any pieces:
// request line and fields, bodies by Content-Length or chunked transfer
// coding (with trailers), any number of pipelined requests in one read. It
// never blocks: an incomplete request waits for more bytes. It encodes
// *Response values with a Date cached per second, Content-Length or
// chunked framing, no body for HEAD, 1xx, 204 and 304, and keep-alive
// handling for HTTP/1.0 and 1.1; responses go out in request order.
//
// It is strict, as a server facing the Internet has to be. Requests that
// could be read two ways are refused: Content-Length with
// Transfer-Encoding, differing or malformed Content-Length values,
// transfer codings other than a single chunked (501), malformed chunk
// sizes, a bare CR anywhere, a bare LF in chunked framing or trailers,
// whitespace before a colon, obsolete line folding,
// NUL and other controls in fields, a missing or repeated Host in
// HTTP/1.1. Limits answer 414 (request line), 431 (head size or field
// count) and 505 (versions other than 1.0 and 1.1). Every refusal is a
// *StatusError: the codec answers it, fires it as an error, and closes the
// connection, reading nothing after it.
//
// Line endings: the request line and header fields may end in CRLF or in
// a bare LF, which RFC 9112 2.2 lets a recipient accept and which Go's
// net/http and nginx accept too (a bare LF is read as CRLF, so the same
// request cannot be read two ways). Chunk-size lines, chunk data endings
// and trailers must end in CRLF: a bare LF there is refused with 400,
// since lenience inside a body is what request smuggling feeds on.
//
// Aggregator assembles a request's body (up to a limit, with Netty's 413,
// 417 and 100-continue rules) so that handlers after it get whole
// requests.
//
// # Allocation
//
// Decoding a request allocates nothing in steady state: requests are
// pooled and hold a copy of their head, field names are compared without
// allocation, common methods are interned.
//
// # Concurrency
//
// A ServerCodec and an Aggregator hold per-channel state: create them in
// the channel initializer. A *Request may be handed to another goroutine;
// it stays valid until Release.
package http1
