package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/handler/ws/keepalive"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
)

// DialConfig configures Dial; zero values mean the defaults.
type DialConfig struct {
	// Handler receives the connection's events, on its event loop, as a
	// server's Handler does.
	Handler Handler
	// Header holds fields to send with the upgrade request (Cookie,
	// Authorization, ...); Origin is sent as Origin.
	Header http.Header
	Origin string
	// Subprotocols are offered in order of preference.
	Subprotocols []string
	// Compression offers permessage-deflate; ContextTakeover and
	// CompressionMemory as on the server (upgrade.Config).
	Compression       bool
	ContextTakeover   bool
	CompressionMemory int
	// Frame holds the frame codec's limits (MaxMessageSize, ...).
	Frame wsframe.Config
	// TLS configures wss:// (nil: the system's roots, ServerName from the
	// URL). Set RootCAs for a private CA, Certificates for a client
	// certificate; InsecureSkipVerify only where a test asks for it.
	TLS *tls.Config
	// HandshakeTimeout bounds the TCP and TLS connection and the upgrade
	// together. Default 10 s.
	HandshakeTimeout time.Duration
	// PingInterval and PongTimeout for keepalive (defaults 25 s and 20 s).
	PingInterval, PongTimeout time.Duration
	// Handlers, when set, adds pipeline handlers between keepalive and the
	// Handler, as on the server.
	Handlers func(p *pipeline.Pipeline, hs *upgrade.ClientHandshake) error
	// Client holds the event loops the connection runs on; default the
	// loops shared by the process (bootstrap.DefaultClient).
	Client *bootstrap.Client
	// Reconnect, when set, dials again after the connection is lost (not
	// after Conn.Close): the Handler's OnClose, then, once a new
	// connection is open, OnOpen with its Conn.
	Reconnect *Reconnect
}

