package upgrade

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/gobwas/httphead"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/pipeline"
)

// Config configures the upgrade.
type Config struct {
	// CheckOrigin accepts or refuses the request's Origin (403). Nil
	// accepts a missing Origin and an Origin whose host equals the Host
	// header (gorilla/websocket's rule).
	CheckOrigin func(origin string, req *http1.Request) bool
	// Authorize may refuse the upgrade: it returns 0 to accept, or the
	// status (401, 403) and a reason. The request's session (if any) is
	// session.FromChannel(ctx.Channel()).
	Authorize func(ctx *pipeline.Context, req *http1.Request) (status int, reason string)
	// Subprotocols the server speaks, in its order of preference.
	Subprotocols []string
	// Compression enables permessage-deflate when the client offers it.
	Compression bool
	// CompressionThreshold: messages shorter than this go uncompressed
	// (default wsframe.DefaultDeflateThreshold).
	CompressionThreshold int
	// ContextTakeover lets both sides keep their compression window between
	// messages (RFC 7692 context takeover) where the client's offer allows
	// it, within CompressionMemory bytes per connection (see
	// wsframe.DeflateOptions). Off: every message is compressed alone.
	ContextTakeover bool
	// CompressionMemory bounds the windows a compressed connection keeps
	// with ContextTakeover, both directions together (default
	// wsframe.DefaultDeflateMemory, 8 KiB).
	CompressionMemory int
	// Frame holds the frame codec's limits.
	Frame wsframe.Config
	// HTTPCodec is the name of the HTTP codec to replace with the frame
	// codec (named wsframe.Name); default http1.CodecName.
	HTTPCodec string
	// Remove names the HTTP-only handlers to remove after the upgrade;
	// default DefaultRemove (missing names are skipped).
	Remove []string
	// OnRefused, when set, is called for every refused upgrade (metrics
	// count handshake failures by reason).
	OnRefused func(status int, reason string)
	// NewCodec, when set, makes the handler put in the frame codec's slot
	// (wsframe.Name) in place of wsframe.New(cfg): a handler that embeds a
	// wsframe.Codec initialized with cfg (the WebSocket preset's fused
	// connection, which is codec, keepalive and application in one).
	// Install still runs after it. It runs on the loop.
	NewCodec func(cfg wsframe.Config, hs *Handshake) any
	// Install adds the WebSocket handlers after the frame codec (it may
	// return an error to fail the connection).
	Install func(p *pipeline.Pipeline, hs *Handshake) error
	// KeepHeaders names the request headers the Handshake keeps for the
	// connection's life (Handshake.Header, Headers); "*" keeps them all.
	// By default none: a connection keeps its path, parameters,
	// subprotocol and session, not the few hundred bytes of a browser's
	// headers. Authorize and CheckOrigin see every header either way.
	KeepHeaders []string
}

// Handshake is the user event fired once the connection speaks WebSocket.
// It stays with the connection, so its request headers are kept compactly
// (one string) rather than as an http.Header map.
type Handshake struct {
	Path        string
	Params      []http1.Param
	Subprotocol string
	Compressed  bool
	Session     *session.Session

	kept *keptHeaders // nil unless Config.KeepHeaders kept some (80 bytes a connection, not 112)
}

// keptHeaders holds the request headers Config.KeepHeaders names, as one
// string and the offsets of each name and value in it.
type keptHeaders struct {
	raw    string
	fields []uint32
}

// keepHeader reports whether the header name is one of keep.
func keepHeader(keep []string, name []byte) bool {
	for _, k := range keep {
		if k == "*" || strings.EqualFold(k, string(name)) {
			return true
		}
	}
	return false
}

// Header returns the first value of the request header name (ASCII case
// insensitive), or "" (also for a header Config.KeepHeaders did not keep).
func (h *Handshake) Header(name string) string {
	if k := h.kept; k != nil {
		for i := 0; i+3 < len(k.fields); i += 4 {
			if strings.EqualFold(k.raw[k.fields[i]:k.fields[i+1]], name) {
				return k.raw[k.fields[i+2]:k.fields[i+3]]
			}
		}
	}
	return ""
}

