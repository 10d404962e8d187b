package httpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/pipeline"
)

// Config configures a Client; zero values mean the defaults.
type Config struct {
	// Client holds the event loops the connections run on; default the
	// loops shared by the process (bootstrap.DefaultClient).
	Client *bootstrap.Client
	// TLS configures https:// (nil: the system's roots). ServerName is
	// set from each URL; set RootCAs for a private CA, Certificates for
	// a client certificate.
	TLS *tls.Config
	// MaxConnsPerHost bounds the connections to one host (scheme, host
	// and port); requests beyond it wait for one. Default 64.
	MaxConnsPerHost int
	// MaxIdlePerHost bounds the idle connections kept per host. Default 16.
	MaxIdlePerHost int
	// IdleTimeout closes a connection idle this long. Default 90 s.
	IdleTimeout time.Duration
	// Timeout bounds each request, from the call to the end of the
	// response body, when its context has no earlier deadline. Default 30 s.
	Timeout time.Duration
	// DialTimeout bounds the TCP connection and the TLS handshake.
	// Default 10 s.
	DialTimeout time.Duration
	// MaxResponseBytes bounds a response body. Default
	// http1.DefaultMaxContentLength.
	MaxResponseBytes int64
	// Codec holds the response decoder's limits and ContinueTimeout.
	Codec http1.ClientConfig
	// UserAgent is sent when a request has none. Default "gnetty".
	UserAgent string
}

// Request is one HTTP request.
type Request struct {
	Method string // default GET
	URL    string // http:// or https://
	Header http.Header
	Body   []byte
	// ExpectContinue sends "Expect: 100-continue" and holds the body
	// until the server answers 100 (Codec.ContinueTimeout at most).
	ExpectContinue bool
	// Close asks for the connection to close after the response.
	Close bool
}

// Response is a whole response: its body read to the end.
type Response struct {
	Status  int
	Reason  string
	Proto   string // "HTTP/1.1" or "HTTP/1.0"
	Header  http.Header
	Body    []byte
	Trailer http.Header
}

// ErrClosed is returned for requests made after Close.
var ErrClosed = errors.New("httpclient: client closed")

// Client sends requests over keep-alive connections pooled per host.
// Do, Go, CloseIdle and Close may be called from any goroutine; Do blocks
// and must not be called on an event loop (use Go there).
type Client struct {
	cfg    Config
	loops  *bootstrap.Client
	mu     sync.Mutex
	hosts  map[string]*hostPool
	closed bool
}

// New returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.MaxConnsPerHost <= 0 {
		cfg.MaxConnsPerHost = 64
	}
	if cfg.MaxIdlePerHost <= 0 {
		cfg.MaxIdlePerHost = 16
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 90 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "gnetty"
	}
	c := &Client{cfg: cfg, loops: cfg.Client, hosts: map[string]*hostPool{}}
	if c.loops == nil {
		var err error
		if c.loops, err = bootstrap.DefaultClient(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Get sends a GET.
func (c *Client) Get(ctx context.Context, rawURL string) (*Response, error) {
	return c.Do(ctx, &Request{URL: rawURL})
}

// Post sends a POST with a body of contentType.
func (c *Client) Post(ctx context.Context, rawURL, contentType string, body []byte) (*Response, error) {
	return c.Do(ctx, &Request{Method: "POST", URL: rawURL, Header: http.Header{"Content-Type": {contentType}}, Body: body})
}

// Do sends req and waits for the whole response, ctx's end or the
// client's Timeout. A status of 4xx or 5xx is a Response, not an error.
// Idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE) that find a
// reused connection closed by the server before any answer are sent
// again on another, as net/http does.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	type result struct {
		r   *Response
		err error
	}
	done := make(chan result, 1)
	call, err := c.newCall(req, func(r *Response, err error) { done <- result{r, err} })
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	c.start(call)
	select {
	case res := <-done:
		return res.r, res.err
	case <-ctx.Done():
		call.cancel(fmt.Errorf("httpclient: %s %s: %w", call.wire.Method, req.URL, ctx.Err()))
		res := <-done // the cancel answers at once
		return res.r, res.err
	}
}

// Go sends req and calls done once with the response or an error, within
// the client's Timeout. done runs on an event loop or on the goroutine
// that dialled: it must not block. Go itself never blocks, so it may be
// called on an event loop.
func (c *Client) Go(req *Request, done func(*Response, error)) {
	call, err := c.newCall(req, done)
	if err != nil {
		done(nil, err)
		return
	}
	t := time.AfterFunc(c.cfg.Timeout, func() {
		call.cancel(fmt.Errorf("httpclient: %s %s: no response within %s", call.wire.Method, req.URL, c.cfg.Timeout))
	})
	call.stopTimer = t.Stop
	c.start(call)
}

// CloseIdle closes the idle connections.
func (c *Client) CloseIdle() {
	c.mu.Lock()
	var idle []*conn
	for _, p := range c.hosts {
		idle = append(idle, p.idle...)
		p.idle = nil
	}
	c.mu.Unlock()
	for _, cn := range idle {
		cn.ch.Close()
	}
}

