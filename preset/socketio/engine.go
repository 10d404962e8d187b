package socketio

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"sync/atomic"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
)

// Engine.IO v4 packet types.
const (
	eOpen    = '0'
	eClose   = '1'
	ePing    = '2'
	ePong    = '3'
	eMessage = '4'
	eUpgrade = '5'
	eNoop    = '6'
)

// recordSeparator joins packets in a polling payload.
const recordSeparator = 0x1e

const (
	transportPolling   = "polling"
	transportWebSocket = "websocket"
)

// frames returns e's WebSocket frames, prepared once for every session
// it goes to.
func (e *encoded) frames() []*wsframe.Prepared {
	e.once.Do(func() {
		text := make([]byte, 0, 1+len(e.text))
		text = append(append(text, eMessage), e.text...)
		e.prepared = append(e.prepared, wsframe.Prepare(ws.OpText, text))
		for _, a := range e.attachments {
			e.prepared = append(e.prepared, wsframe.Prepare(ws.OpBinary, a))
		}
	})
	return e.prepared
}

// size is e's share of a session's output bound.
func (e *encoded) size() int {
	n := len(e.text) + 1
	for _, a := range e.attachments {
		n += base64.StdEncoding.EncodedLen(len(a)) + 1
	}
	return n
}

// out is one queued engine packet: a control packet (typ, data), or a
// Socket.IO packet (msg).
type out struct {
	typ  byte
	data string
	msg  *encoded
}

func (o out) size() int {
	if o.msg != nil {
		return o.msg.size()
	}
	return 1 + len(o.data)
}

// poll is a parked long-polling GET.
type poll struct {
	ch    *pipeline.Channel
	req   *http1.Request
	watch *pollWatch
}

// session is one Engine.IO connection: its transport (polling, then
// perhaps WebSocket), heartbeat and output queue, and the Socket.IO
// sockets multiplexed on it (one per namespace).
//
// Every field below home is touched only on home, the event loop that
// opened the session: requests and frames that arrive on other loops hop
// there with home.Execute.
type session struct {
	srv  *Server
	id   string
	home pipeline.EventLoop
	hs   *Handshake

	closed atomic.Bool // also read off the loop, by senders

	transport    string
	queue        []out
	queued       int // bytes in queue
	parked       *poll
	flushing     bool              // a flush task is queued
	wsFlushArmed bool              // a delayed WebSocket flush is scheduled
	ws           *pipeline.Channel // the WebSocket transport, once upgraded or opened so
	probe        *pipeline.Channel // a WebSocket being probed for the upgrade
	upgrading    bool              // the probe answered: polling gets noops

	pingTimer, pongTimer, upgradeTimer, connectTimer pipeline.Timer
	refreshed                                        bool // the pong wait was restarted once since the last ping

	sockets map[string]*Socket // by namespace
	// a binary packet waiting for its attachments
	pending *packet
	atts    [][]byte
}

var sessionIDs = base64.RawURLEncoding

func newSessionID() string {
	var b [15]byte
	randRead(b[:])
	return sessionIDs.EncodeToString(b[:])
}

// openPacket is the handshake's payload.
func (srv *Server) openPacket(sid string, upgrades []string) string {
	b, _ := jsonAPI.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}{sid, upgrades, srv.cfg.PingInterval.Milliseconds(), srv.cfg.PingTimeout.Milliseconds(), srv.cfg.MaxHTTPBufferSize})
	return string(b)
}

// start runs on home once the session is registered.
func (s *session) start() {
	s.schedulePing()
	s.connectTimer = s.home.Schedule(s.srv.cfg.ConnectTimeout, func() {
		if len(s.sockets) == 0 {
			s.close("connect timeout", false)
		}
	})
}

func (s *session) schedulePing() {
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.pingTimer = s.home.Schedule(s.srv.cfg.PingInterval, func() {
		if s.closed.Load() {
			return
		}
		s.send(out{typ: ePing})
		s.refreshed = false
		s.pongTimer = s.home.Schedule(s.srv.cfg.PingTimeout, func() { s.close("ping timeout", false) })
	})
}

// run runs f on the session's loop: at once when the caller is on it.
func (s *session) run(f func()) {
	if s.home.InLoop() {
		f()
		return
	}
	s.home.Execute(f)
}

