package chat

import (
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/time/rate"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

type member struct {
	ch      *pipeline.Channel
	sid     string // sessionKey of the session the connection was opened with
	user    User
	rooms   map[string]bool
	limiter *rate.Limiter
	acks    atomic.Bool // the client acks: its messages take part in retry
	history atomic.Bool // a history request is being served

	refused      int // refusals since refusedSince (on the loop)
	refusedSince time.Time
}

var memberKey = pipeline.NewAttrKey[*member]("chat.member")

func (s *Server) send(ch *pipeline.Channel, v any) {
	b, _ := json.Marshal(v)
	s.m.out.Inc()
	ch.WriteAndFlush(wsframe.AcquireMessage(ws.OpText, b))
}

// handler receives connection events from the WebSocket preset.
type handler Server

func (h *handler) OnOpen(c *websocket.Conn) {
	s := (*Server)(h)
	sess := c.Handshake().Session
	u := sessionUser(sess)
	m := &member{ch: c.Channel(), sid: sessionKeyOf(sess.ID), user: u, rooms: map[string]bool{},
		limiter: rate.NewLimiter(rate.Limit(s.cfg.MessagesPerSecond), int(2*s.cfg.MessagesPerSecond))}
	memberKey.Set(c.Channel(), m)
	s.mu.Lock()
	set := s.bySession[m.sid]
	if set == nil {
		set = map[*member]struct{}{}
		s.bySession[m.sid] = set
	}
	set[m] = struct{}{}
	s.mu.Unlock()
	_ = s.layer.GroupAdd(sessionGroup(m.sid), m.ch)
	s.m.conns.Inc()
	s.send(c.Channel(), notice{Type: "handShake", Msg: "connected", User: &u})
	if !s.join(m, c.Handshake().Param("room"), historyQuery{}) {
		c.Close(1008, "cannot join the room")
	}
}

func (h *handler) OnMessage(c *websocket.Conn, typ websocket.MessageType, data []byte) {
	s := (*Server)(h)
	s.send(c.Channel(), errMsg("bad_request", "binary messages are not part of the protocol"))
}

func (h *handler) OnClose(c *websocket.Conn, code ws.StatusCode, reason string) {
	s := (*Server)(h)
	m, ok := memberKey.Get(c.Channel())
	if !ok {
		return
	}
	var rooms []string
	for name := range m.rooms {
		rooms = append(rooms, name)
	}
	for _, name := range rooms {
		s.leave(m, name)
	}
	s.mu.Lock()
	if set := s.bySession[m.sid]; set != nil {
		delete(set, m)
		if len(set) == 0 {
			delete(s.bySession, m.sid)
		}
	}
	s.mu.Unlock()
	_ = s.layer.GroupDiscard(sessionGroup(m.sid), m.ch)
	s.m.conns.Dec()
}
