package websocket

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/handler/ws/keepalive"
	"github.com/gnetty/gnetty/handler/ws/slowconsumer"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
)

// MessageType tells text from binary.
type MessageType = ws.OpCode

// Message types.
const (
	Text   = ws.OpText
	Binary = ws.OpBinary
)

// StatusCode is a WebSocket close code (RFC 6455 section 7.4): what
// Conn.Close sends and Handler.OnClose receives. The application needs
// no other package for it.
type StatusCode = ws.StatusCode

// Close codes an application sends or sees.
const (
	StatusNormalClosure           StatusCode = 1000 // done
	StatusGoingAway               StatusCode = 1001 // the server shuts down, the page goes away
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003 // a message of a type the endpoint does not take
	StatusNoStatusRcvd            StatusCode = 1005 // received only: a close frame without a code
	StatusAbnormalClosure         StatusCode = 1006 // received only: the connection ended without a close frame
	StatusInvalidFramePayloadData StatusCode = 1007 // text that is not UTF-8
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusInternalServerError     StatusCode = 1011
	StatusTryAgainLater           StatusCode = 1013 // overloaded, or a reader too slow for its queue
)

// Handler is the application. Its methods run on the connection's event
// loop, one at a time per connection: they must not block (hand blocking
// work to a goroutine and answer with the Conn). data is valid only until
// OnMessage returns.
type Handler interface {
	OnOpen(c *Conn)
	OnMessage(c *Conn, typ MessageType, data []byte)
	OnClose(c *Conn, code StatusCode, reason string)
}

// Funcs adapts functions to a Handler; nil fields do nothing.
//
// # Concurrency
//
// Like any Handler, the functions are called on the connection's event
// loop, one at a time per connection, and must not block. One Funcs value
// serves every connection of its route, so state the functions share
// across connections needs its own locking.
type Funcs struct {
	Open    func(c *Conn)
	Message func(c *Conn, typ MessageType, data []byte)
	Close   func(c *Conn, code StatusCode, reason string)
}

// OnOpen calls f.Open, on the connection's event loop, once the upgrade
// is complete.
func (f Funcs) OnOpen(c *Conn) {
	if f.Open != nil {
		f.Open(c)
	}
}

// OnMessage calls f.Message, on the connection's event loop, for every
// text or binary message; data is valid only until it returns.
func (f Funcs) OnMessage(c *Conn, typ MessageType, data []byte) {
	if f.Message != nil {
		f.Message(c, typ, data)
	}
}

// OnClose calls f.Close, on the connection's event loop, once the
// connection has closed, with the peer's close code (1006 if it vanished).
func (f Funcs) OnClose(c *Conn, code StatusCode, reason string) {
	if f.Close != nil {
		f.Close(c, code, reason)
	}
}

// Config configures the preset; zero values mean the defaults.
type Config struct {
	// Addrs to listen on (bootstrap address syntax). Required.
	Addrs []string
	// Routes maps WebSocket path patterns ("/ws/chat/{room}") to handlers.
	Routes map[string]Handler
	// HTTP registers plain HTTP routes on the same router (pages, login,
	// metrics); unmatched paths get 404.
	HTTP func(r *router.Router) error
	// Sessions, when set, loads the session cookie before routing; the
	// handshake's Authorize hook and Handshake.Session see it.
	Sessions *session.Manager
	// Upgrade options: origin check, auth hook, subprotocols, compression,
	// frame limits (Install, Remove and HTTPCodec are set by the preset).
	Upgrade upgrade.Config
	// HandshakeTimeout is the HTTP read timeout until the upgrade: a
	// connection that takes longer than this to send a complete request,
	// from opening or from its previous response, is closed. A keep-alive
	// connection that keeps sending requests is never cut. Default 10 s.
	HandshakeTimeout time.Duration
	// Handlers, when set, adds pipeline handlers between keepalive and the
	// application's Handler after each upgrade (a dispatch.Dispatcher, an
	// ack.Tracker, ...). Messages they consume do not reach OnMessage.
	// When nil, the codec, keepalive and the application run as one fused
	// handler (see AppName).
	Handlers func(p *pipeline.Pipeline, hs *upgrade.Handshake) error
	// PingInterval and PongTimeout for keepalive (defaults 25 s and 20 s).
	PingInterval, PongTimeout time.Duration
	// SlowConsumer, when set, closes a connection whose pending output a
	// write would take over its Limit (a reader that does not keep up
	// with broadcasts), with its Code (handler/ws/slowconsumer). It runs
	// in the fused connection's write path, or as a slowconsumer.Handler
	// right after the codec when Config.Handlers is set.
	SlowConsumer *slowconsumer.Config
	// MaxBodyBytes bounds HTTP request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// TLS, when set, serves https:// and wss://: a handler/tlsh handler
	// first on every connection, with crypto/tls's settings
	// (certificates or GetCertificate, ALPN, client certificates;
	// tlsh.ServerConfig loads a certificate pair and reloads it when it
	// changes).
	TLS *tls.Config
	// TLSHandshakeTimeout bounds each TLS handshake. Default 10 s.
	TLSHandshakeTimeout time.Duration
	// Server holds the remaining bootstrap settings (workers, water
	// marks, limits, logger); its Addrs and Initializer are set here.
	Server bootstrap.Config
}