// send queues one packet (on home).
func (s *session) send(o out) {
	if s.closed.Load() {
		return
	}
	if s.ws != nil {
		s.writeWS(o)
		return
	}
	s.queue = append(s.queue, o)
	s.queued += o.size()
	if s.queued > s.srv.cfg.WriteBufferLimit {
		s.srv.logger.Warn("socketio: polling client does not keep up, closing", "sid", s.id, "queued", s.queued, "limit", s.srv.cfg.WriteBufferLimit)
		s.srv.stats.SlowClients.Add(1)
		s.close("transport error", false)
		return
	}
	if s.parked != nil && !s.flushing {
		// Answer after the current callback (or the write delay), so that
		// every packet queued meanwhile goes in one payload.
		s.flushing = true
		if d := s.srv.cfg.WriteDelay; d > 0 {
			s.home.Schedule(d, s.flush)
		} else {
			s.home.Execute(s.flush)
		}
	}
}

func (s *session) sendMessage(e *encoded) { s.send(out{msg: e}) }

func (s *session) writeWS(o out) {
	ch := s.ws
	switch e := o.msg; {
	case e == nil:
		m := wsframe.AcquireMessage(ws.OpText, nil)
		m.Data = append(append(m.Data, o.typ), o.data...)
		ch.Write(m)
	case e.shared:
		for _, f := range e.frames() {
			ch.Write(f)
		}
	default:
		m := wsframe.AcquireMessage(ws.OpText, nil)
		m.Data = append(append(m.Data, eMessage), e.text...)
		ch.Write(m)
		for _, a := range e.attachments {
			ch.Write(wsframe.AcquireMessage(ws.OpBinary, a))
		}
	}
	d := s.srv.cfg.WriteDelay
	if d <= 0 {
		ch.Flush()
		return
	}
	if !s.wsFlushArmed {
		s.wsFlushArmed = true
		s.home.Schedule(d, func() {
			s.wsFlushArmed = false
			ch.Flush()
		})
	}
}

// flush answers the parked GET with everything queued.
func (s *session) flush() {
	s.flushing = false
	if s.parked == nil || len(s.queue) == 0 {
		return
	}
	p := s.parked
	s.parked = nil
	s.answerPoll(p, s.takePayload())
}

// takePayload encodes the queue as one polling payload and empties it.
func (s *session) takePayload() []byte {
	var b []byte
	for i, o := range s.queue {
		if i > 0 {
			b = append(b, recordSeparator)
		}
		b = appendPolling(b, o)
		s.queue[i] = out{}
	}
	s.queue, s.queued = s.queue[:0], 0
	if cap(s.queue) > 64 {
		s.queue = nil
	}
	return b
}

func appendPolling(b []byte, o out) []byte {
	if o.msg == nil {
		return append(append(b, o.typ), o.data...)
	}
	b = append(append(b, eMessage), o.msg.text...)
	for _, a := range o.msg.attachments {
		b = append(b, recordSeparator, 'b')
		b = base64.StdEncoding.AppendEncode(b, a)
	}
	return b
}

func (s *session) answerPoll(p *poll, body []byte) {
	p.watch.session.Store(nil)
	resp := http1.NewResponse(p.req)
	resp.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	s.srv.cors(resp, p.req)
	resp.Body = append(resp.Body, body...)
	p.req.Release()
	p.ch.WriteAndFlush(resp)
}

// polling answers a polling request that the session can no longer take
// (closed meanwhile, or upgraded) and reports whether it can.
func (s *session) polling(ch *pipeline.Channel, req *http1.Request) bool {
	switch {
	case s.closed.Load():
		s.srv.engineError(ch, req, errUnknownSID)
		return false
	case s.transport != transportPolling:
		s.srv.engineError(ch, req, errBadRequest)
		return false
	}
	return true
}

// onPoll handles a long-polling GET (on home).
func (s *session) onPoll(ch *pipeline.Channel, req *http1.Request, w *pollWatch) {
	if !s.polling(ch, req) {
		return
	}
	if s.parked != nil {
		s.srv.engineError(ch, req, errBadRequest)
		s.close("transport error", false)
		return
	}
	p := &poll{ch: ch, req: req, watch: w}
	switch {
	case len(s.queue) > 0:
		s.answerPoll(p, s.takePayload())
	case s.upgrading:
		s.answerPoll(p, []byte{eNoop})
	default:
		s.parked = p
		w.session.Store(s)
		if !ch.IsActive() { // closed before the watch was set
			s.pollClosed(ch)
		}
	}
}

