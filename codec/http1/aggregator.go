package http1

import (
	"net/http"

	"github.com/gnetty/gnetty/pipeline"
)

// DefaultMaxContentLength is the Aggregator's default body limit.
const DefaultMaxContentLength = 4 << 20

// Aggregator assembles each request's body into Request.Body (and its
// trailer into Request.Trailer) and fires whole requests, following
// Netty's HttpObjectAggregator:
//
//   - a declared Content-Length over the limit is answered 413 before the
//     body is read; the connection stays open (and the body is skipped) only
//     for a keep-alive request without Expect;
//   - a body that grows over the limit (chunked) is answered 413 and the
//     connection closes;
//   - "Expect: 100-continue" within the limit is answered "100 Continue"
//     by the aggregator itself; any other expectation gets 417.
//
// Place it right after the ServerCodec; create one per channel.
type Aggregator struct {
	max        int64
	cur        *Request
	discarding bool
}

var _ pipeline.ReadHandler = (*Aggregator)(nil)

// NewAggregator returns an aggregator with the given body limit; 0 means
// DefaultMaxContentLength.
func NewAggregator(maxContentLength int64) *Aggregator {
	if maxContentLength <= 0 {
		maxContentLength = DefaultMaxContentLength
	}
	return &Aggregator{max: maxContentLength}
}

func answer(ctx *pipeline.Context, status int, close bool) {
	r := AcquireResponse()
	r.Status = status
	r.Close = close
	r.Header.Set("Content-Type", "text/plain; charset=utf-8")
	r.Body = append(r.Body, http.StatusText(status)...)
	r.Body = append(r.Body, '\n')
	ctx.WriteAndFlush(r)
}

// HandleRead aggregates requests and their content.
func (a *Aggregator) HandleRead(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *Request:
		a.request(ctx, m)
	case *Content:
		a.content(ctx, m)
	default:
		ctx.FireRead(msg)
	}
}

func (a *Aggregator) request(ctx *pipeline.Context, req *Request) {
	hasBody := req.Chunked || req.ContentLength > 0
	expect := req.Header("Expect")
	if expect != nil && !equalFold(expect, "100-continue") {
		answer(ctx, http.StatusExpectationFailed, hasBody)
		a.skip(req, hasBody)
		return
	}
	if req.ContentLength > a.max {
		keep := req.KeepAlive && expect == nil
		answer(ctx, http.StatusRequestEntityTooLarge, !keep)
		a.skip(req, true)
		return
	}
	if expect != nil && hasBody {
		r := AcquireResponse()
		r.Status = http.StatusContinue
		ctx.WriteAndFlush(r)
	}
	if !hasBody {
		ctx.FireRead(req)
		return
	}
	a.cur = req
	if req.ContentLength > 0 && int64(cap(req.Body)) < req.ContentLength {
		req.Body = make([]byte, 0, req.ContentLength)
	}
}

// skip drops a refused request and, if it has one, its body.
func (a *Aggregator) skip(req *Request, body bool) {
	req.Release()
	a.discarding = body
}

func (a *Aggregator) content(ctx *pipeline.Context, c *Content) {
	if a.discarding {
		if c.Last {
			a.discarding = false
		}
		return
	}
	req := a.cur
	if req == nil {
		ctx.FireRead(c)
		return
	}
	if int64(len(req.Body))+int64(len(c.Data)) > a.max {
		a.cur = nil
		req.Release()
		a.discarding = !c.Last
		answer(ctx, http.StatusRequestEntityTooLarge, true)
		return
	}
	req.Body = append(req.Body, c.Data...)
	if !c.Last {
		return
	}
	a.cur = nil
	if len(c.Trailer) > 0 {
		req.setTrailer(c.Trailer)
	}
	ctx.FireRead(req)
}

// setTrailer copies trailer fields into the request's own buffer.
func (r *Request) setTrailer(fields []Field) {
	r.trailerBuf = r.trailerBuf[:0]
	for _, f := range fields {
		r.trailerBuf = append(r.trailerBuf, f.Name...)
		r.trailerBuf = append(r.trailerBuf, f.Value...)
	}
	off := 0
	for _, f := range fields {
		n, v := len(f.Name), len(f.Value)
		r.Trailer = append(r.Trailer, Field{Name: r.trailerBuf[off : off+n], Value: r.trailerBuf[off+n : off+n+v]})
		off += n + v
	}
}

// HandlerRemoved releases a request still being assembled.
func (a *Aggregator) HandlerRemoved(*pipeline.Context) {
	if a.cur != nil {
		a.cur.Release()
		a.cur = nil
	}
}
