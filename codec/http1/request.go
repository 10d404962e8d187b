package http1

import (
	"strconv"
	"sync"
)

// Request is one decoded request head, and after the Aggregator its whole
// body. Every byte slice it returns points into its own buffer: valid until
// Release, safe to keep that long on any goroutine.
//
// Requests are pooled: whoever finishes with a request (the handler that
// answered it) calls Release once.
type Request struct {
	buf    []byte // copy of the request head
	method string
	target []byte
	path   []byte
	query  []byte
	fields []Field

	// Major and Minor are the HTTP version (1.0 or 1.1).
	Major, Minor int
	// ContentLength is the declared body length; -1 when the body is
	// chunked, 0 when there is none.
	ContentLength int64
	// Chunked is true for Transfer-Encoding: chunked.
	Chunked bool
	// KeepAlive reports whether the connection stays open after the
	// response (HTTP/1.1 without "Connection: close", or HTTP/1.0 with
	// "Connection: keep-alive").
	KeepAlive bool
	// Body is the whole body once an Aggregator has assembled it.
	Body []byte
	// Trailer holds the trailer fields of a chunked body (after the
	// Aggregator).
	Trailer []Field

	// Params are the path parameters a router matched, in pattern order.
	Params []Param

	// Secure is set by the transport or a trusted proxy handler when the
	// request came over TLS.
	Secure bool

	trailerBuf []byte
	seq        uint64
}

// Param is one matched path parameter.
type Param struct {
	Key   string
	Value string
}

var requestPool = sync.Pool{New: func() any { return &Request{} }}

// AcquireRequest returns an empty request from the pool.
func AcquireRequest() *Request { return requestPool.Get().(*Request) }

// Release returns r to the pool. r must not be used afterwards.
func (r *Request) Release() {
	r.reset()
	requestPool.Put(r)
}

func (r *Request) reset() {
	r.buf = r.buf[:0]
	r.method = ""
	r.target, r.path, r.query = nil, nil, nil
	clear(r.fields)
	r.fields = r.fields[:0]
	r.Major, r.Minor = 0, 0
	r.ContentLength = 0
	r.Chunked, r.KeepAlive, r.Secure = false, false, false
	r.Body = r.Body[:0]
	clear(r.Trailer)
	r.Trailer = r.Trailer[:0]
	r.trailerBuf = r.trailerBuf[:0]
	clear(r.Params)
	r.Params = r.Params[:0]
	r.seq = 0
}

// Seq returns the request's position on its connection (1, 2, ...). A
// response created with NewResponse(req) carries it, so the codec writes
// responses in request order even when they are produced out of order (by
// handlers running off the loop).
func (r *Request) Seq() uint64 { return r.seq }

// Method returns the request method ("GET", ...). Common methods are
// interned: no allocation.
func (r *Request) Method() string { return r.method }

// Target returns the raw request target ("/a/b?x=1").
func (r *Request) Target() []byte { return r.target }

// Path returns the target's path, still percent-encoded.
func (r *Request) Path() []byte { return r.path }

// Query returns the raw query, without '?'.
func (r *Request) Query() []byte { return r.query }

// Fields returns every header field in order.
func (r *Request) Fields() []Field { return r.fields }

// Header returns the value of the first field named name (ASCII case
// insensitive), or nil. It does not allocate.
func (r *Request) Header(name string) []byte {
	for i := range r.fields {
		if equalFold(r.fields[i].Name, name) {
			return r.fields[i].Value
		}
	}
	return nil
}

// HasToken reports whether the comma-separated field name holds token
// (e.g. Connection: upgrade), in any of its lines.
func (r *Request) HasToken(name, token string) bool {
	for i := range r.fields {
		if equalFold(r.fields[i].Name, name) && hasToken(r.fields[i].Value, token) {
			return true
		}
	}
	return false
}

// Host returns the Host header.
func (r *Request) Host() []byte { return r.Header("Host") }

// Proto returns "HTTP/1.0" or "HTTP/1.1".
func (r *Request) Proto() string {
	if r.Minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// Param returns the path parameter named key, or "".
func (r *Request) Param(key string) string {
	for _, p := range r.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// String describes the request line, for logs.
func (r *Request) String() string {
	return r.method + " " + string(r.target) + " HTTP/" + strconv.Itoa(r.Major) + "." + strconv.Itoa(r.Minor)
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}

func internMethod(b []byte) string {
	for _, m := range methods {
		if string(b) == m {
			return m
		}
	}
	return string(b)
}

// Content is a piece of a request or response body. On the inbound side
// Data points into the received bytes: valid only until the handler
// returns. The last piece has Last set (and, for chunked bodies, the
// trailer).
//
// On the outbound side (a streamed response body) Seq names the request
// the piece answers (Request.Seq); 0 means the response in progress.
type Content struct {
	Data    []byte
	Last    bool
	Trailer []Field
	Seq     uint64
}