// AppName is the pipeline slot name of the application's Handler after an
// upgrade when Config.Handlers is set. The chain after an upgrade is then,
// by slot name:
//
//	wsframe.Name -> keepalive.Name -> [Config.Handlers] -> AppName
//
// Config.Handlers adds its handlers with AddAfter(keepalive.Name, ...)
// or AddLast (AddLast runs before the application is added). Without
// Config.Handlers the chain is one fused handler named wsframe.Name
// (frame codec, keepalive and application in one struct and one pipeline
// context); it behaves the same.
const AppName = "app"

// Server is a running WebSocket server. Start, Serve, Shutdown, Addrs and
// Stats come from the embedded bootstrap.Server.
//
// # Concurrency
//
// Every method is safe for concurrent use: Start, Serve and Shutdown may
// race as bootstrap.Server documents (a Shutdown that comes first wins);
// Conns and Logger may be called from any goroutine, handlers included.
type Server struct {
	*bootstrap.Server
	cfg   Config
	conns atomic.Int64
}

// New validates the configuration and builds the server (not yet
// listening). Call it from any goroutine; cfg is copied.
func New(cfg Config) (*Server, error) {
	if len(cfg.Routes) == 0 && cfg.HTTP == nil {
		return nil, errors.New("websocket: no routes")
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	s := &Server{cfg: cfg}
	r := router.New()
	for pattern, h := range cfg.Routes {
		up := cfg.Upgrade
		up.HTTPCodec, up.Remove = http1.CodecName, upgrade.DefaultRemove
		rt := &route{s: s, h: h, ka: keepalive.Config{PingInterval: cfg.PingInterval, PongTimeout: cfg.PongTimeout}}
		rt.ka.Normalize()
		if cfg.SlowConsumer != nil {
			sc := *cfg.SlowConsumer
			sc.Normalize()
			rt.slow = &sc
		}
		if cfg.Handlers == nil {
			// Nothing between the codec and the application: one fused
			// handler in the codec's slot (see fusedConn).
			up.NewCodec = func(fc wsframe.Config, hs *upgrade.Handshake) any {
				return newFusedConn(rt, fc, hs)
			}
		} else {
			up.Install = func(p *pipeline.Pipeline, hs *upgrade.Handshake) error {
				k := keepalive.New(rt.ka)
				if err := p.AddAfter(wsframe.Name, keepalive.Name, k); err != nil {
					return err
				}
				if rt.slow != nil {
					if err := p.AddAfter(wsframe.Name, slowconsumer.Name, slowconsumer.New(*rt.slow)); err != nil {
						return err
					}
				}
				if err := cfg.Handlers(p, hs); err != nil {
					return err
				}
				a := &adapter{app: app{r: rt}}
				a.Inbound = pipeline.InboundOf[*wsframe.Message](a)
				return p.AddLast(AppName, a)
			}
		}
		if err := r.Handle("GET", pattern, upgrade.New(up)); err != nil {
			return nil, err
		}
	}
	if cfg.HTTP != nil {
		if err := cfg.HTTP(r); err != nil {
			return nil, err
		}
	}
	sc := cfg.Server
	sc.Addrs = cfg.Addrs
	front := router.Front{Router: r, Timeout: cfg.HandshakeTimeout, MaxBodyBytes: cfg.MaxBodyBytes}
	if cfg.Sessions != nil {
		front.Before = []router.Slot{{Name: session.Name, Handler: cfg.Sessions}}
	}
	sc.Initializer = front.Initializer()
	if cfg.TLS != nil {
		sc.Initializer = tlsh.Initializer(tlsh.Config{TLS: cfg.TLS, HandshakeTimeout: cfg.TLSHandshakeTimeout}, sc.Initializer)
	}
	srv, err := bootstrap.New(sc)
	if err != nil {
		return nil, err
	}
	s.Server = srv
	return s, nil
}

// Conns returns the number of open WebSocket connections. Safe for
// concurrent use.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// Conn is one WebSocket connection.
//
// # Concurrency
//
// Every method is safe for concurrent use; writes from one goroutine keep
// their order.
type Conn struct {
	ch     *pipeline.Channel
	hs     *upgrade.Handshake // a server's connection
	sub    string             // a client's subprotocol (Dial)
	dial   *redialer          // a client's that reconnects
	closed atomic.Bool
	// in is the message OnMessage is handling (loop-only): a write of its
	// own text back is not validated again (wsframe.Message.Reply).
	in *wsframe.Message
	// Value is free for the application (set it in OnOpen).
	Value atomic.Value
}

// ErrClosed is returned by writes on a closed connection.
var ErrClosed = errors.New("websocket: connection closed")

// ID returns the connection's process-unique ID.
func (c *Conn) ID() uint64 { return c.ch.ID() }

// Channel returns the underlying channel.
func (c *Conn) Channel() *pipeline.Channel { return c.ch }

// Handshake returns what the upgrade request carried (path, params,
// headers, subprotocol, session): a server's connection; nil on a client.
func (c *Conn) Handshake() *upgrade.Handshake { return c.hs }

// Subprotocol returns the subprotocol the server picked, or "": on both
// sides. (A client's whole handshake answer is what Dial returned; the
// connection does not keep it, to stay small.)
func (c *Conn) Subprotocol() string {
	if c.hs != nil {
		return c.hs.Subprotocol
	}
	return c.sub
}

// WriteText sends a text message (the string is copied).
func (c *Conn) WriteText(s string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.ch.WriteAndFlush(wsframe.Text(s))
	return nil
}

// WriteBinary sends a binary message (data is copied).
func (c *Conn) WriteBinary(data []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.ch.WriteAndFlush(wsframe.AcquireMessage(ws.OpBinary, data))
	return nil
}

// WriteMessage sends a message of the given type (data is copied). The
// text OnMessage was given, sent back unchanged from OnMessage (an echo),
// is not checked for UTF-8 again: the codec checked it on the way in.
func (c *Conn) WriteMessage(typ MessageType, data []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.ch.EventLoop().InLoop() { // c.in is the loop's
		if in := c.in; in != nil {
			c.ch.WriteAndFlush(in.Reply(typ, data))
			return nil
		}
	}
	c.ch.WriteAndFlush(wsframe.AcquireMessage(typ, data))
	return nil
}

// WritePrepared sends a message encoded once for many connections.
func (c *Conn) WritePrepared(p *wsframe.Prepared) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.ch.WriteAndFlush(p)
	return nil
}

