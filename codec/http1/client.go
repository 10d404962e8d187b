package http1

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gnetty/gnetty/codec"
	"github.com/gnetty/gnetty/pipeline"
)

// ClientRequest is an outbound request for the ClientCodec. The codec
// writes Host, Content-Length or Transfer-Encoding, and Connection itself,
// and drops those fields from Header.
type ClientRequest struct {
	Method string // default GET
	Target string // origin form, "/path?query"; default "/"
	Host   string // the Host field (required by HTTP/1.1)
	Header Header
	// Body is the whole body (sent with Content-Length when not empty, or
	// for methods that carry one). With Stream the body follows instead as
	// *Content messages, chunked, the last with Last set.
	Body   []byte
	Stream bool
	// Close asks the server to close the connection after its response.
	Close bool
	// Upgrade, when set, asks to switch protocols (sent as Upgrade, with
	// Connection: Upgrade): a 101 answers it.
	Upgrade string
	// ExpectContinue sends the head with "Expect: 100-continue" and holds
	// Body until the server answers 100 (or ClientConfig.ContinueTimeout
	// passes); a final response that comes first means the body is never
	// sent, and the connection closes after that response.
	ExpectContinue bool
	// Value is free for the caller: it travels to the response.
	Value any
}

// ClientResponse is a response the ClientCodec decoded: fired at its head
// (the body follows as *Content, the last with Last set; none for 1xx,
// 204, 304 and a HEAD request), or whole after a ResponseAggregator, with
// Body and Trailer.
type ClientResponse struct {
	Status int
	Reason string
	Minor  int // HTTP/1.Minor
	Header Header
	// ContentLength is the declared length, -1 when none was given.
	ContentLength int64
	Chunked       bool
	// KeepAlive: the connection may carry another request after this
	// response.
	KeepAlive bool
	// Request is the request answered.
	Request *ClientRequest
	// Body and Trailer, set by the ResponseAggregator.
	Body    []byte
	Trailer Header
}

// Interim reports a 1xx response other than 101: the final one follows.
func (r *ClientResponse) Interim() bool { return r.Status >= 100 && r.Status < 200 && r.Status != 101 }

// ResponseError is fired (and the connection closed) when a response
// cannot be read: malformed, too large, or cut short by the connection's
// end. Request is the request that waited for it (nil for a response no
// request asked for).
type ResponseError struct {
	Request *ClientRequest
	Reason  string
}

func (e *ResponseError) Error() string { return "http1: response: " + e.Reason }

// PeerFault marks a bad response as the server's doing (see
// pipeline.PeerFault).
func (*ResponseError) PeerFault() {}

// ErrConnectionClosed is the reason of a ResponseError for requests still
// waiting when the connection ended.
var ErrConnectionClosed = errors.New("http1: the connection closed before the response")

// ClientConfig holds the client codec's limits; zero values mean the
// defaults.
type ClientConfig struct {
	// MaxStatusLine bounds the status line (default 8 KiB); MaxHeaderBytes
	// the response head and the trailer section (default 64 KiB);
	// MaxHeaders the fields of each (default 100).
	MaxStatusLine  int
	MaxHeaderBytes int
	MaxHeaders     int
	// ContinueTimeout is how long a request with ExpectContinue waits for
	// 100 before its body is sent anyway. Default 1 s.
	ContinueTimeout time.Duration
}

// ClientCodec encodes requests and decodes their responses (Netty's
// HttpClientCodec), with the strictness of the server side: a response
// with both Content-Length and Transfer-Encoding, differing lengths, a
// malformed status line or field, obsolete line folding, a bare CR, a
// head or trailer over the limits, or a chunk it cannot parse is a
// ResponseError for the request waiting on it, and the connection closes.
// Bodies are read by Content-Length, chunked (with trailers), or until
// the connection closes; 1xx, 204, 304 and answers to HEAD carry none.
// Requests may be pipelined: responses are matched to them in order.
// After a 101 the codec reads no more: the bytes that follow go on to the
// next handler (a WebSocket client replaces the codec then).
//
// Create one per channel; it runs on the channel's loop.
type ClientCodec struct {
	*codec.Decoder
	dec      clientDecoder
	cfg      ClientConfig
	pending  []*ClientRequest
	held     []any          // writes waiting behind a body held for 100-continue
	waiting  *ClientRequest // the request whose body waits for 100
	timer    pipeline.Timer
	closing  bool
	switched bool
}

var (
	_ pipeline.ReadHandler     = (*ClientCodec)(nil)
	_ pipeline.WriteHandler    = (*ClientCodec)(nil)
	_ pipeline.InactiveHandler = (*ClientCodec)(nil)
)

