package socketio

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/handler/ws/slowconsumer"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
)

var jsonAPI = jsonmsg.API

// Config configures a Socket.IO server; zero values mean the defaults,
// which are the Node server's.
type Config struct {
	// Addrs to listen on (bootstrap address syntax). Required.
	Addrs []string
	// Path of the Engine.IO endpoint; default "/socket.io/".
	Path string
	// Transports allowed, of "polling" and "websocket"; default both.
	Transports []string
	// PingInterval and PingTimeout: the server pings every PingInterval
	// and closes a session whose pong takes longer than PingTimeout.
	// Defaults 25 s and 20 s.
	PingInterval, PingTimeout time.Duration
	// UpgradeTimeout bounds the upgrade from polling to WebSocket; default
	// 10 s.
	UpgradeTimeout time.Duration
	// ConnectTimeout closes a session that joins no namespace in time;
	// default 45 s.
	ConnectTimeout time.Duration
	// MaxHTTPBufferSize is the largest polling POST body and WebSocket
	// message accepted (413 and close 1009 beyond); default 1e6 bytes.
	MaxHTTPBufferSize int
	// WriteBufferLimit bounds the output waiting for a client: a polling
	// session whose queue passes it, or a WebSocket whose unread output
	// does, is closed (the slow-consumer rule), so one slow client never
	// holds memory without bound. Default 4 MiB.
	WriteBufferLimit int
	// WriteDelay, when positive, holds a client's output for up to this
	// long so that what is sent meanwhile leaves in one write (one system
	// call for several messages, Centrifugo's write_delay): a trade of a
	// few milliseconds of latency for CPU under heavy fan-out. It applies
	// to WebSocket sessions and to answering a waiting poll. Default 0:
	// every message leaves at the end of the loop pass that sent it.
	WriteDelay time.Duration
	// CORS, when set, answers cross-origin polling requests (preflight
	// included) and lets WebSocket upgrades from those origins through.
	CORS *CORS
	// AllowRequest, when set, may refuse a new session (403, Engine.IO
	// code 4, with the error's text); it runs on the request's loop and
	// must not block.
	AllowRequest func(hs *Handshake) error
	// Recovery, when set, turns on connection state recovery.
	Recovery *Recovery
	// Layer, when set, carries broadcasts to the other nodes that share
	// it (layer.NewRedis): rooms span nodes. Nil: one node.
	Layer layer.Layer
	// HTTP registers other routes on the same port (pages, health).
	HTTP func(r *router.Router) error
	// HandshakeTimeout is the HTTP read timeout (see the websocket
	// preset); default 10 s.
	HandshakeTimeout time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
	// TLS, when set, serves https:// and wss:// (see the websocket
	// preset's TLS); TLSHandshakeTimeout bounds each handshake (10 s).
	TLS                 *tls.Config
	TLSHandshakeTimeout time.Duration
	// Server holds the remaining bootstrap settings; Addrs and Initializer
	// are set here.
	Server bootstrap.Config
}

// CORS holds the cross-origin settings of the polling transport.
type CORS struct {
	// Origins allowed: exact origins ("https://app.example"), or "*" for
	// any. AllowOrigin, when set, decides instead.
	Origins     []string
	AllowOrigin func(origin string) bool
	// Credentials sends Access-Control-Allow-Credentials: true (and never
	// "*" as the allowed origin).
	Credentials bool
	// Headers the client may send (preflight); default
	// "Content-Type, Authorization".
	Headers []string
	// MaxAge of a preflight answer; default 0 (not sent).
	MaxAge time.Duration
}