// pollClosed runs when the connection of a parked GET closes.
func (s *session) pollClosed(ch *pipeline.Channel) {
	if s.parked != nil && s.parked.ch == ch {
		s.parked.req.Release()
		s.parked = nil
		s.close("transport close", false)
	}
}

// onPost handles a POST of packets (on home).
func (s *session) onPost(ch *pipeline.Channel, req *http1.Request) {
	if !s.polling(ch, req) {
		return
	}
	body := req.Body
	for len(body) > 0 && !s.closed.Load() {
		var pkt []byte
		if i := bytes.IndexByte(body, recordSeparator); i >= 0 {
			pkt, body = body[:i], body[i+1:]
		} else {
			pkt, body = body, nil
		}
		if len(pkt) > 0 && pkt[0] == 'b' {
			bin, err := base64.StdEncoding.AppendDecode(nil, pkt[1:])
			if err != nil {
				s.srv.engineError(ch, req, errBadRequest)
				s.close("parse error", false)
				return
			}
			s.onBinary(bin)
			continue
		}
		if !s.onText(pkt) {
			s.srv.engineError(ch, req, errBadRequest)
			return
		}
	}
	resp := http1.NewResponse(req)
	resp.Header.Set("Content-Type", "text/html")
	s.srv.cors(resp, req)
	resp.Body = append(resp.Body, "ok"...)
	req.Release()
	ch.WriteAndFlush(resp)
}

// onText handles one text engine packet from the current transport; it
// returns false when the packet was malformed (the session is closed).
func (s *session) onText(p []byte) bool {
	if len(p) == 0 {
		s.close("parse error", false)
		return false
	}
	s.refreshPongTimeout(p[0])
	switch p[0] {
	case ePong:
		if s.pongTimer != nil {
			s.pongTimer.Stop()
			s.pongTimer = nil
		}
		s.schedulePing()
	case eMessage:
		s.onMessage(p[1:])
	case eClose:
		s.close("transport close", false)
	case eNoop:
	case ePing: // v4 clients never ping (the server does)
		s.close("transport error", false)
		return false
	default:
		s.close("parse error", false)
		return false
	}
	return true
}

// refreshPongTimeout: any packet while a pong is awaited proves the
// client alive, so the wait starts again, once per ping (as engine.io
// does).
func (s *session) refreshPongTimeout(typ byte) {
	if s.pongTimer == nil || s.refreshed || typ == ePong {
		return
	}
	s.refreshed = true
	s.pongTimer.Stop()
	s.pongTimer = s.home.Schedule(s.srv.cfg.PingTimeout, func() { s.close("ping timeout", false) })
}

// onWSMessage handles a frame from the WebSocket transport (on home).
func (s *session) onWSMessage(ch *pipeline.Channel, op ws.OpCode, data []byte) {
	if s.closed.Load() {
		return
	}
	if ch == s.probe {
		s.onProbe(ch, op, data)
		return
	}
	if ch != s.ws {
		return
	}
	if op == ws.OpBinary {
		s.onBinary(data)
		return
	}
	s.onText(data)
}

// attachProbe runs on home when a WebSocket for this session opened.
func (s *session) attachProbe(ch *pipeline.Channel) {
	if s.closed.Load() || s.transport != transportPolling || s.probe != nil {
		ch.WriteAndFlush(wsframe.Close{Code: ws.StatusPolicyViolation, Reason: "upgrade not possible"})
		return
	}
	s.probe = ch
	s.upgradeTimer = s.home.Schedule(s.srv.cfg.UpgradeTimeout, func() {
		if s.probe == ch {
			s.probe, s.upgrading = nil, false
			ch.WriteAndFlush(wsframe.Close{Code: ws.StatusNormalClosure, Reason: "upgrade timeout"})
		}
	})
}