// Close closes the idle connections and refuses new requests; requests
// in flight finish. The event loops are the caller's (or the process's)
// and stay.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.CloseIdle()
}

// call is one request on its way.
type call struct {
	c         *Client
	req       *Request
	wire      *http1.ClientRequest
	key       string
	addr      string
	host      string
	secure    bool
	done      func(*Response, error)
	finished  atomic.Bool
	on        atomic.Pointer[conn] // the connection it was sent on
	retries   int
	stopTimer func() bool
}

func (c *Client) newCall(req *Request, done func(*Response, error)) (*call, error) {
	u, err := http1.ParseURL(req.URL, "http", "https")
	if err != nil {
		return nil, fmt.Errorf("httpclient: %w", err)
	}
	k := &call{c: c, req: req, done: done, secure: u.Secure, host: u.Host, addr: u.Addr, key: u.Scheme + "://" + u.Addr}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	w := &http1.ClientRequest{Method: method, Target: u.Target, Host: u.Authority, Header: http1.HeaderFrom(req.Header),
		Body: req.Body, Close: req.Close, ExpectContinue: req.ExpectContinue}
	if w.Header.Get("User-Agent") == "" {
		w.Header.Add("User-Agent", c.cfg.UserAgent)
	}
	k.wire = w
	return k, nil
}

// finish answers the call once.
func (k *call) finish(r *Response, err error) {
	if !k.finished.CompareAndSwap(false, true) {
		return
	}
	if k.stopTimer != nil {
		k.stopTimer()
	}
	k.done(r, err)
}

// cancel ends a call that is taking too long: a connection it is on is
// closed (its response abandoned); a call still waiting leaves the queue.
func (k *call) cancel(err error) {
	if k.finished.Load() {
		return
	}
	k.c.mu.Lock()
	if p := k.c.hosts[k.key]; p != nil {
		p.waiters = removeCall(p.waiters, k)
	}
	k.c.mu.Unlock()
	k.finish(nil, err)
	if cn := k.on.Load(); cn != nil {
		cn.ch.Close()
	}
}

func removeCall(calls []*call, k *call) []*call {
	for i, x := range calls {
		if x == k {
			return append(calls[:i], calls[i+1:]...)
		}
	}
	return calls
}

// idempotent reports whether a request may be sent again (RFC 9110 9.2.2).
func (k *call) idempotent() bool {
	switch k.wire.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// hostPool is the connections to one host. Guarded by Client.mu.
type hostPool struct {
	idle    []*conn
	open    int // connections open or being dialled
	waiters []*call
}

// start sends the call on an idle connection, a new one, or queues it.
func (c *Client) start(k *call) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		k.finish(nil, ErrClosed)
		return
	}
	p := c.hosts[k.key]
	if p == nil {
		p = &hostPool{}
		c.hosts[k.key] = p
	}
	for len(p.idle) > 0 {
		cn := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if cn.ch.IsActive() {
			c.mu.Unlock()
			cn.send(k)
			return
		}
	}
	if p.open >= c.cfg.MaxConnsPerHost {
		p.waiters = append(p.waiters, k)
		c.mu.Unlock()
		return
	}
	p.open++
	c.mu.Unlock()
	go c.dial(p, k)
}

// dial opens a connection for k (on its own goroutine: dialling blocks).
func (c *Client) dial(p *hostPool, k *call) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout)
	defer cancel()
	cn := &conn{c: c, pool: p}
	init := func(ch *pipeline.Channel) {
		pl := ch.Pipeline()
		_ = pl.AddLast(http1.CodecName, http1.NewClientCodec(c.cfg.Codec))
		_ = pl.AddLast(http1.AggregatorName, http1.NewResponseAggregator(c.cfg.MaxResponseBytes))
		_ = pl.AddLast(handlerName, cn)
	}
	if k.secure {
		cfg := c.cfg.TLS.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = k.host
		}
		cfg.NextProtos = []string{"http/1.1"}
		init = tlsh.Initializer(tlsh.Config{TLS: cfg, Client: true, HandshakeTimeout: c.cfg.DialTimeout}, init)
	}
	ch, err := c.loops.Dial(ctx, "tcp", k.addr, init)
	if err != nil {
		c.mu.Lock()
		p.open--
		next := c.takeWaiter(p)
		c.mu.Unlock()
		k.finish(nil, fmt.Errorf("httpclient: %s %s: %w", k.wire.Method, k.req.URL, err))
		if next != nil {
			c.start(next)
		}
		return
	}
	cn.ch = ch
	cn.send(k)
}

// takeWaiter pops the oldest waiting call that is still waiting, and
// counts a connection for it. Called with c.mu held.
func (c *Client) takeWaiter(p *hostPool) *call {
	for len(p.waiters) > 0 {
		k := p.waiters[0]
		p.waiters = p.waiters[1:]
		if !k.finished.Load() {
			return k
		}
	}
	return nil
}