// Reconnect is the backoff of a connection that dials again: the first
// try after MinDelay (default 500 ms), each later one after twice the
// last, at most MaxDelay (default 30 s), every delay with up to half of
// it added at random (jitter), for at most MaxAttempts tries in a row
// (0: no limit).
type Reconnect struct {
	MinDelay, MaxDelay time.Duration
	MaxAttempts        int
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL and returns
// it with the server's answer, once the server accepted the upgrade (and
// the Handler's OnOpen has been called with it). A refused handshake is a
// *upgrade.HandshakeError carrying the status, the header and the start
// of the body. The connection runs on the client's event loops; Dial
// itself may be called from any goroutine, not from an event loop.
func Dial(ctx context.Context, rawURL string, cfg DialConfig) (*Conn, *upgrade.ClientHandshake, error) {
	d, err := newDialer(rawURL, cfg)
	if err != nil {
		return nil, nil, err
	}
	var rd *redialer
	if cfg.Reconnect != nil {
		rd = &redialer{d: d, cfg: *cfg.Reconnect}
		if rd.cfg.MinDelay <= 0 {
			rd.cfg.MinDelay = 500 * time.Millisecond
		}
		if rd.cfg.MaxDelay <= 0 {
			rd.cfg.MaxDelay = 30 * time.Second
		}
	}
	return d.dial(ctx, rd)
}

// dialer is one Dial's settings, kept to dial again.
type dialer struct {
	cfg    DialConfig
	addr   string
	secure bool
	ucfg   upgrade.ClientConfig
	tlsCfg *tls.Config
	client *bootstrap.Client
	route  *route
}

func newDialer(rawURL string, cfg DialConfig) (*dialer, error) {
	u, err := http1.ParseURL(rawURL, "ws", "wss")
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: %w", err)
	}
	d := &dialer{cfg: cfg, route: &route{h: cfg.Handler, ka: keepalive.Config{PingInterval: cfg.PingInterval, PongTimeout: cfg.PongTimeout}}, secure: u.Secure, addr: u.Addr}
	d.route.ka.Normalize()
	if d.route.h == nil {
		d.route.h = Funcs{}
	}
	if cfg.HandshakeTimeout <= 0 {
		d.cfg.HandshakeTimeout = 10 * time.Second
	}
	host, target, header := u.Host, u.Target, http1.HeaderFrom(cfg.Header)
	d.ucfg = upgrade.ClientConfig{
		Host: u.Authority, Target: target, Origin: cfg.Origin, Subprotocols: cfg.Subprotocols, Header: header,
		Compression: cfg.Compression, Deflate: wsframe.DeflateOptions{ContextTakeover: cfg.ContextTakeover, Memory: cfg.CompressionMemory},
		Frame: cfg.Frame, Timeout: d.cfg.HandshakeTimeout,
	}
	if d.secure {
		d.tlsCfg = cfg.TLS.Clone()
		if d.tlsCfg == nil {
			d.tlsCfg = &tls.Config{}
		}
		if d.tlsCfg.ServerName == "" {
			d.tlsCfg.ServerName = host // SNI and verification from the URL
		}
		if len(d.tlsCfg.NextProtos) == 0 {
			d.tlsCfg.NextProtos = []string{"http/1.1"}
		}
	}
	d.client = cfg.Client
	if d.client == nil {
		if d.client, err = bootstrap.DefaultClient(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// dialResult is what a dial ended with.
type dialResult struct {
	c   *Conn
	hs  *upgrade.ClientHandshake
	err error
}

// dial connects once.
func (d *dialer) dial(ctx context.Context, rd *redialer) (*Conn, *upgrade.ClientHandshake, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.HandshakeTimeout)
	defer cancel()
	res := make(chan dialResult, 1)
	watch := &dialWatch{res: res}
	ucfg := d.ucfg
	// This attempt's route: the redialer and Dial's answer ride on it.
	rt := &route{h: d.route.h, ka: d.route.ka, dial: rd,
		opened: func(c *Conn, hs *upgrade.ClientHandshake) { res <- dialResult{c: c, hs: hs} }}
	if d.cfg.Handlers == nil {
		// Nothing between the codec and the application: one fused
		// handler, as on the server (see fusedConn).
		ucfg.NewCodec = func(fc wsframe.Config, _ *upgrade.ClientHandshake) any {
			return newFusedConn(rt, fc, nil)
		}
	}
	ucfg.Install = func(p *pipeline.Pipeline, hs *upgrade.ClientHandshake) error {
		// The watch's work ends with the upgrade: after it, errors go to
		// the application's Handler.
		watch.done, watch.upgraded = true, true
		_, _ = p.Remove(dialWatchName)
		if d.cfg.Handlers == nil {
			return nil // fused
		}
		if err := p.AddAfter(wsframe.Name, keepalive.Name, keepalive.New(rt.ka)); err != nil {
			return err
		}
		if err := d.cfg.Handlers(p, hs); err != nil {
			return err
		}
		a := &adapter{app: app{r: rt}}
		a.Inbound = pipeline.InboundOf[*wsframe.Message](a)
		return p.AddLast(AppName, a)
	}
	init := func(ch *pipeline.Channel) {
		p := ch.Pipeline()
		_ = p.AddLast(http1.CodecName, http1.NewClientCodec(http1.ClientConfig{}))
		_ = p.AddLast(upgrade.ClientName, upgrade.NewClient(ucfg))
		_ = p.AddLast(dialWatchName, watch)
	}
	if d.secure {
		init = tlsh.Initializer(tlsh.Config{TLS: d.tlsCfg, Client: true, HandshakeTimeout: d.cfg.HandshakeTimeout}, init)
	}
	ch, err := d.client.Dial(ctx, "tcp", d.addr, init)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", d.addr, err)
	}
	select {
	case r := <-res:
		if r.err != nil {
			return nil, nil, r.err
		}
		return r.c, r.hs, nil
	case <-ctx.Done():
		ch.Close()
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", d.addr, ctx.Err())
	}
}

const dialWatchName = "dial-watch"

// dialWatch reports how a dial ended before the upgrade: an error (TLS,
// the handshake refused) or the connection closing. It runs on the
// channel's loop; after the upgrade it passes everything on.
type dialWatch struct {
	res      chan dialResult
	done     bool // the dial's result is sent
	upgraded bool
}

func (w *dialWatch) HandleError(ctx *pipeline.Context, err error) {
	if w.upgraded {
		ctx.FireError(err)
		return
	}
	if !w.done { // the first is the cause; what follows it is its echo
		w.done = true
		w.res <- dialResult{err: err}
	}
}

func (w *dialWatch) HandleInactive(ctx *pipeline.Context) {
	if !w.done {
		w.done = true
		w.res <- dialResult{err: errors.New("websocket: dial: the connection closed during the handshake")}
	}
	ctx.FireInactive()
}

// redialer dials a lost connection again, on a goroutine that lives only
// while it reconnects.
type redialer struct {
	d       *dialer
	cfg     Reconnect
	mu      sync.Mutex
	stopped bool
}

// stop ends the reconnecting (Conn.Close).
func (r *redialer) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

func (r *redialer) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// lost runs on the loop of a connection that closed: unless Close asked
// for it, a goroutine dials again.
func (r *redialer) lost() {
	if r.isStopped() {
		return
	}
	go func() {
		delay := r.cfg.MinDelay
		for attempt := 1; r.cfg.MaxAttempts == 0 || attempt <= r.cfg.MaxAttempts; attempt++ {
			time.Sleep(delay + rand.N(delay/2+1)) // jitter: reconnecting clients spread out
			if r.isStopped() {
				return
			}
			if _, _, err := r.d.dial(context.Background(), r); err == nil {
				return
			}
			delay = min(2*delay, r.cfg.MaxDelay)
		}
	}()
}