func (s *session) onProbe(ch *pipeline.Channel, op ws.OpCode, data []byte) {
	switch {
	case op == ws.OpText && string(data) == "2probe":
		ch.WriteAndFlush(wsframe.Text("3probe"))
		s.upgrading = true
		if s.parked != nil && len(s.queue) == 0 {
			p := s.parked
			s.parked = nil
			s.answerPoll(p, []byte{eNoop})
		}
	case op == ws.OpText && len(data) == 1 && data[0] == eUpgrade && s.upgrading:
		s.upgradeTimer.Stop()
		s.probe, s.upgrading = nil, false
		s.transport, s.ws = transportWebSocket, ch
		if p := s.parked; p != nil {
			s.parked = nil
			s.answerPoll(p, []byte{eNoop})
		}
		s.srv.stats.Upgrades.Add(1)
		q := s.queue
		s.queue, s.queued = nil, 0
		for _, o := range q {
			s.writeWS(o)
		}
	default:
		s.upgradeTimer.Stop()
		s.probe, s.upgrading = nil, false
		ch.WriteAndFlush(wsframe.Close{Code: ws.StatusProtocolError, Reason: "bad upgrade"})
	}
}

// wsClosed runs on home when one of the session's WebSockets closed.
func (s *session) wsClosed(ch *pipeline.Channel) {
	switch ch {
	case s.probe:
		s.upgradeTimer.Stop()
		s.probe, s.upgrading = nil, false
	case s.ws:
		s.close("transport close", false)
	}
}

// onBinary handles a binary message: an attachment of the pending packet.
func (s *session) onBinary(b []byte) {
	if s.pending == nil {
		s.close("parse error", false)
		return
	}
	s.atts = append(s.atts, bytes.Clone(b))
	if len(s.atts) == s.pending.attachments {
		p, atts := s.pending, s.atts
		s.pending, s.atts = nil, nil
		s.dispatch(p, atts)
	}
}

// onMessage handles a Socket.IO packet's text.
func (s *session) onMessage(b []byte) {
	if s.pending != nil {
		s.close("parse error", false)
		return
	}
	p, err := decodePacket(b)
	if err != nil {
		s.srv.logger.Debug("socketio: malformed packet", "sid", s.id, "err", err)
		s.close("parse error", false)
		return
	}
	if p.attachments > 0 {
		p.data = bytes.Clone(p.data)
		s.pending = &p
		return
	}
	s.dispatch(&p, nil)
}

// dispatch routes a whole Socket.IO packet to its namespace's socket.
func (s *session) dispatch(p *packet, atts [][]byte) {
	if p.typ == pConnect {
		s.connect(p)
		return
	}
	sock := s.sockets[p.nsp]
	if sock == nil {
		return // not connected to that namespace: ignored, as the Node server does
	}
	switch p.typ {
	case pDisconnect:
		sock.onClose("client namespace disconnect")
	case pEvent, pBinaryEvent:
		sock.onEvent(p, atts)
	case pAck, pBinaryAck:
		sock.onAck(p, atts)
	default:
		s.close("parse error", false)
	}
}

// connect joins a namespace.
func (s *session) connect(p *packet) {
	if s.connectTimer != nil {
		s.connectTimer.Stop()
		s.connectTimer = nil
	}
	n := s.srv.namespace(p.nsp)
	if n == nil {
		s.sendMessage(encodeRaw(pConnectError, p.nsp, map[string]string{"message": "Invalid namespace"}))
		return
	}
	if s.sockets[p.nsp] != nil {
		return
	}
	var auth []byte
	if len(p.data) > 0 {
		auth = bytes.Clone(p.data)
	}
	n.connect(s, auth)
}

// close ends the session and every socket on it, with reason. notify sends
// the client a close packet first (a server-side close).
func (s *session) close(reason string, notify bool) {
	if s.closed.Swap(true) {
		return
	}
	for _, t := range []pipeline.Timer{s.pingTimer, s.pongTimer, s.upgradeTimer, s.connectTimer} {
		if t != nil {
			t.Stop()
		}
	}
	s.srv.sessions.Delete(s.id)
	s.srv.stats.Sessions.Add(-1)
	for _, sock := range s.sockets {
		sock.onClose(reason)
	}
	if s.probe != nil {
		s.probe.WriteAndFlush(wsframe.Close{Code: ws.StatusNormalClosure})
		s.probe = nil
	}
	switch {
	case s.ws != nil:
		if notify {
			m := wsframe.AcquireMessage(ws.OpText, []byte{eClose})
			s.ws.Write(m)
		}
		s.ws.WriteAndFlush(wsframe.Close{Code: ws.StatusNormalClosure})
	case s.parked != nil:
		p := s.parked
		s.parked = nil
		body := []byte{eClose}
		if !notify {
			body = []byte{eNoop}
		}
		s.answerPoll(p, body)
	}
	s.queue = nil
}