// NewClientCodec returns a client codec with cfg's limits.
func NewClientCodec(cfg ClientConfig) *ClientCodec {
	if cfg.MaxStatusLine <= 0 {
		cfg.MaxStatusLine = 8 << 10
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 64 << 10
	}
	if cfg.MaxHeaders <= 0 {
		cfg.MaxHeaders = 100
	}
	if cfg.ContinueTimeout <= 0 {
		cfg.ContinueTimeout = time.Second
	}
	c := &ClientCodec{cfg: cfg}
	c.dec.c = c
	c.dec.limits = &Config{MaxRequestLine: cfg.MaxStatusLine, MaxHeaderBytes: cfg.MaxHeaderBytes, MaxHeaders: cfg.MaxHeaders}
	c.dec.done = stateHead
	c.Decoder = codec.NewDecoder(&c.dec)
	return c
}

// HandleWrite encodes *ClientRequest and the *Content of a streamed body;
// anything else passes on.
func (c *ClientCodec) HandleWrite(ctx *pipeline.Context, msg any) {
	if c.waiting != nil {
		c.held = append(c.held, msg) // behind a body that waits for 100
		return
	}
	switch m := msg.(type) {
	case abandon:
		// The aggregator refused the response in progress and reported
		// it: its request is answered, and nothing more is read.
		c.pop()
		c.dec.state = stateFailed
		c.closing = true
		ctx.Close()
	case *ClientRequest:
		c.pending = append(c.pending, m)
		ctx.Write(encodeRequest(m))
		if m.ExpectContinue && len(m.Body) > 0 {
			c.waiting = m
			c.timer = ctx.EventLoop().Schedule(c.cfg.ContinueTimeout, func() { c.sendHeldBody(ctx) })
		}
	case *Content:
		f := chunkPool.Get().(*chunk)
		f.data, f.last, f.chunked = m.Data, m.Last, true
		ctx.Write(f)
	default:
		ctx.Write(msg)
	}
}

// sendHeldBody sends the body that waited for 100, then what was written
// behind it.
func (c *ClientCodec) sendHeldBody(ctx *pipeline.Context) {
	if c.waiting == nil {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	body := c.waiting.Body
	c.waiting = nil
	ctx.Write(append([]byte(nil), body...))
	held := c.held
	c.held = nil
	for _, m := range held {
		c.HandleWrite(ctx, m)
	}
	ctx.Flush()
}

// encodeRequest writes a request's head, and its body unless the body
// waits for 100 or is streamed.
func encodeRequest(r *ClientRequest) []byte {
	method, target := r.Method, r.Target
	if method == "" {
		method = "GET"
	}
	if target == "" {
		target = "/"
	}
	b := make([]byte, 0, 128+len(r.Body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, r.Host...)
	b = append(b, "\r\n"...)
	for _, p := range r.Header {
		n := []byte(p.Name)
		if equalFold(n, "Host") || equalFold(n, "Content-Length") || equalFold(n, "Transfer-Encoding") || equalFold(n, "Connection") ||
			equalFold(n, "Expect") && r.ExpectContinue || equalFold(n, "Upgrade") && r.Upgrade != "" {
			continue
		}
		b = append(b, p.Name...)
		b = append(b, ": "...)
		b = append(b, p.Value...)
		b = append(b, "\r\n"...)
	}
	switch {
	case r.Stream:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case len(r.Body) > 0 || method == "POST" || method == "PUT" || method == "PATCH":
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.Body)), 10)
		b = append(b, "\r\n"...)
	}
	if r.ExpectContinue && len(r.Body) > 0 {
		b = append(b, "Expect: 100-continue\r\n"...)
	}
	switch {
	case r.Upgrade != "":
		b = append(b, "Upgrade: "...)
		b = append(b, r.Upgrade...)
		b = append(b, "\r\nConnection: Upgrade\r\n"...)
	case r.Close:
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if !r.Stream && !(r.ExpectContinue && len(r.Body) > 0) {
		b = append(b, r.Body...)
	}
	return b
}

// HandleInactive ends a body that ends with the connection, and fails
// the requests still waiting.
func (c *ClientCodec) HandleInactive(ctx *pipeline.Context) {
	if c.timer != nil {
		c.timer.Stop()
	}
	d := &c.dec
	switch {
	case c.switched, d.state == stateFailed:
	case d.state == stateUntilClose:
		d.state = stateHead
		d.fireContent(ctx, nil, true, nil)
		c.complete(ctx)
	case d.state != stateHead:
		d.state = stateHead
		ctx.FireError(&ResponseError{Request: c.head(), Reason: "the connection closed in the middle of the body"})
		c.pop()
	}
	for len(c.pending) > 0 {
		ctx.FireError(&ResponseError{Request: c.pop(), Reason: ErrConnectionClosed.Error()})
	}
	ctx.FireInactive()
}

