package upgrade

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gobwas/httphead"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
)

// The client's side of the opening handshake (Netty's
// WebSocketClientHandshaker): a handler after an http1.ClientCodec that
// sends the upgrade request when the channel is active, checks the
// server's answer, and turns the pipeline into a client WebSocket.

// ClientName is the pipeline slot name of the client handshaker.
const ClientName = "ws-handshaker"

// ClientConfig configures a client handshake.
type ClientConfig struct {
	// Host is the Host field ("example.com", "example.com:8080");
	// Target the request target ("/path?query", default "/").
	Host   string
	Target string
	// Origin, when set, is sent as the Origin field (browsers always
	// send one; servers that check it want it).
	Origin string
	// Subprotocols are offered in order of preference; the server may
	// pick one (ClientHandshake.Subprotocol) or none.
	Subprotocols []string
	// Header holds other fields to send (Cookie, Authorization, ...).
	Header http1.Header
	// Compression offers permessage-deflate, with context takeover as
	// Deflate allows and within its memory budget.
	Compression bool
	Deflate     wsframe.DeflateOptions
	// Frame holds the frame codec's limits (Client is set here).
	Frame wsframe.Config
	// Timeout bounds the handshake, from the connection's start to the
	// 101. Default 10 s.
	Timeout time.Duration
	// NewCodec, when set, makes the handler put in the frame codec's slot
	// (wsframe.Name) in place of wsframe.New(cfg): a handler that embeds a
	// wsframe.Codec initialized with cfg (the WebSocket preset's fused
	// connection). Install still runs after it. It runs on the loop.
	NewCodec func(cfg wsframe.Config, hs *ClientHandshake) any
	// Install adds the WebSocket handlers after the frame codec once the
	// server accepted (keepalive, the application).
	Install func(p *pipeline.Pipeline, hs *ClientHandshake) error
}

// ClientHandshake is the user event fired on a client channel once the
// server accepted the upgrade and the pipeline speaks WebSocket.
type ClientHandshake struct {
	// Response is the server's 101.
	Response *http1.ClientResponse
	// Subprotocol is the one the server picked, or "".
	Subprotocol string
	// Compressed reports permessage-deflate agreed; Deflate the agreement.
	Compressed bool
	Deflate    wsframe.Deflate
}

// HandshakeError is a client handshake the server refused or that could
// not complete: the channel is closed. Status and Header are the server's
// answer (Status 0 when none came), Body its first bytes (up to 4 KiB).
type HandshakeError struct {
	Status int
	Header http1.Header
	Body   []byte
	Reason string
}

// PeerFault marks a refused handshake as the server's doing (see
// pipeline.PeerFault).
func (*HandshakeError) PeerFault() {}

func (e *HandshakeError) Error() string {
	if e.Status == 0 {
		return "websocket: handshake: " + e.Reason
	}
	return fmt.Sprintf("websocket: handshake: %d: %s", e.Status, e.Reason)
}

// Client is the handshaker of one client channel. It runs on the
// channel's loop.
type Client struct {
	cfg   ClientConfig
	key   string
	timer pipeline.Timer
	done  bool
	fail  *HandshakeError // a refusal whose body is still arriving
}

var (
	_ pipeline.ReadHandler     = (*Client)(nil)
	_ pipeline.ActiveHandler   = (*Client)(nil)
	_ pipeline.InactiveHandler = (*Client)(nil)
)

// NewClient returns the handshaker for one channel. Put it right after an
// http1.ClientCodec named http1.CodecName.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Target == "" {
		cfg.Target = "/"
	}
	return &Client{cfg: cfg}
}

// HandlerAdded sends the request when the channel is already active.
func (h *Client) HandlerAdded(ctx *pipeline.Context) {
	if ctx.Channel().IsActive() {
		h.start(ctx)
	}
}

// HandleActive sends the upgrade request.
func (h *Client) HandleActive(ctx *pipeline.Context) {
	h.start(ctx)
	ctx.FireActive()
}

func (h *Client) start(ctx *pipeline.Context) {
	if h.key != "" {
		return
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic("upgrade: crypto/rand failed: " + err.Error())
	}
	h.key = base64.StdEncoding.EncodeToString(nonce[:])
	req := &http1.ClientRequest{Target: h.cfg.Target, Host: h.cfg.Host, Upgrade: "websocket", Header: append(http1.Header(nil), h.cfg.Header...)}
	req.Header.Set("Sec-WebSocket-Key", h.key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if h.cfg.Origin != "" {
		req.Header.Set("Origin", h.cfg.Origin)
	}
	if len(h.cfg.Subprotocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(h.cfg.Subprotocols, ", "))
	}
	if h.cfg.Compression {
		req.Header.Set("Sec-WebSocket-Extensions", h.cfg.Deflate.Offer())
	}
	ctx.WriteAndFlush(req)
	h.timer = ctx.EventLoop().Schedule(h.cfg.Timeout, func() {
		h.refuse(ctx, &HandshakeError{Reason: "no answer within " + h.cfg.Timeout.String()})
	})
}