// stats are the server's counters.
type stats struct {
	Sessions    atomic.Int64
	Upgrades    atomic.Uint64
	SlowClients atomic.Uint64
}

// wsTransport is the pipeline handler of a session's WebSocket: it hands
// frames to the session's loop.
type wsTransport struct {
	pipeline.Inbound[*wsframe.Message]
	srv *Server
	sid string     // "" for a WebSocket-only session, opened here
	hs  *Handshake // of a WebSocket-only session
	s   *session
}

func (t *wsTransport) HandleUserEvent(ctx *pipeline.Context, ev any) {
	switch ev.(type) {
	case *upgrade.Handshake:
		t.opened(ctx.Channel())
		return
	case pipeline.ShutdownEvent:
		if s := t.s; s != nil {
			s.run(func() { s.close("server shutting down", true) })
		}
		return
	}
	ctx.FireUserEvent(ev)
}

// opened runs on the channel's loop once the upgrade completed.
func (t *wsTransport) opened(ch *pipeline.Channel) {
	if t.sid == "" {
		s := t.srv.newSession(ch.EventLoop(), t.hs)
		s.transport, s.ws = transportWebSocket, ch
		t.s = s
		m := wsframe.AcquireMessage(ws.OpText, nil)
		m.Data = append(append(m.Data, eOpen), t.srv.openPacket(s.id, []string{})...)
		ch.WriteAndFlush(m)
		s.start()
		return
	}
	v, ok := t.srv.sessions.Load(t.sid)
	if !ok {
		ch.WriteAndFlush(wsframe.Close{Code: ws.StatusPolicyViolation, Reason: "unknown sid"})
		return
	}
	s := v.(*session)
	t.s = s
	s.run(func() { s.attachProbe(ch) })
}

func (t *wsTransport) HandleMessage(ctx *pipeline.Context, m *wsframe.Message) {
	s := t.s
	if s == nil {
		return
	}
	ch := ctx.Channel()
	if s.home.InLoop() {
		s.onWSMessage(ch, m.Op, m.Data)
		return
	}
	op, data := m.Op, bytes.Clone(m.Data)
	s.home.Execute(func() { s.onWSMessage(ch, op, data) })
}

func (t *wsTransport) HandleError(ctx *pipeline.Context, err error) {
	ctx.Channel().Logger().Debug("socketio: websocket error", "err", err, "remote", ctx.Channel().RemoteAddr())
}

func (t *wsTransport) HandleInactive(ctx *pipeline.Context) {
	if s := t.s; s != nil {
		ch := ctx.Channel()
		s.run(func() { s.wsClosed(ch) })
	}
	ctx.FireInactive()
}

// pollWatch sits in every HTTP connection's pipeline and tells a session
// when the connection of its parked GET closes.
type pollWatch struct {
	session atomic.Pointer[session]
}

func (w *pollWatch) HandleInactive(ctx *pipeline.Context) {
	if s := w.session.Swap(nil); s != nil {
		ch := ctx.Channel()
		s.run(func() { s.pollClosed(ch) })
	}
	ctx.FireInactive()
}

var _ pipeline.InactiveHandler = (*pollWatch)(nil)

// engineError codes and messages (Engine.IO's, answered 400 as JSON).
type engineErr struct {
	code    int
	message string
}

var (
	errUnknownTransport = engineErr{0, "Transport unknown"}
	errUnknownSID       = engineErr{1, "Session ID unknown"}
	errBadMethod        = engineErr{2, "Bad handshake method"}
	errBadRequest       = engineErr{3, "Bad request"}
	errForbidden        = engineErr{4, "Forbidden"}
	errBadVersion       = engineErr{5, "Unsupported protocol version"}
)

func (srv *Server) engineError(ch *pipeline.Channel, req *http1.Request, e engineErr) {
	resp := http1.NewResponse(req)
	resp.Status = 400
	if e.code == errForbidden.code {
		resp.Status = 403
	}
	resp.Header.Set("Content-Type", "application/json")
	srv.cors(resp, req)
	resp.Body = append(resp.Body, `{"code":`...)
	resp.Body = strconv.AppendInt(resp.Body, int64(e.code), 10)
	resp.Body = append(resp.Body, `,"message":`...)
	resp.Body = strconv.AppendQuote(resp.Body, e.message)
	resp.Body = append(resp.Body, '}')
	req.Release()
	ch.WriteAndFlush(resp)
}
