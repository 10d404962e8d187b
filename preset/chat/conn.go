package chat

import (
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

type member struct {
	conn    *websocket.Conn
	ch      *pipeline.Channel // conn's channel
	sid     string            // sessionKey of the session the connection was opened with
	user    User
	rooms   map[string]bool
	limiter *rate.Limiter
	acks    atomic.Bool // the client acks: its messages take part in retry
	history atomic.Bool // a history request is being served

	refused      int // refusals since refusedSince (on the loop)
	refusedSince time.Time
	typing       *rate.Limiter // typing notices' own budget
}

var memberKey = pipeline.NewAttrKey[*member]("chat.member")

// send writes v as JSON to m's connection (from any goroutine).
func (s *Server) send(m *member, v any) {
	b, _ := jsonmsg.API.Marshal(v)
	s.sendRaw(m, b)
}

// sendRaw writes an encoded message to m's connection.
func (s *Server) sendRaw(m *member, b []byte) {
	s.m.out.Inc()
	_ = m.conn.WriteMessage(websocket.Text, b) // closed: nothing to tell
}

// handler receives connection events from the WebSocket preset.
type handler Server

func (h *handler) OnOpen(c *websocket.Conn) {
	s := (*Server)(h)
	id, _ := identityKey.Get(c.Channel()) // set by the handshake's Authorize
	u := id.user
	m := &member{conn: c, ch: c.Channel(), sid: id.key, user: u, rooms: map[string]bool{}, typing: rate.NewLimiter(typingRate, typingBurst),
		limiter: rate.NewLimiter(rate.Limit(s.cfg.MessagesPerSecond), int(2*s.cfg.MessagesPerSecond))}
	memberKey.Set(c.Channel(), m)
	_ = s.layer.GroupAdd(sessionGroup(m.sid), m.ch)
	_ = s.layer.GroupAdd(userGroup(u.ID), m.ch) // direct messages
	s.m.conns.Inc()
	s.send(m, notice{Type: "handShake", Msg: "connected", User: &u})
	if !s.join(m, c.Handshake().Param("room"), historyQuery{}) {
		c.Close(1008, "cannot join the room")
	}
}

func (h *handler) OnMessage(c *websocket.Conn, typ websocket.MessageType, data []byte) {
	s := (*Server)(h)
	if m, ok := memberKey.Get(c.Channel()); ok {
		s.send(m, errMsg("bad_request", "binary messages are not part of the protocol"))
	}
}

func (h *handler) OnClose(c *websocket.Conn, code websocket.StatusCode, reason string) {
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
	_ = s.layer.GroupDiscard(sessionGroup(m.sid), m.ch)
	_ = s.layer.GroupDiscard(userGroup(m.user.ID), m.ch)
	s.m.conns.Dec()
}

// identity is who a connection is, decided at the handshake: a session's
// user, or a connection token's subject.
type identity struct {
	user User
	key  string // the session's sessionKeyOf, or the token's: closes on logout go by it
}

var identityKey = pipeline.NewAttrKey[identity]("chat.identity")
