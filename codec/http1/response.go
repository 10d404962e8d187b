package http1

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HeaderPair is one response header field.
type HeaderPair struct {
	Name  string
	Value string
}

// Header is a response's header fields, in order.
type Header []HeaderPair

// Add appends a field.
func (h *Header) Add(name, value string) { *h = append(*h, HeaderPair{name, value}) }

// Set replaces every field named name (case-insensitive) with one.
func (h *Header) Set(name, value string) {
	h.Del(name)
	h.Add(name, value)
}

// Get returns the first value of name, or "".
func (h Header) Get(name string) string {
	for _, p := range h {
		if equalFold([]byte(p.Name), name) {
			return p.Value
		}
	}
	return ""
}

// Del removes every field named name.
func (h *Header) Del(name string) {
	out := (*h)[:0]
	for _, p := range *h {
		if !equalFold([]byte(p.Name), name) {
			out = append(out, p)
		}
	}
	clear((*h)[len(out):])
	*h = out
}

// Response is an outbound response for the ServerCodec: a whole one (Body)
// or the head of a streamed one (Stream), whose body follows as *Content
// messages, the last with Last set. The codec adds Date, Content-Length or
// Transfer-Encoding, and Connection; it drops a Content-Length,
// Transfer-Encoding or Connection set here, except that "Connection: close"
// (or Close) closes the connection after the response.
//
// Responses are pooled: AcquireResponse, then write it; the transport
// releases it once it has been encoded.
type Response struct {
	Status int
	Header Header
	Body   []byte
	Stream bool
	Close  bool

	seq uint64 // the request answered; 0: the next one due

	// set by the codec
	head      bool
	keepAlive bool
	minor     int
	chunked   bool
}

var responsePool = sync.Pool{New: func() any { return &Response{} }}

// AcquireResponse returns an empty response with status 200.
func AcquireResponse() *Response {
	r := responsePool.Get().(*Response)
	r.Status = 200
	return r
}

// NewResponse returns a pooled 200 response that answers req (see
// Request.Seq).
func NewResponse(req *Request) *Response {
	r := AcquireResponse()
	r.seq = req.seq
	return r
}

// Release returns r to the pool.
func (r *Response) Release() {
	clear(r.Header)
	body := r.Body[:0]
	if cap(body) > 64<<10 {
		body = nil
	}
	*r = Response{Header: r.Header[:0], Body: body}
	responsePool.Put(r)
}

// Size reports the body size, for water marks.
func (r *Response) Size() int { return len(r.Body) + 128 }

func bodyless(status int) bool {
	return status < 200 || status == 204 || status == 304
}

var statusLines = func() map[int]string {
	m := map[int]string{}
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			m[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
	return m
}()

func appendStatusLine(dst []byte, status int) []byte {
	if l, ok := statusLines[status]; ok {
		return append(dst, l...)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	return append(dst, " Unknown\r\n"...)
}

// AppendTo encodes the response.
func (r *Response) AppendTo(dst []byte) []byte {
	dst = appendStatusLine(dst, r.Status)
	hasDate := false
	for _, p := range r.Header {
		n := []byte(p.Name)
		switch {
		case equalFold(n, "Content-Length"), equalFold(n, "Transfer-Encoding"), equalFold(n, "Connection"):
			continue
		case equalFold(n, "Date"):
			hasDate = true
		}
		dst = append(dst, p.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, p.Value...)
		dst = append(dst, "\r\n"...)
	}
	if !hasDate {
		dst = append(dst, "Date: "...)
		dst = append(dst, httpDate()...)
		dst = append(dst, "\r\n"...)
	}
	if !bodyless(r.Status) {
		switch {
		case r.chunked:
			dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
		case !r.Stream:
			dst = append(dst, "Content-Length: "...)
			dst = strconv.AppendInt(dst, int64(len(r.Body)), 10)
			dst = append(dst, "\r\n"...)
		}
	}
	switch {
	case r.Status == 101:
		dst = append(dst, "Connection: upgrade\r\n"...)
	case !r.keepAlive:
		dst = append(dst, "Connection: close\r\n"...)
	case r.minor == 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if !r.head && !bodyless(r.Status) && !r.Stream {
		dst = append(dst, r.Body...)
	}
	return dst
}

// chunk frames one piece of a streamed body.
type chunk struct {
	data    []byte
	last    bool
	chunked bool
	head    bool
	src     *Content
}

var chunkPool = sync.Pool{New: func() any { return new(chunk) }}

func (c *chunk) Size() int { return len(c.data) + 16 }

func (c *chunk) AppendTo(dst []byte) []byte {
	if c.head {
		return dst
	}
	if !c.chunked {
		return append(dst, c.data...)
	}
	if len(c.data) > 0 {
		dst = strconv.AppendInt(dst, int64(len(c.data)), 16)
		dst = append(dst, "\r\n"...)
		dst = append(dst, c.data...)
		dst = append(dst, "\r\n"...)
	}
	if c.last {
		dst = append(dst, "0\r\n\r\n"...)
	}
	return dst
}

func (c *chunk) Release() {
	*c = chunk{}
	chunkPool.Put(c)
}

type dateEntry struct {
	sec int64
	b   []byte
}

var dateCache atomic.Pointer[dateEntry]

// httpDate returns the current time in IMF-fixdate, formatted once per
// second.
func httpDate() []byte {
	now := time.Now()
	sec := now.Unix()
	if e := dateCache.Load(); e != nil && e.sec == sec {
		return e.b
	}
	e := &dateEntry{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	dateCache.Store(e)
	return e.b
}