func (c *CORS) allowed(origin string) bool {
	if origin == "" {
		return false
	}
	if c.AllowOrigin != nil {
		return c.AllowOrigin(origin)
	}
	for _, o := range c.Origins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// Recovery configures connection state recovery (Socket.IO 4.6's
// connectionStateRecovery): a client that lost its connection and comes
// back within MaxDisconnection gets its socket ID, rooms and data back,
// and every broadcast it missed.
type Recovery struct {
	// MaxDisconnection is how long a session is kept; default 2 min.
	MaxDisconnection time.Duration
	// SkipMiddlewares lets a recovered socket in without running the
	// namespace's middlewares again (the Node default, true there); set
	// RunMiddlewares to run them.
	RunMiddlewares bool
	// MaxPackets bounds the broadcasts kept for replay per namespace;
	// default 10,000 (older ones are dropped sooner than MaxDisconnection
	// when the rate is high, and their sessions are not recovered).
	MaxPackets int
}

// Stats are the server's counters; read them with Stats.
type Stats struct {
	Sessions    int64  // open Engine.IO sessions
	Upgrades    uint64 // polling sessions upgraded to WebSocket
	SlowClients uint64 // sessions closed by WriteBufferLimit
}

// Server is a Socket.IO server on gnetty. Start, Serve and Addrs come from
// the embedded bootstrap.Server.
//
// # Concurrency
//
// Every method is safe for concurrent use. Handlers (connection,
// middlewares, events, acks) run on the event loop that owns the
// client's session, one at a time per client, and must not block: hand
// blocking work to a goroutine and emit or ack from there.
type Server struct {
	*bootstrap.Server
	cfg    Config
	logger *slog.Logger
	up     router.HandlerFunc

	nsMu       sync.RWMutex
	namespaces map[string]*Namespace

	sessions sync.Map // sid -> *session
	stats    stats
	origin   string // the layer label of this server's broadcasts
}

// originPrefix starts the layer label of every Socket.IO broadcast.
const originPrefix = "socketio:"

// New validates cfg and builds the server (not yet listening). The root
// namespace "/" exists from the start; add others with Of.
func New(cfg Config) (*Server, error) {
	if cfg.Path == "" {
		cfg.Path = "/socket.io/"
	}
	if !strings.HasPrefix(cfg.Path, "/") {
		return nil, fmt.Errorf("socketio: path %q must start with /", cfg.Path)
	}
	if !strings.HasSuffix(cfg.Path, "/") {
		cfg.Path += "/"
	}
	if len(cfg.Transports) == 0 {
		cfg.Transports = []string{transportPolling, transportWebSocket}
	}
	for _, t := range cfg.Transports {
		if t != transportPolling && t != transportWebSocket {
			return nil, fmt.Errorf("socketio: unknown transport %q", t)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PingInterval, 25*time.Second)
	def(&cfg.PingTimeout, 20*time.Second)
	def(&cfg.UpgradeTimeout, 10*time.Second)
	def(&cfg.ConnectTimeout, 45*time.Second)
	def(&cfg.HandshakeTimeout, 10*time.Second)
	if cfg.MaxHTTPBufferSize <= 0 {
		cfg.MaxHTTPBufferSize = 1e6
	}
	if cfg.WriteBufferLimit <= 0 {
		cfg.WriteBufferLimit = 4 << 20
	}
	if r := cfg.Recovery; r != nil {
		rc := *r
		def(&rc.MaxDisconnection, 2*time.Minute)
		if rc.MaxPackets <= 0 {
			rc.MaxPackets = 10000
		}
		cfg.Recovery = &rc
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	srv := &Server{cfg: cfg, logger: cfg.Logger, namespaces: map[string]*Namespace{}, origin: originPrefix + newSessionID()}
	srv.up = upgrade.New(upgrade.Config{
		CheckOrigin: srv.checkOrigin,
		Frame:       wsframe.Config{MaxMessageSize: cfg.MaxHTTPBufferSize},
		HTTPCodec:   http1.CodecName,
		Remove:      append([]string{watchName}, upgrade.DefaultRemove...),
		Install:     srv.install,
	})
	r := router.New()
	if err := r.Handle("", cfg.Path, srv.serveEngine); err != nil {
		return nil, err
	}
	if cfg.HTTP != nil {
		if err := cfg.HTTP(r); err != nil {
			return nil, err
		}
	}
	srv.Of("/")
	sc := cfg.Server
	sc.Addrs = cfg.Addrs
	if sc.Logger == nil {
		sc.Logger = cfg.Logger
	}
	front := router.Front{Router: r, Timeout: cfg.HandshakeTimeout, MaxBodyBytes: int64(cfg.MaxHTTPBufferSize)}
	sc.Initializer = func(ch *pipeline.Channel) {
		f := front
		f.Before = []router.Slot{{Name: watchName, Handler: &pollWatch{}}} // one per channel
		if err := f.Install(ch.Pipeline()); err != nil {
			ch.Logger().Error("socketio: cannot build the HTTP chain", "err", err)
			ch.Close()
		}
	}
	if cfg.TLS != nil {
		sc.Initializer = tlsh.Initializer(tlsh.Config{TLS: cfg.TLS, HandshakeTimeout: cfg.TLSHandshakeTimeout}, sc.Initializer)
	}
	b, err := bootstrap.New(sc)
	if err != nil {
		return nil, err
	}
	srv.Server = b
	return srv, nil
}

const (
	watchName = "socketio-poll-watch"
	// TransportName is the pipeline slot of a WebSocket transport's
	// handler, after wsframe.Name and slowconsumer.Name.
	TransportName = "socketio"
)

// Stats returns the server's counters. Safe for concurrent use.
func (srv *Server) Stats() Stats {
	return Stats{
		Sessions:    srv.stats.Sessions.Load(),
		Upgrades:    srv.stats.Upgrades.Load(),
		SlowClients: srv.stats.SlowClients.Load(),
	}
}

// Shutdown closes every session with a close packet (reason "server
// shutting down" on both sides), then stops the server as
// bootstrap.Server.Shutdown does.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.sessions.Range(func(_, v any) bool {
		s := v.(*session)
		s.run(func() { s.close("server shutting down", true) })
		return true
	})
	return srv.Server.Shutdown(ctx)
}