// Close starts the close handshake with code and reason. On a client
// dialled with Reconnect, it also ends the reconnecting.
func (c *Conn) Close(code StatusCode, reason string) {
	if c.dial != nil {
		c.dial.stop()
	}
	c.ch.WriteAndFlush(wsframe.Close{Code: code, Reason: reason})
}

// IsWritable reports whether the connection's outbound buffer is under its
// high water mark (a slow reader is not).
func (c *Conn) IsWritable() bool { return c.ch.IsWritable() }

// route is what the connections of one route (or one dialer) share.
type route struct {
	s    *Server // nil on a client
	h    Handler
	ka   keepalive.Config     // normalized; a fused connection's keepalive reads it
	slow *slowconsumer.Config // normalized, or nil

	// A client's fused connection (one route a dial attempt):
	dial   *redialer                                  // Dial with Reconnect
	opened func(c *Conn, hs *upgrade.ClientHandshake) // Dial's answer, once
}

// app is what turns connection events into Handler calls, shared by the
// fused connection and the general chain's adapter. Loop-only.
type app struct {
	r          *route
	code       StatusCode
	slowClosed bool // closed as a slow consumer: later writes are dropped
	reason     string
}

// open runs OnOpen for the server's connection c.
func (a *app) open(c *Conn) {
	a.code = StatusAbnormalClosure
	if a.r.s != nil {
		a.r.s.conns.Add(1)
	}
	a.r.h.OnOpen(c)
}