// Headers returns the kept request headers (Config.KeepHeaders) as an
// http.Header (built on each call).
func (h *Handshake) Headers() http.Header {
	out := http.Header{}
	if k := h.kept; k != nil {
		for i := 0; i+3 < len(k.fields); i += 4 {
			out.Add(k.raw[k.fields[i]:k.fields[i+1]], k.raw[k.fields[i+2]:k.fields[i+3]])
		}
	}
	return out
}

// Param returns the path parameter named key.
func (h *Handshake) Param(key string) string {
	for _, p := range h.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func AcceptKey(key []byte) string {
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// New returns the upgrade handler.
func New(cfg Config) router.HandlerFunc {
	if cfg.HTTPCodec == "" {
		cfg.HTTPCodec = http1.CodecName
	}
	if cfg.Remove == nil {
		cfg.Remove = DefaultRemove
	}
	if cfg.CompressionThreshold <= 0 {
		cfg.CompressionThreshold = wsframe.DefaultDeflateThreshold
	}
	return func(ctx *pipeline.Context, req *http1.Request) { upgrade(&cfg, ctx, req) }
}

func refuse(cfg *Config, ctx *pipeline.Context, req *http1.Request, status int, reason string, extra ...string) {
	if cfg.OnRefused != nil {
		cfg.OnRefused(status, reason)
	}
	resp := http1.NewResponse(req)
	resp.Status = status
	for i := 0; i+1 < len(extra); i += 2 {
		resp.Header.Set(extra[i], extra[i+1])
	}
	resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp.Body = append(resp.Body, reason+"\n"...)
	resp.Close = status == http.StatusBadRequest
	req.Release()
	ctx.WriteAndFlush(resp)
	ctx.Channel().Pipeline().FireUserEvent(Refused{Status: status, Reason: reason})
}

// Refused is the user event fired when an upgrade is refused (metrics
// count handshake failures by reason).
type Refused struct {
	Status int
	Reason string
}

func defaultOrigin(origin string, req *http1.Request) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, string(req.Host()))
}