func (srv *Server) allows(transport string) bool {
	for _, t := range srv.cfg.Transports {
		if t == transport {
			return true
		}
	}
	return false
}

func (srv *Server) newSession(home pipeline.EventLoop, hs *Handshake) *session {
	s := &session{srv: srv, id: newSessionID(), home: home, hs: hs, transport: transportPolling, sockets: map[string]*Socket{}}
	srv.sessions.Store(s.id, s)
	srv.stats.Sessions.Add(1)
	return s
}

// serveEngine answers every request on the Engine.IO path.
func (srv *Server) serveEngine(ctx *pipeline.Context, req *http1.Request) {
	ch := ctx.Channel()
	if req.Method() == "OPTIONS" {
		srv.preflight(ch, req)
		return
	}
	q, err := url.ParseQuery(string(req.Query()))
	if err != nil {
		srv.engineError(ch, req, errBadRequest)
		return
	}
	if q.Get("EIO") != "4" {
		srv.engineError(ch, req, errBadVersion)
		return
	}
	transport := q.Get("transport")
	if !srv.allows(transport) {
		srv.engineError(ch, req, errUnknownTransport)
		return
	}
	sid := q.Get("sid")
	if transport == transportWebSocket {
		srv.serveWebSocket(ctx, req, q, sid)
		return
	}
	if sid == "" {
		if req.Method() != "GET" {
			srv.engineError(ch, req, errBadMethod)
			return
		}
		hs := newHandshake(ch, req, q)
		if srv.cfg.AllowRequest != nil {
			if err := srv.cfg.AllowRequest(hs); err != nil {
				srv.engineErrorMessage(ch, req, errForbidden, err.Error())
				return
			}
		}
		s := srv.newSession(ch.EventLoop(), hs)
		upgrades := []string{}
		if srv.allows(transportWebSocket) {
			upgrades = append(upgrades, transportWebSocket)
		}
		resp := http1.NewResponse(req)
		resp.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		srv.cors(resp, req)
		resp.Body = append(append(resp.Body, eOpen), srv.openPacket(s.id, upgrades)...)
		req.Release()
		ch.WriteAndFlush(resp)
		s.start()
		return
	}
	v, ok := srv.sessions.Load(sid)
	if !ok {
		srv.engineError(ch, req, errUnknownSID)
		return
	}
	s := v.(*session)
	switch req.Method() {
	case "GET":
		w, _ := ctx.Pipeline().Get(watchName).(*pollWatch)
		if w == nil {
			w = &pollWatch{}
		}
		s.run(func() { s.onPoll(ch, req, w) })
	case "POST":
		s.run(func() { s.onPost(ch, req) })
	default:
		srv.engineError(ch, req, errBadRequest)
	}
}