// openClient runs OnOpen for a client's connection c, after handing it
// to Dial (which returns it before any callback runs with it).
func (a *app) openClient(c *Conn, hs *upgrade.ClientHandshake) {
	c.sub, c.dial = hs.Subprotocol, a.r.dial
	a.code = StatusAbnormalClosure
	if a.r.opened != nil {
		a.r.opened(c, hs)
		a.r.opened = nil
	}
	a.r.h.OnOpen(c)
}

// message runs OnMessage; a write of the message's own text back from
// OnMessage is not validated again (c.in).
func (a *app) message(c *Conn, m *wsframe.Message) {
	c.in = m
	a.r.h.OnMessage(c, m.Op, m.Data)
	c.in = nil
}

// closed runs OnClose once the connection has gone; a client dialled
// with Reconnect then dials again.
func (a *app) closed(c *Conn) {
	c.closed.Store(true)
	if a.r.s != nil {
		a.r.s.conns.Add(-1)
	}
	a.r.h.OnClose(c, a.code, a.reason)
	if c.dial != nil {
		c.dial.lost()
	}
}

// adapter is the application's handler in the general chain (when
// Config.Handlers puts handlers between the codec and the application,
// and on a client): it turns pipeline events into Handler calls.
type adapter struct {
	pipeline.Inbound[*wsframe.Message]
	app
	c *Conn
}

func (a *adapter) HandleUserEvent(ctx *pipeline.Context, ev any) {
	switch e := ev.(type) {
	case *upgrade.Handshake:
		a.c = &Conn{ch: ctx.Channel(), hs: e}
		a.open(a.c)
		return
	case *upgrade.ClientHandshake:
		a.c = &Conn{ch: ctx.Channel()}
		a.openClient(a.c, e)
		return
	case wsframe.CloseReceived:
		a.code, a.reason = e.Code, e.Reason
	case pipeline.ShutdownEvent:
		// Say goodbye; the codec closes after the peer answers (or its
		// close timeout).
		ctx.WriteAndFlush(wsframe.Close{Code: StatusGoingAway, Reason: "server shutting down"})
		return
	}
	ctx.FireUserEvent(ev)
}

func (a *adapter) HandleMessage(ctx *pipeline.Context, m *wsframe.Message) {
	if a.c == nil {
		ctx.FireRead(m)
		return
	}
	a.message(a.c, m)
}

// HandleError notes the close code of a failure the codec sent and passes
// the error on: the tail counts it as the peer's fault and logs it at
// debug level, as for a fused connection.
func (a *adapter) HandleError(ctx *pipeline.Context, err error) {
	var ce *wsframe.CloseError
	if errors.As(err, &ce) {
		a.code, a.reason = ce.Code, ce.Reason
	}
	ctx.FireError(err)
}

func (a *adapter) HandleInactive(ctx *pipeline.Context) {
	if a.c != nil {
		a.closed(a.c)
	}
	ctx.FireInactive()
}

// Group is a set of connections that receive broadcasts, encoded once.
// Members leave by Remove; closed connections are skipped and dropped.
//
// # Concurrency
//
// Safe for concurrent use.
type Group struct {
	mu      sync.RWMutex
	members map[*Conn]struct{}
}

// NewGroup returns an empty group.
func NewGroup() *Group { return &Group{members: map[*Conn]struct{}{}} }

// Add puts c in the group.
func (g *Group) Add(c *Conn) {
	g.mu.Lock()
	g.members[c] = struct{}{}
	g.mu.Unlock()
}

// Remove takes c out of the group.
func (g *Group) Remove(c *Conn) {
	g.mu.Lock()
	delete(g.members, c)
	g.mu.Unlock()
}

// Len returns the number of members.
func (g *Group) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.members)
}

// Broadcast sends one message to every member, encoding it once, and
// returns how many members it was queued for.
func (g *Group) Broadcast(typ MessageType, data []byte) int {
	p := wsframe.Prepare(typ, data)
	var dead []*Conn
	n := 0
	g.mu.RLock()
	for c := range g.members {
		if c.WritePrepared(p) != nil {
			dead = append(dead, c)
			continue
		}
		n++
	}
	g.mu.RUnlock()
	for _, c := range dead {
		g.Remove(c)
	}
	return n
}

// Logger returns the server's logger. Safe for concurrent use.
func (s *Server) Logger() *slog.Logger { return s.Server.Config().Logger }