const handlerName = "httpclient"

// conn is one pooled connection and the last handler of its pipeline. Its
// handler methods run on the channel's loop.
type conn struct {
	c      *Client
	pool   *hostPool
	ch     *pipeline.Channel
	cur    *call // the call waiting for its response (loop only)
	served int   // responses read (loop only)
	idleAt pipeline.Timer
	gone   bool  // closed and uncounted (loop only)
	err    error // what closed it, when an error did (loop only)
}

// send writes the call's request on the connection's loop.
func (cn *conn) send(k *call) {
	k.on.Store(cn)
	cn.ch.Execute(func() {
		if cn.idleAt != nil {
			cn.idleAt.Stop()
			cn.idleAt = nil
		}
		if !cn.ch.IsActive() {
			err := cn.err
			if err == nil {
				err = http1.ErrConnectionClosed
			}
			cn.failed(k, err)
			return
		}
		if k.finished.Load() { // cancelled on its way here
			cn.release()
			return
		}
		cn.cur = k
		cn.ch.WriteAndFlush(k.wire)
	})
}

// HandleRead takes the response.
func (cn *conn) HandleRead(ctx *pipeline.Context, msg any) {
	r, ok := msg.(*http1.ClientResponse)
	if !ok || r.Interim() {
		return
	}
	k := cn.cur
	cn.cur = nil
	cn.served++
	if k == nil {
		ctx.Close() // an answer nobody asked for
		return
	}
	k.on.Store(nil)
	resp := &Response{Status: r.Status, Reason: r.Reason, Proto: fmt.Sprintf("HTTP/1.%d", r.Minor), Header: toHTTP(r.Header), Body: r.Body}
	if len(r.Trailer) > 0 {
		resp.Trailer = toHTTP(r.Trailer)
	}
	if r.KeepAlive && !k.wire.Close && r.Status != 101 {
		cn.release()
	} else {
		ctx.Close()
	}
	k.finish(resp, nil)
}

// release puts the connection back in the pool, or hands it to a waiting
// call.
func (cn *conn) release() {
	c := cn.c
	c.mu.Lock()
	if next := c.takeWaiter(cn.pool); next != nil {
		c.mu.Unlock()
		cn.send(next)
		return
	}
	if c.closed || len(cn.pool.idle) >= c.cfg.MaxIdlePerHost {
		c.mu.Unlock()
		cn.ch.Close()
		return
	}
	cn.pool.idle = append(cn.pool.idle, cn)
	c.mu.Unlock()
	cn.idleAt = cn.ch.Schedule(c.cfg.IdleTimeout, func() { cn.ch.Close() })
}

// HandleError fails the call waiting on the connection, which closes.
func (cn *conn) HandleError(ctx *pipeline.Context, err error) {
	if cn.err == nil {
		cn.err = err
	}
	if k := cn.cur; k != nil {
		cn.cur = nil
		cn.failed(k, err)
	}
	ctx.Close()
}

// HandleInactive fails a call still waiting and gives the connection's
// place to a waiting call.
func (cn *conn) HandleInactive(ctx *pipeline.Context) {
	if k := cn.cur; k != nil {
		cn.cur = nil
		cn.failed(k, http1.ErrConnectionClosed)
	}
	if cn.idleAt != nil {
		cn.idleAt.Stop()
		cn.idleAt = nil
	}
	if !cn.gone {
		cn.gone = true
		c := cn.c
		c.mu.Lock()
		for i, x := range cn.pool.idle {
			if x == cn {
				cn.pool.idle = append(cn.pool.idle[:i], cn.pool.idle[i+1:]...)
				break
			}
		}
		cn.pool.open--
		var next *call
		if cn.pool.open < c.cfg.MaxConnsPerHost {
			if next = c.takeWaiter(cn.pool); next != nil {
				cn.pool.open++
			}
		}
		c.mu.Unlock()
		if next != nil {
			go c.dial(cn.pool, next)
		}
	}
	ctx.FireInactive()
}

// failed ends k with err, or sends it again when a reused connection was
// closed before any answer and the request is idempotent.
func (cn *conn) failed(k *call, err error) {
	k.on.Store(nil)
	var re *http1.ResponseError
	closedEarly := errors.Is(err, http1.ErrConnectionClosed) || errors.As(err, &re) && re.Reason == http1.ErrConnectionClosed.Error()
	if closedEarly && cn.served > 0 && k.idempotent() && k.retries < 2 && !k.finished.Load() {
		k.retries++
		cn.c.start(k) // start never blocks: a dial runs on its own goroutine
		return
	}
	k.finish(nil, fmt.Errorf("httpclient: %s %s: %w", k.wire.Method, k.req.URL, err))
}

func toHTTP(h http1.Header) http.Header {
	out := make(http.Header, len(h))
	for _, f := range h {
		name := http.CanonicalHeaderKey(f.Name)
		out[name] = append(out[name], f.Value)
	}
	return out
}
