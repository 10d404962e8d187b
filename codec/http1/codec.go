package http1

import (
	"net/http"
	"strconv"

	"github.com/gnetty/gnetty/codec"
	"github.com/gnetty/gnetty/pipeline"
)

// Pipeline slot names: the names the presets give the HTTP codec and the
// aggregator, and that handler/ws/upgrade replaces and removes after an
// upgrade. Use them instead of string literals.
const (
	CodecName      = "http"
	AggregatorName = "aggregator"
)

// ServerCodec decodes requests and encodes responses (Netty's
// HttpServerCodec). Inbound it fires *Request for each head, then *Content
// pieces of the body, the last with Last set (none for a request without
// a body). Outbound it takes *Response and, for streamed responses,
// *Content, and matches responses to requests in order: HEAD responses
// carry no body, a request without keep-alive gets "Connection: close" and
// the connection closes after its response.
//
// A request it cannot accept is answered with its *StatusError's status
// (400, 414, 431, 501, 505), the error is fired, and the connection closes
// after the answer: once framing is in doubt nothing after it is read.
// Requests decoded before the bad one keep their place: their responses go
// out first, in order (also when they are produced later, off the loop),
// then the error's answer, then the close.
//
// Create one per channel.
type ServerCodec struct {
	*codec.Decoder
	dec       decoder
	seq       uint64
	pending   []reqInfo
	held      []held
	stream    reqInfo
	streaming bool
	closing   bool
	paused    bool
	failure   []byte // the answer to a bad request, held until the responses before it are out
	secure    int8   // 0 unknown, 1 TLS, -1 plaintext: read once per channel
}

type reqInfo struct {
	seq       uint64
	head      bool
	keepAlive bool
	minor     int
}

// held is a response (or a piece of one) produced before its turn.
type held struct {
	seq uint64
	msg any
}

var (
	_ pipeline.ReadHandler  = (*ServerCodec)(nil)
	_ pipeline.WriteHandler = (*ServerCodec)(nil)
)

// NewServerCodec returns a codec with cfg's limits.
func NewServerCodec(cfg Config) *ServerCodec {
	cfg.normalize()
	c := &ServerCodec{}
	c.dec = decoder{cfg: cfg, sc: c}
	c.dec.limits, c.dec.done = &c.dec.cfg, stateHead
	c.Decoder = codec.NewDecoder(&c.dec)
	return c
}

func (c *ServerCodec) requested(ctx *pipeline.Context, req *Request) {
	if c.secure == 0 {
		c.secure = -1
		if tls, _ := pipeline.Secure.Get(ctx.Channel()); tls {
			c.secure = 1
		}
	}
	req.Secure = c.secure == 1
	c.seq++
	req.seq = c.seq
	c.pending = append(c.pending, reqInfo{seq: c.seq, head: req.method == "HEAD", keepAlive: req.KeepAlive, minor: req.Minor})
	if !req.KeepAlive {
		c.closing = true // nothing after a non-keep-alive request is read
	}
}

// failed answers a request the decoder refused; inBody says the fault was
// in the body of the request decoded last.
func (c *ServerCodec) failed(ctx *pipeline.Context, err *StatusError, inBody bool) {
	c.closing = true
	if n := len(c.pending); inBody && n > 0 && c.pending[n-1].seq == c.seq {
		// The answer to the error is that request's response.
		if n == 1 && c.streaming {
			ctx.Close() // its response has begun: the connection can only end
			return
		}
		c.pending = c.pending[:n-1]
	}
	body := err.Reason + "\n"
	b := appendStatusLine(nil, err.Code)
	b = append(b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nConnection: close\r\nDate: "...)
	b = append(b, httpDate()...)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	c.failure = b
	c.answerFailure(ctx)
}

// answerFailure writes the answer to a bad request and closes, once every
// request before it has its whole response.
func (c *ServerCodec) answerFailure(ctx *pipeline.Context) {
	if c.failure == nil || len(c.pending) > 0 || c.streaming {
		return
	}
	b := c.failure
	c.failure = nil
	ctx.WriteAndFlush(b)
	ctx.Close()
}

// HandleWrite encodes responses, in request order: a response (or a piece
// of a streamed one) for a later request than the one due is held until
// the responses before it are complete.
func (c *ServerCodec) HandleWrite(ctx *pipeline.Context, msg any) {
	c.write(ctx, msg)
	c.answerFailure(ctx)
}

func (c *ServerCodec) write(ctx *pipeline.Context, msg any) {
	var seq uint64
	switch m := msg.(type) {
	case *Response:
		seq = m.seq
	case *Content:
		seq = m.Seq
	default:
		ctx.Write(msg)
		return
	}
	if seq != 0 && len(c.pending) > 0 && seq != c.pending[0].seq {
		c.held = append(c.held, held{seq: seq, msg: msg})
		return
	}
	c.emit(ctx, msg)
	for len(c.held) > 0 && len(c.pending) > 0 {
		due := c.pending[0].seq
		i := 0
		for i < len(c.held) && c.held[i].seq != due {
			i++
		}
		if i == len(c.held) {
			return
		}
		m := c.held[i].msg
		c.held = append(c.held[:i], c.held[i+1:]...)
		c.emit(ctx, m)
		ctx.Flush()
	}
}

func (c *ServerCodec) emit(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *Response:
		c.writeResponse(ctx, m)
	case *Content:
		if !c.streaming {
			ctx.Write(msg)
			return
		}
		f := chunkPool.Get().(*chunk)
		f.data, f.last, f.chunked, f.head = m.Data, m.Last, c.stream.minor == 1, c.stream.head
		ctx.Write(f)
		if m.Last {
			c.streaming = false
			c.pop(ctx)
			if !c.stream.keepAlive {
				c.closing = true
				ctx.Flush()
				ctx.Close()
			}
		}
	}
}

func (c *ServerCodec) pop(ctx *pipeline.Context) {
	if len(c.pending) > 0 {
		c.pending = c.pending[:copy(c.pending, c.pending[1:])]
	}
	if c.paused {
		c.paused = false
		ctx.Channel().Wake() // decode the requests held back
	}
}

func (c *ServerCodec) writeResponse(ctx *pipeline.Context, r *Response) {
	info := reqInfo{keepAlive: true, minor: 1}
	if len(c.pending) > 0 {
		info = c.pending[0]
	}
	interim := r.Status >= 100 && r.Status < 200 && r.Status != http.StatusSwitchingProtocols
	streams := r.Stream && !bodyless(r.Status)
	if !interim && !streams {
		c.pop(ctx) // a streamed response is complete with its last piece
	}
	keepAlive := info.keepAlive && !r.Close && !hasToken([]byte(r.Header.Get("Connection")), "close")
	if r.Stream && info.minor == 0 {
		keepAlive = false // HTTP/1.0 has no chunking: the body ends with the connection
	}
	r.head, r.minor, r.keepAlive = info.head, info.minor, keepAlive || interim
	r.chunked = r.Stream && info.minor == 1
	ctx.Write(r)
	switch {
	case interim:
	case streams:
		c.streaming = true
		c.stream = reqInfo{head: info.head, keepAlive: keepAlive, minor: info.minor}
	case !keepAlive:
		c.closing = true
		ctx.Flush()
		ctx.Close()
	}
}