func upgrade(cfg *Config, ctx *pipeline.Context, req *http1.Request) {
	switch {
	case req.Method() != "GET":
		refuse(cfg, ctx, req, http.StatusMethodNotAllowed, "websocket: upgrade needs GET", "Allow", "GET")
		return
	case req.Minor != 1:
		refuse(cfg, ctx, req, http.StatusBadRequest, "websocket: upgrade needs HTTP/1.1")
		return
	case len(req.Host()) == 0:
		refuse(cfg, ctx, req, http.StatusBadRequest, "websocket: missing Host")
		return
	case !req.HasToken("Upgrade", "websocket"):
		refuse(cfg, ctx, req, http.StatusBadRequest, "websocket: missing \"Upgrade: websocket\"")
		return
	case !req.HasToken("Connection", "upgrade"):
		refuse(cfg, ctx, req, http.StatusBadRequest, "websocket: missing \"Connection: upgrade\"")
		return
	}
	if v := string(req.Header("Sec-WebSocket-Version")); v != "13" {
		refuse(cfg, ctx, req, http.StatusUpgradeRequired, "websocket: unsupported version", "Sec-WebSocket-Version", "13")
		return
	}
	key := req.Header("Sec-WebSocket-Key")
	if raw, err := base64.StdEncoding.DecodeString(string(key)); err != nil || len(raw) != 16 {
		refuse(cfg, ctx, req, http.StatusBadRequest, "websocket: bad Sec-WebSocket-Key")
		return
	}
	check := cfg.CheckOrigin
	if check == nil {
		check = defaultOrigin
	}
	if !check(string(req.Header("Origin")), req) {
		refuse(cfg, ctx, req, http.StatusForbidden, "websocket: origin not allowed")
		return
	}
	if cfg.Authorize != nil {
		if status, reason := cfg.Authorize(ctx, req); status != 0 {
			refuse(cfg, ctx, req, status, reason)
			return
		}
	}
	hs := &Handshake{Path: string(req.Path()), Params: append([]http1.Param(nil), req.Params...)}
	var raw []byte
	var fields []uint32
	for _, f := range req.Fields() {
		if !keepHeader(cfg.KeepHeaders, f.Name) {
			continue
		}
		n0 := uint32(len(raw))
		raw = append(raw, f.Name...)
		v0 := uint32(len(raw))
		raw = append(raw, f.Value...)
		fields = append(fields, n0, v0, v0, uint32(len(raw)))
	}
	if len(fields) > 0 {
		hs.kept = &keptHeaders{raw: string(raw), fields: fields}
	}
	hs.Session = session.FromChannel(ctx.Channel())
	if len(cfg.Subprotocols) > 0 {
		offered := map[string]bool{}
		for _, f := range req.Fields() {
			if strings.EqualFold(string(f.Name), "Sec-WebSocket-Protocol") {
				httphead.ScanTokens(f.Value, func(tok []byte) bool {
					offered[string(tok)] = true
					return true
				})
			}
		}
		for _, p := range cfg.Subprotocols {
			if offered[p] {
				hs.Subprotocol = p
				break
			}
		}
	}
	frameCfg := cfg.Frame
	if cfg.Compression {
		for _, f := range req.Fields() {
			if !strings.EqualFold(string(f.Name), "Sec-WebSocket-Extensions") {
				continue
			}
			opts := wsframe.DeflateOptions{ContextTakeover: cfg.ContextTakeover, Memory: cfg.CompressionMemory}
			if d, ok := opts.Accept(f.Value); ok {
				hs.Compressed = true
				d.Threshold = cfg.CompressionThreshold
				frameCfg.Deflate = &d
				break
			}
		}
	}
	resp := http1.NewResponse(req)
	resp.Status = http.StatusSwitchingProtocols
	resp.Header.Set("Upgrade", "websocket")
	resp.Header.Set("Sec-WebSocket-Accept", AcceptKey(key))
	if hs.Subprotocol != "" {
		resp.Header.Set("Sec-WebSocket-Protocol", hs.Subprotocol)
	}
	if hs.Compressed {
		resp.Header.Set("Sec-WebSocket-Extensions", frameCfg.Deflate.Response())
	}
	req.Release()
	ctx.WriteAndFlush(resp)

	// Rebuild the pipeline on the loop, in the middle of the HTTP codec's
	// read: the bytes it still holds go to the frame codec.
	p := ctx.Pipeline()
	for _, name := range cfg.Remove {
		if p.Get(name) != nil {
			_, _ = p.Remove(name)
		}
	}
	var fc any
	if cfg.NewCodec != nil {
		fc = cfg.NewCodec(frameCfg, hs)
	} else {
		fc = wsframe.New(frameCfg)
	}
	if _, err := p.Replace(cfg.HTTPCodec, wsframe.Name, fc); err != nil {
		ctx.Channel().Logger().Error("upgrade: cannot install the frame codec", "err", err)
		ctx.Close()
		return
	}
	if cfg.Install != nil {
		if err := cfg.Install(p, hs); err != nil {
			ctx.Channel().Logger().Error("upgrade: install failed", "err", err)
			ctx.Channel().WriteAndFlush(wsframe.Close{Code: 1011, Reason: "internal error"})
			return
		}
	}
	p.FireUserEvent(hs)
}

// DefaultRemove names the HTTP-only handlers an upgrade removes by
// default: the request timeout, the aggregator, the session manager and
// the router, under the slot names their packages export.
var DefaultRemove = []string{http1.TimeoutName, http1.AggregatorName, session.Name, router.Name}