func (c *ClientCodec) head() *ClientRequest {
	if len(c.pending) == 0 {
		return nil
	}
	return c.pending[0]
}

func (c *ClientCodec) pop() *ClientRequest {
	if len(c.pending) == 0 {
		return nil
	}
	r := c.pending[0]
	c.pending[0] = nil
	c.pending = c.pending[1:]
	return r
}

// complete ends the response in progress: its request is answered; the
// connection closes after it when the response said so.
func (c *ClientCodec) complete(ctx *pipeline.Context) {
	c.pop()
	if c.closing {
		ctx.Close()
	}
}

// fail reports a response that cannot be read, for the request waiting
// on it, and closes the connection.
func (c *ClientCodec) fail(ctx *pipeline.Context, reason string) (int, error) {
	err := &ResponseError{Request: c.pop(), Reason: reason}
	c.dec.state = stateFailed
	c.closing = true
	ctx.Close()
	return 0, err
}

// clientDecoder is the response parser: a codec.Step.
type clientDecoder struct {
	bodyReader
	c       *ClientCodec
	scanned int
	resp    ClientResponse
}

func (d *clientDecoder) Decode(ctx *pipeline.Context, in []byte) (int, error) {
	c := d.c
	switch d.state {
	case stateHead:
		return d.readHead(ctx, in)
	case stateFailed:
		return len(in), nil
	case stateSwitched:
		b := pipeline.NewBytes(in) // after 101: not HTTP any more
		ctx.FireRead(b)
		return len(in) - b.Len(), nil
	}
	n, err := d.body(ctx, in)
	if err != nil {
		return c.fail(ctx, err.Reason)
	}
	if d.state == stateHead && n > 0 {
		c.complete(ctx) // the body's last piece went out
	}
	return n, nil
}

func (d *clientDecoder) readHead(ctx *pipeline.Context, in []byte) (int, error) {
	c := d.c
	lim := d.limits
	from := max(d.scanned-3, 0)
	n := headEnd(in, from)
	if n < 0 {
		if i := bytes.IndexByte(in, '\n'); i < 0 && len(in) > lim.MaxRequestLine+1 || i > lim.MaxRequestLine+1 {
			return c.fail(ctx, "status line too long")
		}
		if len(in) > lim.MaxHeaderBytes {
			return c.fail(ctx, "response head too large")
		}
		d.scanned = len(in)
		return 0, nil
	}
	d.scanned = 0
	if n > lim.MaxHeaderBytes {
		return c.fail(ctx, "response head too large")
	}
	if len(c.pending) == 0 {
		return c.fail(ctx, "a response no request asked for")
	}
	r := &d.resp
	*r = ClientResponse{ContentLength: -1, Request: c.pending[0]}
	if reason := parseResponseHead(r, in[:n], lim); reason != "" {
		return c.fail(ctx, reason)
	}
	req := r.Request
	switch {
	case r.Status == 101:
		c.switched = true
		d.state = stateSwitched
		resp := *r
		c.pop()
		ctx.FireRead(&resp)
		return n, nil
	case r.Interim():
		if r.Status == 100 && c.waiting == req {
			c.sendHeldBody(ctx)
		}
		resp := *r
		ctx.FireRead(&resp)
		return n, nil
	}
	if c.waiting == req {
		// A final answer before 100: the body is never sent, so the
		// server's view of the stream ends here.
		c.waiting, c.held = nil, nil
		if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
		r.KeepAlive = false
	}
	method := req.Method
	bodyless := method == "HEAD" || r.Status == 204 || r.Status == 304
	switch {
	case bodyless:
	case r.Chunked:
		d.state = stateChunkSize
	case r.ContentLength > 0:
		d.state, d.remaining = stateBody, r.ContentLength
	case r.ContentLength == 0:
	default:
		d.state = stateUntilClose
		r.KeepAlive = false
	}
	c.closing = !r.KeepAlive
	resp := *r
	ctx.FireRead(&resp)
	if d.state == stateHead {
		d.fireContent(ctx, nil, true, nil)
		c.complete(ctx)
	}
	return n, nil
}