func (srv *Server) serveWebSocket(ctx *pipeline.Context, req *http1.Request, q url.Values, sid string) {
	ch := ctx.Channel()
	if !req.HasToken("Upgrade", "websocket") {
		srv.engineError(ch, req, errBadRequest) // TRANSPORT_HANDSHAKE_ERROR
		return
	}
	t := &wsTransport{srv: srv, sid: sid}
	t.Inbound = pipeline.InboundOf[*wsframe.Message](t)
	if sid != "" {
		if _, ok := srv.sessions.Load(sid); !ok {
			srv.engineError(ch, req, errUnknownSID)
			return
		}
	} else {
		t.hs = newHandshake(ch, req, q)
		if srv.cfg.AllowRequest != nil {
			if err := srv.cfg.AllowRequest(t.hs); err != nil {
				srv.engineErrorMessage(ch, req, errForbidden, err.Error())
				return
			}
		}
	}
	transportKey.Set(ch, t)
	srv.up(ctx, req)
}

var transportKey = pipeline.NewAttrKey[*wsTransport]("socketio.transport")

func (srv *Server) install(p *pipeline.Pipeline, _ *upgrade.Handshake) error {
	ch := p.Channel()
	t, ok := transportKey.Get(ch)
	if !ok {
		return errors.New("socketio: upgrade without a transport")
	}
	transportKey.Delete(ch)
	if err := p.AddAfter(wsframe.Name, slowconsumer.Name, slowconsumer.New(slowconsumer.Config{Limit: srv.cfg.WriteBufferLimit})); err != nil {
		return err
	}
	return p.AddLast(TransportName, t)
}

func (srv *Server) checkOrigin(origin string, req *http1.Request) bool {
	if origin == "" {
		return true
	}
	if srv.cfg.CORS != nil && srv.cfg.CORS.allowed(origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, string(req.Host()))
}

// cors adds the CORS headers to a polling response.
func (srv *Server) cors(resp *http1.Response, req *http1.Request) {
	c := srv.cfg.CORS
	if c == nil {
		return
	}
	origin := string(req.Header("Origin"))
	if !c.allowed(origin) {
		return
	}
	resp.Header.Set("Access-Control-Allow-Origin", origin)
	resp.Header.Set("Vary", "Origin")
	if c.Credentials {
		resp.Header.Set("Access-Control-Allow-Credentials", "true")
	}
}

func (srv *Server) preflight(ch *pipeline.Channel, req *http1.Request) {
	resp := http1.NewResponse(req)
	resp.Status = http.StatusNoContent
	if c := srv.cfg.CORS; c != nil && c.allowed(string(req.Header("Origin"))) {
		srv.cors(resp, req)
		resp.Header.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h := c.Headers
		if len(h) == 0 {
			h = []string{"Content-Type", "Authorization"}
		}
		resp.Header.Set("Access-Control-Allow-Headers", strings.Join(h, ", "))
		if c.MaxAge > 0 {
			resp.Header.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
		}
	}
	req.Release()
	ch.WriteAndFlush(resp)
}

func (srv *Server) engineErrorMessage(ch *pipeline.Channel, req *http1.Request, e engineErr, msg string) {
	e.message = msg
	srv.engineError(ch, req, e)
}

// Handshake is what the request that opened a session carried, kept for
// the session's life (socket.handshake in Node).
type Handshake struct {
	Headers http.Header
	Query   url.Values
	Address string // the client's address (host:port)
	Secure  bool
	Time    time.Time
}

func newHandshake(ch *pipeline.Channel, req *http1.Request, q url.Values) *Handshake {
	h := make(http.Header, len(req.Fields()))
	for _, f := range req.Fields() {
		h.Add(string(f.Name), string(f.Value))
	}
	addr := ""
	if a := ch.RemoteAddr(); a != nil {
		addr = a.String()
	}
	return &Handshake{Headers: h, Query: q, Address: addr, Secure: req.Secure, Time: ch.EventLoop().Now()}
}

func randRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("socketio: crypto/rand failed: " + err.Error())
	}
}