// HandleRead checks the server's answer.
func (h *Client) HandleRead(ctx *pipeline.Context, msg any) {
	if h.done {
		ctx.FireRead(msg)
		return
	}
	switch m := msg.(type) {
	case *http1.ClientResponse:
		switch {
		case m.Status == 101:
			h.accepted(ctx, m)
		case m.Interim():
		default:
			h.fail = &HandshakeError{Status: m.Status, Header: m.Header, Reason: m.Reason}
			if m.Status >= 300 && m.Status < 400 {
				h.fail.Reason += " to " + m.Header.Get("Location")
			}
		}
	case *http1.Content:
		if h.fail == nil {
			return
		}
		if room := 4<<10 - len(h.fail.Body); room > 0 {
			h.fail.Body = append(h.fail.Body, m.Data[:min(len(m.Data), room)]...)
		}
		if m.Last {
			h.refuse(ctx, h.fail)
		}
	default:
		ctx.FireRead(msg)
	}
}

// HandleInactive reports a connection that ended before the answer.
func (h *Client) HandleInactive(ctx *pipeline.Context) {
	if !h.done {
		if h.fail == nil {
			h.fail = &HandshakeError{Reason: "the connection closed before the server answered"}
		}
		h.refuse(ctx, h.fail)
	}
	ctx.FireInactive()
}

func (h *Client) refuse(ctx *pipeline.Context, err *HandshakeError) {
	if h.done {
		return
	}
	h.done = true
	if h.timer != nil {
		h.timer.Stop()
	}
	ctx.FireError(err)
	ctx.Close()
}

// accepted checks a 101 (RFC 6455 4.1) and rebuilds the pipeline.
func (h *Client) accepted(ctx *pipeline.Context, r *http1.ClientResponse) {
	bad := func(reason string) { h.refuse(ctx, &HandshakeError{Status: 101, Header: r.Header, Reason: reason}) }
	if !hasTokenIn(r.Header, "Upgrade", "websocket") {
		bad("no Upgrade: websocket")
		return
	}
	if !hasTokenIn(r.Header, "Connection", "upgrade") {
		bad("no Connection: upgrade")
		return
	}
	if r.Header.Get("Sec-WebSocket-Accept") != AcceptKey([]byte(h.key)) {
		bad("wrong Sec-WebSocket-Accept")
		return
	}
	r.Request = nil // the connection keeps the answer, not the request
	hs := &ClientHandshake{Response: r, Subprotocol: r.Header.Get("Sec-WebSocket-Protocol")}
	if hs.Subprotocol != "" && !slices.Contains(h.cfg.Subprotocols, hs.Subprotocol) {
		bad("a subprotocol not offered: " + hs.Subprotocol)
		return
	}
	frameCfg := h.cfg.Frame
	frameCfg.Client = true
	if ext := r.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		if !h.cfg.Compression {
			bad("an extension not offered: " + ext)
			return
		}
		d, ok, err := h.cfg.Deflate.Agreed([]byte(ext))
		if err != nil {
			bad(err.Error())
			return
		}
		if ok {
			hs.Compressed, hs.Deflate = true, d
			frameCfg.Deflate = &hs.Deflate
		}
	}
	h.done = true
	if h.timer != nil {
		h.timer.Stop()
	}
	// In the middle of the codec's read: the bytes after the 101 go to
	// the frame codec.
	p := ctx.Pipeline()
	var fc any
	if h.cfg.NewCodec != nil {
		fc = h.cfg.NewCodec(frameCfg, hs)
	} else {
		fc = wsframe.New(frameCfg)
	}
	if _, err := p.Replace(http1.CodecName, wsframe.Name, fc); err != nil {
		ctx.FireError(fmt.Errorf("upgrade: cannot install the frame codec: %w", err))
		ctx.Close()
		return
	}
	_, _ = p.Remove(ctx.Name())
	if h.cfg.Install != nil {
		if err := h.cfg.Install(p, hs); err != nil {
			ctx.FireError(fmt.Errorf("upgrade: install failed: %w", err))
			ctx.Channel().WriteAndFlush(wsframe.Close{Code: 1011, Reason: "internal error"})
			return
		}
	}
	p.FireUserEvent(hs)
}

// hasTokenIn reports whether a field of name in h lists token.
func hasTokenIn(h http1.Header, name, token string) bool {
	for _, f := range h {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		found := false
		httphead.ScanTokens([]byte(f.Value), func(t []byte) bool {
			found = strings.EqualFold(string(t), token)
			return !found
		})
		if found {
			return true
		}
	}
	return false
}