// parseResponseHead fills r from a response head, or says what is wrong.
func parseResponseHead(r *ClientResponse, head []byte, lim *Config) string {
	buf := appendHead(nil, head)
	b := buf[:len(buf)-2]
	if err := checkCRLF(b); err != nil {
		return "bare CR or LF in the head"
	}
	i := bytes.Index(b, []byte("\r\n"))
	line := b[:i]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return "malformed status line"
	}
	r.Minor = int(line[7] - '0')
	if r.Minor > 1 {
		return "unsupported HTTP version"
	}
	for _, ch := range line[9:12] {
		if ch < '0' || ch > '9' {
			return "malformed status code"
		}
	}
	r.Status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	if r.Status < 100 {
		return "malformed status code"
	}
	if len(line) > 13 {
		r.Reason = string(line[13:])
		if !validBytes(line[13:]) {
			return "control character in the reason"
		}
	}
	b = b[i+2:]
	var cl int64 = -1
	te := false
	conn := ""
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		f, err := parseField(b[:i])
		if err != nil {
			return err.Reason
		}
		b = b[i+2:]
		if len(r.Header) >= lim.MaxHeaders {
			return "too many header fields"
		}
		r.Header = append(r.Header, HeaderPair{Name: string(f.Name), Value: string(f.Value)})
		switch {
		case equalFold(f.Name, "Content-Length"):
			v, err := parseContentLength(f.Value)
			if err != nil {
				return err.Reason
			}
			if cl >= 0 && v != cl {
				return "differing Content-Length values"
			}
			cl = v
		case equalFold(f.Name, "Transfer-Encoding"):
			te = true
			r.Chunked = lastToken(f.Value, "chunked")
		case equalFold(f.Name, "Connection"):
			conn += string(f.Value) + ","
		}
	}
	if te && cl >= 0 {
		return "both Content-Length and Transfer-Encoding"
	}
	if te && !r.Chunked {
		cl = -1 // another coding last: the body ends with the connection
	}
	r.ContentLength = cl
	if r.Minor == 1 {
		r.KeepAlive = !hasToken([]byte(conn), "close")
	} else {
		r.KeepAlive = hasToken([]byte(conn), "keep-alive")
	}
	return ""
}

// lastToken reports whether the list v ends with the token t.
func lastToken(v []byte, t string) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return equalFold(trimOWS(v), t)
}

// ResponseAggregator assembles each response's body into
// ClientResponse.Body (and its trailer into Trailer) and fires whole
// responses, as the server's Aggregator does requests. A body over the
// limit is a ResponseError for its request, and the connection closes.
// Interim responses (1xx) and a 101 pass at once. Place it right after
// the ClientCodec; one per channel.
type ResponseAggregator struct {
	max int64
	cur *ClientResponse
}

var _ pipeline.ReadHandler = (*ResponseAggregator)(nil)

// NewResponseAggregator returns an aggregator with the given body limit;
// 0 means DefaultMaxContentLength.
func NewResponseAggregator(maxContentLength int64) *ResponseAggregator {
	if maxContentLength <= 0 {
		maxContentLength = DefaultMaxContentLength
	}
	return &ResponseAggregator{max: maxContentLength}
}

// HandleRead aggregates responses and their content.
func (a *ResponseAggregator) HandleRead(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *ClientResponse:
		if m.Status < 200 {
			ctx.FireRead(m)
			return
		}
		if m.ContentLength > a.max {
			a.refuse(ctx, m.Request, fmt.Sprintf("body of %d bytes over the limit of %d", m.ContentLength, a.max))
			return
		}
		a.cur = m
	case *Content:
		r := a.cur
		if r == nil {
			return // a response already refused
		}
		if int64(len(r.Body)+len(m.Data)) > a.max {
			a.refuse(ctx, r.Request, fmt.Sprintf("body over the limit of %d bytes", a.max))
			return
		}
		r.Body = append(r.Body, m.Data...)
		for _, f := range m.Trailer {
			r.Trailer = append(r.Trailer, HeaderPair{Name: string(f.Name), Value: string(f.Value)})
		}
		if m.Last {
			a.cur = nil
			ctx.FireRead(r)
		}
	default:
		ctx.FireRead(msg)
	}
}

// abandon tells the ClientCodec (written towards it) that the response
// in progress was refused and reported.
type abandon struct{}

// refuse reports the response in progress as too large and has the codec
// drop it and close the connection.
func (a *ResponseAggregator) refuse(ctx *pipeline.Context, req *ClientRequest, reason string) {
	a.cur = nil
	ctx.FireError(&ResponseError{Request: req, Reason: reason})
	ctx.Write(abandon{})
}
